/**
 * The Train action as a state machine over CodePipeline continuation tokens. Each invocation does one short step:
 *
 *   (first)   read the data manifest from the input artifact
 *   settling  a newer pipeline execution is under way → stop this one (the newer one trains instead);
 *             otherwise wait until no execution has started for the debounce period, then start the SageMaker pipeline
 *   training  follow the SageMaker execution → still running | succeeded (model package + metrics as output
 *             variables) | failed (the failing step's reason, e.g. the quality gate's message)
 */
import {
  CodePipelineClient,
  FailureType,
  ListPipelineExecutionsCommand,
  PipelineExecutionSummary,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  DescribePipelineExecutionCommand,
  ListPipelineExecutionStepsCommand,
  PipelineExecutionStep,
  SageMakerClient,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-sagemaker';
import type { Credentials } from 'aws-lambda';
import { JobInput, JobOutcome, truncate } from './codepipeline-job';
import { messageOf } from '../../contracts/error-messages';
import { TRAIN_OUTPUT_VARIABLES as OUT, TrainActionConfig, TrainActionParameters } from '../../contracts/release-actions';
import { parseDataManifest } from '../../data-ingest/runtime/manifest-logic';
import { PARAMETER_NAMES, STEP_NAMES } from '../../training-pipeline/definition/names';

/** The AWS clients of the train action; tests point them at moto_server or stub them. */
export interface TrainActionClients {
  readonly sagemaker: SageMakerClient;
  readonly codepipeline: CodePipelineClient;
  /** Reads evaluation reports, with the function's own role. */
  readonly s3: S3Client;
  /** An S3 client for the artifact store with the job's temporary artifact credentials. */
  readonly artifactS3: (credentials: Credentials | undefined) => S3Client;
}

/** Knobs for tests. */
export interface TrainActionOptions {
  /** Epoch milliseconds. */
  readonly now?: () => number;
}

/** What the action keeps of the data manifest. */
export interface ManifestSummary {
  /** The SageMaker ManifestFile the run trains on; absent when the manifest lists no files. */
  readonly uri?: string;
  readonly files: number;
  readonly rows: number;
}

/** The continuation token's content. */
export interface TrainState {
  readonly v: 1;
  readonly phase: 'settling' | 'training';
  readonly manifest: ManifestSummary;
  /** When this action first ran (epoch ms): the fallback start of the quiet period. */
  readonly since: number;
  /** The SageMaker pipeline execution, once started. */
  readonly executionArn?: string;
}

/** The action fails with this message and type. */
class ActionFailure extends Error {
  constructor(message: string, readonly type: FailureType = FailureType.JobFailed) {
    super(message);
    this.name = 'ActionFailure';
  }
}

/** Executions of the release pipeline looked at, newest first: enough to find this one among a burst. */
const EXECUTION_PAGES = 4;
const EXECUTIONS_PER_PAGE = 25;
/** StopPipelineExecution's reason limit. */
const MAX_STOP_REASON = 200;
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** One step of the Train action. */
export async function trainStep(
  clients: TrainActionClients,
  config: TrainActionConfig,
  input: JobInput,
  options: TrainActionOptions = {},
): Promise<JobOutcome> {
  const now = options.now ?? Date.now;
  try {
    const params = parseParameters(input.userParameters);
    if (input.continuationToken === undefined) {
      const manifest = await readManifest(clients, input);
      return await settle(clients, config, params, input, { v: 1, phase: 'settling', manifest, since: now() }, now());
    }
    const state = decodeState(input.continuationToken);
    if (state.phase === 'settling') return await settle(clients, config, params, input, state, now());
    return await follow(clients, config, state);
  } catch (error) {
    if (error instanceof ActionFailure) return { kind: 'failed', message: error.message, failureType: error.type };
    throw error;
  }
}

function parseParameters(text: string): TrainActionParameters {
  let value: Partial<TrainActionParameters>;
  try {
    value = JSON.parse(text) as Partial<TrainActionParameters>;
  } catch {
    throw new ActionFailure(`UserParameters must be JSON with pipelineExecutionId, got ${JSON.stringify(truncate(text, 200))}`, FailureType.ConfigurationError);
  }
  const id = value?.pipelineExecutionId;
  if (typeof id !== 'string' || id.length === 0 || id.includes('#{')) {
    throw new ActionFailure('UserParameters.pipelineExecutionId must be the resolved #{codepipeline.PipelineExecutionId}', FailureType.ConfigurationError);
  }
  const versionId = typeof value.manifestVersionId === 'string' && !value.manifestVersionId.includes('#{') ? value.manifestVersionId : undefined;
  return { pipelineExecutionId: id, ...(versionId ? { manifestVersionId: versionId } : {}) };
}

/** The data manifest as the S3 source copied it: a single non-zip object arrives as it is. */
async function readManifest(clients: TrainActionClients, input: JobInput): Promise<ManifestSummary> {
  const artifact = input.inputArtifacts[0];
  const location = artifact?.location?.s3Location;
  if (!location) throw new ActionFailure('The action has no input artifact: it needs the data manifest from the Source stage.', FailureType.ConfigurationError);
  const s3 = clients.artifactS3(input.artifactCredentials);
  const out = await s3.send(new GetObjectCommand({ Bucket: location.bucketName, Key: location.objectKey }));
  const bytes = Buffer.from(await out.Body!.transformToByteArray());
  if (bytes.subarray(0, 4).equals(ZIP_MAGIC)) {
    throw new ActionFailure('The source artifact is a zip archive; the Train action expects the data manifest JSON object itself (an S3 source of the unzipped manifest).', FailureType.ConfigurationError);
  }
  let manifest;
  try {
    manifest = parseDataManifest(bytes.toString('utf8'));
  } catch (error) {
    throw new ActionFailure(`The source artifact is not a valid data manifest: ${(error as Error).message}`);
  }
  return {
    ...(manifest.trainingManifestUri ? { uri: manifest.trainingManifestUri } : {}),
    files: manifest.files.length,
    rows: manifest.totalRows,
  };
}

/**
 * Debounce: a burst of uploads starts one pipeline execution per manifest change. In SUPERSEDED mode the newest of
 * them waits at this stage's entrance; an older one that is here stops itself so that the newest (which took the
 * latest manifest) trains, and training only starts when no execution has started for the quiet period.
 */
async function settle(
  clients: TrainActionClients,
  config: TrainActionConfig,
  params: TrainActionParameters,
  input: JobInput,
  state: TrainState,
  now: number,
): Promise<JobOutcome> {
  const { own, newer } = await recentExecutions(clients.codepipeline, config.releasePipelineName, params.pipelineExecutionId);
  const overtaking = newer.find((e) => e.status === 'InProgress');
  if (overtaking) return supersede(clients.codepipeline, config, params, overtaking);

  if (!state.manifest.uri) {
    throw new ActionFailure('The data manifest lists no valid data files, so there is nothing to train on. '
      + 'Upload abalone CSV files under the data bucket\'s raw prefix; DataIngest then writes a manifest naming them.');
  }

  const starts = [own?.startTime?.getTime() ?? state.since, ...newer.map((e) => e.startTime?.getTime() ?? 0)];
  const quietMs = now - Math.max(...starts);
  const debounceMs = config.debounceSeconds * 1000;
  if (quietMs < debounceMs) {
    const left = Math.ceil((debounceMs - quietMs) / 1000);
    return {
      kind: 'in-progress',
      token: encodeState(state),
      summary: `Waiting for uploads to settle: training starts once no newer execution has started for ${config.debounceSeconds} s (${left} s left).`,
    };
  }
  return start(clients, config, params, input, state);
}

async function start(
  clients: TrainActionClients,
  config: TrainActionConfig,
  params: TrainActionParameters,
  input: JobInput,
  state: TrainState,
): Promise<JobOutcome> {
  const { manifest } = state;
  const lineage = `${manifest.files} data files, ${manifest.rows} rows${params.manifestVersionId ? `, data manifest version ${params.manifestVersionId}` : ''}`;
  const out = await clients.sagemaker.send(new StartPipelineExecutionCommand({
    PipelineName: config.trainingPipelineName,
    PipelineExecutionDisplayName: displayName(params.pipelineExecutionId),
    PipelineExecutionDescription: truncate(`Started by CodePipeline ${config.releasePipelineName} execution ${params.pipelineExecutionId}: ${lineage}`, 3072),
    PipelineParameters: [{ Name: PARAMETER_NAMES.inputManifestUri, Value: manifest.uri! }],
    // The job id: a retried invocation of this job gets the same execution instead of a second one.
    ClientRequestToken: clientRequestToken(input.jobId),
  }));
  const executionArn = out.PipelineExecutionArn!;
  return {
    kind: 'in-progress',
    token: encodeState({ ...state, phase: 'training', executionArn }),
    summary: `Started SageMaker pipeline execution ${executionArn} on ${manifest.uri} (${lineage}).`,
    externalExecutionId: executionArn,
  };
}

async function follow(clients: TrainActionClients, config: TrainActionConfig, state: TrainState): Promise<JobOutcome> {
  const arn = state.executionArn!;
  const execution = await clients.sagemaker.send(new DescribePipelineExecutionCommand({ PipelineExecutionArn: arn }));
  const status = execution.PipelineExecutionStatus;
  switch (status) {
    case 'Executing':
    case 'Stopping': {
      const running = (await executionSteps(clients.sagemaker, arn)).filter((s) => s.StepStatus === 'Executing').map((s) => s.StepName);
      return {
        kind: 'in-progress',
        token: encodeState(state),
        summary: `SageMaker pipeline execution is ${status}${running.length ? ` (${running.join(', ')})` : ''}: ${arn}`,
        externalExecutionId: arn,
      };
    }
    case 'Succeeded':
      return succeeded(clients, config, state, arn);
    case 'Failed': {
      const steps = await executionSteps(clients.sagemaker, arn);
      return { kind: 'failed', message: failureMessage(arn, steps, execution.FailureReason), externalExecutionId: arn };
    }
    case 'Stopped':
      return { kind: 'failed', message: `SageMaker pipeline execution ${arn} was stopped before it finished.`, externalExecutionId: arn };
    default:
      return { kind: 'failed', message: `SageMaker pipeline execution ${arn} is in an unexpected status: ${status ?? 'none'}`, externalExecutionId: arn };
  }
}

/** The failing steps' reasons, the quality gate's Fail step first; its message reads e.g. "MSE 7.31 > threshold 6.0". */
export function failureMessage(executionArn: string, steps: PipelineExecutionStep[], executionReason?: string): string {
  const failed = steps
    .filter((s) => s.StepStatus === 'Failed')
    .sort((a, b) => Number(b.Metadata?.Fail !== undefined) - Number(a.Metadata?.Fail !== undefined));
  if (failed.length === 0) {
    return `SageMaker pipeline execution ${executionArn} failed: ${executionReason || 'SageMaker gave no reason'}`;
  }
  const reasons = failed.map((s) => `${s.StepName}: ${s.Metadata?.Fail?.ErrorMessage || s.FailureReason || 'SageMaker gave no reason'}`);
  return `${reasons.join('; ')} (SageMaker pipeline execution ${executionArn})`;
}

async function succeeded(clients: TrainActionClients, config: TrainActionConfig, state: TrainState, arn: string): Promise<JobOutcome> {
  const steps = await executionSteps(clients.sagemaker, arn);
  const packageArn = steps.find((s) => s.Metadata?.RegisterModel?.Arn)?.Metadata?.RegisterModel?.Arn;
  if (!packageArn) {
    throw new ActionFailure(`SageMaker pipeline execution ${arn} succeeded but registered no model package `
      + `(no ${STEP_NAMES.register} step with a model package ARN), so there is nothing to approve or deploy.`);
  }
  const pkg = await clients.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: packageArn }));
  const reportUri = pkg.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
  if (!reportUri) {
    throw new ActionFailure(`Model package ${packageArn} has no model quality statistics (ModelMetrics.ModelQuality.Statistics), so its metrics cannot be shown for approval.`);
  }
  const metrics = await readMetrics(clients.s3, reportUri);
  const summary = gateSummary(config, metrics);
  const group = pkg.ModelPackageGroupName ?? packageArn.split('/').slice(-2, -1)[0] ?? '';
  const version = pkg.ModelPackageVersion !== undefined ? String(pkg.ModelPackageVersion) : packageArn.split('/').pop() ?? '';
  return {
    kind: 'succeeded',
    summary: `Registered ${packageArn}: ${summary}`,
    externalExecutionId: arn,
    outputVariables: {
      [OUT.modelPackageArn]: packageArn,
      [OUT.modelPackageGroupName]: group,
      [OUT.modelPackageVersion]: version,
      [OUT.modelApprovalStatus]: pkg.ModelApprovalStatus ?? 'unknown',
      [OUT.mse]: formatMetric(metrics.mse),
      [OUT.mae]: formatMetric(metrics.mae),
      [OUT.r2]: formatMetric(metrics.r2),
      [OUT.mseThreshold]: String(config.mseThreshold),
      [OUT.gateSummary]: summary,
      [OUT.evaluationReportUri]: reportUri,
      [OUT.trainingExecutionArn]: arn,
      [OUT.trainingManifestUri]: state.manifest.uri ?? '',
      [OUT.dataFiles]: String(state.manifest.files),
      [OUT.dataRows]: String(state.manifest.rows),
    },
  };
}

