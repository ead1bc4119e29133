// The contract between the release pipeline construct and its two action functions: configuration, user
// parameters and output variable names. Runtime-free: the construct imports it, so it must not import the AWS SDK.

/** Variable namespaces of the release pipeline's actions (`#{Train.ModelPackageArn}`). */
export const ACTION_NAMESPACES = {
  dataSource: 'DataSource',
  codeSource: 'CodeSource',
  train: 'Train',
  deploy: 'Deploy',
} as const;

/** Environment variable holding the train action's JSON {@link TrainActionConfig}. */
export const TRAIN_ACTION_CONFIG_ENV = 'TRAIN_ACTION_CONFIG';

/** What the train action knows about the pipelines and the gate. */
export interface TrainActionConfig {
  /** The SageMaker pipeline to start. */
  readonly trainingPipelineName: string;
  /** The CodePipeline this action runs in (to find newer executions and stop a superseded one). */
  readonly releasePipelineName: string;
  /** Quiet period: no newer execution for this long before training starts. 0 starts at once. */
  readonly debounceSeconds: number;
  /** The gate's bounds, as the pipeline's threshold parameters default to them. */
  readonly mseThreshold: number;
  readonly maxMae?: number;
  readonly minR2?: number;
}

/** Parses and checks the configuration; throws naming the first bad field. */
export function parseTrainActionConfig(json: string | undefined): TrainActionConfig {
  if (!json) throw new Error(`${TRAIN_ACTION_CONFIG_ENV} is not set`);
  const config = JSON.parse(json) as TrainActionConfig;
  const need = (ok: boolean, field: string) => {
    if (!ok) throw new Error(`${TRAIN_ACTION_CONFIG_ENV}.${field} is missing or invalid`);
  };
  need(typeof config.trainingPipelineName === 'string' && config.trainingPipelineName.length > 0, 'trainingPipelineName');
  need(typeof config.releasePipelineName === 'string' && config.releasePipelineName.length > 0, 'releasePipelineName');
  need(Number.isInteger(config.debounceSeconds) && config.debounceSeconds >= 0, 'debounceSeconds');
  need(typeof config.mseThreshold === 'number', 'mseThreshold');
  need(config.maxMae === undefined || typeof config.maxMae === 'number', 'maxMae');
  need(config.minR2 === undefined || typeof config.minR2 === 'number', 'minR2');
  return config;
}

/** The train action's UserParameters (JSON). */
export interface TrainActionParameters {
  /** `#{codepipeline.PipelineExecutionId}` */
  readonly pipelineExecutionId: string;
  /** `#{<source namespace>.VersionId}`: the data manifest version this execution took. */
  readonly manifestVersionId?: string;
}

/**
 * Output variables of the train action (`#{<namespace>.<name>}`). All are set on success, so later actions
 * may reference any of them.
 */
export const TRAIN_OUTPUT_VARIABLES = {
  modelPackageArn: 'ModelPackageArn',
  modelPackageGroupName: 'ModelPackageGroupName',
  modelPackageVersion: 'ModelPackageVersion',
  modelApprovalStatus: 'ModelApprovalStatus',
  mse: 'Mse',
  mae: 'Mae',
  r2: 'R2',
  mseThreshold: 'MseThreshold',
  /** Every metric next to its bound, e.g. `MSE 4.51 (threshold 6), MAE 1.52, R² 0.56`. */
  gateSummary: 'GateSummary',
  evaluationReportUri: 'EvaluationReportUri',
  trainingExecutionArn: 'TrainingExecutionArn',
  trainingManifestUri: 'TrainingManifestUri',
  dataFiles: 'DataFiles',
  dataRows: 'DataRows',
} as const;

/** The deploy action's environment. */
export const DEPLOY_ACTION_ENV = {
  /** ARN of the endpoint's deploy function, which the action invokes. */
  DEPLOY_FUNCTION: 'DEPLOY_FUNCTION_ARN',
} as const;

/** Output variables of the deploy action (from the endpoint deployment logic). */
export const DEPLOY_OUTPUT_VARIABLES = {
  endpointName: 'EndpointName',
  modelPackageArn: 'ModelPackageArn',
  endpointConfigName: 'EndpointConfigName',
} as const;
