/**
 * The scheduled start of a monitoring run: find what the endpoint serves and the training profile it is judged
 * against, then start the monitoring pipeline on the previous full UTC hour of captures. Anything missing (no
 * endpoint, not in service, no capture, no profile, no traffic) is a logged skip, not an error: nothing runs while
 * no model is deployed.
 *
 * The same run judges live model quality over the previous full UTC day when there is something to judge it by:
 * ground truth for that day, captures of that day, and the serving package's registered test metrics. Otherwise the
 * quality step is switched off for the run (`HasGroundTruth` = 0) and the outcome says why.
 */
import { createHash } from 'crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelPackageCommand,
  ListTagsCommand,
  SageMakerClient,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-sagemaker';
import type { StartMonitoringConfig } from '../../contracts/drift-monitoring-functions';
import { TAG_MODEL_PACKAGE } from '../../contracts/endpoint-names';
import {
  DATA_CAPTURE_PREFIX, GROUND_TRUTH_PREFIX, MODEL_QUALITY_PARAMETER_NAMES as Q, MONITORING_PARAMETER_NAMES as P, TRAINING_PROFILE,
  captureHourPrefix,
} from '../../contracts/monitoring';

/** The AWS clients of the starter; tests point them at moto_server or stub them. */
export interface StartMonitoringClients {
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
}

/** Whether a started run judges model quality, and if not, why. */
export type ModelQualityDecision =
  | { readonly evaluated: true }
  | { readonly evaluated: false; readonly reason: string };

/** What one scheduled invocation did. */
export type StartMonitoringOutcome =
  | {
    readonly started: true;
    readonly executionArn: string;
    readonly parameters: Record<string, string>;
    readonly modelQuality: ModelQualityDecision;
  }
  | { readonly started: false; readonly reason: string };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The window a run at `scheduledTime` judges: the previous full UTC hour. */
export function monitoringWindow(scheduledTime: Date): Date {
  if (Number.isNaN(scheduledTime.getTime())) throw new Error('the scheduled time is not a valid date');
  return new Date(Math.floor(scheduledTime.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS);
}

/** The model-quality window of a run at `scheduledTime`: the previous full UTC day. */
export function qualityWindow(scheduledTime: Date): Date {
  if (Number.isNaN(scheduledTime.getTime())) throw new Error('the scheduled time is not a valid date');
  return new Date(Math.floor(scheduledTime.getTime() / DAY_MS) * DAY_MS - DAY_MS);
}

/** `yyyy/mm/dd` of a UTC day. */
function dayPath(day: Date): string {
  return day.toISOString().slice(0, 10).replace(/-/g, '/');
}

/** `data-capture/<endpoint>/AllTraffic/yyyy/mm/dd`: one day of the endpoint's captures (the hour folders under it). */
function captureDayPrefix(endpointName: string, day: Date): string {
  return captureHourPrefix(endpointName, day).replace(/\/\d{2}$/, '');
}

/** `ground-truth/yyyy/mm/dd`: the labels of one day's predictions. */
function groundTruthDayPrefix(day: Date): string {
  return `${GROUND_TRUTH_PREFIX}${dayPath(day)}`;
}

/** Starts the monitoring pipeline for the window before `scheduledTime`, or says why not. */
export async function startMonitoring(
  clients: StartMonitoringClients,
  config: StartMonitoringConfig,
  scheduledTime: Date,
): Promise<StartMonitoringOutcome> {
  const windowStart = monitoringWindow(scheduledTime);
  const endpointName = config.endpointName;
  const skip = (reason: string): StartMonitoringOutcome => ({ started: false, reason });

  let endpoint: DescribeEndpointCommandOutput;
  try {
    endpoint = await clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) return skip(`endpoint ${endpointName} does not exist: no model is deployed`);
    throw error;
  }
  if (endpoint.EndpointStatus !== 'InService') {
    return skip(`endpoint ${endpointName} is ${endpoint.EndpointStatus ?? 'in an unknown state'}, not InService`);
  }
  const configName = endpoint.EndpointConfigName;
  if (!configName) return skip(`endpoint ${endpointName} reports no endpoint configuration`);

  const endpointConfig = await clients.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
  const capture = endpointConfig.DataCaptureConfig;
  const expectedDestination = `s3://${config.captureBucketName}/${DATA_CAPTURE_PREFIX.replace(/\/$/, '')}`;
  if (!capture || capture.EnableCapture === false) {
    return skip(`endpoint configuration ${configName} of ${endpointName} does not capture data`);
  }
  if (!(capture.CaptureOptions ?? []).some((o) => o.CaptureMode === 'Input')) {
    return skip(`endpoint configuration ${configName} of ${endpointName} does not capture requests (CaptureMode Input)`);
  }
  if (capture.DestinationS3Uri?.replace(/\/+$/, '') !== expectedDestination) {
    return skip(`endpoint configuration ${configName} of ${endpointName} captures to ${capture.DestinationS3Uri}, not ${expectedDestination}`);
  }

  const tags = await clients.sagemaker.send(new ListTagsCommand({ ResourceArn: endpointConfig.EndpointConfigArn }));
  const modelPackageArn = (tags.Tags ?? []).find((t) => t.Key === TAG_MODEL_PACKAGE)?.Value;
  if (!modelPackageArn) {
    return skip(`endpoint configuration ${configName} of ${endpointName} has no ${TAG_MODEL_PACKAGE} tag: its model package is unknown`);
  }

  const modelPackage = await clients.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: modelPackageArn }));
  const profileS3Uri = modelPackage.CustomerMetadataProperties?.[TRAINING_PROFILE.metadataKey];
  if (!profileS3Uri) {
    return skip(`model package ${modelPackageArn} has no ${TRAINING_PROFILE.metadataKey} in its CustomerMetadataProperties: `
      + 'it was registered without a training profile, so there is nothing to judge its traffic against');
  }

  const hourPrefix = captureHourPrefix(endpointName, windowStart);
  if (!await hasObjects(clients.s3, config.captureBucketName, `${hourPrefix}/`)) {
    return skip(`no captures of ${endpointName} in the hour from ${windowStart.toISOString()} (s3://${config.captureBucketName}/${hourPrefix}/)`);
  }

  const qualityStart = qualityWindow(scheduledTime);
  const qualityCapturePrefix = captureDayPrefix(endpointName, qualityStart);
  const groundTruthPrefix = groundTruthDayPrefix(qualityStart);
  const registeredMetricsS3Uri = modelPackage.ModelMetrics?.ModelQuality?.Statistics?.S3Uri;
  const modelQuality = await decideModelQuality(clients.s3, config.captureBucketName, {
    modelPackageArn, registeredMetricsS3Uri, qualityCapturePrefix, groundTruthPrefix, day: qualityStart,
  });

  const t = config.thresholds;
  const q = config.modelQuality;
  const parameters: Record<string, string> = {
    [P.endpointName]: endpointName,
    [P.modelPackageArn]: modelPackageArn,
    [P.profileS3Uri]: profileS3Uri,
    [P.captureS3Prefix]: `s3://${config.captureBucketName}/${hourPrefix}`,
    [P.windowStart]: windowStart.toISOString(),
    [P.psiThreshold]: String(t.psiThreshold),
    [P.ksPValueThreshold]: String(t.ksPValueThreshold),
    [P.driftedShareThreshold]: String(t.driftedShareThreshold),
    [P.minRecords]: String(t.minRecords),
    [Q.hasGroundTruth]: modelQuality.evaluated ? '1' : '0',
    // Valid S3 URIs also when the quality step is skipped: SageMaker checks every step's inputs.
    [Q.qualityCaptureS3Prefix]: `s3://${config.captureBucketName}/${qualityCapturePrefix}`,
    [Q.groundTruthS3Prefix]: `s3://${config.captureBucketName}/${groundTruthPrefix}`,
    [Q.qualityWindowStart]: qualityStart.toISOString(),
    // Without registered metrics the parameter keeps its default (the quality step does not run).
    ...(registeredMetricsS3Uri ? { [Q.registeredMetricsS3Uri]: registeredMetricsS3Uri } : {}),
    [Q.mseTolerance]: String(q.mseTolerance),
    [Q.minLabels]: String(q.minLabels),
  };
  const started = await clients.sagemaker.send(new StartPipelineExecutionCommand({
    PipelineName: config.pipelineName,
    PipelineExecutionDisplayName: displayName(windowStart),
    PipelineExecutionDescription: `Drift of ${endpointName} (${modelPackageArn}) in the hour from ${windowStart.toISOString()}`
      + (modelQuality.evaluated ? `; model quality on ${qualityStart.toISOString().slice(0, 10)}` : ''),
    PipelineParameters: Object.entries(parameters).map(([Name, Value]) => ({ Name, Value })),
    // The scheduler delivers at least once: a repeated delivery for the same window starts no second run.
    ClientRequestToken: createHash('sha256').update(JSON.stringify(parameters)).digest('hex'),
  }));
  return { started: true, executionArn: started.PipelineExecutionArn ?? '', parameters, modelQuality };
}

