/**
 * The manifest function's work, as plain functions over injected clients (the handler only wires them).
 *
 * Each S3 event only names a key: the function reconciles that key's CURRENT version with the data manifest,
 * so duplicated, late or out-of-order events converge on the same state.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { S3Event } from 'aws-lambda';
import {
  buildDataManifest,
  buildTrainingManifest,
  checkRawPrefix,
  decodeEventKey,
  findFile,
  isRawDataKey,
  parseDataManifest,
  quarantineKeys,
  removeFile,
  s3Uri,
  sameManifestContent,
  serializeDataManifest,
  unquoteETag,
  upsertFile,
  validatedKey,
} from './manifest-logic';
import { DEFAULT_MAX_ERRORS, formatError, RawDataError, RawDataValidationResult, validateRawData } from './raw-data-validator';
import { DEFAULT_MAX_FILE_SIZE_BYTES, DEFAULT_RAW_PREFIX, DATA_MANIFEST_KEY, DataManifest, DataManifestFile, LATEST_TRAINING_MANIFEST_KEY, MANIFEST_FUNCTION_ENV } from '../../contracts/data-layout';

/** Largest object a single CopyObject can copy (5 GiB). */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3;

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

/** What reconciling one key did. */
export type ReconcileOutcome =
  /** Not a raw data key. */
  | 'ignored'
  /** The manifest already matches the key's current state: nothing written. */
  | 'unchanged'
  /** The current version was validated and its entry added or replaced. */
  | 'upserted'
  /** The key has no current version any more: its entry left the manifest. */
  | 'removed'
  /** The current version failed validation and was moved aside. */
  | 'quarantined'
  /** The key changed while being processed; the event of that later change reconciles it. */
  | 'superseded';

/** The result of {@link reconcileObject}, also the per-record log line. */
export interface ReconcileResult {
  readonly outcome: ReconcileOutcome;
  readonly bucket: string;
  readonly key: string;
  /** The version that was examined. */
  readonly versionId?: string;
  readonly rows?: number;
  readonly sha256?: string;
  /** Number of errors listed for a quarantined file. */
  readonly errorCount?: number;
  /** Why a file was quarantined. */
  readonly reason?: string;
  /** True when the data manifest was rewritten. */
  readonly manifestChanged: boolean;
  /** Conditional-write attempts used on the manifest. */
  readonly manifestAttempts?: number;
}

/** What the current version of a key is, from HeadObject. */
export interface CurrentVersion {
  /** The version id (`null` in a bucket that never had versioning). */
  readonly versionId: string;
  /** ETag with its quotes, as S3 returns it. */
  readonly eTag: string;
  readonly size: number;
}

/** The data manifest as stored, with the ETag for a conditional write. */
export interface StoredDataManifest {
  /** Undefined when there is no manifest yet. */
  readonly manifest?: DataManifest;
  readonly eTag?: string;
}

/** The result of {@link updateDataManifest}. */
export interface ManifestUpdateResult {
  /** `superseded` when the guard said the change no longer applies. */
  readonly outcome: 'changed' | 'unchanged' | 'superseded';
  /** The manifest after the update (or as found). */
  readonly manifest?: DataManifest;
  readonly attempts: number;
}

/** Thrown when the data manifest kept changing under the function for every attempt (the async retry takes over). */
export class ManifestConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestConflictError';
  }
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

/**
 * Handles an S3 event: reconciles each record's key and logs one JSON line per record.
 * Every record is attempted; if any failed with an AWS error, the first error is rethrown afterwards
 * (reconciling is idempotent, so the retried event redoes nothing that already succeeded).
 */
