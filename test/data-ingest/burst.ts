/**
 * A burst of uploads as S3 and Lambda deliver it, against a real moto_server: the objects are written first, then
 * S3's notifications (one per object change, duplicated and reordered as S3 may deliver them) go through a
 * simulated SQS queue to the manifest function's SQS adapter, in batches taken by a bounded number of concurrent
 * consumers; failed messages come back until their receive count runs out. The version deletes the function makes
 * when it quarantines a file raise their own notifications, as they do in S3.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { S3EventRecord, SQSEvent, SQSRecord } from 'aws-lambda';
import { DATA_MANIFEST_KEY } from '../../src/contracts/data-layout';
import { ManifestFunctionClients, ManifestFunctionConfig } from '../../src/data-ingest/runtime/manifest-config';
import { processS3Event } from '../../src/data-ingest/runtime/manifest-reconciler';
import { processSqsEvent } from '../../src/data-ingest/runtime/sqs-events';

/** Deterministic pseudo-random numbers in [0, 1) (a linear congruential generator: repeatable plans, not crypto). */
export function random(seed: number): () => number {
  let state = (Math.abs(Math.floor(seed)) % 2147483647) || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

const DATASET = readFileSync(path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'abalone.data'), 'utf8').trim().split('\n');

/** What a burst uploads, and what the manifest must list afterwards. */
export interface BurstPlan {
  /** In upload order: each put (with its body) or delete. */
  readonly operations: ReadonlyArray<{ readonly key: string; readonly body?: string }>;
  /** Keys whose current version must be in the manifest, with their rows and sha256. */
  readonly expected: ReadonlyMap<string, { readonly rows: number; readonly sha256: string }>;
  /** How many bad versions were uploaded (one quarantine report each). */
  readonly badVersions: number;
}

/**
 * `files` good files of 50–500 dataset rows, plus 5% bad new files, 2% good files overwritten with a bad version
 * and 2% good files deleted afterwards (at least one of each).
 */
export function planBurst(files: number, seed = 1): BurstPlan {
  const next = random(seed);
  const operations: Array<{ key: string; body?: string }> = [];
  const expected = new Map<string, { rows: number; sha256: string }>();
  let badVersions = 0;
  for (let i = 0; i < files; i++) {
    const rows = 50 + Math.floor(next() * 451);
    const start = Math.floor(next() * (DATASET.length - rows));
    const body = DATASET.slice(start, start + rows).join('\n') + '\n';
    const key = `raw/burst/part-${String(i).padStart(5, '0')}.csv`;
    operations.push({ key, body });
    expected.set(key, { rows, sha256: createHash('sha256').update(body).digest('hex') });
  }
  const goodKeys = [...expected.keys()];
  // 2% each (at least one), spread over the burst and never the same key.
  const spread = (share: number, offset: number) => {
    const count = Math.max(1, Math.round(files * share));
    return Array.from({ length: count }, (_, j) => goodKeys[Math.floor(((j + offset) * files) / count)]);
  };
  for (const key of spread(0.02, 0.25)) {
    operations.push({ key, body: `${DATASET[0]}\nM,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,not-a-number\n` });
    badVersions++;
  }
  for (const key of spread(0.02, 0.75)) {
    operations.push({ key });
    expected.delete(key);
  }
  const badFiles = Math.max(1, Math.round(files * 0.05));
  for (let i = 0; i < badFiles; i++) {
    operations.push({ key: `raw/burst/bad-${i}.csv`, body: i % 2 ? 'sex,length\nX,1\n' : `${DATASET[1].replace(/^[MFI]/, 'Q')}\n` });
    badVersions++;
  }
  return { operations, expected, badVersions };
}

/** An S3 notification record as S3 writes it (key URL-encoded, '+' for spaces). */
export function s3Record(bucket: string, key: string, eventName: string, versionId?: string): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName,
    userIdentity: { principalId: 'AWS:UPLOADER' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'r', 'x-amz-id-2': 'i' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'raw-data',
      bucket: { name: bucket, ownerIdentity: { principalId: 'o' }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), size: 0, eTag: 'e', versionId, sequencer: '0' },
    },
  } as S3EventRecord;
}

/** Counts the data manifest's successful writes and turns the function's version deletes into notifications. */
export function instrumentedS3(config: S3ClientConfig, onVersionDelete: (key: string, versionId: string) => void) {
  const s3 = new S3Client(config);
  const counts = { manifestWrites: 0, requests: 0 };
  s3.middlewareStack.add((next, context) => async (args) => {
    counts.requests++;
    const output = await next(args);
    const input = args.input as { Key?: string; VersionId?: string };
    if (context.commandName === 'PutObjectCommand' && input.Key === DATA_MANIFEST_KEY) counts.manifestWrites++;
    if (context.commandName === 'DeleteObjectCommand' && input.VersionId && input.Key) onVersionDelete(input.Key, input.VersionId);
    return output;
  }, { step: 'initialize', name: 'burstInstrumentation' });
  return { s3, counts };
}

