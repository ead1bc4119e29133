/**
 * Ingest at scale, before and after, in one run against one moto_server: a burst of uploads delivered one invocation
 * per object (S3 → Lambda's asynchronous invocations, 100 at once) and through the notification queue (S3 → SQS → Lambda, batches of 100, two
 * at once). Prints files per second, manifest writes per file and invocations that ran out of attempts.
 * Usage: npx ts-node --transpile-only bench/ingest-bench.ts [bursts, default 20,100,1000]
 */
import { SNSClient } from '@aws-sdk/client-sns';
import type { S3EventRecord } from 'aws-lambda';
import { ManifestFunctionConfig } from '../src/data-ingest/runtime/manifest-config';
import { asDelivered, createIngestResources, deliverOnePerObject, deliverThroughQueue, DeliveryReport, instrumentedS3, planBurst, s3Record, uploadBurst } from '../test/data-ingest/burst';
import { startMotoServer } from '../test/support/moto-server';

const BUCKET = 'abalone-bench';

async function run(files: number, path: 'one per object' | 'queue') {
  const moto = await startMotoServer();
  try {
    const sink = { push: (_record: S3EventRecord) => undefined as void };
    const { s3, counts } = instrumentedS3(moto.s3ClientConfig(), (key, versionId) => sink.push(s3Record(BUCKET, key, 'ObjectRemoved:Delete', versionId)));
    const sns = new SNSClient(moto.clientConfig());
    const topicArn = await createIngestResources(s3, sns, BUCKET);
    // The function's own retry settings (16 attempts with jittered backoff from 50 ms).
    const config: ManifestFunctionConfig = { rawPrefix: 'raw/', maxFileSizeBytes: 1024 * 1024, topicArn, log: () => undefined };
    const plan = planBurst(files, files);
    const notifications = asDelivered(await uploadBurst(s3, BUCKET, plan), files + 1);
    counts.manifestWrites = 0;
    const report: DeliveryReport = path === 'queue'
      ? await deliverThroughQueue({ s3, sns }, config, notifications, { batchSize: 100, concurrency: 2, maxReceiveCount: 5, onDelete: sink })
      : await deliverOnePerObject({ s3, sns }, config, notifications, { concurrency: 100, onDelete: sink });
    s3.destroy();
    sns.destroy();
    return { report, manifestWrites: counts.manifestWrites, notifications: notifications.length };
  } finally {
    await moto.stop();
  }
}

async function main() {
  const bursts = (process.argv[2] ?? '20,100,1000').split(',').map(Number);
  console.log('burst  delivery          files/s  manifest writes/file  invocations  out of attempts  seconds');
  for (const files of bursts) {
    for (const path of ['one per object', 'queue'] as const) {
      const { report, manifestWrites } = await run(files, path);
      console.log([
        String(files).padStart(5), path.padEnd(16), (files / report.seconds).toFixed(1).padStart(8),
        (manifestWrites / files).toFixed(2).padStart(21), String(report.invocations).padStart(12),
        String(report.deadLettered).padStart(16), report.seconds.toFixed(1).padStart(8),
      ].join('  '));
    }
  }
  console.log('target: a burst of 1,000 with at most one manifest write per batch (100) and no invocation out of attempts');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
