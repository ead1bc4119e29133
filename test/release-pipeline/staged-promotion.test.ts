/**
 * ReleasePipeline with a staging target: DeployStaging → AcceptanceTest → Approve → DeployProduction, the variables
 * that carry the package from stage to stage, the roles, and the acceptance action's configuration.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { releaseInputs } from './support';
import { MlopsAbalonePipeline, ModelServing } from '../../src';
import { ACCEPTANCE_ACTION_ENV } from '../../src/contracts/acceptance-test';
import { DEPLOY_CONFIG_ENV } from '../../src/contracts/endpoint-deploy-config';
import { EndpointDeployment } from '../../src/model-serving/endpoint-deployment';
import { ReleasePipeline, ReleasePipelineProps } from '../../src/release-pipeline';
import { AcceptanceActionFunction } from '../../src/release-pipeline/acceptance-action-function';
import { parseAcceptanceActionConfig } from '../../src/release-pipeline/runtime/acceptance-action';
import { addNagChecks, nagFindings } from '../support/nag';

const STAGING_API = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/';

function build(props: Partial<ReleasePipelineProps> = {}, options: { nag?: boolean } = {}) {
  const stack = new Stack(new App(), 'Test');
  if (options.nag) addNagChecks(stack);
  const inputs = releaseInputs(stack);
  const staging = new EndpointDeployment(stack, 'StagingEndpoint', {
    modelRegistry: inputs.modelRegistry,
    artifactBucket: inputs.trainingPipeline.artifactBucket as s3.IBucket,
    endpointName: 'abalone-staging',
    endpointInstanceCount: 1,
    autoScaling: false,
  });
  const release = new ReleasePipeline(stack, 'Release', {
    ...inputs.props, stagingTarget: staging, stagingApiUrl: STAGING_API, ...props,
  });
  return { stack, release, inputs, staging, template: Template.fromStack(stack) };
}

const pipelineOf = (template: Template): any => Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'))[0].Properties;
const stageOf = (template: Template, name: string): any => pipelineOf(template).Stages.find((s: any) => s.Name === name);
const actionOf = (template: Template, stage: string): any => stageOf(template, stage).Actions[0];

/** Statements of the policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe('ReleasePipeline with a staging target', () => {
  const { template, release, stack } = build();

  test('has the stages Source, Train, DeployStaging, AcceptanceTest, Approve, DeployProduction', () => {
    expect(pipelineOf(template).Stages.map((s: any) => s.Name))
      .toEqual(['Source', 'Train', 'DeployStaging', 'AcceptanceTest', 'Approve', 'DeployProduction']);
  });

  test('staging gets the package Train registered; the test gets the one staging serves; production the one that passed', () => {
    const staging = actionOf(template, 'DeployStaging');
    expect(staging.Namespace).toBe('StagingDeploy');
    expect(JSON.parse(staging.Configuration.UserParameters)).toEqual({ modelPackageArn: '#{Train.ModelPackageArn}', approve: true });
    const test = actionOf(template, 'AcceptanceTest');
    expect(test.Namespace).toBe('Acceptance');
    expect(JSON.parse(test.Configuration.UserParameters)).toEqual({ modelPackageArn: '#{StagingDeploy.ModelPackageArn}' });
    const production = actionOf(template, 'DeployProduction');
    expect(JSON.parse(production.Configuration.UserParameters)).toEqual({ modelPackageArn: '#{Acceptance.ModelPackageArn}', approve: true });
  });

  test('each action invokes its own function: staging\'s deploy, the acceptance test, production\'s deploy', () => {
    const ref = (action: any) => action.Configuration.FunctionName.Ref;
    expect(ref(actionOf(template, 'DeployStaging'))).toBe(logicalId(template, 'AWS::Lambda::Function', 'ReleaseStagingDeployActionFunction'));
    expect(ref(actionOf(template, 'AcceptanceTest'))).toBe(logicalId(template, 'AWS::Lambda::Function', 'ReleaseAcceptanceActionFunction'));
    expect(ref(actionOf(template, 'DeployProduction'))).toBe(logicalId(template, 'AWS::Lambda::Function', 'ReleaseDeployActionFunction'));
  });

  test('the approval message carries the acceptance figures next to the gate\'s', () => {
    const text: string = actionOf(template, 'Approve').Configuration.CustomData;
    expect(text).toContain('#{Train.GateSummary}');
    expect(text).toContain('Staging endpoint abalone-staging served it and passed the acceptance test: #{Acceptance.Summary}.');
    expect(text).toContain('Approve to deploy exactly this package to endpoint abalone-endpoint');
    // Variables resolve before the action runs; the resolved text must stay within 1000 characters. Longest values:
    // an ARN of 150, a gate summary of 120, an acceptance summary of 260, counts of 10.
    const resolved = text
      .replace(/#\{Train\.ModelPackageArn\}/g, 'x'.repeat(150)).replace(/#\{Train\.GateSummary\}/g, 'x'.repeat(120))
      .replace(/#\{Acceptance\.Summary\}/g, 'x'.repeat(260)).replace(/#\{[^}]+\}/g, 'x'.repeat(10));
    expect(resolved.length).toBeLessThanOrEqual(1000);
  });

  test('the acceptance function gets the staging URL and the default bounds, and fits its test in its timeout', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(template, 'AWS::Lambda::Function', 'ReleaseAcceptanceActionFunction')];
    expect(fn.Properties.Timeout).toBe(900);
    const config = parseAcceptanceActionConfig(stack.resolve(fn.Properties.Environment.Variables[ACCEPTANCE_ACTION_ENV.CONFIG]));
    expect(config).toEqual({
      apiUrl: STAGING_API,
      mseTolerance: 0.1,
      maeTolerance: 0.1,
      maxNon2xx: 0,
      p99LatencyMs: 1000,
      concurrency: 4,
      requestTimeoutMs: 10000,
      requestsPerSecond: 25,
      timeBudgetSeconds: 840,
    });
    expect(release.acceptanceActionFunction).toBeInstanceOf(AcceptanceActionFunction);
  });

  test('the acceptance role may read packages of the group, the test splits and evaluation reports, and nothing else', () => {
    const statements = statementsOf(template, 'ReleaseAcceptanceActionRole');
    expect(statements.map((s) => ({ Action: s.Action, Sid: s.Sid }))).toEqual([
      { Action: 'sagemaker:DescribeModelPackage', Sid: 'ReadRegisteredModelPackages' },
      { Action: 's3:GetObject', Sid: 'ReadTestSplitsAndEvaluationReports' },
      // Its own log group; the replies to CodePipeline.
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Sid: undefined },
      { Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], Sid: undefined },
    ]);
    const read = statements.find((s) => s.Sid === 'ReadTestSplitsAndEvaluationReports');
    const suffixes = read.Resource.map((r: any) => r['Fn::Join'][1].slice(-1)[0]);
    expect(suffixes).toEqual(['/*/EvaluateModel/evaluation/evaluation.json', '/*/PreprocessData/heldout/test.csv']);
  });

  test('the staging deploy role may only invoke the staging deploy function; production\'s only production\'s', () => {
    const invoked = (prefix: string) => statementsOf(template, prefix)
      .filter((s) => [].concat(s.Action).includes('lambda:InvokeFunction' as never))
      .flatMap((s) => s.Resource.map((r: any) => JSON.stringify(r)));
    const stagingDeploy = logicalId(template, 'AWS::Lambda::Function', 'StagingEndpointDeployFunction');
    const productionDeploy = logicalId(template, 'AWS::Lambda::Function', 'EndpointDeployFunction');
    expect(invoked('ReleaseStagingDeployActionRole').every((r) => r.includes(stagingDeploy))).toBe(true);
    expect(invoked('ReleaseStagingDeployActionRole').length).toBeGreaterThan(0);
    expect(invoked('ReleaseDeployActionRole').every((r) => r.includes(`"${productionDeploy}"`))).toBe(true);
  });

  test('has no unacknowledged cdk-nag findings', () => {
    expect(nagFindings(build({}, { nag: true }).stack)).toEqual([]);
  });

  test('without approval it deploys to production once the acceptance test passes', () => {
    const { template: t } = build({ requireApproval: false });
    expect(pipelineOf(t).Stages.map((s: any) => s.Name)).toEqual(['Source', 'Train', 'DeployStaging', 'AcceptanceTest', 'DeployProduction']);
    expect(JSON.parse(actionOf(t, 'DeployProduction').Configuration.UserParameters).modelPackageArn).toBe('#{Acceptance.ModelPackageArn}');
  });

  test('bounds are configurable', () => {
    const { template: t, stack: s } = build({
      acceptanceMseTolerance: 0.05, acceptanceP99Latency: Duration.millis(300), acceptanceRequestsPerSecond: 10,
    });
    const fn = t.findResources('AWS::Lambda::Function')[logicalId(t, 'AWS::Lambda::Function', 'ReleaseAcceptanceActionFunction')];
    expect(parseAcceptanceActionConfig(s.resolve(fn.Properties.Environment.Variables[ACCEPTANCE_ACTION_ENV.CONFIG])))
      .toMatchObject({ mseTolerance: 0.05, p99LatencyMs: 300, requestsPerSecond: 10 });
  });
});

describe('staging props validation', () => {
  const fails = (props: Partial<ReleasePipelineProps>, ...messages: string[]) => {
    let error: Error | undefined;
    try {
      build(props);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toBeDefined();
    for (const m of messages) expect(error!.message).toContain(m);
  };

  test('fails without stagingApiUrl, naming it', () => fails({ stagingApiUrl: undefined }, 'stagingApiUrl', 'it is required with stagingTarget'));
  test('fails when stagingApiUrl is not a URL', () => fails({ stagingApiUrl: 'abc' }, 'stagingApiUrl', 'it must be an http(s) URL'));
  test('fails on a negative tolerance, naming the prop', () => fails({ acceptanceMseTolerance: -0.1 }, 'acceptanceMseTolerance', 'a number >= 0'));
  test('fails on a fractional non-2xx bound', () => fails({ acceptanceMaxNon2xx: 1.5 }, 'acceptanceMaxNon2xx', 'a whole number >= 0'));
  test('fails on a zero latency bound', () => fails({ acceptanceP99Latency: Duration.millis(0) }, 'acceptanceP99Latency', 'between 1 millisecond and 1 minute'));
  test('fails on a zero request rate', () => fails({ acceptanceRequestsPerSecond: 0 }, 'acceptanceRequestsPerSecond', 'above 0'));

  test('acceptance props without a staging target fail, naming each', () => {
    const stack = new Stack(new App(), 'Test');
    const inputs = releaseInputs(stack);
    expect(() => new ReleasePipeline(stack, 'Release', { ...inputs.props, stagingApiUrl: STAGING_API, acceptanceMaxNon2xx: 1 }))
      .toThrow(/stagingApiUrl[\s\S]*only applies with stagingTarget[\s\S]*acceptanceMaxNon2xx[\s\S]*only applies with stagingTarget/);
  });

  test('the staging target must not be the production target', () => {
    const stack = new Stack(new App(), 'Test');
    const inputs = releaseInputs(stack);
    expect(() => new ReleasePipeline(stack, 'Release', { ...inputs.props, stagingTarget: inputs.endpoint, stagingApiUrl: STAGING_API }))
      .toThrow(/stagingTarget.*it must be another endpoint than deploymentTarget/);
  });
});

/** A synthesized value as JSON text without the escaping of nested JSON strings. */
const unescaped = (value: unknown) => JSON.stringify(value).replace(/\\+"/g, '"');

describe('MlopsAbalonePipeline with staging', () => {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { projectName: 'abalone', staging: { acceptanceP99Latency: Duration.millis(800) } });
  const template = Template.fromStack(stack);

  test('creates a second ModelServing: one instance, no auto-scaling, no feedback table, no capture', () => {
    const serving = mlops.stagingServing!;
    expect(serving).toBeInstanceOf(ModelServing);
    expect(serving.endpointName).toBe('abalone-staging-endpoint');
    expect(serving.predictionStore).toBeUndefined();
    expect(serving.dataCaptureLocation).toBeUndefined();
    const deployFn = template.findResources('AWS::Lambda::Function')[stack.resolve((serving.deployFunction.node.defaultChild as any).logicalId)];
    const text = unescaped(deployFn.Properties.Environment.Variables[DEPLOY_CONFIG_ENV]);
    expect(text).toContain('"endpointName":"abalone-staging-endpoint"');
    expect(text).toContain('"instanceCount":1');
    expect(text).not.toContain('"autoScaling"');
    // Production's does scale.
    const production = template.findResources('AWS::Lambda::Function')[stack.resolve((mlops.modelServing.deployFunction.node.defaultChild as any).logicalId)];
    expect(unescaped(production.Properties.Environment.Variables[DEPLOY_CONFIG_ENV])).toContain('"autoScaling":{');
  });

  test('the release pipeline deploys to staging, tests the staging API and then asks for approval', () => {
    const pipeline = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'))[0].Properties;
    expect(pipeline.Stages.map((s: any) => s.Name)).toEqual(['Source', 'Train', 'DeployStaging', 'AcceptanceTest', 'Approve', 'DeployProduction']);
    const fn = template.findResources('AWS::Lambda::Function')[stack.resolve((mlops.releasePipeline.acceptanceActionFunction!.node.defaultChild as any).logicalId)];
    const env = unescaped(fn.Properties.Environment.Variables[ACCEPTANCE_ACTION_ENV.CONFIG]);
    // The URL is the staging API's, not production's.
    expect(env).toContain(stack.resolve(mlops.stagingServing!.api.restApiId).Ref);
    expect(env).not.toContain(stack.resolve(mlops.modelServing.api.restApiId).Ref);
    expect(env).toContain('"p99LatencyMs":800');
  });

  test('has no unacknowledged cdk-nag findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

test('the L3 template with staging is cfn-lint clean', () => {
  const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';
  const probe = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${CFN_LINT} is not available (${String(probe.error ?? probe.stderr).trim()}); install cfn-lint or set CFN_LINT`);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-staging-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Staged', { env: { account: '111111111111', region: 'eu-west-1' } });
  new MlopsAbalonePipeline(stack, 'Abalone', { staging: {} });
  app.synth();
  const lint = spawnSync(CFN_LINT, ['--ignore-checks', 'W3005', 'W3010', '--', path.join(outdir, 'Staged.template.json')], { encoding: 'utf8' });
  fs.rmSync(outdir, { recursive: true, force: true });
  expect(lint.stdout + lint.stderr).toBe('');
  expect(lint.status).toBe(0);
}, 180_000);