/**
 * Quality is judged only with the package's registered test metrics, ground truth for the day and captures of the
 * day: the quality step's inputs are S3 prefixes, and SageMaker refuses a prefix without objects.
 */
async function decideModelQuality(s3: S3Client, bucket: string, window: {
  readonly modelPackageArn: string;
  readonly registeredMetricsS3Uri?: string;
  readonly qualityCapturePrefix: string;
  readonly groundTruthPrefix: string;
  readonly day: Date;
}): Promise<ModelQualityDecision> {
  const day = window.day.toISOString().slice(0, 10);
  if (!window.registeredMetricsS3Uri) {
    return {
      evaluated: false,
      reason: `model package ${window.modelPackageArn} has no ModelMetrics.ModelQuality.Statistics: there are no registered `
        + 'test metrics to judge live quality against',
    };
  }
  if (!await hasObjects(s3, bucket, `${window.groundTruthPrefix}/`)) {
    return { evaluated: false, reason: `no ground truth for predictions of ${day} (s3://${bucket}/${window.groundTruthPrefix}/)` };
  }
  if (!await hasObjects(s3, bucket, `${window.qualityCapturePrefix}/`)) {
    return { evaluated: false, reason: `ground truth but no captures for ${day} (s3://${bucket}/${window.qualityCapturePrefix}/)` };
  }
  return { evaluated: true };
}

async function hasObjects(s3: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 }));
  return (listed.KeyCount ?? listed.Contents?.length ?? 0) > 0;
}

/** `drift-20261126T11`: the window in a display name (letters, digits and hyphens only). */
function displayName(windowStart: Date): string {
  return `drift-${windowStart.toISOString().slice(0, 13).replace(/-/g, '')}`;
}

/** SageMaker answers ValidationException "Could not find endpoint …" for an unknown endpoint. */
function isNotFound(error: unknown): boolean {
  return error instanceof Error
    && ((error.name === 'ValidationException' && /could not find|not found|does not exist/i.test(error.message))
      || error.name === 'ResourceNotFound');
}
