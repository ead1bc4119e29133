/**
 * The raw objects as S3 holds them: the current version of a key, its bytes streamed through the validator,
 * its content-addressed validated copy, and how S3 errors read.
 */
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encryptionParams, ManifestFunctionConfig } from './manifest-config';
import { validatedKey } from './manifest-logic';
import { DEFAULT_MAX_ERRORS, RawDataValidationResult, validateRawData } from './raw-data-validator';

/** Largest object a single CopyObject can copy (5 GiB). */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3;

/** What the current version of a key is, from HeadObject. */
export interface CurrentVersion {
  /** The version id (`null` in a bucket that never had versioning). */
  readonly versionId: string;
  /** ETag with its quotes, as S3 returns it. */
  readonly eTag: string;
  readonly size: number;
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

/** `bucket/key?versionId=…`, URL-encoded as CopyObject requires (slashes kept). */
export function copySource(bucket: string, key: string, versionId: string): string {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `${bucket}/${encodedKey}?versionId=${encodeURIComponent(versionId)}`;
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

/** 404 for an object (or a version of it), not for a missing bucket. */
export function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  return name === 'NotFound' || name === 'NoSuchKey' || (errorStatus(e) === 404 && name !== 'NoSuchBucket');
}

export function isPreconditionFailed(e: unknown): boolean {
  return errorName(e) === 'PreconditionFailed' || errorStatus(e) === 412;
}

/** 412 (ETag moved on), 409 (concurrent conditional write) or 404 (If-Match on a manifest deleted meanwhile). */
export function isWriteConflict(e: unknown): boolean {
  return isPreconditionFailed(e) || errorName(e) === 'ConditionalRequestConflict' || errorStatus(e) === 409 || isNotFound(e);
}
