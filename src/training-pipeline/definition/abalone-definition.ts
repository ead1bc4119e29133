/**
 * The abalone training pipeline as a SageMaker pipeline definition. Pure: every environment-specific value is a
 * plain string, so the construct passes CDK tokens and local mode passes local values to the same function.
 */
import {
  DEFAULT_HYPERPARAMETERS, DEFAULT_MODEL_APPROVAL_STATUS, DEFAULT_MODEL_PACKAGE_GROUP_NAME, DEFAULT_MSE_THRESHOLD,
  DEFAULT_PROCESSING_INSTANCE_COUNT, DEFAULT_PROCESSING_INSTANCE_TYPE, DEFAULT_SPLIT_SEED,
  DEFAULT_TRAINING_INSTANCE_COUNT, DEFAULT_TRAINING_INSTANCE_TYPE, MAX_RUNTIME_SECONDS, PROCESSING_VOLUME_SIZE_GB,
  TRAINING_VOLUME_SIZE_GB, XGBOOST_EVAL_METRIC, XGBOOST_OBJECTIVE,
} from './defaults';
import {
  asText, execution, join, parameter, processingOutputUri, propertyFile, stepProperty, trainingModelArtifacts,
} from './expressions';
import {
  CONTAINER_PATHS, CSV_CONTENT_TYPE, EVALUATION_REPORT, PARAMETER_NAMES, PREPROCESSOR_ARCHIVE,
  PREPROCESSOR_SERVING_ENVIRONMENT, PROCESSING_INPUTS, PROCESSING_OUTPUTS, STEP_NAMES, TRAINING_CHANNELS,
  evaluateArguments, preprocessArguments, scriptEntrypoint, sharedModulesEnvironment,
} from './names';
import { QualityGateConfig, qualityGateParameters, qualityGateStep } from './quality-gate-steps';
import { TUNING_PROPERTIES, TuningSettings, bestModelArtifacts, resolveTuning, tuningStep } from './tuning';
import {
  PipelineDefinition, PipelineParameter, ProcessingInput, ProcessingOutput, ProcessingStep, StringValue,
  TrainingChannel, TrainingStep, TuningStep,
} from './types';
import { HELD_OUT_TEST_SPLIT } from '../../contracts/acceptance-test';
import { TRAINING_PROFILE } from '../../contracts/monitoring';

/** Prefix of the model package's metadata keys holding the best training job's tuned hyperparameters. */
export const TUNED_HYPERPARAMETER_KEY_PREFIX = 'TunedHyperparameter.';

/** A file the jobs mount (a script, or the shared modules' archive): where it is stored and its name once downloaded. */
export interface ScriptLocation {
  /** `s3://…` of the single file. */
  readonly s3Uri: string;
  /** The last segment of its key: what SageMaker names the file under the input's local path. */
  readonly fileName: string;
}

/** Built-in XGBoost 1.7-1 hyperparameters the pipeline sets. */
export interface XgboostHyperparameters {
  readonly maxDepth: number;
  readonly eta: number;
  readonly gamma: number;
  readonly minChildWeight: number;
  readonly subsample: number;
  readonly numRound: number;
  readonly earlyStoppingRounds: number;
}

export interface AbaloneTrainingDefinitionConfig {
  /** The SageMaker execution role the jobs run with. */
  readonly roleArn: string;
  /** `s3://bucket/prefix` (no trailing slash) under which each execution writes `<execution id>/<step>/…`. */
  readonly artifactS3Uri: string;
  /** Default of the InputManifestUri parameter (a SageMaker ManifestFile); none means every run must pass it. */
  readonly inputManifestUri?: string;
  /** scikit-learn 1.2-1 image: preprocessing job and the PipelineModel's first container. */
  readonly sklearnImageUri: string;
  /** XGBoost 1.7-1 image: training, evaluation and the PipelineModel's second container. */
  readonly xgboostImageUri: string;
  readonly preprocessScript: ScriptLocation;
  readonly evaluateScript: ScriptLocation;
  /** The sklearn serving handler, packed into the preprocessor archive by preprocess.py. */
  readonly inferenceScript: ScriptLocation;
  /**
   * The modules the scripts share ({@link SHARED_PYTHON_MODULES}: the generated `abalone_contract.py`) as one zip
   * archive, at its root. Both processing jobs mount it and put it on `PYTHONPATH`.
   */
  readonly sharedModules: ScriptLocation;
  /** KMS key (id or ARN) for job volumes and outputs; none means the bucket's default encryption. */
  readonly kmsKeyId?: string;
  readonly processingInstanceType?: string;
  readonly processingInstanceCount?: number;
  readonly trainingInstanceType?: string;
  readonly trainingInstanceCount?: number;
  readonly splitSeed?: number;
  readonly hyperparameters?: Partial<XgboostHyperparameters>;
  /** Tune the hyperparameters: a Tuning step replaces TrainModel. None means one training job with `hyperparameters`. */
  readonly tuning?: TuningSettings;
  readonly gate: QualityGateConfig;
}

