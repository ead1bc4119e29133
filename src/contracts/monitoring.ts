/**
 * The monitoring contract: where captures, training profiles, ground truth and drift reports live, the monitoring
 * pipeline's parameters, and the CloudWatch names its metrics are published under. One definition for the
 * constructs, the functions, the ML scripts (through the generated `ml/abalone_contract.py`) and local mode.
 */

/**
 * Endpoint Data Capture, under the artifact bucket. SageMaker writes
 * `<prefix><endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` (the invocation hour, UTC).
 */
export const DATA_CAPTURE_PREFIX = 'data-capture/';

/** The variant every endpoint of this library serves from. */
export const CAPTURE_VARIANT_NAME = 'AllTraffic';

/** The capture folder of one endpoint and one UTC hour, relative to the bucket: no leading or trailing slash. */
export function captureHourPrefix(endpointName: string, hour: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${DATA_CAPTURE_PREFIX}${endpointName}/${CAPTURE_VARIANT_NAME}/${hour.getUTCFullYear()}/${pad(hour.getUTCMonth() + 1)}/`
    + `${pad(hour.getUTCDate())}/${pad(hour.getUTCHours())}`;
}

/**
 * The training profile: the reference distribution of the training split's raw features, written by the
 * preprocessing step beside its other outputs and recorded on the model package, so each version is judged
 * against its own training data. Document shape: see `TrainingProfile`.
 */
export const TRAINING_PROFILE = {
  /** PreprocessData's output that holds the profile. */
  outputName: 'profile',
  localPath: '/opt/ml/processing/profile',
  fileName: 'training-profile.json',
  /** The model package's CustomerMetadataProperties key whose value is the profile's S3 URI. */
  metadataKey: 'TrainingProfileS3Uri',
} as const;

/** Current version of the profile document. */
export const TRAINING_PROFILE_VERSION = 1;

/** Quantile bins per numeric feature in the profile. */
export const PROFILE_QUANTILE_BINS = 10;

/** Largest per-feature sample the profile keeps for the KS test. */
export const PROFILE_SAMPLE_SIZE = 1000;

/** The training profile document (JSON). */
export interface TrainingProfile {
  readonly version: number;
  /** Rows of the training split the profile describes. */
  readonly recordCount: number;
  readonly numeric: { readonly [feature: string]: NumericFeatureProfile };
  readonly categorical: { readonly [feature: string]: CategoricalFeatureProfile };
}

/** A numeric raw feature: quantile bin edges over the training split and each bin's share; a bounded sample for KS. */
export interface NumericFeatureProfile {
  /** `PROFILE_QUANTILE_BINS + 1` ascending edges; the outer bins extend to ±infinity when served values are judged. */
  readonly binEdges: readonly number[];
  readonly proportions: readonly number[];
  /** A seeded random sample of the training values, at most `PROFILE_SAMPLE_SIZE`. */
  readonly sample: readonly number[];
}

/** A categorical raw feature: each category's share of the training split. */
export interface CategoricalFeatureProfile {
  readonly frequencies: { readonly [category: string]: number };
}

/** The monitoring pipeline's parameters, as the starter function passes them. */
export const MONITORING_PARAMETER_NAMES = {
  endpointName: 'EndpointName',
  /** The model package serving on the endpoint (versioned ARN). */
  modelPackageArn: 'ModelPackageArn',
  /** The training profile of that package (its `TrainingProfileS3Uri`). */
  profileS3Uri: 'TrainingProfileS3Uri',
  /** `s3://…/data-capture/<endpoint>/AllTraffic/yyyy/mm/dd/hh`: one window of captures. */
  captureS3Prefix: 'CaptureS3Prefix',
  /** ISO 8601 start of the window (UTC hour), for the report. */
  windowStart: 'WindowStart',
  psiThreshold: 'PsiThreshold',
  ksPValueThreshold: 'KsPValueThreshold',
  driftedShareThreshold: 'DriftedShareThreshold',
  minRecords: 'MinRecords',
} as const;

/** The monitoring step and its report. */
export const DRIFT_REPORT = {
  stepName: 'MonitorDrift',
  outputName: 'report',
  localPath: '/opt/ml/processing/report',
  fileName: 'drift-report.json',
} as const;

/** The monitoring job's script, a file of `ml/` (it imports the generated `abalone_contract.py`). */
export const MONITORING_SCRIPT = 'monitor_drift.py';