/** A versioned data bucket and an ingest topic, as DataIngest makes them; answers the topic's ARN. */
export async function createIngestResources(s3: S3Client, sns: SNSClient, bucket: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  return (await sns.send(new CreateTopicCommand({ Name: 'ingest' }))).TopicArn!;
}

/** Uploads the plan's objects (a few at a time) and answers S3's notifications for them. */
export async function uploadBurst(s3: S3Client, bucket: string, plan: BurstPlan): Promise<S3EventRecord[]> {
  const records: S3EventRecord[] = [];
  // Objects of one key keep their order; different keys go in parallel.
  const byKey = new Map<string, typeof plan.operations[number][]>();
  for (const op of plan.operations) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  const keys = [...byKey.keys()];
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map(async (key) => {
      for (const op of byKey.get(key)!) {
        if (op.body === undefined) {
          const out = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
          records.push(s3Record(bucket, key, 'ObjectRemoved:DeleteMarkerCreated', out.VersionId));
        } else {
          const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: op.body }));
          records.push(s3Record(bucket, key, 'ObjectCreated:Put', out.VersionId));
        }
      }
    }));
  }
  return records;
}

/** Reorders the notifications and delivers about 10% of them twice, as S3 (at least once, unordered) may. */
export function asDelivered(records: readonly S3EventRecord[], seed = 2): S3EventRecord[] {
  const next = random(seed);
  const delivered = records.flatMap((r) => (next() < 0.1 ? [r, r] : [r]));
  for (let i = delivered.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [delivered[i], delivered[j]] = [delivered[j], delivered[i]];
  }
  return delivered;
}

export interface DeliveryReport {
  readonly invocations: number;
  readonly redelivered: number;
  readonly deadLettered: number;
  readonly seconds: number;
}

/** The SQS path: one message per notification, batches of `batchSize`, at most `concurrency` consumers at once. */
export async function deliverThroughQueue(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  records: readonly S3EventRecord[],
  options: { batchSize: number; concurrency: number; maxReceiveCount: number; onDelete: { push(record: S3EventRecord): void } },
): Promise<DeliveryReport> {
  const started = Date.now();
  let id = 0;
  const queue: Array<{ record: SQSRecord; receives: number }> = records.map((r) => ({ record: sqsRecord(`m${id++}`, r), receives: 0 }));
  // Notifications of the function's own version deletes join the queue as S3 sends them.
  options.onDelete.push = (record) => queue.push({ record: sqsRecord(`m${id++}`, record), receives: 0 });
  let invocations = 0;
  let redelivered = 0;
  let deadLettered = 0;
  const consumer = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, options.batchSize);
      invocations++;
      const event: SQSEvent = { Records: batch.map((b) => b.record) };
      const { batchItemFailures } = await processSqsEvent(event, clients, config);
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const item of batch) {
        if (!failed.has(item.record.messageId)) continue;
        if (item.receives + 1 >= options.maxReceiveCount) {deadLettered++;} else {
          redelivered++;
          queue.push({ record: item.record, receives: item.receives + 1 });
        }
      }
    }
  };
  // Consumers stop when the queue is empty; a consumer still working may enqueue more, so run until both are idle.
  while (queue.length > 0) await Promise.all(Array.from({ length: options.concurrency }, consumer));
  return { invocations, redelivered, deadLettered, seconds: (Date.now() - started) / 1000 };
}

/** The earlier path: one direct invocation per notification, `concurrency` at once; a throw is an exhausted invocation. */
export async function deliverOnePerObject(
  clients: ManifestFunctionClients,
  config: ManifestFunctionConfig,
  records: readonly S3EventRecord[],
  options: { concurrency: number; onDelete: { push(record: S3EventRecord): void } },
): Promise<DeliveryReport> {
  const started = Date.now();
  const pending = [...records];
  options.onDelete.push = (record) => pending.push(record);
  let invocations = 0;
  let failures = 0;
  const worker = async () => {
    while (pending.length > 0) {
      const record = pending.shift()!;
      invocations++;
      try {
        await processS3Event({ Records: [record] }, clients, config);
      } catch {
        failures++;
      }
    }
  };
  while (pending.length > 0) await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { invocations, redelivered: 0, deadLettered: failures, seconds: (Date.now() - started) / 1000 };
}

function sqsRecord(messageId: string, record: S3EventRecord): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: JSON.stringify({ Records: [record] }),
    attributes: {} as SQSRecord['attributes'],
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:notifications',
    awsRegion: 'us-east-1',
  };
}