/**
 * The pipeline's settings under the names `TrainingPipeline` and `QualityGate` give their props; unset ones take
 * the builder's defaults.
 */
export interface AbaloneTrainingSettings {
  readonly processingInstanceType?: string;
  readonly processingInstanceCount?: number;
  readonly trainingInstanceType?: string;
  readonly trainingInstanceCount?: number;
  readonly splitSeed?: number;
  readonly xgboostMaxDepth?: number;
  readonly xgboostEta?: number;
  readonly xgboostGamma?: number;
  readonly xgboostMinChildWeight?: number;
  readonly xgboostSubsample?: number;
  readonly xgboostNumRound?: number;
  readonly xgboostEarlyStoppingRounds?: number;
  readonly mseThreshold?: number;
  readonly maxMae?: number;
  readonly minR2?: number;
  readonly modelApprovalStatus?: string;
  readonly modelPackageGroupName?: string;
  readonly tuning?: TuningSettings;
}

/** Where the pipeline's role, data, outputs, images and scripts are: S3 and ECR in the cloud, local folders locally. */
export type AbaloneTrainingLocations = Pick<AbaloneTrainingDefinitionConfig,
'roleArn' | 'artifactS3Uri' | 'inputManifestUri' | 'sklearnImageUri' | 'xgboostImageUri' | 'preprocessScript' | 'evaluateScript'
| 'inferenceScript' | 'sharedModules' | 'kmsKeyId'>;

/** The builder's input from settings and locations: the one place the construct and local mode both take it from. */
export function abaloneTrainingSpec(settings: AbaloneTrainingSettings, locations: AbaloneTrainingLocations): AbaloneTrainingDefinitionConfig {
  const given = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...locations,
    ...given({
      processingInstanceType: settings.processingInstanceType,
      processingInstanceCount: settings.processingInstanceCount,
      trainingInstanceType: settings.trainingInstanceType,
      trainingInstanceCount: settings.trainingInstanceCount,
      splitSeed: settings.splitSeed,
      tuning: settings.tuning,
    }),
    hyperparameters: given({
      maxDepth: settings.xgboostMaxDepth,
      eta: settings.xgboostEta,
      gamma: settings.xgboostGamma,
      minChildWeight: settings.xgboostMinChildWeight,
      subsample: settings.xgboostSubsample,
      numRound: settings.xgboostNumRound,
      earlyStoppingRounds: settings.xgboostEarlyStoppingRounds,
    }),
    gate: {
      mseThreshold: settings.mseThreshold ?? DEFAULT_MSE_THRESHOLD,
      ...given({ maxMae: settings.maxMae, minR2: settings.minR2 }),
      modelPackageGroupName: settings.modelPackageGroupName ?? DEFAULT_MODEL_PACKAGE_GROUP_NAME,
      modelApprovalStatus: settings.modelApprovalStatus ?? DEFAULT_MODEL_APPROVAL_STATUS,
    },
  };
}

function s3Input(name: string, uri: StringValue, localPath: string, dataType: 'S3Prefix' | 'ManifestFile' = 'S3Prefix'): ProcessingInput {
  return {
    InputName: name,
    AppManaged: false,
    S3Input: {
      S3Uri: uri,
      LocalPath: localPath,
      S3DataType: dataType,
      // Set explicitly: SageMaker rejects managed ManifestFile inputs without them.
      S3InputMode: 'File',
      S3DataDistributionType: 'FullyReplicated',
      S3CompressionType: 'None',
    },
  };
}

function s3Output(config: AbaloneTrainingDefinitionConfig, stepName: string, name: string, localPath: string): ProcessingOutput {
  return {
    OutputName: name,
    AppManaged: false,
    S3Output: { S3Uri: executionUri(config, stepName, name), LocalPath: localPath, S3UploadMode: 'EndOfJob' },
  };
}