/** The monitoring step's inputs: their names and where the job sees them. */
export const MONITORING_INPUTS = {
  code: { inputName: 'code', localPath: '/opt/ml/processing/input/code' },
  shared: { inputName: 'shared', localPath: '/opt/ml/processing/input/shared' },
  /** The window's capture files (`*.jsonl`, any depth: an S3Prefix input keeps the keys' folders). */
  captures: { inputName: 'captures', localPath: '/opt/ml/processing/input/captures' },
  /** The training profile: one object, named after its key's last segment. */
  profile: { inputName: 'profile', localPath: '/opt/ml/processing/input/profile' },
} as const;

/**
 * The drift report of one monitoring execution: `<outputS3Uri>/<execution id>/MonitorDrift/report/drift-report.json`,
 * where `outputS3Uri` is the monitoring pipeline's output location and the execution id is the last segment of the
 * pipeline execution's ARN. The monitoring definition writes exactly there.
 */
export function driftReportS3Uri(outputS3Uri: string, pipelineExecutionId: string): string {
  return `${outputS3Uri.replace(/\/+$/, '')}/${pipelineExecutionId}/${DRIFT_REPORT.stepName}/${DRIFT_REPORT.outputName}/${DRIFT_REPORT.fileName}`;
}

/**
 * Drift thresholds and their sources.
 * - PSI 0.2: the credit-scoring rule of thumb (below 0.1 stable, 0.1–0.2 moderate, above 0.2 a significant
 *   shift; Siddiqi, "Credit Risk Scorecards", 2006).
 * - KS p-value 0.05: reject "same distribution" below 5%, the default of Evidently's two-sample KS test for
 *   numeric columns.
 * - Drifted share 0.3: AWS's monitoring sample for SageMaker endpoints alerts "when more than 30% of features drift"
 *   (AWS-FACTS-2 §0).
 * - 200 records: a window with fewer is reported as insufficient data, not judged; PSI over 10 bins is noisy
 *   below a few hundred values.
 */
export const DRIFT_DEFAULTS = {
  psiThreshold: 0.2,
  ksPValueThreshold: 0.05,
  driftedShareThreshold: 0.3,
  minRecords: 200,
} as const;

/** `status` of a drift report. */
export const DRIFT_STATUS = {
  ok: 'ok',
  drift: 'drift',
  insufficientData: 'insufficient_data',
} as const;

/** The drift report document (JSON), as the monitoring script writes it. */
export interface DriftReport {
  readonly status: typeof DRIFT_STATUS[keyof typeof DRIFT_STATUS];
  readonly endpointName: string;
  readonly modelPackageArn: string;
  readonly windowStart: string;
  /** Raw rows read from the window's captures (a batch request is one capture line and many rows). */
  readonly recordCount: number;
  /** Capture lines (or rows) that could not be read, each counted under its reason; they never fail the job. */
  readonly skippedRecords: number;
  readonly skippedReasons: { readonly [reason: string]: number };
  /** Rows of the training split the profile describes. */
  readonly profileRecordCount: number;
  readonly thresholds: { readonly psi: number; readonly ksPValue: number; readonly driftedShare: number; readonly minRecords: number };
  /** Per raw feature; empty when the data is insufficient. */
  readonly features: { readonly [feature: string]: FeatureDrift };
  /** Share of features judged drifted (0 when insufficient). */
  readonly driftedShare: number;
  /** Names of the drifted features, in the raw columns' order. */
  readonly driftedFeatures: readonly string[];
  /** Why the window was not judged, with `insufficient_data`. */
  readonly message?: string;
  /** ISO 8601 time the report was written. */
  readonly generatedAt: string;
}

/** One feature's verdict. `ks` and `ksPValue` are absent for categorical features. */
export interface FeatureDrift {
  readonly kind: 'numeric' | 'categorical';
  readonly psi: number;
  readonly ks?: number;
  readonly ksPValue?: number;
  readonly drifted: boolean;
  /** Which tests judged it drifted: `psi` (PSI above its threshold), `ks` (KS p-value below its threshold). */
  readonly driftedBy: ReadonlyArray<'psi' | 'ks'>;
  /** The training split's distribution, summarised. */
  readonly baseline: FeatureSummary;
  /** The window's distribution, summarised the same way. */
  readonly served: FeatureSummary;
}

/**
 * A distribution in brief: numeric features give mean and quartiles (the baseline's from the profile's sample),
 * categorical ones each category's share (categories the training data lacks included).
 */
export interface FeatureSummary {
  readonly mean?: number;
  readonly p25?: number;
  readonly median?: number;
  readonly p75?: number;
  readonly frequencies?: { readonly [category: string]: number };
}

