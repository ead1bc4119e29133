/**
 * The feedback exporter's contract with its construct: its environment and the stream batching it is built for.
 * Imported by both, so it imports nothing but other contracts.
 */

/** Environment variable names of the feedback export function. */
export const FEEDBACK_EXPORT_ENV = {
  /** Bucket the ground-truth records are written to. */
  BUCKET_NAME: 'BUCKET_NAME',
  /** Customer managed key for SSE-KMS; absent for the bucket's default encryption. */
  KMS_KEY_ARN: 'KMS_KEY_ARN',
} as const;

/** The function's settings. */
export interface FeedbackExportConfig {
  readonly bucketName: string;
  readonly kmsKeyArn?: string;
}

/** Reads and checks the environment; throws naming the variable that is wrong. */
export function readFeedbackExportConfig(env: { readonly [name: string]: string | undefined }): FeedbackExportConfig {
  const bucketName = env[FEEDBACK_EXPORT_ENV.BUCKET_NAME];
  if (!bucketName) throw new Error(`${FEEDBACK_EXPORT_ENV.BUCKET_NAME} is not set`);
  return { bucketName, kmsKeyArn: env[FEEDBACK_EXPORT_ENV.KMS_KEY_ARN] || undefined };
}