/** `<artifactS3Uri>/<execution id>/<step>/<name>`: every run keeps its own outputs. */
function executionUri(config: AbaloneTrainingDefinitionConfig, ...segments: string[]): StringValue {
  return join('/', [config.artifactS3Uri, execution('PipelineExecutionId'), ...segments]);
}

function processingResources(config: AbaloneTrainingDefinitionConfig) {
  return {
    ClusterConfig: {
      InstanceType: parameter(PARAMETER_NAMES.processingInstanceType),
      InstanceCount: parameter(PARAMETER_NAMES.processingInstanceCount),
      VolumeSizeInGB: PROCESSING_VOLUME_SIZE_GB,
      ...(config.kmsKeyId ? { VolumeKmsKeyId: config.kmsKeyId } : {}),
    },
  };
}

function outputConfig(config: AbaloneTrainingDefinitionConfig, outputs: ProcessingOutput[]) {
  return { Outputs: outputs, ...(config.kmsKeyId ? { KmsKeyId: config.kmsKeyId } : {}) };
}

/** The pipeline parameters, defaults from the config. */
export function abaloneTrainingParameters(config: AbaloneTrainingDefinitionConfig): PipelineParameter[] {
  return [
    {
      Name: PARAMETER_NAMES.inputManifestUri,
      Type: 'String',
      ...(config.inputManifestUri !== undefined ? { DefaultValue: config.inputManifestUri } : {}),
    },
    {
      Name: PARAMETER_NAMES.processingInstanceType,
      Type: 'String',
      DefaultValue: config.processingInstanceType ?? DEFAULT_PROCESSING_INSTANCE_TYPE,
    },
    {
      Name: PARAMETER_NAMES.processingInstanceCount,
      Type: 'Integer',
      DefaultValue: config.processingInstanceCount ?? DEFAULT_PROCESSING_INSTANCE_COUNT,
    },
    {
      Name: PARAMETER_NAMES.trainingInstanceType,
      Type: 'String',
      DefaultValue: config.trainingInstanceType ?? DEFAULT_TRAINING_INSTANCE_TYPE,
    },
    {
      Name: PARAMETER_NAMES.trainingInstanceCount,
      Type: 'Integer',
      DefaultValue: config.trainingInstanceCount ?? DEFAULT_TRAINING_INSTANCE_COUNT,
    },
    { Name: PARAMETER_NAMES.splitSeed, Type: 'Integer', DefaultValue: config.splitSeed ?? DEFAULT_SPLIT_SEED },
    ...qualityGateParameters(config.gate),
  ];
}

/** XGBoost hyperparameters as the built-in algorithm reads them (all strings). */
export function xgboostHyperparameters(given: Partial<XgboostHyperparameters> = {}): Record<string, string> {
  const hp = { ...DEFAULT_HYPERPARAMETERS, ...given };
  return {
    objective: XGBOOST_OBJECTIVE,
    // Early stopping needs a metric and the validation channel as well as the rounds.
    eval_metric: XGBOOST_EVAL_METRIC,
    num_round: String(hp.numRound),
    early_stopping_rounds: String(hp.earlyStoppingRounds),
    max_depth: String(hp.maxDepth),
    eta: String(hp.eta),
    gamma: String(hp.gamma),
    min_child_weight: String(hp.minChildWeight),
    subsample: String(hp.subsample),
  };
}

/**
 * Builds the whole pipeline definition (Version 2020-12-01).
 *
 * How the scripts find the modules they share: an S3Prefix input copies objects as they are (one object lands under
 * its key's last segment, as the scripts do: FACTS.md §2.3), and the CDK asset of a folder is one zip file that
 * SageMaker does not extract, so each processing step mounts that zip (its `shared` input) and names it on
 * `PYTHONPATH`: Python imports modules from a zip archive on `sys.path` (the standard library's zipimport). The job's
 * Environment replaces the image's own `PYTHONPATH`: the scikit-learn 1.2-1 image sets none, the XGBoost 1.7-1 image
 * only its dmlc tracker folder (aws/sagemaker-xgboost-container docker/1.7-1/final/Dockerfile.cpu), which distributed
 * training uses and the evaluation script does not.
 */
