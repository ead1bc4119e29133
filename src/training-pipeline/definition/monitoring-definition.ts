/**
 * The monitoring pipeline as a SageMaker pipeline definition, two independent branches on the scikit-learn image:
 * `MonitorDrift` reads one window of endpoint captures and the deployed package's training profile and writes a drift
 * report; the condition step `HasGroundTruth` runs `MonitorModelQuality`, which joins a day of captures with their
 * ground truth and judges them against the package's registered test metrics, only when the starter found labels.
 * Pure, like the training pipeline's builder: the construct passes CDK tokens, local mode local values.
 */
import { ScriptLocation } from './abalone-definition';
import { DEFAULT_PROCESSING_INSTANCE_TYPE, MAX_RUNTIME_SECONDS, PROCESSING_VOLUME_SIZE_GB } from './defaults';
import { asText, execution, join, parameter } from './expressions';
import { PYTHON, sharedModulesEnvironment } from './names';
import { ConditionStep, PipelineDefinition, PipelineParameter, ProcessingInput, ProcessingStep, StringValue } from './types';
import {
  DRIFT_THRESHOLD_RANGES, DriftThresholds, MODEL_QUALITY_THRESHOLD_RANGES, ModelQualityThresholds, ThresholdRange,
} from '../../contracts/drift-monitoring-functions';
import {
  DRIFT_DEFAULTS, DRIFT_REPORT, MODEL_QUALITY_DEFAULTS, MODEL_QUALITY_INPUTS, MODEL_QUALITY_PARAMETER_NAMES, MODEL_QUALITY_REPORT,
  MONITORING_INPUTS, MONITORING_PARAMETER_NAMES,
} from '../../contracts/monitoring';

// The thresholds are the defaults of the monitoring pipeline's parameters (a run may override each).
export type { DriftThresholds, ModelQualityThresholds };

/**
 * The monitoring pipeline's settings; unset ones take the defaults.
 */
export interface MonitoringSettings {
  /** @default DEFAULT_PROCESSING_INSTANCE_TYPE (`ml.t3.medium`) */
  readonly processingInstanceType?: string;
  /** @default DRIFT_DEFAULTS.psiThreshold (0.2) */
  readonly psiThreshold?: number;
  /** @default DRIFT_DEFAULTS.ksPValueThreshold (0.05) */
  readonly ksPValueThreshold?: number;
  /** @default DRIFT_DEFAULTS.driftedShareThreshold (0.3) */
  readonly driftedShareThreshold?: number;
  /** @default DRIFT_DEFAULTS.minRecords (200) */
  readonly minRecords?: number;
  /** @default MODEL_QUALITY_DEFAULTS.mseTolerance (0.25) */
  readonly mseTolerance?: number;
  /** @default MODEL_QUALITY_DEFAULTS.minLabels (200) */
  readonly minLabels?: number;
}

/** Where the monitoring job's role, output, image and script are: S3 and ECR in the cloud, local folders locally. */
export interface MonitoringLocations {
  /** The SageMaker execution role the job runs with: reads the captures, the profile and the code, writes the report. */
  readonly roleArn: string;
  /**
   * `s3://bucket/prefix` (no trailing slash) under which each execution writes its report, at
   * {@link monitoringReportS3Uri} (= `driftReportS3Uri(outputS3Uri, executionId)` of the contract).
   */
  readonly outputS3Uri: string;
  /** scikit-learn 1.2-1 image (numpy, scipy and pandas). */
  readonly sklearnImageUri: string;
  /** `ml/monitor_drift.py` ({@link MONITORING_SCRIPT}): both steps run it, the quality step in its `quality` mode. */
  readonly monitorScript: ScriptLocation;
  /** The shared modules' zip archive, the same one the training pipeline mounts (`abalone_contract.py` at its root). */
  readonly sharedModules: ScriptLocation;
  /** KMS key (id or ARN) for the job's volume and its output; none means the bucket's default encryption. */
  readonly kmsKeyId?: string;
}

/** The builder's whole input. */
export interface MonitoringDefinitionConfig extends MonitoringLocations {
  readonly processingInstanceType: string;
  readonly thresholds: DriftThresholds;
  readonly quality: ModelQualityThresholds;
}