/** CloudWatch: the library's namespace and the monitoring metrics' names and dimension. */
export const MONITORING_METRICS = {
  namespace: 'MlopsAbalone/Monitoring',
  endpointDimension: 'EndpointName',
  featureDimension: 'Feature',
  /** Per endpoint: share of drifted features in the window. */
  driftedShare: 'DriftedFeatureShare',
  /** Per endpoint and feature. */
  featurePsi: 'FeaturePSI',
  featureKs: 'FeatureKS',
  /** Per endpoint: captured records in the window. */
  recordCount: 'CapturedRecords',
} as const;

/**
 * Ground truth: the actual rings people report for predictions, one object per prediction under the artifact bucket,
 * `<prefix>yyyy/mm/dd/hh/<predictionId>.json` by the **prediction's** UTC hour (so a monitoring window reads the labels
 * of its own predictions, however late they came). The key depends only on the prediction, so a redelivered or
 * second feedback overwrites the first.
 */
export const GROUND_TRUTH_PREFIX = 'ground-truth/';

/** The ground-truth object of one prediction, relative to the bucket. */
export function groundTruthKey(predictionId: string, predictedAt: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${GROUND_TRUTH_PREFIX}${predictedAt.getUTCFullYear()}/${pad(predictedAt.getUTCMonth() + 1)}/${pad(predictedAt.getUTCDate())}/`
    + `${pad(predictedAt.getUTCHours())}/${predictionId}.json`;
}

/** One ground-truth record (JSON), as the feedback exporter and `local_store.py export-ground-truth` write it. */
export interface GroundTruthRecord {
  readonly predictionId: string;
  /** The capture's `eventMetadata.inferenceId`; with `row`, the line of the capture's CSV this label belongs to. */
  readonly inferenceId: string;
  readonly row: number;
  readonly actualRings: number;
  readonly predictedRings: number;
  readonly modelVersion: string;
  readonly predictedAt: string;
  readonly collectedAt: string;
}

/**
 * Live model quality: the previous full UTC **day** of predictions (captures under `…/AllTraffic/yyyy/mm/dd`) joined by
 * `inferenceId` + `row` with their ground truth (`ground-truth/yyyy/mm/dd`), judged against the serving package's
 * registered test metrics. A day, not an hour: labels are few and arrive late; each hourly run refreshes it.
 *
 * The quality step runs only when `HasGroundTruth` = 1: SageMaker jobs refuse an S3 input prefix with no objects,
 * so the starter sets it to 1 only when the day's ground-truth prefix **and** capture prefix each hold at least one
 * object and the package has registered metrics. SageMaker still needs a value for every parameter the skipped step
 * reads, so the three S3 parameters default to the monitoring pipeline's output location (`outputS3Uri`, a valid S3
 * URI the step never reads while skipped); a run with `HasGroundTruth` = 1 must pass all three.
 */
export const MODEL_QUALITY_PARAMETER_NAMES = {
  /** Integer: 1 when ground truth exists for the quality window, else 0 (the quality step is skipped). Default 0. */
  hasGroundTruth: 'HasGroundTruth',
  /** `s3://…/data-capture/<endpoint>/AllTraffic/yyyy/mm/dd` (no trailing slash): the day's captures. Default `outputS3Uri`. */
  qualityCaptureS3Prefix: 'QualityCaptureS3Prefix',
  /** `s3://…/ground-truth/yyyy/mm/dd` (no trailing slash): the labels of that day's predictions. Default `outputS3Uri`. */
  groundTruthS3Prefix: 'GroundTruthS3Prefix',
  /**
   * The serving package's registered evaluation report, one object: its
   * `ModelMetrics.ModelQuality.Statistics.S3Uri` (DescribeModelPackage). Default `outputS3Uri`.
   */
  registeredMetricsS3Uri: 'RegisteredMetricsS3Uri',
  /** ISO 8601 start of the quality window (UTC day), for the report. Default empty. */
  qualityWindowStart: 'QualityWindowStart',
  /** Float: degraded when live MSE > registered test MSE × (1 + tolerance). Default `MODEL_QUALITY_DEFAULTS.mseTolerance`. */
  mseTolerance: 'MseTolerance',
  /** Integer: fewer labelled predictions than this: "insufficient labels", not judged. Default `MODEL_QUALITY_DEFAULTS.minLabels`. */
  minLabels: 'MinLabels',
} as const;

/** The quality step (inside the `HasGroundTruth` condition step) and its report. */
export const MODEL_QUALITY_REPORT = {
  stepName: 'MonitorModelQuality',
  conditionStepName: 'HasGroundTruth',
  outputName: 'quality',
  localPath: '/opt/ml/processing/quality',
  fileName: 'model-quality-report.json',
} as const;

