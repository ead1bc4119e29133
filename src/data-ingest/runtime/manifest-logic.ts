/**
 * Pure functions behind the manifest function: keys, the data manifest document and the SageMaker ManifestFile.
 * No AWS calls here; see `manifest-reconciler.ts` for those.
 */
import { createHash } from 'node:crypto';
import {
  DATA_FILE_SUFFIXES,
  DATA_MANIFEST_KEY,
  DataManifest,
  DataManifestFile,
  QUARANTINE_PREFIX,
  TRAINING_MANIFEST_PREFIX,
  VALIDATED_PREFIX,
} from '../../contracts/data-layout';

/** Prefixes the function itself writes to: never treated as raw data, whatever the raw prefix. */
const RESERVED_PREFIXES: readonly string[] = [QUARANTINE_PREFIX, VALIDATED_PREFIX, DATA_MANIFEST_KEY.split('/')[0] + '/'];

/** Decodes an S3 event notification key (URL-encoded, spaces as `+`). */
export function decodeEventKey(key: string): string {
  const plus = key.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus; // not valid percent-encoding: take it literally
  }
}

/** Checks a raw prefix from configuration: non-empty, ends with `/`, and clear of the prefixes the function writes to. */
export function checkRawPrefix(rawPrefix: string): string[] {
  const problems: string[] = [];
  if (rawPrefix === '' || !rawPrefix.endsWith('/')) {
    problems.push(`raw prefix must be non-empty and end with "/", got ${JSON.stringify(rawPrefix)}`);
  }
  for (const reserved of RESERVED_PREFIXES) {
    if (rawPrefix.startsWith(reserved) || reserved.startsWith(rawPrefix)) {
      problems.push(`raw prefix ${JSON.stringify(rawPrefix)} overlaps ${JSON.stringify(reserved)}, which the manifest function writes to`);
    }
  }
  return problems;
}

/** True for keys the function handles: under the raw prefix, with a data file suffix, outside the reserved prefixes. */
export function isRawDataKey(key: string, rawPrefix: string): boolean {
  return key.startsWith(rawPrefix)
    && key.length > rawPrefix.length
    && DATA_FILE_SUFFIXES.some((suffix) => key.endsWith(suffix))
    && !RESERVED_PREFIXES.some((reserved) => key.startsWith(reserved));
}

/**
 * Where a rejected version is kept: `quarantine/<key below the raw prefix>/<version id><suffix>` and its report
 * beside it (`….error.json`), so that every bad version of a key keeps its own copy and report.
 */
export function quarantineKeys(key: string, rawPrefix: string, versionId: string): { readonly objectKey: string; readonly reportKey: string } {
  const relative = key.startsWith(rawPrefix) ? key.slice(rawPrefix.length) : key;
  const suffix = DATA_FILE_SUFFIXES.find((s) => key.endsWith(s)) ?? '';
  const base = `${QUARANTINE_PREFIX}${relative}/${versionId}`;
  return { objectKey: `${base}${suffix}`, reportKey: `${base}.error.json` };
}

/** Content-addressed key of a validated copy. */
export function validatedKey(sha256: string): string {
  return `${VALIDATED_PREFIX}${sha256}.csv`;
}

