/**
 * The manifest function: S3 ObjectCreated/ObjectRemoved events on the raw prefix → validated data manifest.
 * Thin on purpose: the logic is in `manifest-reconciler.ts` and the modules it uses, tested directly.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { S3Event } from 'aws-lambda';
import { configFromEnv, ManifestFunctionClients, ManifestFunctionConfig } from './manifest-config';
import { processS3Event } from './manifest-reconciler';

let clients: ManifestFunctionClients | undefined;
let config: ManifestFunctionConfig | undefined;

/** Lambda entry point. Throws on AWS errors so the asynchronous retry and the DLQ keep the event. */
export async function handler(event: S3Event): Promise<void> {
  config ??= configFromEnv(process.env);
  clients ??= { s3: new S3Client({}), sns: config.topicArn ? new SNSClient({}) : undefined };
  await processS3Event(event, clients, config);
}