export function buildAbaloneTrainingDefinition(config: AbaloneTrainingDefinitionConfig): PipelineDefinition {
  const tuning = config.tuning ? resolveTuning(config.tuning) : undefined;
  const trainStepName = tuning ? STEP_NAMES.tune : STEP_NAMES.train;
  const shared = () => s3Input(PROCESSING_INPUTS.shared, config.sharedModules.s3Uri, CONTAINER_PATHS.shared);
  const sharedEnvironment = () => sharedModulesEnvironment(config.sharedModules.fileName);
  const preprocess: ProcessingStep = {
    Name: STEP_NAMES.preprocess,
    Type: 'Processing',
    Arguments: {
      ProcessingResources: processingResources(config),
      AppSpecification: {
        ImageUri: config.sklearnImageUri,
        ContainerEntrypoint: scriptEntrypoint(config.preprocessScript.fileName),
        ContainerArguments: preprocessArguments(config.inferenceScript.fileName),
      },
      Environment: sharedEnvironment(),
      RoleArn: config.roleArn,
      ProcessingInputs: [
        s3Input(PROCESSING_INPUTS.data, parameter(PARAMETER_NAMES.inputManifestUri), CONTAINER_PATHS.inputData, 'ManifestFile'),
        s3Input(PROCESSING_INPUTS.code, config.preprocessScript.s3Uri, CONTAINER_PATHS.code),
        s3Input(PROCESSING_INPUTS.inference, config.inferenceScript.s3Uri, CONTAINER_PATHS.inference),
        shared(),
      ],
      ProcessingOutputConfig: outputConfig(config, [
        s3Output(config, STEP_NAMES.preprocess, PROCESSING_OUTPUTS.train, CONTAINER_PATHS.train),
        s3Output(config, STEP_NAMES.preprocess, PROCESSING_OUTPUTS.validation, CONTAINER_PATHS.validation),
        s3Output(config, STEP_NAMES.preprocess, PROCESSING_OUTPUTS.test, CONTAINER_PATHS.test),
        s3Output(config, STEP_NAMES.preprocess, PROCESSING_OUTPUTS.model, CONTAINER_PATHS.model),
        s3Output(config, STEP_NAMES.preprocess, TRAINING_PROFILE.outputName, TRAINING_PROFILE.localPath),
        s3Output(config, STEP_NAMES.preprocess, HELD_OUT_TEST_SPLIT.outputName, HELD_OUT_TEST_SPLIT.localPath),
      ]),
      NetworkConfig: { EnableNetworkIsolation: true },
      StoppingCondition: { MaxRuntimeInSeconds: MAX_RUNTIME_SECONDS },
    },
  };

  const channel = (name: string, outputName: string): TrainingChannel => ({
    ChannelName: name,
    // The container assumes libsvm without it.
    ContentType: CSV_CONTENT_TYPE,
    DataSource: {
      S3DataSource: {
        S3DataType: 'S3Prefix',
        S3Uri: processingOutputUri(STEP_NAMES.preprocess, outputName),
        S3DataDistributionType: 'FullyReplicated',
      },
    },
  });

  const trainingJob: TrainingStep['Arguments'] = {
    AlgorithmSpecification: { TrainingImage: config.xgboostImageUri, TrainingInputMode: 'File' },
    HyperParameters: xgboostHyperparameters(config.hyperparameters),
    InputDataConfig: [
      channel(TRAINING_CHANNELS.train, PROCESSING_OUTPUTS.train),
      channel(TRAINING_CHANNELS.validation, PROCESSING_OUTPUTS.validation),
    ],
    OutputDataConfig: {
      S3OutputPath: executionUri(config, trainStepName),
      ...(config.kmsKeyId ? { KmsKeyId: config.kmsKeyId } : {}),
    },
    ResourceConfig: {
      InstanceType: parameter(PARAMETER_NAMES.trainingInstanceType),
      InstanceCount: parameter(PARAMETER_NAMES.trainingInstanceCount),
      VolumeSizeInGB: TRAINING_VOLUME_SIZE_GB,
      ...(config.kmsKeyId ? { VolumeKmsKeyId: config.kmsKeyId } : {}),
    },
    RoleArn: config.roleArn,
    EnableNetworkIsolation: true,
    StoppingCondition: { MaxRuntimeInSeconds: MAX_RUNTIME_SECONDS },
  };
  // With tuning, the best of its training jobs is the model: evaluated, gated and registered as TrainModel's would be.
  const train: TrainingStep | TuningStep = tuning
    ? tuningStep(STEP_NAMES.tune, tuning, trainingJob)
    : { Name: STEP_NAMES.train, Type: 'Training', Arguments: trainingJob };
  const modelArtifacts = tuning ? bestModelArtifacts(config.artifactS3Uri, STEP_NAMES.tune) : trainingModelArtifacts(STEP_NAMES.train);
  const tuningLineage: Record<string, StringValue> = tuning ? {
    TuningJobName: stepProperty(STEP_NAMES.tune, TUNING_PROPERTIES.tuningJobName),
    BestTrainingJobName: stepProperty(STEP_NAMES.tune, TUNING_PROPERTIES.bestTrainingJobName),
    BestTrainingJobObjective: asText(stepProperty(STEP_NAMES.tune, TUNING_PROPERTIES.bestObjectiveValue)),
    ...Object.fromEntries(tuning.ranges.map((r) => [
      `${TUNED_HYPERPARAMETER_KEY_PREFIX}${r.name}`, stepProperty(STEP_NAMES.tune, TUNING_PROPERTIES.tunedHyperparameter(r.name)),
    ])),
  } : {};

  const evaluate: ProcessingStep = {
    Name: STEP_NAMES.evaluate,
    Type: 'Processing',
    Arguments: {
      ProcessingResources: processingResources(config),
      // The XGBoost image loads the model exactly as it was saved.
      AppSpecification: {
        ImageUri: config.xgboostImageUri,
        ContainerEntrypoint: scriptEntrypoint(config.evaluateScript.fileName),
        ContainerArguments: evaluateArguments(),
      },
      Environment: sharedEnvironment(),
      RoleArn: config.roleArn,
      ProcessingInputs: [
        s3Input(PROCESSING_INPUTS.model, modelArtifacts, CONTAINER_PATHS.model),
        s3Input(PROCESSING_INPUTS.test, processingOutputUri(STEP_NAMES.preprocess, PROCESSING_OUTPUTS.test), CONTAINER_PATHS.test),
        s3Input(PROCESSING_INPUTS.code, config.evaluateScript.s3Uri, CONTAINER_PATHS.code),
        shared(),
      ],
      ProcessingOutputConfig: outputConfig(config, [
        s3Output(config, STEP_NAMES.evaluate, PROCESSING_OUTPUTS.evaluation, CONTAINER_PATHS.evaluation),
      ]),
      NetworkConfig: { EnableNetworkIsolation: true },
      StoppingCondition: { MaxRuntimeInSeconds: MAX_RUNTIME_SECONDS },
    },
    PropertyFiles: [{
      PropertyFileName: EVALUATION_REPORT.propertyFileName,
      OutputName: EVALUATION_REPORT.outputName,
      FilePath: EVALUATION_REPORT.filePath,
    }],
  };

  const checkQuality = qualityGateStep(config.gate, {
    evaluationReport: propertyFile(STEP_NAMES.evaluate, EVALUATION_REPORT.propertyFileName),
    evaluationReportUri: join('/', [
      processingOutputUri(STEP_NAMES.evaluate, EVALUATION_REPORT.outputName),
      EVALUATION_REPORT.filePath,
    ]),
    containers: [
      {
        Image: config.sklearnImageUri,
        ModelDataUrl: join('/', [processingOutputUri(STEP_NAMES.preprocess, PROCESSING_OUTPUTS.model), PREPROCESSOR_ARCHIVE]),
        Environment: { ...PREPROCESSOR_SERVING_ENVIRONMENT },
      },
      {
        Image: config.xgboostImageUri,
        ModelDataUrl: modelArtifacts,
        Environment: {},
      },
    ],
    customerMetadata: {
      [PARAMETER_NAMES.inputManifestUri]: parameter(PARAMETER_NAMES.inputManifestUri),
      [PARAMETER_NAMES.splitSeed]: asText(parameter(PARAMETER_NAMES.splitSeed)),
      PipelineExecutionArn: execution('PipelineExecutionArn'),
      // Each version is judged for drift against its own training data.
      [TRAINING_PROFILE.metadataKey]: join('/', [
        processingOutputUri(STEP_NAMES.preprocess, TRAINING_PROFILE.outputName),
        TRAINING_PROFILE.fileName,
      ]),
      // The acceptance test replays the very rows EvaluateModel scored through the staging API.
      [HELD_OUT_TEST_SPLIT.metadataKey]: join('/', [
        processingOutputUri(STEP_NAMES.preprocess, HELD_OUT_TEST_SPLIT.outputName),
        HELD_OUT_TEST_SPLIT.fileName,
      ]),
      ...tuningLineage,
    },
    modelPackageDescription: 'Abalone rings regression: scikit-learn 1.2-1 preprocessor followed by XGBoost 1.7-1',
  });

  return {
    Version: '2020-12-01',
    Metadata: {},
    Parameters: abaloneTrainingParameters(config),
    Steps: [preprocess, train, evaluate, checkQuality],
  };
}
