/**
 * The names and paths the abalone pipeline definition is made of: step names, parameter names, processing
 * inputs/outputs, container paths, script arguments and the evaluation report's JSON paths. One place for
 * the construct, the quality gate and local mode.
 */
import { asText, parameter } from './expressions';
import { StringValue } from './types';

/** Step names (pattern `[A-Za-z0-9-_]{1,64}`). */
export const STEP_NAMES = {
  preprocess: 'PreprocessData',
  train: 'TrainModel',
  /** Replaces TrainModel when the pipeline tunes its hyperparameters. */
  tune: 'TuneModel',
  evaluate: 'EvaluateModel',
  checkQuality: 'CheckQuality',
  register: 'RegisterModel',
  fail: 'FailQualityGate',
} as const;

/**
 * Pipeline parameter names. No underscores: EventBridge's SageMakerPipelineParameter names must match
 * `^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`.
 */
export const PARAMETER_NAMES = {
  inputManifestUri: 'InputManifestUri',
  processingInstanceType: 'ProcessingInstanceType',
  processingInstanceCount: 'ProcessingInstanceCount',
  trainingInstanceType: 'TrainingInstanceType',
  trainingInstanceCount: 'TrainingInstanceCount',
  splitSeed: 'SplitSeed',
  mseThreshold: 'MseThreshold',
  /** Only declared when a maximum MAE is configured. */
  maeThreshold: 'MaeThreshold',
  /** Only declared when a minimum R² is configured. */
  r2Threshold: 'R2Threshold',
  modelApprovalStatus: 'ModelApprovalStatus',
} as const;

/** Processing input names. */
export const PROCESSING_INPUTS = {
  data: 'data',
  code: 'code',
  inference: 'inference',
  model: 'model',
  test: 'test',
  shared: 'shared',
} as const;

/** Processing output names (also the `Outputs['…']` keys of property references). */
export const PROCESSING_OUTPUTS = {
  train: 'train',
  validation: 'validation',
  test: 'test',
  model: 'model',
  evaluation: 'evaluation',
} as const;

/** Training channels of the built-in XGBoost algorithm. */
export const TRAINING_CHANNELS = {
  train: 'train',
  validation: 'validation',
} as const;

/** The evaluation step's property file, read by the quality gate with `Std:JsonGet`. */
export const EVALUATION_REPORT = {
  propertyFileName: 'EvaluationReport',
  outputName: PROCESSING_OUTPUTS.evaluation,
  filePath: 'evaluation.json',
} as const;

/** JSON paths in evaluation.json (SageMaker's model-quality shape), as `evaluate.py` writes them. */
export const EVALUATION_METRIC_PATHS = {
  mse: 'regression_metrics.mse.value',
  mae: 'regression_metrics.mae.value',
  r2: 'regression_metrics.r2.value',
} as const;

/** Where the processing containers see their inputs and outputs. */
export const CONTAINER_PATHS = {
  processing: '/opt/ml/processing',
  inputData: '/opt/ml/processing/input/data',
  code: '/opt/ml/processing/input/code',
  inference: '/opt/ml/processing/input/inference',
  shared: '/opt/ml/processing/input/shared',
  train: '/opt/ml/processing/train',
  validation: '/opt/ml/processing/validation',
  test: '/opt/ml/processing/test',
  model: '/opt/ml/processing/model',
  evaluation: '/opt/ml/processing/evaluation',
} as const;

/** The preprocessor archive the preprocessing step writes to its `model` output. */
export const PREPROCESSOR_ARCHIVE = 'model.tar.gz';

/** Environment of the scikit-learn serving container: the handler is packed into the archive's `code/`. */
export const PREPROCESSOR_SERVING_ENVIRONMENT: Record<string, string> = {
  SAGEMAKER_PROGRAM: 'inference.py',
  SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code',
  SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
};

/** Content type between the containers and for requests and responses. */
export const CSV_CONTENT_TYPE = 'text/csv';

/**
 * The Python module generated from the TypeScript contracts (`ml/abalone_contract.py`, by
 * `build-tools/python-contract.ts`): the values the ML scripts share with this library.
 */
export const PYTHON_CONTRACT_MODULE = 'abalone_contract';

/**
 * The modules the ML scripts share, files of `ml/`. The processing jobs get them as one zip archive on
 * `PYTHONPATH` ({@link sharedModulesEnvironment}); `preprocess.py` packs them beside the handler in the preprocessor
 * archive's `code/` folder (SAGEMAKER_SUBMIT_DIRECTORY, FACTS.md §2.7), which the scikit-learn serving container
 * copies to /opt/ml/code, installs and puts on the path before it imports SAGEMAKER_PROGRAM by name
 * (aws/sagemaker-containers `_modules.import_module`, `_server.start`; sagemaker-scikit-learn-container
 * `serving.import_module`).
 */
export const SHARED_PYTHON_MODULES: readonly string[] = [`${PYTHON_CONTRACT_MODULE}.py`];

/**
 * `Environment` of a processing step whose `shared` input holds the shared modules' zip archive: Python imports
 * from a zip archive on `sys.path` (zipimport), so the scripts `import abalone_contract` as they do beside it.
 */
export function sharedModulesEnvironment(archiveFileName: string): Record<string, string> {
  return { PYTHONPATH: `${CONTAINER_PATHS.shared}/${archiveFileName}` };
}

/** The interpreter both processing images provide. */
export const PYTHON = 'python3';

/** `ContainerEntrypoint` running a script that was mounted at the code input. */
export function scriptEntrypoint(scriptFileName: string): string[] {
  return [PYTHON, `${CONTAINER_PATHS.code}/${scriptFileName}`];
}

/** Arguments of `preprocess.py`. */
export function preprocessArguments(inferenceScriptFileName: string): StringValue[] {
  return [
    '--input-dir', CONTAINER_PATHS.inputData,
    '--output-dir', CONTAINER_PATHS.processing,
    '--seed', asText(parameter(PARAMETER_NAMES.splitSeed)),
    '--inference-script', `${CONTAINER_PATHS.inference}/${inferenceScriptFileName}`,
  ];
}

/** Arguments of `evaluate.py`. */
export function evaluateArguments(): StringValue[] {
  return [
    '--model-dir', CONTAINER_PATHS.model,
    '--test-dir', CONTAINER_PATHS.test,
    '--output-dir', CONTAINER_PATHS.evaluation,
  ];
}