export async function processS3Event(event: S3Event, clients: ManifestFunctionClients, config: ManifestFunctionConfig): Promise<ReconcileResult[]> {
  const log = config.log ?? ((line: string) => console.log(line));
  const results: ReconcileResult[] = [];
  const failures: unknown[] = [];
  for (const record of event.Records ?? []) {
    const started = Date.now();
    const bucket = record.s3.bucket.name;
    const key = decodeEventKey(record.s3.object.key);
    const context = { bucket, key, eventName: record.eventName, eventVersionId: record.s3.object.versionId, sequencer: record.s3.object.sequencer };
    try {
      const result = await reconcileObject(clients, config, bucket, key);
      results.push(result);
      log(JSON.stringify({ msg: 'record', ...context, ...result, durationMs: Date.now() - started }));
    } catch (e) {
      failures.push(e);
      const error = e instanceof Error ? { errorName: e.name, errorMessage: e.message } : { errorMessage: String(e) };
      log(JSON.stringify({ msg: 'record failed', ...context, ...error, durationMs: Date.now() - started }));
    }
  }
  if (failures.length > 0) {
    throw failures[0];
  }
  return results;
}

/** Brings the data manifest in line with the current version of one key (the whole decision procedure). */
export async function reconcileObject(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  key: string,
): Promise<ReconcileResult> {
  const { s3 } = clients;
  if (!isRawDataKey(key, config.rawPrefix)) {
    return { outcome: 'ignored', bucket, key, manifestChanged: false };
  }

  const current = await headCurrentVersion(s3, bucket, key);
  if (!current) {
    // Deleted (or only a delete marker left): the key leaves the manifest.
    const update = await updateDataManifest(s3, bucket, config, (files) => removeFile(files, key),
      async () => (await headCurrentVersion(s3, bucket, key)) === undefined);
    await notifyManifestChange(clients, config, bucket, update, `${key} was deleted; its entry left the manifest.`);
    return {
      outcome: update.outcome === 'changed' ? 'removed' : update.outcome,
      bucket,
      key,
      manifestChanged: update.outcome === 'changed',
      manifestAttempts: update.attempts,
    };
  }

  const stored = await readDataManifest(s3, bucket);
  if (findFile(stored.manifest, key)?.sourceVersionId === current.versionId) {
    return { outcome: 'unchanged', bucket, key, versionId: current.versionId, manifestChanged: false };
  }

  const validation = current.size > config.maxFileSizeBytes
    ? oversizeResult(current.size, config.maxFileSizeBytes)
    : await validateObjectVersion(s3, bucket, key, current, config);
  if (!validation.valid || validation.sha256 === undefined) {
    await quarantineObjectVersion(clients, config, bucket, key, current, validation);
    return {
      outcome: 'quarantined',
      bucket,
      key,
      versionId: current.versionId,
      manifestChanged: false,
      errorCount: validation.errors.length,
      reason: validation.reason,
    };
  }

  const dataKey = await ensureValidatedCopy(s3, config, bucket, key, current, validation.sha256);
  const file: DataManifestFile = {
    sourceKey: key,
    sourceVersionId: current.versionId,
    eTag: unquoteETag(current.eTag),
    size: current.size,
    rows: validation.rows,
    sha256: validation.sha256,
    dataKey,
  };
  const update = await updateDataManifest(s3, bucket, config, (files) => upsertFile(files, file),
    async () => (await headCurrentVersion(s3, bucket, key))?.versionId === current.versionId);
  await notifyManifestChange(clients, config, bucket, update, `${key} (version ${current.versionId}, ${validation.rows} rows) was validated.`);
  return {
    outcome: update.outcome === 'changed' ? 'upserted' : update.outcome,
    bucket,
    key,
    versionId: current.versionId,
    rows: validation.rows,
    sha256: validation.sha256,
    manifestChanged: update.outcome === 'changed',
    manifestAttempts: update.attempts,
  };
}

/** HeadObject without a version: the current version, or undefined when the key is deleted (404, delete marker). */
export async function headCurrentVersion(s3: S3Client, bucket: string, key: string): Promise<CurrentVersion | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { versionId: head.VersionId ?? 'null', eTag: head.ETag ?? '', size: head.ContentLength ?? 0 };
  } catch (e) {
    if (isNotFound(e)) {
      return undefined;
    }
    throw e;
  }
}

