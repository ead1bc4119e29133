/**
 * The manifest function's SQS adapter: S3 sends its notifications to a queue, and the function takes them in
 * batches, so that a burst of uploads writes the data manifest once per batch instead of once per file.
 *
 * Each message body is an S3 notification (`{"Records": [...]}`) or S3's `s3:TestEvent`. The keys of a batch are
 * reconciled together, per bucket, with one manifest write; a message whose key failed is reported back as a batch
 * item failure, so that SQS redelivers only it (Lambda's `ReportBatchItemFailures`).
 */
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ManifestFunctionClients, ManifestFunctionConfig } from './manifest-config';
import { decodeEventKey } from './manifest-logic';
import { reconcileKeys, ReconcileResult } from './manifest-reconciler';
import { messageOf } from '../../contracts/error-messages';

/** What one SQS message asks for: the S3 objects it names, or why it names none. */
export type QueuedNotification =
  | { readonly kind: 'objects'; readonly objects: ReadonlyArray<{ readonly bucket: string; readonly key: string }> }
  | { readonly kind: 'ignored'; readonly reason: string };

/** Reads an SQS message body as S3 writes it to the queue. */
export function parseQueuedNotification(body: string): QueuedNotification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'ignored', reason: 'the message body is not JSON, so it is not an S3 notification' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'ignored', reason: 'the message body is not an S3 notification object' };
  const message = parsed as { Event?: unknown; Records?: unknown };
  if (message.Event === 's3:TestEvent') return { kind: 'ignored', reason: 'S3\'s test event, sent when the notification is set up' };
  if (!Array.isArray(message.Records)) return { kind: 'ignored', reason: 'the message has no S3 Records' };
  const objects = (message.Records as S3EventRecord[])
    .filter((r) => r?.eventSource === 'aws:s3' && typeof r.s3?.bucket?.name === 'string' && typeof r.s3?.object?.key === 'string')
    .map((r) => ({ bucket: r.s3.bucket.name, key: decodeEventKey(r.s3.object.key) }));
  if (objects.length === 0) return { kind: 'ignored', reason: 'the message\'s Records name no S3 object' };
  return { kind: 'objects', objects };
}

/** Reconciles a batch of queued S3 notifications; answers the messages SQS should deliver again. */
export async function processSqsEvent(event: SQSEvent, clients: ManifestFunctionClients, config: ManifestFunctionConfig): Promise<SQSBatchResponse> {
  const log = config.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const byBucket = new Map<string, Set<string>>();
  const messages: Array<{ messageId: string; objects: ReadonlyArray<{ bucket: string; key: string }> }> = [];
  for (const record of event.Records ?? []) {
    const notification = parseQueuedNotification(record.body);
    if (notification.kind === 'ignored') {
      log(JSON.stringify({ msg: 'message ignored', messageId: record.messageId, reason: notification.reason }));
      continue;
    }
    messages.push({ messageId: record.messageId, objects: notification.objects });
    for (const { bucket, key } of notification.objects) {
      if (!byBucket.has(bucket)) byBucket.set(bucket, new Set());
      byBucket.get(bucket)!.add(key);
    }
  }

  const failed = new Set<string>(); // `bucket/key`
  const results = new Map<string, ReconcileResult>();
  for (const [bucket, keys] of byBucket) {
    try {
      const outcome = await reconcileKeys(clients, config, bucket, [...keys]);
      for (const result of outcome.results) results.set(`${bucket}/${result.key}`, result);
      for (const { key, error } of outcome.failures) {
        failed.add(`${bucket}/${key}`);
        log(JSON.stringify({ msg: 'record failed', bucket, key, error: messageOf(error) }));
      }
    } catch (error) {
      // The manifest write itself failed (e.g. it kept changing on every attempt): every key of the bucket retries.
      for (const key of keys) failed.add(`${bucket}/${key}`);
      log(JSON.stringify({ msg: 'batch failed', bucket, keys: keys.size, error: messageOf(error) }));
    }
  }

  const batchItemFailures = messages
    .filter((m) => m.objects.some((o) => failed.has(`${o.bucket}/${o.key}`)))
    .map((m) => ({ itemIdentifier: m.messageId }));
  for (const result of results.values()) log(JSON.stringify({ msg: 'record', ...result }));
  log(JSON.stringify({
    msg: 'batch',
    messages: event.Records?.length ?? 0,
    keys: [...byBucket.values()].reduce((n, k) => n + k.size, 0),
    failedMessages: batchItemFailures.length,
    durationMs: Date.now() - started,
  }));
  return { batchItemFailures };
}
