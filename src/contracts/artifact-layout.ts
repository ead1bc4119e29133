/**
 * Where things live in the artifact bucket, for the constructs that write, read or share them.
 * Captures and ground truth: see `monitoring.ts`.
 */

/** Each training pipeline execution's outputs (model artifacts, evaluation reports, profiles, the held-out split). */
export const TRAINING_EXECUTIONS_PREFIX = 'pipeline-executions/';