/** Streams one exact version through the validator, without holding the file in memory. */
export async function validateObjectVersion(
  s3: S3Client,
  bucket: string,
  key: string,
  version: CurrentVersion,
  config: Pick<ManifestFunctionConfig, 'maxFileSizeBytes' | 'maxErrors'>,
): Promise<RawDataValidationResult> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: version.versionId, IfMatch: version.eTag || undefined }));
  return validateRawData(bodyChunks(object.Body), {
    maxBytes: config.maxFileSizeBytes,
    maxErrors: config.maxErrors ?? DEFAULT_MAX_ERRORS,
  });
}

/** Copies a valid version to `validated/<sha256>.csv` unless that content is already there; returns the key. */
export async function ensureValidatedCopy(
  s3: S3Client,
  config: Pick<ManifestFunctionConfig, 'kmsKeyArn'>,
  bucket: string,
  key: string,
  version: CurrentVersion,
  sha256: string,
): Promise<string> {
  const dataKey = validatedKey(sha256);
  if (await exists(s3, bucket, dataKey)) {
    return dataKey; // content-addressed: same key, same bytes
  }
  try {
    await s3.send(new CopyObjectCommand({
      Bucket: bucket,
      Key: dataKey,
      CopySource: copySource(bucket, key, version.versionId),
      CopySourceIfMatch: version.eTag || undefined,
      IfNoneMatch: '*',
      TaggingDirective: 'REPLACE',
      ...encryptionParams(config),
    }));
  } catch (e) {
    if (!isPreconditionFailed(e) || !(await exists(s3, bucket, dataKey))) {
      throw e;
    }
    // A concurrent writer created the same content-addressed copy first.
  }
  return dataKey;
}

/** The report written next to a quarantined file. */
export interface QuarantineReport {
  readonly sourceKey: string;
  readonly sourceVersionId: string;
  readonly eTag: string;
  readonly size: number;
  /** Where the rejected bytes are kept; absent when the file was too large to copy (it then stays in place). */
  readonly quarantinedKey?: string;
  readonly reason: string;
  readonly errors: RawDataError[];
  /** True when validation stopped at the error limit: the file may have more errors. */
  readonly errorsTruncated: boolean;
  readonly quarantinedAt: string;
}

/**
 * Moves a rejected version aside: copy to `quarantine/<relative key>`, write `<that>.error.json`, notify,
 * then permanently delete that version from the raw prefix, so the previous version of the key (if any)
 * becomes current again. The notification goes out before the delete, so a failure after it repeats the
 * whole step on retry rather than losing the notification.
 */
