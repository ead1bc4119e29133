import { App, Aspects, CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
// A dev dependency of this library; a dependency of your own app.
// eslint-disable-next-line import/no-extraneous-dependencies
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
// In your own app: import { MlopsAbalonePipeline, ReleasePipelineCodeSource } from 'cdk-mlops-abalone-pipeline';
import { MlopsAbalonePipeline, ReleasePipelineCodeSource } from '../src';

/** Context keys the example app reads (`npx cdk deploy -c key=value`). */
export const CONTEXT_KEYS = {
  /** An e-mail address subscribed to model approval requests. */
  approvalEmail: 'approvalEmail',
  /** ARN of an AWS CodeConnections connection (GitHub, GitLab or Bitbucket). */
  codeConnectionArn: 'codeConnectionArn',
  /** `<owner>/<repository>` reached through that connection. */
  codeRepository: 'codeRepository',
  /** Branch whose pushes start the release pipeline (default `main`). */
  codeBranch: 'codeBranch',
  /** `true` tunes the hyperparameters (20 training jobs, 2 at a time, Bayesian) instead of training once. */
  tuning: 'tuning',
} as const;

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;
const REPOSITORY = /^([^\s/]+)\/([^\s/]+)$/;
const BRANCH = /^\S+$/;

/** Properties of {@link AbaloneMlopsStack}. */
export interface AbaloneMlopsStackProps extends StackProps {
  /**
   * E-mail address subscribed to model approval requests.
   *
   * @default - no subscription
   */
  readonly approvalEmail?: string;

  /**
   * A code repository whose pushes also start the release pipeline, after a CI stage (tests, lint, synth).
   *
   * @default - only data changes start the release pipeline, and there is no CI stage
   */
  readonly codeSource?: ReleasePipelineCodeSource;

  /**
   * Tune the hyperparameters with the library's default tuning settings.
   *
   * @default false
   */
  readonly tuning?: boolean;
}

/** A stack holding the whole abalone MLOps system. */
export class AbaloneMlopsStack extends Stack {
  public readonly mlops: MlopsAbalonePipeline;

  constructor(scope: Construct, id: string, props: AbaloneMlopsStackProps = {}) {
    super(scope, id, props);
    this.mlops = new MlopsAbalonePipeline(this, 'Abalone', {
      mseThreshold: 6,
      trainingInstanceType: 'ml.m5.large',
      approvalEmails: props.approvalEmail ? [props.approvalEmail] : undefined,
      codeSource: props.codeSource,
      tuning: props.tuning ? {} : undefined,
      // This repository's CDK app lives in examples/ and needs the built web app and handlers: its projen task
      // builds them and synthesizes offline. In your own app keep the default (`npx cdk synth`).
      ciCommands: props.codeSource ? { synth: ['npx projen example:synth'] } : undefined,
      // A sandbox: delete the data with the stack. Keep the default (RETAIN) for real data.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new CfnOutput(this, 'SiteUrl', { value: this.mlops.webFrontend.siteUrl, description: 'The web app' });
    new CfnOutput(this, 'ApiUrl', { value: this.mlops.modelServing.apiUrl, description: 'POST ${ApiUrl}predictions' });
    new CfnOutput(this, 'DataBucket', { value: this.mlops.dataIngest.dataBucket.bucketName, description: 'Upload raw/*.csv here' });
    new CfnOutput(this, 'ReleasePipelineName', { value: this.mlops.releasePipeline.pipelineName });
  }
}

/**
 * The code source the app's context asks for: both `codeConnectionArn` and `codeRepository` (`<owner>/<repo>`),
 * optionally `codeBranch`, or none of them. Anything else fails, naming the context keys.
 */
export function codeSourceFromContext(scope: Construct): ReleasePipelineCodeSource | undefined {
  const { codeConnectionArn, codeRepository, codeBranch } = CONTEXT_KEYS;
  const arn = stringContext(scope, codeConnectionArn);
  const repository = stringContext(scope, codeRepository);
  const branch = stringContext(scope, codeBranch);
  const usage = `-c ${codeConnectionArn}=<CodeConnections connection ARN> -c ${codeRepository}=<owner>/<repository> [-c ${codeBranch}=<branch>]`;

  if (arn === undefined && repository === undefined) {
    if (branch !== undefined) {
      throw new Error(`Context ${codeBranch} only applies with ${codeConnectionArn} and ${codeRepository}: give all of ${usage}, or none.`);
    }
    return undefined;
  }
  if (arn === undefined || repository === undefined) {
    const [given, missing] = arn === undefined ? [codeRepository, codeConnectionArn] : [codeConnectionArn, codeRepository];
    throw new Error(`Context ${given} was given without ${missing}: a code source needs both ${codeConnectionArn} and ${codeRepository} (${usage}).`);
  }
  const problems: string[] = [];
  if (!CONNECTION_ARN.test(arn)) {
    problems.push(`${codeConnectionArn} is "${arn}"; it must be a CodeConnections connection ARN, `
      + 'arn:<partition>:codeconnections:<region>:<account>:connection/<id> (or codestar-connections)');
  }
  const match = REPOSITORY.exec(repository);
  if (!match) problems.push(`${codeRepository} is "${repository}"; it must be <owner>/<repository>, such as my-org/abalone-mlops`);
  if (branch !== undefined && !BRANCH.test(branch)) problems.push(`${codeBranch} is "${branch}"; it must be a branch name without spaces`);
  if (problems.length > 0 || !match) throw new Error(`Invalid context:\n- ${problems.join('\n- ')}`);
  return { connectionArn: arn, owner: match[1], repository: match[2], branch: branch ?? 'main' };
}

/** A context value, which must be a string when given (`-c key=value` always gives one). */
function stringContext(scope: Construct, key: string): string | undefined {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`Context ${key} is ${JSON.stringify(value)}; it must be a string.`);
  return value;
}

/** A `true`/`false` context value (`-c tuning=true` gives the string; cdk.json may give the boolean). */
function booleanContext(scope: Construct, key: string): boolean | undefined {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`Context ${key} is ${JSON.stringify(value)}; it must be true or false.`);
}

/**
 * Adds the example's stack to `app`, configured from the app's context (see {@link CONTEXT_KEYS}), with cdk-nag's
 * AwsSolutions checks: any unacknowledged finding fails the synth.
 */
export function buildExampleApp(app: App): AbaloneMlopsStack {
  const stack = new AbaloneMlopsStack(app, 'AbaloneMlops', {
    description: 'MLOps system for the UCI Abalone age model (cdk-mlops-abalone-pipeline example)',
    approvalEmail: stringContext(app, CONTEXT_KEYS.approvalEmail),
    codeSource: codeSourceFromContext(app),
    tuning: booleanContext(app, CONTEXT_KEYS.tuning),
  });
  Aspects.of(app).add(new AwsSolutionsChecks());
  return stack;
}
