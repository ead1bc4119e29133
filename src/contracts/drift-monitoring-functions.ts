// The contract between the DriftMonitoring construct and its three functions: their configuration, passed as JSON
// in one environment variable each. Runtime-free: the construct imports it, so it must not import the AWS SDK.

/** Environment variable holding a monitoring function's JSON configuration. */
export const DRIFT_FUNCTION_CONFIG_ENV = 'DRIFT_MONITORING_CONFIG';

/** The drift thresholds a monitoring run judges by (the pipeline parameters of the same names). */
export interface DriftThresholds {
  /** A feature drifts when its PSI is above this. */
  readonly psiThreshold: number;
  /** A numeric feature drifts when its two-sample KS p-value is below this. */
  readonly ksPValueThreshold: number;
  /** The window is `drift` when the share of drifted features is above this. */
  readonly driftedShareThreshold: number;
  /** Fewer records than this make the window `insufficient_data`. */
  readonly minRecords: number;
}

/** What a model-quality run judges by (the pipeline parameters `MseTolerance` and `MinLabels`). */
export interface ModelQualityThresholds {
  /** Degraded when the live MSE is above the registered test MSE × (1 + this). */
  readonly mseTolerance: number;
  /** Fewer labelled predictions than this are reported as insufficient (`insufficient_labels`), not judged. */
  readonly minLabels: number;
}

/** The values a threshold may take, and how an error message says them. */
export interface ThresholdRange {
  readonly isValid: (value: number) => boolean;
  readonly expected: string;
}

/** Each drift threshold's range: the definition builder checks settings by it, the starter its configuration. */
export const DRIFT_THRESHOLD_RANGES: { readonly [K in keyof DriftThresholds]: ThresholdRange } = {
  psiThreshold: { isValid: (v) => v > 0, expected: 'a number above 0' },
  ksPValueThreshold: { isValid: (v) => v > 0 && v < 1, expected: 'a number between 0 and 1 (exclusive)' },
  driftedShareThreshold: { isValid: (v) => v >= 0 && v < 1, expected: 'a number from 0 up to (not including) 1' },
  minRecords: { isValid: (v) => Number.isInteger(v) && v >= 1, expected: 'a whole number of at least 1' },
};

/** Each model-quality threshold's range, used as {@link DRIFT_THRESHOLD_RANGES}. */
export const MODEL_QUALITY_THRESHOLD_RANGES: { readonly [K in keyof ModelQualityThresholds]: ThresholdRange } = {
  mseTolerance: { isValid: (v) => v > 0, expected: 'a number above 0' },
  // R² needs two labels.
  minLabels: { isValid: (v) => Number.isInteger(v) && v >= 2, expected: 'a whole number of at least 2' },
};

/** Whether `value` is a finite number in `range`. */
export function inThresholdRange(range: ThresholdRange, value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && range.isValid(value);
}

/** What the starter function knows: the endpoint to watch, where it captures, the pipeline to start. */
export interface StartMonitoringConfig {
  readonly endpointName: string;
  /**
   * The bucket the endpoint's Data Capture writes to (under `DATA_CAPTURE_PREFIX`); the ground truth of its
   * predictions is in it too (under `GROUND_TRUTH_PREFIX`).
   */
  readonly captureBucketName: string;
  /** The monitoring SageMaker pipeline. */
  readonly pipelineName: string;
  readonly thresholds: DriftThresholds;
  readonly modelQuality: ModelQualityThresholds;
}

/** What the metrics function knows: where the monitoring pipeline writes its reports. */
export interface PublishDriftMetricsConfig {
  /**
   * The monitoring pipeline's output location (`s3://bucket/prefix`): drift reports are at
   * `driftReportS3Uri(outputS3Uri, id)`, model-quality reports beside them under the quality step's name.
   */
  readonly outputS3Uri: string;
}

/** What the retrain function knows: the release pipeline and how long one drift or degradation episode lasts. */
export interface RetrainOnDriftConfig {
  readonly releasePipelineName: string;
  /** No new start while an execution of the release pipeline started less than this long ago. */
  readonly cooldownSeconds: number;
}

function parse(json: string | undefined): Record<string, unknown> {
  if (!json) throw new Error(`${DRIFT_FUNCTION_CONFIG_ENV} is not set`);
  const value = JSON.parse(json) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${DRIFT_FUNCTION_CONFIG_ENV} is not a JSON object`);
  return value as Record<string, unknown>;
}

function need(ok: boolean, field: string): void {
  if (!ok) throw new Error(`${DRIFT_FUNCTION_CONFIG_ENV}.${field} is missing or invalid`);
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Parses and checks the starter's configuration; throws naming the first bad field. */
export function parseStartMonitoringConfig(json: string | undefined): StartMonitoringConfig {
  const c = parse(json);
  need(nonEmpty(c.endpointName), 'endpointName');
  need(nonEmpty(c.captureBucketName), 'captureBucketName');
  need(nonEmpty(c.pipelineName), 'pipelineName');
  const t = c.thresholds as Record<string, unknown> | undefined;
  need(typeof t === 'object' && t !== null, 'thresholds');
  for (const [name, range] of Object.entries(DRIFT_THRESHOLD_RANGES)) need(inThresholdRange(range, t![name]), `thresholds.${name}`);
  const q = c.modelQuality as Record<string, unknown> | undefined;
  need(typeof q === 'object' && q !== null, 'modelQuality');
  for (const [name, range] of Object.entries(MODEL_QUALITY_THRESHOLD_RANGES)) need(inThresholdRange(range, q![name]), `modelQuality.${name}`);
  return c as unknown as StartMonitoringConfig;
}

/** Parses and checks the metrics function's configuration; throws naming the first bad field. */
export function parsePublishDriftMetricsConfig(json: string | undefined): PublishDriftMetricsConfig {
  const c = parse(json);
  need(typeof c.outputS3Uri === 'string' && /^s3:\/\/[^/]+\/.+/.test(c.outputS3Uri), 'outputS3Uri');
  return c as unknown as PublishDriftMetricsConfig;
}

/** Parses and checks the retrain function's configuration; throws naming the first bad field. */
export function parseRetrainOnDriftConfig(json: string | undefined): RetrainOnDriftConfig {
  const c = parse(json);
  need(nonEmpty(c.releasePipelineName), 'releasePipelineName');
  need(Number.isInteger(c.cooldownSeconds) && (c.cooldownSeconds as number) >= 0, 'cooldownSeconds');
  return c as unknown as RetrainOnDriftConfig;
}