export async function quarantineObjectVersion(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  key: string,
  version: CurrentVersion,
  validation: RawDataValidationResult,
): Promise<QuarantineReport> {
  const { s3 } = clients;
  const { objectKey, reportKey } = quarantineKeys(key, config.rawPrefix);
  const copyable = version.size <= COPY_OBJECT_MAX_BYTES;
  if (copyable) {
    await s3.send(new CopyObjectCommand({
      Bucket: bucket,
      Key: objectKey,
      CopySource: copySource(bucket, key, version.versionId),
      TaggingDirective: 'REPLACE',
      ...encryptionParams(config),
    }));
  }
  const reason = validation.reason ?? 'invalid';
  const report: QuarantineReport = {
    sourceKey: key,
    sourceVersionId: version.versionId,
    eTag: unquoteETag(version.eTag),
    size: version.size,
    ...(copyable ? { quarantinedKey: objectKey } : {}),
    reason,
    errors: validation.errors,
    errorsTruncated: validation.errorsTruncated,
    quarantinedAt: now(config).toISOString(),
  };
  await s3.send(new PutObjectCommand({
    Bucket: bucket,
    Key: reportKey,
    Body: JSON.stringify(report, undefined, 2) + '\n',
    ContentType: 'application/json',
    ...encryptionParams(config),
  }));

  const shown = validation.errors.slice(0, 10);
  await publish(clients, config, {
    event: 'quarantined',
    subject: `Abalone data rejected: ${key}`,
    message: [
      `The data file ${s3Uri(bucket, key)} (version ${version.versionId}, ${version.size} bytes) failed validation.`,
      copyable
        ? `It was moved to ${s3Uri(bucket, objectKey)} and that version was removed from ${config.rawPrefix}.`
        : `It is larger than ${COPY_OBJECT_MAX_BYTES} bytes, so it was left in place; delete or replace it.`,
      `Reason: ${reason}`,
      '',
      `Errors (first ${shown.length} of ${validation.errors.length}${validation.errorsTruncated ? '+' : ''}):`,
      ...shown.map((error) => `  - ${formatError(error)}`),
      '',
      `Full report: ${s3Uri(bucket, reportKey)}`,
      'The data manifest did not change, so no retraining starts.',
    ].join('\n'),
    attributes: { sourceKey: key },
  });

  if (copyable) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: version.versionId }));
  }
  return report;
}

/** Reads the data manifest and its ETag; an absent manifest reads as `{}`. */
export async function readDataManifest(s3: S3Client, bucket: string): Promise<StoredDataManifest> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: DATA_MANIFEST_KEY }));
    const text = object.Body ? await object.Body.transformToString('utf-8') : '';
    try {
      return { manifest: parseDataManifest(text), eTag: object.ETag };
    } catch (e) {
      throw new Error(`${s3Uri(bucket, DATA_MANIFEST_KEY)}: ${(e as Error).message}; fix or delete it (it is rebuilt from the next uploads)`);
    }
  } catch (e) {
    if (isNotFound(e)) {
      return {};
    }
    throw e;
  }
}

/**
 * Applies `change` to the data manifest's file list without losing concurrent updates: read (with ETag),
 * apply, and if the document changed, write the content-addressed training manifest first and then the data
 * manifest with `If-Match` (`If-None-Match: *` when there is none yet). On 412/409 it re-reads and retries
 * with jittered exponential backoff; after `maxManifestAttempts` it throws {@link ManifestConflictError}.
 *
 * `guard`, when given, runs after each read that would lead to a write; if it returns false the change no
 * longer applies (the key moved on since it was examined) and nothing is written. Because it runs after the
 * read whose ETag conditions the write, a stale change can never overwrite a newer one.
 */
