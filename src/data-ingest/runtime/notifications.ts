/**
 * The ingest topic's notifications: a file quarantined, the data manifest updated.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { ManifestFunctionClients, ManifestFunctionConfig } from './manifest-config';
import { s3Uri } from './manifest-logic';
import { DATA_MANIFEST_KEY, DataManifest } from '../../contracts/data-layout';

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

/** Tells subscribers what a manifest write changed (nothing when it wrote nothing). */
export async function notifyManifestChange(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  bucket: string,
  update: { readonly outcome: string; readonly manifest?: DataManifest },
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
