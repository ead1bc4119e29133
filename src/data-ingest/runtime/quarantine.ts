/**
 * A rejected version moved aside with its report, its notification, and its removal from the raw prefix.
 */
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { encryptionParams, ManifestFunctionClients, ManifestFunctionConfig, now } from './manifest-config';
import { quarantineKeys, s3Uri, unquoteETag } from './manifest-logic';
import { publish } from './notifications';
import { formatError, RawDataError, RawDataValidationResult } from './raw-data-validator';
import { COPY_OBJECT_MAX_BYTES, copySource, CurrentVersion } from './s3-objects';

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
 * Moves a rejected version aside: copy to `quarantine/<relative key>/<version id><suffix>`, write the report beside it
 * (`quarantine/<relative key>/<version id>.error.json`), notify,
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
  const { objectKey, reportKey } = quarantineKeys(key, config.rawPrefix, version.versionId);
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