export async function updateDataManifest(
  s3: S3Client,
  bucket: string,
  config: Pick<ManifestFunctionConfig, 'kmsKeyArn' | 'maxManifestAttempts' | 'retryBaseDelayMs' | 'now'>,
  change: (files: readonly DataManifestFile[]) => DataManifestFile[],
  guard?: () => Promise<boolean>,
): Promise<ManifestUpdateResult> {
  const maxAttempts = Math.max(1, config.maxManifestAttempts ?? 16);
  const baseDelayMs = config.retryBaseDelayMs ?? 50;
  for (let attempt = 1; ; attempt++) {
    const stored = await readDataManifest(s3, bucket);
    const next = buildDataManifest(bucket, change(stored.manifest?.files ?? []), now(config));
    if (sameManifestContent(stored.manifest, next)) {
      return { outcome: 'unchanged', manifest: stored.manifest, attempts: attempt };
    }
    if (guard && !(await guard())) {
      return { outcome: 'superseded', manifest: stored.manifest, attempts: attempt };
    }
    try {
      await putTrainingManifest(s3, bucket, config, next.files);
      await s3.send(new PutObjectCommand({
        Bucket: bucket,
        Key: DATA_MANIFEST_KEY,
        Body: serializeDataManifest(next),
        ContentType: 'application/json',
        ...(stored.eTag !== undefined ? { IfMatch: stored.eTag } : { IfNoneMatch: '*' }),
        ...encryptionParams(config),
      }));
      await refreshLatestTrainingManifest(s3, bucket, config);
      return { outcome: 'changed', manifest: next, attempts: attempt };
    } catch (e) {
      if (!isWriteConflict(e)) {
        throw e;
      }
      if (attempt >= maxAttempts) {
        throw new ManifestConflictError(`${s3Uri(bucket, DATA_MANIFEST_KEY)} changed concurrently on each of ${attempt} attempts; giving up for this event`);
      }
      // Full jitter: spreads writers that collided apart.
      await sleep(Math.random() * Math.min(2000, baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

/** Publishes a notification (no-op without a topic). Subjects are cut to SNS's limit (ASCII, under 100 characters). */
export async function publish(
  clients: ManifestFunctionClients,
  config: Pick<ManifestFunctionConfig, 'topicArn'>,
  notification: { readonly event: 'quarantined' | 'manifest-updated'; readonly subject: string; readonly message: string; readonly attributes?: Record<string, string | number> },
): Promise<void> {
  if (!config.topicArn) {
    return;
  }
  if (!clients.sns) {
    throw new Error('a topic is configured but no SNS client was given');
  }
  const attributes: Record<string, { DataType: string; StringValue: string }> = {
    event: { DataType: 'String', StringValue: notification.event },
  };
  for (const [name, value] of Object.entries(notification.attributes ?? {})) {
    if (value !== '') {
      attributes[name] = { DataType: typeof value === 'number' ? 'Number' : 'String', StringValue: String(value) };
    }
  }
  await clients.sns.send(new PublishCommand({
    TopicArn: config.topicArn,
    Subject: snsSubject(notification.subject),
    Message: notification.message,
    MessageAttributes: attributes,
  }));
}

/** An SNS subject: printable ASCII only, at most 99 characters (SNS wants fewer than 100). */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return ascii.length <= 99 ? ascii : `${ascii.slice(0, 96)}...`;
}

async function notifyManifestChange(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  update: ManifestUpdateResult,
  what: string,
): Promise<void> {
  if (update.outcome !== 'changed' || !update.manifest) {
    return;
  }
  const { files, totalRows, trainingManifestUri } = update.manifest;
  await publish(clients, config, {
    event: 'manifest-updated',
    subject: `Abalone data manifest updated: ${files.length} files, ${totalRows} rows`,
    message: [
      what,
      `The data manifest ${s3Uri(bucket, DATA_MANIFEST_KEY)} now lists ${files.length} files with ${totalRows} rows.`,
      trainingManifestUri ? `Training manifest: ${trainingManifestUri}` : 'There are no valid data files, so there is no training manifest.',
    ].join('\n'),
    attributes: { files: files.length, rows: totalRows },
  });
}

/**
 * Copies the training manifest of the current data manifest to the stable {@link LATEST_TRAINING_MANIFEST_KEY}
 * (or removes it when there are no files). Repeats until the data manifest did not change during the copy, so
 * of several concurrent writers the last copy made is always the newest manifest's.
 */
export async function refreshLatestTrainingManifest(
  s3: S3Client,
  bucket: string,
  config: Pick<ManifestFunctionConfig, 'kmsKeyArn' | 'maxManifestAttempts'>,
): Promise<void> {
  const maxAttempts = Math.max(1, config.maxManifestAttempts ?? 16);
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const stored = await readDataManifest(s3, bucket);
    const training = buildTrainingManifest(bucket, stored.manifest?.files ?? []);
    if (training) {
      await s3.send(new PutObjectCommand({
        Bucket: bucket, Key: LATEST_TRAINING_MANIFEST_KEY, Body: training.body, ContentType: 'application/json', ...encryptionParams(config),
      }));
    } else {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: LATEST_TRAINING_MANIFEST_KEY }));
    }
    if ((await readDataManifest(s3, bucket)).eTag === stored.eTag) return;
  }
  throw new ManifestConflictError(`${s3Uri(bucket, DATA_MANIFEST_KEY)} kept changing while ${LATEST_TRAINING_MANIFEST_KEY} was refreshed`);
}

