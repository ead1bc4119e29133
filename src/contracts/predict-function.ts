/**
 * The predict function's contract with the ModelServing construct: its environment and the predictions table's
 * attribute names. Imported by both, so it imports nothing but other contracts.
 */

/** Partition key of the predictions table. */
export const PREDICTION_KEY_ATTRIBUTE = 'predictionId';

/** TTL attribute of the predictions table (epoch seconds). */
export const PREDICTION_TTL_ATTRIBUTE = 'expiresAt';

/**
 * The other attributes of a predictions-table item. The predict function writes them; the feedback exporter reads
 * them from the table's stream.
 */
export const PREDICTION_ITEM_ATTRIBUTES = {
  /** When the prediction was made (ISO 8601, UTC). */
  createdAt: 'createdAt',
  modelVersion: 'modelVersion',
  rings: 'rings',
  ageYears: 'ageYears',
  /** The request's instance in human units, a map keyed by the API's field names. */
  input: 'input',
  /** The invocation's SageMaker `InferenceId`: the capture record's `eventMetadata.inferenceId`. */
  inferenceId: 'inferenceId',
  /** The prediction's line within that invocation's CSV (0-based). */
  row: 'row',
  /** Feedback: the actual rings, and when they were reported. */
  actualRings: 'actualRings',
  feedbackAt: 'feedbackAt',
} as const;

/** Environment variable names of the predict function. */
export const PREDICT_FUNCTION_ENV = {
  /** Name of the SageMaker endpoint to invoke. */
  ENDPOINT_NAME: 'ENDPOINT_NAME',
  /** JSON array of the origins allowed to read answers (CORS); empty for none. */
  ALLOWED_ORIGINS: 'ALLOWED_ORIGINS',
  /** Predictions table; absent when feedback is turned off. */
  PREDICTIONS_TABLE_NAME: 'PREDICTIONS_TABLE_NAME',
  /** Seconds a prediction stays available for feedback. */
  PREDICTION_TTL_SECONDS: 'PREDICTION_TTL_SECONDS',
} as const;

/** The handler's settings. */
export interface PredictFunctionConfig {
  readonly endpointName: string;
  readonly allowedOrigins: string[];
  readonly tableName?: string;
  readonly ttlSeconds: number;
}

/** Reads and checks the environment; throws naming the variable that is wrong. */
export function readConfig(env: { readonly [name: string]: string | undefined }): PredictFunctionConfig {
  const endpointName = env[PREDICT_FUNCTION_ENV.ENDPOINT_NAME];
  if (!endpointName) throw new Error(`${PREDICT_FUNCTION_ENV.ENDPOINT_NAME} is not set`);
  const origins = JSON.parse(env[PREDICT_FUNCTION_ENV.ALLOWED_ORIGINS] ?? '[]') as unknown;
  if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string')) {
    throw new Error(`${PREDICT_FUNCTION_ENV.ALLOWED_ORIGINS} must be a JSON array of strings`);
  }
  const ttlSeconds = Number(env[PREDICT_FUNCTION_ENV.PREDICTION_TTL_SECONDS] ?? 90 * 24 * 3600);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new Error(`${PREDICT_FUNCTION_ENV.PREDICTION_TTL_SECONDS} must be a positive integer`);
  return { endpointName, allowedOrigins: origins, tableName: env[PREDICT_FUNCTION_ENV.PREDICTIONS_TABLE_NAME] || undefined, ttlSeconds };
}
