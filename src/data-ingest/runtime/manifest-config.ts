/**
 * The manifest function's configuration and clients, and the settings every object it writes carries.
 */
import type { S3Client, ServerSideEncryption } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { checkRawPrefix } from './manifest-logic';
import { DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_RAW_PREFIX, MANIFEST_FUNCTION_ENV } from '../../contracts/data-layout';

/** How the function behaves; {@link configFromEnv} builds it from the Lambda environment. */
export interface ManifestFunctionConfig {
  /** Prefix of raw uploads, ending with `/`. */
  readonly rawPrefix: string;
  /** Larger files are rejected without being read. */
  readonly maxFileSizeBytes: number;
  /** SNS topic for `quarantined` and `manifest-updated` notifications. @default - no notifications */
  readonly topicArn?: string;
  /** Customer managed KMS key for the objects the function writes. @default - the bucket's default encryption */
  readonly kmsKeyArn?: string;
  /** Errors listed per rejected file. @default 50 */
  readonly maxErrors?: number;
  /** Conditional-write attempts on the data manifest before giving up (and throwing). @default 16 */
  readonly maxManifestAttempts?: number;
  /** Base of the jittered exponential backoff between manifest attempts, in ms. @default 50 */
  readonly retryBaseDelayMs?: number;
  /** Clock. @default - the system clock */
  readonly now?: () => Date;
  /** Where the one-line JSON summaries go. @default console.log */
  readonly log?: (line: string) => void;
}

/** AWS clients the function uses. */
export interface ManifestFunctionClients {
  readonly s3: S3Client;
  /** Needed only when a topic is configured. */
  readonly sns?: SNSClient;
}

/** Reads the function's configuration from environment variables (see `MANIFEST_FUNCTION_ENV`). */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): ManifestFunctionConfig {
  const rawPrefix = env[MANIFEST_FUNCTION_ENV.RAW_PREFIX] || DEFAULT_RAW_PREFIX;
  const problems = checkRawPrefix(rawPrefix);
  const maxText = env[MANIFEST_FUNCTION_ENV.MAX_FILE_SIZE_BYTES];
  const maxFileSizeBytes = maxText ? Number(maxText) : DEFAULT_MAX_FILE_SIZE_BYTES;
  if (!Number.isSafeInteger(maxFileSizeBytes) || maxFileSizeBytes <= 0) {
    problems.push(`${MANIFEST_FUNCTION_ENV.MAX_FILE_SIZE_BYTES} must be a positive integer, got ${JSON.stringify(maxText)}`);
  }
  if (problems.length > 0) {
    throw new Error(`manifest function misconfigured: ${problems.join('; ')}`);
  }
  return {
    rawPrefix,
    maxFileSizeBytes,
    topicArn: env[MANIFEST_FUNCTION_ENV.TOPIC_ARN] || undefined,
    kmsKeyArn: env[MANIFEST_FUNCTION_ENV.KMS_KEY_ARN] || undefined,
  };
}

/** Server-side encryption of the objects the function writes: the customer key when configured. */
export function encryptionParams(config: Pick<ManifestFunctionConfig, 'kmsKeyArn'>): {
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
  BucketKeyEnabled?: boolean;
} {
  return config.kmsKeyArn
    ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: config.kmsKeyArn, BucketKeyEnabled: true }
    : {};
}

export function now(config: Pick<ManifestFunctionConfig, 'now'>): Date {
  return config.now ? config.now() : new Date();
}