/**
 * The builder's input from settings and locations, checking the thresholds' ranges: the one place the monitoring
 * construct and local mode both take it from.
 *
 * @throws Error naming each setting that is out of range
 */
export function monitoringPipelineSpec(settings: MonitoringSettings, locations: MonitoringLocations): MonitoringDefinitionConfig {
  const thresholds: DriftThresholds = {
    psiThreshold: settings.psiThreshold ?? DRIFT_DEFAULTS.psiThreshold,
    ksPValueThreshold: settings.ksPValueThreshold ?? DRIFT_DEFAULTS.ksPValueThreshold,
    driftedShareThreshold: settings.driftedShareThreshold ?? DRIFT_DEFAULTS.driftedShareThreshold,
    minRecords: settings.minRecords ?? DRIFT_DEFAULTS.minRecords,
  };
  const quality: ModelQualityThresholds = {
    mseTolerance: settings.mseTolerance ?? MODEL_QUALITY_DEFAULTS.mseTolerance,
    minLabels: settings.minLabels ?? MODEL_QUALITY_DEFAULTS.minLabels,
  };
  const problems = [
    ...Object.entries(DRIFT_THRESHOLD_RANGES)
      .flatMap(([name, range]) => checkRange(name, thresholds[name as keyof DriftThresholds], range)),
    ...Object.entries(MODEL_QUALITY_THRESHOLD_RANGES)
      .flatMap(([name, range]) => checkRange(name, quality[name as keyof ModelQualityThresholds], range)),
  ];
  if (problems.length > 0) throw new Error(`Invalid monitoring settings: ${problems.join('; ')}`);
  return {
    ...locations,
    processingInstanceType: settings.processingInstanceType ?? DEFAULT_PROCESSING_INSTANCE_TYPE,
    thresholds,
    quality,
  };
}

/** Unresolved CDK tokens are numbers too (large negative doubles): the construct validates its props before this. */
function checkRange(name: string, value: number, range: ThresholdRange): string[] {
  return Number.isFinite(value) && range.isValid(value) ? [] : [`${name} is ${value}; it must be ${range.expected}`];
}

/**
 * The S3 URI of an execution's drift report, as a pipeline expression:
 * `<outputS3Uri>/<Execution.PipelineExecutionId>/MonitorDrift/report/drift-report.json`.
 */
export function monitoringReportS3Uri(config: Pick<MonitoringLocations, 'outputS3Uri'>): StringValue {
  return join('/', [reportPrefix(config), DRIFT_REPORT.fileName]);
}

function reportPrefix(config: Pick<MonitoringLocations, 'outputS3Uri'>): StringValue {
  return join('/', [config.outputS3Uri, execution('PipelineExecutionId'), DRIFT_REPORT.stepName, DRIFT_REPORT.outputName]);
}

/**
 * The S3 URI of an execution's model-quality report (written only when the quality step ran), as a pipeline
 * expression: `<outputS3Uri>/<Execution.PipelineExecutionId>/MonitorModelQuality/quality/model-quality-report.json`.
 */
export function modelQualityReportExpression(config: Pick<MonitoringLocations, 'outputS3Uri'>): StringValue {
  return join('/', [qualityPrefix(config), MODEL_QUALITY_REPORT.fileName]);
}

function qualityPrefix(config: Pick<MonitoringLocations, 'outputS3Uri'>): StringValue {
  return join('/', [config.outputS3Uri, execution('PipelineExecutionId'), MODEL_QUALITY_REPORT.stepName, MODEL_QUALITY_REPORT.outputName]);
}

/**
 * The monitoring pipeline's parameters: the window and the package come from the starter, the thresholds default.
 * The quality parameters all have defaults, so a run that skips the quality step needs none of them; the S3 ones
 * default to `outputS3Uri`, a valid S3 URI the skipped step never reads (see `MODEL_QUALITY_PARAMETER_NAMES`).
 */
