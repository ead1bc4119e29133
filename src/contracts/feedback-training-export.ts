/**
 * The feedback-as-training-data export's contract with its construct: its environment and where it writes.
 * Imported by both, so it imports nothing but other contracts.
 */

/** Folder below the raw data prefix that holds the exported feedback, e.g. `raw/feedback/`. */
export const FEEDBACK_TRAINING_FOLDER = 'feedback/';

/**
 * The raw data file of the predictions made on one UTC day that have feedback:
 * `<raw prefix>feedback/yyyy-mm-dd.csv`. One file per prediction day, so that a file stops changing once no
 * prediction of its day can receive feedback, and the table's TTL never shrinks a file that training still lists.
 */
export function feedbackTrainingKey(rawPrefix: string, predictionDay: Date): string {
  return `${rawPrefix}${FEEDBACK_TRAINING_FOLDER}${predictionDay.toISOString().slice(0, 10)}.csv`;
}

/** Environment variable names of the feedback training export function. */
export const FEEDBACK_TRAINING_EXPORT_ENV = {
  /** The predictions table. */
  TABLE_NAME: 'TABLE_NAME',
  /** The data bucket. */
  BUCKET_NAME: 'BUCKET_NAME',
  /** DataIngest's raw data prefix, e.g. `raw/`. */
  RAW_PREFIX: 'RAW_PREFIX',
  /** Seconds a prediction accepts feedback (the table's TTL). */
  RETENTION_SECONDS: 'RETENTION_SECONDS',
  /** Customer managed key for SSE-KMS; absent for the bucket's default encryption. */
  KMS_KEY_ARN: 'KMS_KEY_ARN',
} as const;

/** User metadata key (S3 `x-amz-meta-…`) holding the SHA-256 of an exported file's content. */
export const FEEDBACK_TRAINING_SHA256_METADATA = 'content-sha256';

/** The function's settings. */
export interface FeedbackTrainingExportConfig {
  readonly tableName: string;
  readonly bucketName: string;
  readonly rawPrefix: string;
  readonly retentionSeconds: number;
  readonly kmsKeyArn?: string;
}

/** Reads and checks the environment; throws naming the variable that is wrong. */
export function readFeedbackTrainingExportConfig(env: { readonly [name: string]: string | undefined }): FeedbackTrainingExportConfig {
  const E = FEEDBACK_TRAINING_EXPORT_ENV;
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const rawPrefix = required(E.RAW_PREFIX);
  if (!rawPrefix.endsWith('/')) throw new Error(`${E.RAW_PREFIX} must end with "/", got ${JSON.stringify(rawPrefix)}`);
  const retentionSeconds = Number(required(E.RETENTION_SECONDS));
  if (!Number.isInteger(retentionSeconds) || retentionSeconds <= 0) throw new Error(`${E.RETENTION_SECONDS} must be a positive integer`);
  return {
    tableName: required(E.TABLE_NAME),
    bucketName: required(E.BUCKET_NAME),
    rawPrefix,
    retentionSeconds,
    kmsKeyArn: env[E.KMS_KEY_ARN] || undefined,
  };
}
