/**
 * The manifest function's decision procedure, as plain functions over injected clients (the handler only wires
 * them).
 *
 * An S3 event only names a key: the function reconciles that key's CURRENT version with the data manifest,
 * so duplicated, late or out-of-order events converge on the same state. {@link reconcileKeys} does it for many
 * keys with one manifest write.
 */
import type { S3Event } from 'aws-lambda';
import { ManifestFunctionClients, ManifestFunctionConfig } from './manifest-config';
import { decodeEventKey, findFile, isRawDataKey, removeFile, unquoteETag, upsertFile } from './manifest-logic';
import { applyManifestChanges, ManifestChange, ManifestUpdateOutcome, readDataManifest } from './manifest-store';
import { notifyManifestChange } from './notifications';
import { quarantineObjectVersion } from './quarantine';
import { RawDataValidationResult } from './raw-data-validator';
import { ensureValidatedCopy, headCurrentVersion, validateObjectVersion } from './s3-objects';
import { DataManifest, DataManifestFile } from '../../contracts/data-layout';

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


/** The result of reconciling one key, also the per-record log line. */
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

/** Brings the data manifest in line with the current version of one key. Throws what reconciling it threw. */
export async function reconcileObject(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  key: string,
): Promise<ReconcileResult> {
  const { results, failures } = await reconcileKeys(clients, config, bucket, [key]);
  if (failures.length > 0) {
    throw failures[0].error;
  }
  return results[0];
}

/** What {@link reconcileKeys} did: a result per key reconciled, and the keys that failed with their errors. */
export interface ReconcileKeysResult {
  /** In the order the keys were given; a key given twice gets the same result twice. */
  readonly results: ReconcileResult[];
  readonly failures: Array<{ readonly key: string; readonly error: unknown }>;
}

/**
 * Brings the data manifest in line with the current versions of many keys of one bucket, writing it once:
 * each key is examined (validated and copied, or quarantined), then every resulting change goes into one
 * conditional write. A key that fails is reported in `failures` and left out; the others still land.
 */
export async function reconcileKeys(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  keys: readonly string[],
): Promise<ReconcileKeysResult> {
  const byKey = new Map<string, ReconcileResult>();
  const failures: Array<{ key: string; error: unknown }> = [];
  const pending: Array<{ key: string; decision: PendingChange }> = [];
  const unique = [...new Set(keys)];
  const stored = unique.some((k) => isRawDataKey(k, config.rawPrefix)) ? await readDataManifest(clients.s3, bucket) : {};
  // Examined a few at a time (each streams one file through the validator), changes kept in the keys' order.
  const decisions = await mapLimited(unique, EXAMINE_CONCURRENCY, async (key) => {
    try {
      return { key, decision: await examineKey(clients, config, bucket, key, stored.manifest) };
    } catch (error) {
      return { key, error };
    }
  });
  for (const d of decisions) {
    if ('error' in d) failures.push({ key: d.key, error: d.error });
    else if ('outcome' in d.decision) byKey.set(d.key, d.decision);
    else pending.push({ key: d.key, decision: d.decision });
  }

  if (pending.length > 0) {
    const update = await applyManifestChanges(clients.s3, bucket, config, pending.map((p) => p.decision.change));
    const changed = pending.filter((_, i) => update.changes[i] === 'changed');
    await notifyManifestChange(clients, config, bucket, update, changed.map((p) => p.decision.description).join('\n'));
    pending.forEach(({ key, decision }, i) => byKey.set(key, decision.result(update.changes[i], update.attempts)));
  }
  return { results: keys.filter((k) => byKey.has(k)).map((k) => byKey.get(k)!), failures };
}

/** Keys of one batch examined at once: enough to overlap S3 round trips, few enough for the function's memory. */
const EXAMINE_CONCURRENCY = 4;

/** `fn` over `items`, at most `limit` at a time, results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A key whose examination leads to a manifest change, with how its result reads once the write is done. */
interface PendingChange {
  readonly change: ManifestChange;
  /** What changed, for the notification. */
  readonly description: string;
  readonly result: (outcome: ManifestUpdateOutcome, attempts: number) => ReconcileResult;
}

/** Decides what one key needs: a final result (nothing to write), or a change of the manifest. */
async function examineKey(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  key: string,
  manifest: DataManifest | undefined,
): Promise<ReconcileResult | PendingChange> {
  const { s3 } = clients;
  if (!isRawDataKey(key, config.rawPrefix)) {
    return { outcome: 'ignored', bucket, key, manifestChanged: false };
  }

  const current = await headCurrentVersion(s3, bucket, key);
  if (!current) {
    // Deleted (or only a delete marker left): the key leaves the manifest.
    return {
      change: {
        apply: (list) => removeFile(list, key),
        stillApplies: async () => (await headCurrentVersion(s3, bucket, key)) === undefined,
      },
      description: `${key} was deleted; its entry left the manifest.`,
      result: (outcome, attempts) => ({
        outcome: outcome === 'changed' ? 'removed' : outcome, bucket, key, manifestChanged: outcome === 'changed', manifestAttempts: attempts,
      }),
    };
  }

  if (findFile(manifest, key)?.sourceVersionId === current.versionId) {
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
  return {
    change: {
      apply: (list) => upsertFile(list, file),
      stillApplies: async () => (await headCurrentVersion(s3, bucket, key))?.versionId === current.versionId,
    },
    description: `${key} (version ${current.versionId}, ${validation.rows} rows) was validated.`,
    result: (outcome, attempts) => ({
      outcome: outcome === 'changed' ? 'upserted' : outcome,
      bucket,
      key,
      versionId: current.versionId,
      rows: validation.rows,
      sha256: validation.sha256,
      manifestChanged: outcome === 'changed',
      manifestAttempts: attempts,
    }),
  };
}

function oversizeResult(size: number, max: number): RawDataValidationResult {
  const reason = `file is ${size} bytes, larger than the limit of ${max} bytes`;
  return { valid: false, rows: 0, hasHeader: false, size, errors: [{ reason }], errorsTruncated: false, reason };
}