export function monitoringParameters(config: MonitoringDefinitionConfig): PipelineParameter[] {
  const names = MONITORING_PARAMETER_NAMES;
  const quality = MODEL_QUALITY_PARAMETER_NAMES;
  return [
    { Name: names.endpointName, Type: 'String' },
    { Name: names.modelPackageArn, Type: 'String' },
    { Name: names.profileS3Uri, Type: 'String' },
    { Name: names.captureS3Prefix, Type: 'String' },
    { Name: names.windowStart, Type: 'String' },
    { Name: names.psiThreshold, Type: 'Float', DefaultValue: config.thresholds.psiThreshold },
    { Name: names.ksPValueThreshold, Type: 'Float', DefaultValue: config.thresholds.ksPValueThreshold },
    { Name: names.driftedShareThreshold, Type: 'Float', DefaultValue: config.thresholds.driftedShareThreshold },
    { Name: names.minRecords, Type: 'Integer', DefaultValue: config.thresholds.minRecords },
    { Name: quality.hasGroundTruth, Type: 'Integer', DefaultValue: 0 },
    { Name: quality.qualityCaptureS3Prefix, Type: 'String', DefaultValue: config.outputS3Uri },
    { Name: quality.groundTruthS3Prefix, Type: 'String', DefaultValue: config.outputS3Uri },
    { Name: quality.registeredMetricsS3Uri, Type: 'String', DefaultValue: config.outputS3Uri },
    { Name: quality.qualityWindowStart, Type: 'String', DefaultValue: '' },
    { Name: quality.mseTolerance, Type: 'Float', DefaultValue: config.quality.mseTolerance },
    { Name: quality.minLabels, Type: 'Integer', DefaultValue: config.quality.minLabels },
  ];
}

function s3Input(input: { inputName: string; localPath: string }, uri: StringValue): ProcessingInput {
  return {
    InputName: input.inputName,
    AppManaged: false,
    S3Input: {
      S3Uri: uri,
      LocalPath: input.localPath,
      // One object's full key is a prefix of itself: SageMaker downloads just that object.
      S3DataType: 'S3Prefix',
      S3InputMode: 'File',
      S3DataDistributionType: 'FullyReplicated',
      S3CompressionType: 'None',
    },
  };
}

/** Arguments of `monitor_drift.py`: the container paths, then every parameter as text. */
export function monitorDriftArguments(): StringValue[] {
  const names = MONITORING_PARAMETER_NAMES;
  return [
    '--captures-dir', MONITORING_INPUTS.captures.localPath,
    '--profile', MONITORING_INPUTS.profile.localPath,
    '--output-dir', DRIFT_REPORT.localPath,
    '--endpoint-name', parameter(names.endpointName),
    '--model-package-arn', parameter(names.modelPackageArn),
    '--window-start', parameter(names.windowStart),
    '--psi-threshold', asText(parameter(names.psiThreshold)),
    '--ks-p-value-threshold', asText(parameter(names.ksPValueThreshold)),
    '--drifted-share-threshold', asText(parameter(names.driftedShareThreshold)),
    '--min-records', asText(parameter(names.minRecords)),
  ];
}

/** Arguments of `monitor_drift.py quality`: the mode, the container paths, then the parameters as text. */
export function monitorQualityArguments(): StringValue[] {
  const names = MONITORING_PARAMETER_NAMES;
  const quality = MODEL_QUALITY_PARAMETER_NAMES;
  return [
    'quality',
    '--captures-dir', MODEL_QUALITY_INPUTS.captures.localPath,
    '--ground-truth-dir', MODEL_QUALITY_INPUTS.groundTruth.localPath,
    '--registered-metrics', MODEL_QUALITY_INPUTS.registeredMetrics.localPath,
    '--output-dir', MODEL_QUALITY_REPORT.localPath,
    '--endpoint-name', parameter(names.endpointName),
    '--model-package-arn', parameter(names.modelPackageArn),
    '--window-start', parameter(quality.qualityWindowStart),
    '--mse-tolerance', asText(parameter(quality.mseTolerance)),
    '--min-labels', asText(parameter(quality.minLabels)),
  ];
}

