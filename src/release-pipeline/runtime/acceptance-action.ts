/**
 * The AcceptanceTest action: reads the model package the staging endpoint serves (its registered metrics and the
 * held-out test split the training pipeline recorded on it), replays the split through the staging API as a client
 * would, and passes only when the figures are within the bounds. Its figures become output variables for the
 * approval message; the package ARN it passes on is the one production deploys.
 */
import { FailureType } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { AcceptanceInputError, AcceptanceResult, parseTestSplit, registeredMetricsOf, runAcceptanceTest } from './acceptance/acceptance-test';
import { JobInput, JobOutcome } from './codepipeline-job';
import {
  ACCEPTANCE_ACTION_ENV, ACCEPTANCE_OUTPUT_VARIABLES, AcceptanceActionConfig, acceptanceSettingProblems, HELD_OUT_TEST_SPLIT,
} from '../../contracts/acceptance-test';

export interface AcceptanceActionClients {
  readonly sagemaker: Pick<SageMakerClient, 'send'>;
  readonly s3: Pick<S3Client, 'send'>;
  /** The staging API's client. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Parses and checks the action's configuration; throws naming each bad field. */
export function parseAcceptanceActionConfig(json: string | undefined): AcceptanceActionConfig {
  if (!json) throw new Error(`${ACCEPTANCE_ACTION_ENV.CONFIG} is not set`);
  const config = JSON.parse(json) as AcceptanceActionConfig;
  const problems = acceptanceSettingProblems(config, `${ACCEPTANCE_ACTION_ENV.CONFIG}.`);
  const numbers = ['mseTolerance', 'maeTolerance', 'maxNon2xx', 'p99LatencyMs', 'concurrency', 'requestTimeoutMs'] as const;
  for (const field of numbers) {
    if (typeof config[field] !== 'number') problems.push(`${ACCEPTANCE_ACTION_ENV.CONFIG}.${field} is missing`);
  }
  for (const field of ['requestsPerSecond', 'timeBudgetSeconds'] as const) {
    if (typeof config[field] !== 'number' || !(config[field] > 0)) problems.push(`${ACCEPTANCE_ACTION_ENV.CONFIG}.${field} must be a number > 0`);
  }
  if (typeof config.apiUrl !== 'string' || !/^https?:\/\//.test(config.apiUrl)) problems.push(`${ACCEPTANCE_ACTION_ENV.CONFIG}.apiUrl is missing or not http(s)`);
  if (problems.length > 0) throw new Error(problems.join('; '));
  return config;
}

/** One invocation runs the whole test (bounded by the configured time budget, within Lambda's timeout). */
export async function acceptanceStep(
  clients: AcceptanceActionClients,
  config: AcceptanceActionConfig,
  input: JobInput,
): Promise<JobOutcome> {
  let packageArn: string | undefined;
  try {
    packageArn = (JSON.parse(input.userParameters) as { modelPackageArn?: unknown }).modelPackageArn as string | undefined;
  } catch {
    packageArn = undefined;
  }
  if (typeof packageArn !== 'string' || !packageArn.startsWith('arn:')) {
    return {
      kind: 'failed',
      failureType: FailureType.ConfigurationError,
      message: 'UserParameters must be {"modelPackageArn": "<the package the staging deploy deployed>"}',
    };
  }
  const pkg = await clients.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: packageArn }));
  const splitUri = pkg.CustomerMetadataProperties?.[HELD_OUT_TEST_SPLIT.metadataKey];
  const reportUri = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
  if (!splitUri) {
    return { kind: 'failed', message: `Model package ${packageArn} records no held-out test split (CustomerMetadataProperties.${HELD_OUT_TEST_SPLIT.metadataKey}): train it again with this version of the training pipeline.` };
  }
  if (!reportUri) {
    return { kind: 'failed', message: `Model package ${packageArn} has no model quality statistics (ModelMetrics.ModelQuality.Statistics): there is nothing to accept it against.` };
  }
  let result: AcceptanceResult;
  try {
    const registered = registeredMetricsOf(JSON.parse(await readS3(clients.s3, reportUri)), reportUri);
    const cases = parseTestSplit(await readS3(clients.s3, splitUri), splitUri);
    const needed = cases.length / config.requestsPerSecond;
    if (needed > config.timeBudgetSeconds) {
      return {
        kind: 'failed',
        failureType: FailureType.ConfigurationError,
        message: `The held-out test split ${splitUri} has ${cases.length} rows: at ${config.requestsPerSecond} requests per second the test needs `
          + `${Math.ceil(needed)} s, more than the action's ${config.timeBudgetSeconds} s. Raise acceptanceRequestsPerSecond (within the staging API's throttling).`,
      };
    }
    result = await runAcceptanceTest({
      apiUrl: config.apiUrl,
      cases,
      registered,
      bounds: config,
      client: {
        concurrency: config.concurrency,
        requestTimeoutMs: config.requestTimeoutMs,
        requestsPerSecond: config.requestsPerSecond,
        fetch: clients.fetch,
      },
    });
  } catch (error) {
    if (error instanceof SyntaxError) return { kind: 'failed', message: `The evaluation report ${reportUri} is not JSON.` };
    if (error instanceof AcceptanceInputError) return { kind: 'failed', message: error.message };
    throw error;
  }
  if (!result.passed) return { kind: 'failed', message: `${result.message} (model package ${packageArn}, staging API ${config.apiUrl})` };
  const f = result.figures;
  const OUT = ACCEPTANCE_OUTPUT_VARIABLES;
  return {
    kind: 'succeeded',
    summary: result.message,
    outputVariables: {
      [OUT.modelPackageArn]: packageArn,
      [OUT.requests]: String(f.requests),
      [OUT.mse]: figure(f.mse),
      [OUT.mae]: figure(f.mae),
      [OUT.non2xx]: String(f.non2xx),
      [OUT.p50LatencyMs]: figure(f.p50LatencyMs, 1),
      [OUT.p99LatencyMs]: figure(f.p99LatencyMs, 1),
      [OUT.summary]: result.summary,
    },
  };
}

function figure(value: number | undefined, digits = 4): string {
  return value === undefined ? '-' : String(Number(value.toFixed(digits)));
}

async function readS3(s3: Pick<S3Client, 'send'>, uri: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`${uri} is not an s3:// URI`);
  const out = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return out.Body!.transformToString('utf8');
}