/** The quality step's data inputs (it also mounts `MONITORING_INPUTS.code` and `.shared`). */
export const MODEL_QUALITY_INPUTS = {
  /** The day's capture files (`*.jsonl`, any depth). */
  captures: { inputName: 'captures', localPath: '/opt/ml/processing/input/captures' },
  /** Ground-truth objects (`*.json`/`*.jsonl`, any depth): one `GroundTruthRecord` per object or per line. */
  groundTruth: { inputName: 'ground-truth', localPath: '/opt/ml/processing/input/ground-truth' },
  /** The registered evaluation report: one object. */
  registeredMetrics: { inputName: 'registered-metrics', localPath: '/opt/ml/processing/input/registered-metrics' },
} as const;

/**
 * The model-quality report of one monitoring execution (only when the quality step ran):
 * `<outputS3Uri>/<execution id>/MonitorModelQuality/quality/model-quality-report.json`.
 */
export function modelQualityReportS3Uri(outputS3Uri: string, pipelineExecutionId: string): string {
  return `${outputS3Uri.replace(/\/+$/, '')}/${pipelineExecutionId}/${MODEL_QUALITY_REPORT.stepName}/${MODEL_QUALITY_REPORT.outputName}/`
    + MODEL_QUALITY_REPORT.fileName;
}

/**
 * Defaults, measured on the UCI data with the default hyperparameters (`bench/ml/mse_over_seeds.py`, split seeds 1–10,
 * and the test split's squared errors resampled n at a time, seeds 1–5):
 * - The registered test MSE itself varies with the split: mean 4.48, sd 0.33 (7%), 3.94–5.10 over 10 seeds.
 * - Squared errors are heavy-tailed (their sd is 2.2–3.4 × the MSE), so the standard error of an MSE over n labels is
 *   about 2.3 × MSE / √n: 33% at 50 labels, 16% at 200.
 * - Tolerance 0.25 (degraded above 1.25 × the registered MSE): a model whose answers are 1.5 rings off (MSE + 2.25,
 *   about +50%) is flagged on 65–98% of windows of 200 labels; a tighter band would flag healthy split-to-split noise.
 * - 200 labels, not 50: a healthy model's window of 50 labels exceeds 1.25 × its test MSE 19–21% of the time, of 200
 *   labels 6–15% (median 7%), of 300 3–11%. Below 200 the report says "insufficient labels" instead of judging.
 */
export const MODEL_QUALITY_DEFAULTS = {
  mseTolerance: 0.25,
  minLabels: 200,
} as const;

/** `status` of a model-quality report. */
export const MODEL_QUALITY_STATUS = {
  ok: 'ok',
  degraded: 'degraded',
  insufficientLabels: 'insufficient_labels',
} as const;

/** The model-quality report document (JSON). */
export interface ModelQualityReport {
  readonly status: typeof MODEL_QUALITY_STATUS[keyof typeof MODEL_QUALITY_STATUS];
  readonly endpointName: string;
  readonly modelPackageArn: string;
  readonly windowStart: string;
  /** Predictions in the window's captures, and how many of them have ground truth. */
  readonly predictionCount: number;
  readonly labelledCount: number;
  /** Ground-truth records with no matching capture row (e.g. sampled out of capture, or another day's). */
  readonly unmatchedLabels: number;
  /** Capture lines or rows and ground-truth records that could not be read, each counted under its reason. */
  readonly skippedRecords: number;
  readonly skippedReasons: { readonly [reason: string]: number };
  /** Absent below `minLabels`. */
  readonly live?: { readonly mse: number; readonly mae: number; readonly r2: number };
  /** The package's registered test metrics. */
  readonly registered: { readonly mse: number; readonly mae: number; readonly r2: number };
  /** live MSE / registered MSE (absent below `minLabels`). */
  readonly mseRatio?: number;
  readonly thresholds: { readonly mseTolerance: number; readonly minLabels: number };
  /** Why the window was not judged, with `insufficient_labels`; what degraded, with `degraded`. */
  readonly message?: string;
  /** ISO 8601 time the report was written. */
  readonly generatedAt: string;
}

/** CloudWatch names of the model-quality metrics (namespace and endpoint dimension of `MONITORING_METRICS`). */
export const MODEL_QUALITY_METRICS = {
  labelledCount: 'LabelledPredictions',
  liveMse: 'LiveMSE',
  liveMae: 'LiveMAE',
  liveR2: 'LiveR2',
  /** Alarmed on: above 1 + tolerance is degraded. */
  mseRatio: 'MseRatio',
} as const;
