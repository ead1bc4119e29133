/**
 * The manifest function: S3 ObjectCreated/ObjectRemoved notifications on the raw prefix → validated data manifest.
 * S3 sends them to a queue and Lambda delivers them in batches (SQS events); an S3 event delivered directly (by an
 * older notification configuration, or invoked by hand) is handled too. Anything else is logged and ignored.
 * Thin on purpose: the logic is in `manifest-reconciler.ts` and the modules it uses, tested directly.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { configFromEnv, ManifestFunctionClients, ManifestFunctionConfig } from './manifest-config';
import { processS3Event } from './manifest-reconciler';
import { processSqsEvent } from './sqs-events';

let clients: ManifestFunctionClients | undefined;
let config: ManifestFunctionConfig | undefined;

/** Lambda entry point. SQS batches answer their failed messages; a direct S3 event throws on AWS errors so Lambda retries it. */
export async function handler(event: SQSEvent | S3Event | Record<string, unknown>): Promise<SQSBatchResponse | void> {
  config ??= configFromEnv(process.env);
  clients ??= { s3: new S3Client({}), sns: config.topicArn ? new SNSClient({}) : undefined };
  const records = Array.isArray((event as { Records?: unknown }).Records) ? (event as { Records: Array<{ eventSource?: string }> }).Records : [];
  const source = records[0]?.eventSource;
  if (source === 'aws:sqs') return processSqsEvent(event as SQSEvent, clients, config);
  if (source === 'aws:s3' || (records.length === 0 && 'Records' in event)) {
    await processS3Event(event as S3Event, clients, config);
    return;
  }
  console.log(JSON.stringify({ msg: 'event ignored', reason: 'neither an SQS batch nor an S3 notification', keys: Object.keys(event).slice(0, 10) }));
}