/** Metrics of evaluation.json (SageMaker's model-quality regression shape). */
export interface RegressionMetrics {
  readonly mse: number;
  readonly mae?: number;
  readonly r2?: number;
}

/** Reads `{"regression_metrics": {"mse": {"value"}, "mae": {"value"}, "r2": {"value"}}}`; MSE is required. */
export function parseEvaluationReport(text: string, uri: string): RegressionMetrics {
  let report: any;
  try {
    report = JSON.parse(text);
  } catch {
    throw new ActionFailure(`The evaluation report ${uri} is not JSON.`);
  }
  const metric = (name: string): number | undefined => {
    const value = report?.regression_metrics?.[name]?.value;
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };
  const mse = metric('mse');
  if (mse === undefined) throw new ActionFailure(`The evaluation report ${uri} has no regression_metrics.mse.value.`);
  return { mse, mae: metric('mae'), r2: metric('r2') };
}

async function readMetrics(s3: S3Client, uri: string): Promise<RegressionMetrics> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new ActionFailure(`The model package's statistics location ${uri} is not an s3:// URI.`);
  const out = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  return parseEvaluationReport(await out.Body!.transformToString(), uri);
}

/** Every metric next to its bound, e.g. `MSE 4.512 (threshold 6), MAE 1.523, R² 0.5611`. */
export function gateSummary(config: TrainActionConfig, metrics: RegressionMetrics): string {
  const bound = (label: string, value: number | undefined, limit: string) => `${label} ${formatMetric(value)}${limit}`;
  return [
    bound('MSE', metrics.mse, ` (threshold ${config.mseThreshold})`),
    bound('MAE', metrics.mae, config.maxMae !== undefined ? ` (max ${config.maxMae})` : ''),
    bound('R²', metrics.r2, config.minR2 !== undefined ? ` (min ${config.minR2})` : ''),
  ].join(', ');
}

