/**
 * The data manifest document in S3: read with its ETag, changed only by conditional writes, with the
 * content-addressed training manifest written before it and the stable copy refreshed after.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encryptionParams, ManifestFunctionConfig, now } from './manifest-config';
import { buildDataManifest, buildTrainingManifest, parseDataManifest, s3Uri, sameManifestContent, serializeDataManifest } from './manifest-logic';
import { isNotFound, isPreconditionFailed, isWriteConflict } from './s3-objects';
import { DATA_MANIFEST_KEY, DataManifest, DataManifestFile, LATEST_TRAINING_MANIFEST_KEY } from '../../contracts/data-layout';

/** The data manifest as stored, with the ETag for a conditional write. */
export interface StoredDataManifest {
  /** Undefined when there is no manifest yet. */
  readonly manifest?: DataManifest;
  readonly eTag?: string;
}

/** What a manifest update did, for the whole document or for one change of it. */
export type ManifestUpdateOutcome = 'changed' | 'unchanged' | 'superseded';

/** The result of {@link updateDataManifest}. */
export interface ManifestUpdateResult {
  /** `superseded` when the guard said the change no longer applies. */
  readonly outcome: ManifestUpdateOutcome;
  /** The manifest after the update (or as found). */
  readonly manifest?: DataManifest;
  readonly attempts: number;
}

/** One change of a batch given to {@link applyManifestChanges}. */
export interface ManifestChange {
  /** The file list with this change made. */
  readonly apply: (files: readonly DataManifestFile[]) => DataManifestFile[];
  /**
   * Runs after each read that would lead to a write this change takes part in; false means the change no longer
   * applies (its key moved on since it was examined) and it is left out, for good.
   */
  readonly stillApplies?: () => Promise<boolean>;
}

/** The result of {@link applyManifestChanges}: the document's outcome, and each change's in the order given. */
export interface ManifestBatchUpdateResult extends ManifestUpdateResult {
  readonly changes: ManifestUpdateOutcome[];
}

/** Thrown when the data manifest kept changing under the function for every attempt (the async retry takes over). */
export class ManifestConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestConflictError';
  }
}

type UpdateConfig = Pick<ManifestFunctionConfig, 'kmsKeyArn' | 'maxManifestAttempts' | 'retryBaseDelayMs' | 'now'>;

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
 * Applies `change` to the data manifest's file list without losing concurrent updates: {@link applyManifestChanges}
 * with one change, guarded by `guard`.
 */
export async function updateDataManifest(
  s3: S3Client,
  bucket: string,
  config: UpdateConfig,
  change: (files: readonly DataManifestFile[]) => DataManifestFile[],
  guard?: () => Promise<boolean>,
): Promise<ManifestUpdateResult> {
  const { outcome, manifest, attempts } = await applyManifestChanges(s3, bucket, config, [{ apply: change, stillApplies: guard }]);
  return { outcome, manifest, attempts };
}

/**
 * Applies a batch of changes to the data manifest in one write, without losing concurrent updates: read (with
 * ETag), apply, and if the document changed, write the content-addressed training manifest first and then the
 * data manifest with `If-Match` (`If-None-Match: *` when there is none yet). On 412/409 it re-reads and retries
 * with jittered exponential backoff; after `maxManifestAttempts` it throws {@link ManifestConflictError}.
 *
 * Each change's guard runs after the read whose ETag conditions the write, so a stale change can never
 * overwrite a newer one; a change whose guard fails is left out and the others are still written.
 */
export async function applyManifestChanges(
  s3: S3Client,
  bucket: string,
  config: UpdateConfig,
  changes: readonly ManifestChange[],
): Promise<ManifestBatchUpdateResult> {
  const maxAttempts = Math.max(1, config.maxManifestAttempts ?? 16);
  const baseDelayMs = config.retryBaseDelayMs ?? 50;
  const superseded = new Set<number>();
  for (let attempt = 1; ; attempt++) {
    const stored = await readDataManifest(s3, bucket);
    const files = stored.manifest?.files ?? [];
    // A change that makes no difference to what is stored needs no guard and no write.
    const effective = changes.map((c, i) => !superseded.has(i) && !sameFiles(bucket, files, c.apply(files)));
    // The guards are independent look-ups (a HeadObject each): run them together, not one batch item after another.
    const stale = await Promise.all(changes.map(async (change, i) =>
      effective[i] && change.stillApplies !== undefined && !(await change.stillApplies())));
    stale.forEach((isStale, i) => {
      if (isStale) {
        superseded.add(i);
        effective[i] = false;
      }
    });
    const outcomes = changes.map((_, i): ManifestUpdateOutcome => (superseded.has(i) ? 'superseded' : effective[i] ? 'changed' : 'unchanged'));
    const next = buildDataManifest(bucket, changes.reduce((acc, c, i) => (effective[i] ? c.apply(acc) : acc), files), now(config));
    if (sameManifestContent(stored.manifest, next)) {
      const outcome = outcomes.includes('superseded') && !outcomes.includes('unchanged') ? 'superseded' : 'unchanged';
      return { outcome, manifest: stored.manifest, attempts: attempt, changes: outcomes.map((o) => (o === 'changed' ? 'unchanged' : o)) };
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
      return { outcome: 'changed', manifest: next, attempts: attempt, changes: outcomes };
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function sameFiles(bucket: string, a: readonly DataManifestFile[], b: readonly DataManifestFile[]): boolean {
  const at = new Date(0);
  return sameManifestContent(buildDataManifest(bucket, a, at), buildDataManifest(bucket, b, at));
}