/** A network-isolated processing step running the monitoring script with the given inputs, writing one output. */
function monitoringJob(config: MonitoringDefinitionConfig, name: string, args: StringValue[], inputs: ProcessingInput[],
  output: { outputName: string; localPath: string; s3Uri: StringValue }): ProcessingStep {
  return {
    Name: name,
    Type: 'Processing',
    Arguments: {
      ProcessingResources: {
        ClusterConfig: {
          InstanceType: config.processingInstanceType,
          // The statistics of one window are computed in one process.
          InstanceCount: 1,
          VolumeSizeInGB: PROCESSING_VOLUME_SIZE_GB,
          ...(config.kmsKeyId ? { VolumeKmsKeyId: config.kmsKeyId } : {}),
        },
      },
      AppSpecification: {
        ImageUri: config.sklearnImageUri,
        ContainerEntrypoint: [PYTHON, `${MONITORING_INPUTS.code.localPath}/${config.monitorScript.fileName}`],
        ContainerArguments: args,
      },
      Environment: sharedModulesEnvironment(config.sharedModules.fileName),
      RoleArn: config.roleArn,
      ProcessingInputs: [
        s3Input(MONITORING_INPUTS.code, config.monitorScript.s3Uri),
        s3Input(MONITORING_INPUTS.shared, config.sharedModules.s3Uri),
        ...inputs,
      ],
      ProcessingOutputConfig: {
        Outputs: [{
          OutputName: output.outputName,
          AppManaged: false,
          S3Output: { S3Uri: output.s3Uri, LocalPath: output.localPath, S3UploadMode: 'EndOfJob' },
        }],
        ...(config.kmsKeyId ? { KmsKeyId: config.kmsKeyId } : {}),
      },
      NetworkConfig: { EnableNetworkIsolation: true },
      StoppingCondition: { MaxRuntimeInSeconds: MAX_RUNTIME_SECONDS },
    },
  };
}

/**
 * Builds the monitoring pipeline definition (Version 2020-12-01): the `MonitorDrift` processing step and the
 * `HasGroundTruth` condition step (`HasGroundTruth` = 1) around the `MonitorModelQuality` processing step. The two
 * branches share nothing, so SageMaker runs them side by side.
 *
 * The jobs run with network isolation: they read only their inputs and write only their output, so they need no
 * network, and they do not publish metrics themselves (that would need the network: a function reads the reports
 * instead). The shared modules reach the script the same way as in the training pipeline: the zip archive on
 * `PYTHONPATH`.
 */
export function buildMonitoringDefinition(config: MonitoringDefinitionConfig): PipelineDefinition {
  const names = MONITORING_PARAMETER_NAMES;
  const quality = MODEL_QUALITY_PARAMETER_NAMES;
  const monitor = monitoringJob(config, DRIFT_REPORT.stepName, monitorDriftArguments(), [
    s3Input(MONITORING_INPUTS.captures, parameter(names.captureS3Prefix)),
    s3Input(MONITORING_INPUTS.profile, parameter(names.profileS3Uri)),
  ], { outputName: DRIFT_REPORT.outputName, localPath: DRIFT_REPORT.localPath, s3Uri: reportPrefix(config) });
  const monitorQuality = monitoringJob(config, MODEL_QUALITY_REPORT.stepName, monitorQualityArguments(), [
    s3Input(MODEL_QUALITY_INPUTS.captures, parameter(quality.qualityCaptureS3Prefix)),
    s3Input(MODEL_QUALITY_INPUTS.groundTruth, parameter(quality.groundTruthS3Prefix)),
    s3Input(MODEL_QUALITY_INPUTS.registeredMetrics, parameter(quality.registeredMetricsS3Uri)),
  ], { outputName: MODEL_QUALITY_REPORT.outputName, localPath: MODEL_QUALITY_REPORT.localPath, s3Uri: qualityPrefix(config) });
  const hasGroundTruth: ConditionStep = {
    Name: MODEL_QUALITY_REPORT.conditionStepName,
    Type: 'Condition',
    Arguments: {
      Conditions: [{ Type: 'Equals', LeftValue: parameter(quality.hasGroundTruth), RightValue: 1 }],
      IfSteps: [monitorQuality],
      ElseSteps: [],
    },
  };
  return {
    Version: '2020-12-01',
    Metadata: {},
    Parameters: monitoringParameters(config),
    Steps: [monitor, hasGroundTruth],
  };
}