/** Four significant digits: what an approver needs to compare against a threshold. */
export function formatMetric(value: number | undefined): string {
  return value === undefined ? 'n/a' : String(Number(value.toPrecision(4)));
}

async function supersede(
  codepipeline: CodePipelineClient,
  config: TrainActionConfig,
  params: TrainActionParameters,
  overtaking: PipelineExecutionSummary,
): Promise<JobOutcome> {
  const reason = `Superseded by execution ${overtaking.pipelineExecutionId}, which has newer data or code and trains instead.`;
  try {
    await codepipeline.send(new StopPipelineExecutionCommand({
      pipelineName: config.releasePipelineName,
      pipelineExecutionId: params.pipelineExecutionId,
      abandon: true,
      reason: truncate(reason, MAX_STOP_REASON),
    }));
    return { kind: 'abandoned', summary: reason };
  } catch (error) {
    return { kind: 'failed', message: `${reason} Stopping this execution failed (${messageOf(error)}), so it fails instead.` };
  }
}

/** This execution and every newer one (newest first), from the release pipeline's history. */
async function recentExecutions(codepipeline: CodePipelineClient, pipelineName: string, ownId: string) {
  const newer: PipelineExecutionSummary[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < EXECUTION_PAGES; page++) {
    const out = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: EXECUTIONS_PER_PAGE, nextToken }));
    for (const summary of out.pipelineExecutionSummaries ?? []) {
      if (summary.pipelineExecutionId === ownId) return { own: summary, newer };
      newer.push(summary);
    }
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return { own: undefined, newer };
}