/** `s3://bucket/key` */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** An ETag without its surrounding quotes. */
export function unquoteETag(eTag: string | undefined): string {
  return (eTag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** The files with `file` added, or replacing the entry with the same source key; sorted by source key. */
export function upsertFile(files: readonly DataManifestFile[], file: DataManifestFile): DataManifestFile[] {
  return sortFiles([...files.filter((f) => f.sourceKey !== file.sourceKey), file]);
}

/** The files without the entry for `sourceKey`; sorted by source key. */
export function removeFile(files: readonly DataManifestFile[], sourceKey: string): DataManifestFile[] {
  return sortFiles(files.filter((f) => f.sourceKey !== sourceKey));
}

/** The entry for `sourceKey`, if any. */
export function findFile(manifest: DataManifest | undefined, sourceKey: string): DataManifestFile | undefined {
  return manifest?.files.find((f) => f.sourceKey === sourceKey);
}

/** A SageMaker `ManifestFile` document (S3DataType=ManifestFile) with its content-addressed key. */
export interface TrainingManifest {
  /** `manifest/training/<sha256 of body>.json` */
  readonly key: string;
  readonly sha256: string;
  /** `[{"prefix":"s3://<bucket>/validated/"}, "<sha>.csv", …]`: one entry per distinct validated copy, sorted. */
  readonly body: string;
}

/** Builds the SageMaker ManifestFile listing the files' validated copies; undefined when there are no files. */
export function buildTrainingManifest(bucket: string, files: readonly DataManifestFile[]): TrainingManifest | undefined {
  if (files.length === 0) {
    return undefined;
  }
  const relative = [...new Set(files.map((f) => {
    if (!f.dataKey.startsWith(VALIDATED_PREFIX)) {
      throw new Error(`data manifest entry ${f.sourceKey} has dataKey ${f.dataKey} outside ${VALIDATED_PREFIX}`);
    }
    return f.dataKey.slice(VALIDATED_PREFIX.length);
  }))].sort(compareStrings);
  const document: Array<{ prefix: string } | string> = [{ prefix: s3Uri(bucket, VALIDATED_PREFIX) }, ...relative];
  const body = JSON.stringify(document, undefined, 2) + '\n';
  const sha256 = sha256Hex(body);
  return { key: `${TRAINING_MANIFEST_PREFIX}${sha256}.json`, sha256, body };
}

/** The data manifest for a list of files: files sorted by source key, total rows, the training manifest's URI. */
export function buildDataManifest(bucket: string, files: readonly DataManifestFile[], updatedAt: Date): DataManifest {
  const sorted = sortFiles(files);
  const training = buildTrainingManifest(bucket, sorted);
  return {
    schemaVersion: 1,
    bucket,
    files: sorted.map(canonicalFile),
    totalRows: sorted.reduce((sum, f) => sum + f.rows, 0),
    ...(training ? { trainingManifestUri: s3Uri(bucket, training.key) } : {}),
    updatedAt: updatedAt.toISOString(),
  };
}

/** Deterministic JSON: stable key order, files sorted, 2-space indent, trailing newline. */
export function serializeDataManifest(manifest: DataManifest): string {
  const ordered = {
    schemaVersion: manifest.schemaVersion,
    bucket: manifest.bucket,
    files: sortFiles(manifest.files).map(canonicalFile),
    totalRows: manifest.totalRows,
    ...(manifest.trainingManifestUri !== undefined ? { trainingManifestUri: manifest.trainingManifestUri } : {}),
    updatedAt: manifest.updatedAt,
  };
  return JSON.stringify(ordered, undefined, 2) + '\n';
}

/** True when two manifests say the same thing (the update time aside). A missing manifest equals an empty one. */
export function sameManifestContent(a: DataManifest | undefined, b: DataManifest | undefined): boolean {
  if (a === undefined || b === undefined) {
    return (a ?? b)?.files.length === 0 || (a === undefined && b === undefined);
  }
  const content = (m: DataManifest): string => serializeDataManifest({ ...m, updatedAt: '' });
  return content(a) === content(b);
}

/** Parses and checks a data manifest document; throws with the reason when it is not one. */
export function parseDataManifest(text: string): DataManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`data manifest is not JSON: ${(e as Error).message}`);
  }
  if (!isRecord(value)) {
    throw new Error('data manifest is not a JSON object');
  }
  if (value.schemaVersion !== 1) {
    throw new Error(`data manifest has schemaVersion ${JSON.stringify(value.schemaVersion)}; this function understands 1`);
  }
  if (typeof value.bucket !== 'string' || !Array.isArray(value.files)) {
    throw new Error('data manifest lacks "bucket" (string) or "files" (array)');
  }
  const files = value.files.map((entry: unknown, i: number): DataManifestFile => {
    if (!isRecord(entry)
      || typeof entry.sourceKey !== 'string' || typeof entry.sourceVersionId !== 'string' || typeof entry.eTag !== 'string'
      || typeof entry.size !== 'number' || typeof entry.rows !== 'number' || typeof entry.sha256 !== 'string'
      || typeof entry.dataKey !== 'string') {
      throw new Error(`data manifest files[${i}] lacks one of sourceKey, sourceVersionId, eTag, size, rows, sha256, dataKey`);
    }
    return canonicalFile({
      sourceKey: entry.sourceKey,
      sourceVersionId: entry.sourceVersionId,
      eTag: entry.eTag,
      size: entry.size,
      rows: entry.rows,
      sha256: entry.sha256,
      dataKey: entry.dataKey,
    });
  });
  return {
    schemaVersion: 1,
    bucket: value.bucket,
    files,
    totalRows: typeof value.totalRows === 'number' ? value.totalRows : files.reduce((sum, f) => sum + f.rows, 0),
    ...(typeof value.trainingManifestUri === 'string' ? { trainingManifestUri: value.trainingManifestUri } : {}),
    updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : '',
  };
}

/** SHA-256 hex of a string's UTF-8 bytes. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Code-unit order: the same on every machine, unlike `localeCompare`. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortFiles(files: readonly DataManifestFile[]): DataManifestFile[] {
  return [...files].sort((a, b) => compareStrings(a.sourceKey, b.sourceKey));
}

function canonicalFile(f: DataManifestFile): DataManifestFile {
  return {
    sourceKey: f.sourceKey,
    sourceVersionId: f.sourceVersionId,
    eTag: f.eTag,
    size: f.size,
    rows: f.rows,
    sha256: f.sha256,
    dataKey: f.dataKey,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
