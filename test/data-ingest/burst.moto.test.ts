/**
 * Bursts of 20, 100 and 1,000 uploads (50–500 rows each, with bad files, bad overwrites, deletions, duplicated and
 * reordered notifications) through the notification queue: the manifest lists exactly the valid current files,
 * nothing is lost, each bad version keeps its report, and each batch writes the manifest at most once.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { S3EventRecord } from 'aws-lambda';
import { asDelivered, createIngestResources, deliverThroughQueue, instrumentedS3, planBurst, s3Record, uploadBurst } from './burst';
import { ManifestFunctionConfig } from '../../src/data-ingest/runtime/manifest-config';
import { readDataManifest } from '../../src/data-ingest/runtime/manifest-store';
import { useMotoServer } from '../support/moto-server';

const BUCKET = 'abalone-burst';
const moto = useMotoServer();

async function quarantineReports(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'quarantine/', ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!).filter((k) => k.endsWith('.error.json')));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

describe.each([20, 100, 1000])('a burst of %i uploads through the notification queue', (files) => {
  test('lands in the manifest once each, with a report per bad version and at most one manifest write per batch', async () => {
    await moto.reset();
    const sink = { push: (_record: S3EventRecord) => undefined as void };
    const { s3, counts } = instrumentedS3(moto.s3ClientConfig(), (key, versionId) => sink.push(s3Record(BUCKET, key, 'ObjectRemoved:Delete', versionId)));
    const sns = new SNSClient(moto.clientConfig());
    const topicArn = await createIngestResources(s3, sns, BUCKET);
    const config: ManifestFunctionConfig = { rawPrefix: 'raw/', maxFileSizeBytes: 1024 * 1024, topicArn, retryBaseDelayMs: 5, log: () => undefined };

    const plan = planBurst(files, files);
    // The plan has every kind of change the issue names: bad files, bad overwrites of good files, deletions.
    const kinds = (key: string) => plan.operations.filter((o) => o.key === key).map((o) => (o.body === undefined ? 'delete' : 'put'));
    const keys = [...new Set(plan.operations.map((o) => o.key))];
    expect(keys.filter((k) => k.includes('/bad-')).length).toBe(Math.max(1, Math.round(files * 0.05)));
    expect(keys.filter((k) => kinds(k).join() === 'put,put').length).toBe(Math.max(1, Math.round(files * 0.02)));
    expect(keys.filter((k) => kinds(k).join() === 'put,delete').length).toBe(Math.max(1, Math.round(files * 0.02)));
    const notifications = asDelivered(await uploadBurst(s3, BUCKET, plan), files + 1);
    counts.manifestWrites = 0;
    const report = await deliverThroughQueue({ s3, sns }, config, notifications,
      { batchSize: 100, concurrency: 2, maxReceiveCount: 5, onDelete: sink });

    // Nothing lost, nothing retried to exhaustion.
    expect(report.deadLettered).toBe(0);
    const manifest = (await readDataManifest(s3, BUCKET)).manifest!;
    expect(Object.fromEntries(manifest.files.map((f) => [f.sourceKey, { rows: f.rows, sha256: f.sha256 }])))
      .toEqual(Object.fromEntries(plan.expected));
    expect(manifest.totalRows).toBe([...plan.expected.values()].reduce((n, f) => n + f.rows, 0));
    expect((await quarantineReports(s3)).length).toBe(plan.badVersions);
    // One write per invocation at most (an invocation with nothing new writes nothing).
    expect(counts.manifestWrites).toBeLessThanOrEqual(report.invocations);
    expect(counts.manifestWrites).toBeGreaterThan(0);
    console.log(`burst of ${files}: ${notifications.length} notifications, ${report.invocations} invocations, `
      + `${counts.manifestWrites} manifest writes, ${report.redelivered} redelivered, ${report.seconds.toFixed(1)} s`);
    s3.destroy();
    sns.destroy();
  }, 600_000);
});