async function executionSteps(sagemaker: SageMakerClient, arn: string): Promise<PipelineExecutionStep[]> {
  const steps: PipelineExecutionStep[] = [];
  let NextToken: string | undefined;
  do {
    const out = await sagemaker.send(new ListPipelineExecutionStepsCommand({ PipelineExecutionArn: arn, NextToken }));
    steps.push(...(out.PipelineExecutionSteps ?? []));
    NextToken = out.NextToken;
  } while (NextToken);
  return steps;
}

/** SageMaker display names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}`. */
function displayName(pipelineExecutionId: string): string {
  return `release-${pipelineExecutionId}`.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/-+$/, '').slice(0, 82).replace(/-+$/, '');
}

/** SageMaker idempotency tokens are 32-128 characters. */
function clientRequestToken(jobId: string): string {
  return jobId.length >= 32 ? jobId.slice(0, 128) : jobId.padEnd(32, '0');
}

export function encodeState(state: TrainState): string {
  return JSON.stringify(state);
}

export function decodeState(token: string): TrainState {
  let state: Partial<TrainState>;
  try {
    state = JSON.parse(token) as Partial<TrainState>;
  } catch {
    throw new ActionFailure('The continuation token is not a Train action state.');
  }
  const ok = state?.v === 1
    && (state.phase === 'settling' || (state.phase === 'training' && typeof state.executionArn === 'string'))
    && typeof state.since === 'number'
    && typeof state.manifest === 'object' && state.manifest !== null
    && typeof state.manifest.files === 'number' && typeof state.manifest.rows === 'number';
  if (!ok) throw new ActionFailure('The continuation token is not a Train action state.');
  return state as TrainState;
}