async function putTrainingManifest(
  s3: S3Client,
  bucket: string,
  config: Pick<ManifestFunctionConfig, 'kmsKeyArn'>,
  files: readonly DataManifestFile[],
): Promise<void> {
  const training = buildTrainingManifest(bucket, files);
  if (!training) {
    return;
  }
  try {
    await s3.send(new PutObjectCommand({
      Bucket: bucket,
      Key: training.key,
      Body: training.body,
      ContentType: 'application/json',
      IfNoneMatch: '*',
      ...encryptionParams(config),
    }));
  } catch (e) {
    if (!isPreconditionFailed(e)) {
      throw e; // a 409 here is retried by the caller's loop like any write conflict
    }
    // Already there: content-addressed, so it holds these exact bytes.
  }
}

function oversizeResult(size: number, max: number): RawDataValidationResult {
  const reason = `file is ${size} bytes, larger than the limit of ${max} bytes`;
  return { valid: false, rows: 0, hasHeader: false, size, errors: [{ reason }], errorsTruncated: false, reason };
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if (isNotFound(e)) {
      return false;
    }
    throw e;
  }
}

/** `bucket/key?versionId=…`, URL-encoded as CopyObject requires (slashes kept). */
export function copySource(bucket: string, key: string, versionId: string): string {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `${bucket}/${encodedKey}?versionId=${encodeURIComponent(versionId)}`;
}

function encryptionParams(config: Pick<ManifestFunctionConfig, 'kmsKeyArn'>): {
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
  BucketKeyEnabled?: boolean;
} {
  return config.kmsKeyArn
    ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: config.kmsKeyArn, BucketKeyEnabled: true }
    : {};
}

/** The object body as chunks, whatever shape the SDK gave it. */
async function* bodyChunks(body: unknown): AsyncGenerator<Uint8Array> {
  if (body === undefined || body === null) {
    return;
  }
  if (isAsyncIterable(body)) {
    for await (const chunk of body) {
      yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    }
    return;
  }
  if (typeof body === 'object' && 'transformToByteArray' in body && typeof body.transformToByteArray === 'function') {
    const bytes: unknown = await body.transformToByteArray();
    if (bytes instanceof Uint8Array) {
      yield bytes;
      return;
    }
  }
  throw new Error('unsupported GetObject body type');
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array | string> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function errorStatus(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && '$metadata' in e) {
    const metadata: unknown = e.$metadata;
    if (typeof metadata === 'object' && metadata !== null && 'httpStatusCode' in metadata && typeof metadata.httpStatusCode === 'number') {
      return metadata.httpStatusCode;
    }
  }
  return undefined;
}

function errorName(e: unknown): string | undefined {
  return e instanceof Error ? e.name : undefined;
}

function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  return name === 'NotFound' || name === 'NoSuchKey' || (errorStatus(e) === 404 && name !== 'NoSuchBucket');
}

function isPreconditionFailed(e: unknown): boolean {
  return errorName(e) === 'PreconditionFailed' || errorStatus(e) === 412;
}

/** 412 (ETag moved on), 409 (concurrent conditional write) or 404 (If-Match on a manifest deleted meanwhile). */
function isWriteConflict(e: unknown): boolean {
  return isPreconditionFailed(e) || errorName(e) === 'ConditionalRequestConflict' || errorStatus(e) === 409 || isNotFound(e);
}

function now(config: Pick<ManifestFunctionConfig, 'now'>): Date {
  return config.now ? config.now() : new Date();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
