/** Defaults shared by the constructs and local mode. */

export const DEFAULT_PROCESSING_INSTANCE_TYPE = 'ml.t3.medium';
export const DEFAULT_PROCESSING_INSTANCE_COUNT = 1;
export const DEFAULT_TRAINING_INSTANCE_TYPE = 'ml.m4.xlarge';
export const DEFAULT_TRAINING_INSTANCE_COUNT = 1;
export const DEFAULT_SPLIT_SEED = 42;

/** XGBoost hyperparameters of the reference abalone model. */
export const DEFAULT_HYPERPARAMETERS = {
  maxDepth: 5,
  eta: 0.2,
  gamma: 4,
  minChildWeight: 6,
  subsample: 0.7,
  numRound: 50,
  earlyStoppingRounds: 10,
} as const;

/** Regression objective and the metric early stopping watches (the container skips early stopping without one). */
export const XGBOOST_OBJECTIVE = 'reg:squarederror';
export const XGBOOST_EVAL_METRIC = 'rmse';

export const DEFAULT_MSE_THRESHOLD = 6.0;
export const DEFAULT_MODEL_PACKAGE_GROUP_NAME = 'AbaloneModelPackageGroup';
export const DEFAULT_MODEL_APPROVAL_STATUS = 'PendingManualApproval';
export const MODEL_APPROVAL_STATUSES = ['PendingManualApproval', 'Approved', 'Rejected'];

/** Job limits: the abalone data trains in seconds, so an hour means something is wrong. */
export const PROCESSING_VOLUME_SIZE_GB = 30;
export const TRAINING_VOLUME_SIZE_GB = 30;
export const MAX_RUNTIME_SECONDS = 3600;
