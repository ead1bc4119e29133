/**
 * The manifest function against a real moto_server over HTTP: versioned bucket, SNS topic, S3 events built here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { S3Event, S3EventRecord, SQSEvent } from 'aws-lambda';
import { s3Record } from './burst';
import { DATA_MANIFEST_KEY, DataManifest, LATEST_TRAINING_MANIFEST_KEY } from '../../src/contracts/data-layout';
import { ManifestFunctionConfig } from '../../src/data-ingest/runtime/manifest-config';
import { buildTrainingManifest, validatedKey } from '../../src/data-ingest/runtime/manifest-logic';
import { processS3Event, reconcileKeys, reconcileObject } from '../../src/data-ingest/runtime/manifest-reconciler';
import { readDataManifest, updateDataManifest } from '../../src/data-ingest/runtime/manifest-store';
import { QuarantineReport } from '../../src/data-ingest/runtime/quarantine';
import { parseQueuedNotification, processSqsEvent } from '../../src/data-ingest/runtime/sqs-events';
import { useMotoServer } from '../support/moto-server';

const BUCKET = 'abalone-data-test';
const HEADER = 'sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,rings';
const ROW_A = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15';
const ROW_B = 'F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9';
const ROW_C = 'I,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055,7';

const moto = useMotoServer();
let s3: S3Client;
let sns: SNSClient;
let topicArn: string;
let logLines: string[];
let config: ManifestFunctionConfig;

beforeAll(() => {
  s3 = new S3Client(moto.s3ClientConfig());
  sns = new SNSClient(moto.clientConfig());
});

afterAll(() => {
  s3?.destroy();
  sns?.destroy();
});

beforeEach(async () => {
  await moto.reset();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  topicArn = (await sns.send(new CreateTopicCommand({ Name: 'ingest' }))).TopicArn!;
  logLines = [];
  config = {
    rawPrefix: 'raw/',
    maxFileSizeBytes: 1024 * 1024,
    topicArn,
    retryBaseDelayMs: 5,
    log: (line) => logLines.push(line),
  };
});

// ---------------------------------------------------------------- helpers

function dataset(): Buffer {
  const candidates = [process.env.ABALONE_DATA, path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'abalone.data')]
    .filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`The UCI abalone dataset is missing: looked for ${candidates.join(' and ')}. Set ABALONE_DATA to its path.`);
  }
  return readFileSync(found);
}

async function upload(key: string, body: string | Uint8Array): Promise<string> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, ContentLength: bytes.length }));
  return out.VersionId!;
}

/** An S3 notification record as S3 sends it: key URL-encoded with '+' for spaces. */
function record(key: string, eventName = 'ObjectCreated:Put', versionId?: string): S3EventRecord {
  return s3Record(BUCKET, key, eventName, versionId);
}

function event(...records: S3EventRecord[]): S3Event {
  return { Records: records };
}

async function text(key: string, versionId?: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: versionId }));
  return out.Body!.transformToString();
}

async function manifest(): Promise<DataManifest | undefined> {
  return (await readDataManifest(s3, BUCKET)).manifest;
}

async function manifestHead(): Promise<{ eTag?: string; versionId?: string } | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY }));
    return { eTag: head.ETag, versionId: head.VersionId };
  } catch {
    return undefined;
  }
}

async function versionsOf(key: string): Promise<string[]> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
  return (out.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!);
}

async function allVersionCount(): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
  return (out.Versions ?? []).length + (out.DeleteMarkers ?? []).length;
}

async function currentVersion(key: string): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).VersionId;
  } catch {
    return undefined;
  }
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function clients() {
  return { s3, sns };
}

// ---------------------------------------------------------------- tests

describe('a good file', () => {
  test('gets a validated copy, a training manifest and an entry in the data manifest; one notification', async () => {
    const data = dataset();
    const key = 'raw/uci abalone.data'; // a space: the event encodes it as '+'
    const versionId = await upload(key, data);

    const results = await processS3Event(event(record(key)), clients(), config);

    expect(results).toEqual([expect.objectContaining({ outcome: 'upserted', key, versionId, rows: 4177, manifestChanged: true })]);
    const sha = sha256(data);
    const m = await manifest();
    expect(m).toEqual({
      schemaVersion: 1,
      bucket: BUCKET,
      files: [{
        sourceKey: key,
        sourceVersionId: versionId,
        eTag: createHash('md5').update(data).digest('hex'),
        size: data.length,
        rows: 4177,
        sha256: sha,
        dataKey: `validated/${sha}.csv`,
      }],
      totalRows: 4177,
      trainingManifestUri: expect.stringMatching(/^s3:\/\/abalone-data-test\/manifest\/training\/[0-9a-f]{64}\.json$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // The stored bytes are the deterministic serialization (2-space indent, trailing newline).
    expect(await text(DATA_MANIFEST_KEY)).toMatch(/^{\n {2}"schemaVersion": 1,\n {2}"bucket": /);

    // The training manifest: SageMaker ManifestFile format, content-addressed.
    const trainingKey = m!.trainingManifestUri!.replace(`s3://${BUCKET}/`, '');
    const training = await text(trainingKey);
    expect(JSON.parse(training)).toEqual([{ prefix: `s3://${BUCKET}/validated/` }, `${sha}.csv`]);
    expect(trainingKey).toBe(`manifest/training/${sha256(training)}.json`);

    // The validated copy holds the exact bytes.
    const copy = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: validatedKey(sha) }));
    expect(Buffer.from(await copy.Body!.transformToByteArray()).equals(data)).toBe(true);

    const messages = await moto.publishedMessages(topicArn);
    expect(messages).toHaveLength(1);
    expect(messages[0].attributes).toEqual({
      event: { Type: 'String', Value: 'manifest-updated' },
      files: { Type: 'Number', Value: '1' },
      rows: { Type: 'Number', Value: '4177' },
    });
    expect(messages[0].subject).toBe('Abalone data manifest updated: 1 files, 4177 rows');

    // One JSON log line per record, without the event itself.
    expect(logLines).toHaveLength(1);
    expect(JSON.parse(logLines[0])).toMatchObject({ msg: 'record', key, outcome: 'upserted', eventName: 'ObjectCreated:Put' });
    expect(logLines[0]).not.toContain('userIdentity');
  });

  test('two keys with identical content share one validated copy and one training manifest entry', async () => {
    const body = `${ROW_A}\n${ROW_B}\n`;
    await upload('raw/one.csv', body);
    await upload('raw/two.csv', body);
    await processS3Event(event(record('raw/one.csv'), record('raw/two.csv')), clients(), config);
    const m = (await manifest())!;
    expect(m.files.map((f) => f.sourceKey)).toEqual(['raw/one.csv', 'raw/two.csv']);
    expect(m.totalRows).toBe(4);
    const training = JSON.parse(await text(m.trainingManifestUri!.replace(`s3://${BUCKET}/`, '')));
    expect(training).toEqual([{ prefix: `s3://${BUCKET}/validated/` }, `${sha256(body)}.csv`]);
    expect(await versionsOf(validatedKey(sha256(body)))).toHaveLength(1); // copied once
  });

  test('objects the function writes use the KMS key when KMS_KEY_ARN is set', async () => {
    const kmsKeyArn = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    await upload('raw/a.csv', `${ROW_A}\n`);
    const badVersion = await upload('raw/bad.csv', 'nonsense\n');
    await processS3Event(event(record('raw/a.csv'), record('raw/bad.csv')), clients(), { ...config, kmsKeyArn });
    const m = (await manifest())!;
    const written = [DATA_MANIFEST_KEY, m.files[0].dataKey, m.trainingManifestUri!.replace(`s3://${BUCKET}/`, ''),
      `quarantine/bad.csv/${badVersion}.csv`, `quarantine/bad.csv/${badVersion}.error.json`];
    for (const key of written) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect({ key, sse: head.ServerSideEncryption, kms: head.SSEKMSKeyId }).toEqual({ key, sse: 'aws:kms', kms: kmsKeyArn });
    }
  });
});

describe('a bad file is quarantined: copy + report + that version removed + notification; the manifest does not change', () => {
  const binary = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]);
  const latin1 = new Uint8Array([...Buffer.from(`${ROW_A}\n`), 0x4d, 0xe9, 0x0a]);
  const tooBig = `${ROW_A}\n`.repeat(30);
  test.each<[string, string | Uint8Array, { row?: number; column?: string; reason: string }]>([
    ['wrong column count', `${ROW_A}\nM,0.455,0.365,0.095,0.514,0.2245,0.101,15\n`, { row: 2, reason: 'expected 9 columns, found 8' }],
    ['bad sex code', `${ROW_A}\nX,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n`, { row: 2, column: 'sex', reason: '"X" is not one of M, F, I' }],
    ['negative measure', `${HEADER}\n${ROW_A}\nM,0.455,-0.365,0.095,0.514,0.2245,0.101,0.15,15\n`, { row: 3, column: 'diameter', reason: '"-0.365" is negative' }],
    ['measure in millimetres', 'M,91,73,19,102.8,44.9,20.2,30,15\n', { row: 1, column: 'length', reason: '"91" is above the maximum 1.25 (dataset scale: millimetres and grams divided by 200)' }],
    ['rings 0', 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,0\n', { row: 1, column: 'rings', reason: '"0" must be at least 1' }],
    ['empty file', '', { reason: 'file is empty' }],
    ['header only', `${HEADER}\r\n`, { reason: 'file has a header row but no data rows' }],
    ['binary', binary, { row: 1, reason: 'binary content (NUL byte): not a CSV text file' }],
    ['not UTF-8', latin1, { row: 2, reason: 'not valid UTF-8 text' }],
    ['over the size limit', tooBig, { reason: `file is ${tooBig.length} bytes, larger than the limit of 1000 bytes` }],
  ])('%s', async (name, body, firstError) => {
    const key = `raw/batch 7/${name}.csv`;
    const versionId = await upload(key, body);
    const cfg = name === 'over the size limit' ? { ...config, maxFileSizeBytes: 1000 } : config;

    const [result] = await processS3Event(event(record(key)), clients(), cfg);

    expect(result).toMatchObject({ outcome: 'quarantined', key, versionId, manifestChanged: false });
    // The rejected bytes, moved aside under the same relative path and their version.
    const quarantinedKey = `quarantine/batch 7/${name}.csv/${versionId}.csv`;
    const quarantined = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: quarantinedKey }));
    expect(Buffer.from(await quarantined.Body!.transformToByteArray()).equals(Buffer.from(body))).toBe(true);
    // The report.
    const report = JSON.parse(await text(`quarantine/batch 7/${name}.csv/${versionId}.error.json`)) as QuarantineReport;
    expect(report).toMatchObject({ sourceKey: key, sourceVersionId: versionId, size: Buffer.from(body).length, quarantinedKey });
    expect(report.errors[0]).toEqual(firstError);
    expect(report.reason).toContain(firstError.reason);
    // That version is gone from raw/ (it was the only one, so the key is gone).
    expect(await versionsOf(key)).toEqual([]);
    // Notification naming the key and the first error.
    const messages = await moto.publishedMessages(topicArn);
    expect(messages).toHaveLength(1);
    expect(messages[0].attributes.event).toEqual({ Type: 'String', Value: 'quarantined' });
    expect(messages[0].subject).toBe(`Abalone data rejected: ${key}`);
    expect(messages[0].subject!.length).toBeLessThanOrEqual(100);
    expect(messages[0].message).toContain(`s3://${BUCKET}/${key}`);
    expect(messages[0].message).toContain(firstError.reason);
    // No manifest, so nothing to retrain.
    expect(await manifestHead()).toBeUndefined();
  });

  test('the notification subject stays within SNS limits for long non-ASCII keys', async () => {
    const key = `raw/${'données-'.repeat(20)}.csv`;
    await upload(key, 'x\n');
    await processS3Event(event(record(key)), clients(), config);
    const [message] = await moto.publishedMessages(topicArn);
    expect(message.subject!.length).toBeLessThan(100);
    expect(message.subject).toMatch(/^[\x20-\x7e]+$/);
  });

  test('a bad overwrite of a good file leaves the good version current and in the manifest', async () => {
    const key = 'raw/data.csv';
    const good = await upload(key, `${ROW_A}\n${ROW_B}\n`);
    await processS3Event(event(record(key)), clients(), config);
    const before = await manifestHead();

    const bad = await upload(key, `${ROW_A}\nM,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,2.5\n`);
    const [result] = await processS3Event(event(record(key, 'ObjectCreated:Put', bad)), clients(), config);

    expect(result.outcome).toBe('quarantined');
    expect(await currentVersion(key)).toBe(good);
    expect(await versionsOf(key)).toEqual([good]);
    expect(await manifestHead()).toEqual(before); // not rewritten
    expect((await manifest())!.files).toEqual([expect.objectContaining({ sourceKey: key, sourceVersionId: good, rows: 2 })]);

    // The delete of the bad version raises its own ObjectRemoved event: it changes nothing.
    const [afterDelete] = await processS3Event(event(record(key, 'ObjectRemoved:Delete', bad)), clients(), config);
    expect(afterDelete.outcome).toBe('unchanged');
    expect(await manifestHead()).toEqual(before);
    const events = (await moto.publishedMessages(topicArn)).map((m) => m.attributes.event.Value);
    expect(events).toEqual(['manifest-updated', 'quarantined']);
  });

  test('two bad versions of one key keep a report each', async () => {
    const key = 'raw/twice.csv';
    const first = await upload(key, 'nonsense\n');
    await processS3Event(event(record(key)), clients(), config);
    const second = await upload(key, `${ROW_A}\nX,1,1,1,1,1,1,1,1\n`);
    await processS3Event(event(record(key)), clients(), config);

    const reports = await Promise.all([first, second].map(async (v) => JSON.parse(await text(`quarantine/twice.csv/${v}.error.json`)) as QuarantineReport));
    expect(reports.map((r) => [r.sourceVersionId, r.quarantinedKey])).toEqual([
      [first, `quarantine/twice.csv/${first}.csv`], [second, `quarantine/twice.csv/${second}.csv`],
    ]);
    expect(reports[0].reason).not.toEqual(reports[1].reason);
    expect(await text(`quarantine/twice.csv/${first}.csv`)).toBe('nonsense\n');
  });
});

describe('event delivery', () => {
  test('a burst of 8 uploads processed concurrently all end up in the manifest (no lost update)', async () => {
    const rows = [ROW_A, ROW_B, ROW_C];
    const keys = Array.from({ length: 8 }, (_, i) => `raw/burst/file-${i}.csv`);
    // Different content per file (i+1 rows).
    await Promise.all(keys.map((key, i) => upload(key, Array.from({ length: i + 1 }, (__, r) => rows[r % 3]).join('\n') + '\n')));

    const results = await Promise.all(keys.map((key) => processS3Event(event(record(key)), clients(), config)));

    expect(results.flat().map((r) => r.outcome)).toEqual(Array(8).fill('upserted'));
    const m = (await manifest())!;
    expect(m.files.map((f) => f.sourceKey)).toEqual(keys);
    expect(m.totalRows).toBe(36);
    const training = JSON.parse(await text(m.trainingManifestUri!.replace(`s3://${BUCKET}/`, '')));
    expect(training).toHaveLength(9);
    expect(training).toEqual(JSON.parse(buildTrainingManifest(BUCKET, m.files)!.body));
    // Concurrent writers collided and retried (otherwise this test would not prove anything).
    const attempts = results.flat().map((r) => r.manifestAttempts ?? 1);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });

  test('a duplicate event writes nothing: the manifest ETag and version stay the same', async () => {
    const key = 'raw/dup.csv';
    await upload(key, `${ROW_A}\n`);
    await processS3Event(event(record(key)), clients(), config);
    const before = await manifestHead();
    const versionsBefore = await allVersionCount();

    const [again] = await processS3Event(event(record(key)), clients(), config);

    expect(again).toMatchObject({ outcome: 'unchanged', manifestChanged: false });
    expect(await manifestHead()).toEqual(before);
    expect(await allVersionCount()).toBe(versionsBefore); // no write of any object
    expect(await moto.publishedMessages(topicArn)).toHaveLength(1);
  });

  test('a deletion removes the entry; with no files left there is no training manifest', async () => {
    await upload('raw/a.csv', `${ROW_A}\n`);
    await upload('raw/b.csv', `${ROW_B}\n${ROW_C}\n`);
    await processS3Event(event(record('raw/a.csv'), record('raw/b.csv')), clients(), config);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'raw/a.csv' })); // a delete marker
    const [removed] = await processS3Event(event(record('raw/a.csv', 'ObjectRemoved:DeleteMarkerCreated')), clients(), config);
    expect(removed.outcome).toBe('removed');
    let m = (await manifest())!;
    expect(m.files.map((f) => f.sourceKey)).toEqual(['raw/b.csv']);
    expect(m.totalRows).toBe(2);
    expect(JSON.parse(await text(m.trainingManifestUri!.replace(`s3://${BUCKET}/`, '')))).toEqual([{ prefix: `s3://${BUCKET}/validated/` }, `${sha256(`${ROW_B}\n${ROW_C}\n`)}.csv`]);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'raw/b.csv' }));
    await processS3Event(event(record('raw/b.csv', 'ObjectRemoved:DeleteMarkerCreated')), clients(), config);
    m = (await manifest())!;
    expect(m.files).toEqual([]);
    expect(m.totalRows).toBe(0);
    expect(m).not.toHaveProperty('trainingManifestUri');
    const events = (await moto.publishedMessages(topicArn)).map((x) => x.attributes.event.Value);
    expect(events).toEqual(['manifest-updated', 'manifest-updated', 'manifest-updated', 'manifest-updated']);
  });

  test('out-of-order events converge on the current version', async () => {
    const key = 'raw/ooo.csv';
    const v1 = await upload(key, `${ROW_A}\n`);
    const v2 = await upload(key, `${ROW_A}\n${ROW_B}\n`);

    const [first] = await processS3Event(event(record(key, 'ObjectCreated:Put', v2)), clients(), config);
    const [late] = await processS3Event(event(record(key, 'ObjectCreated:Put', v1)), clients(), config);

    expect(first).toMatchObject({ outcome: 'upserted', versionId: v2 });
    expect(late).toMatchObject({ outcome: 'unchanged', versionId: v2 });
    expect((await manifest())!.files).toEqual([expect.objectContaining({ sourceVersionId: v2, rows: 2 })]);
  });

  test('a create event delivered after the delete it preceded adds nothing', async () => {
    const key = 'raw/gone.csv';
    await upload(key, `${ROW_A}\n`);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

    const results = await processS3Event(event(record(key, 'ObjectRemoved:DeleteMarkerCreated'), record(key, 'ObjectCreated:Put')), clients(), config);

    expect(results.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);
    expect(await manifestHead()).toBeUndefined();
  });

  test('a version replaced while it was being validated is not written over the newer one', async () => {
    const key = 'raw/race.csv';
    await upload(key, `${ROW_A}\n`);
    let v2: string | undefined;
    // Upload v2 right after the function copied v1 to validated/ (i.e. between validation and the manifest write).
    const racing = new S3Client(moto.s3ClientConfig());
    racing.middlewareStack.add((next, context) => async (args) => {
      const output = await next(args);
      if (context.commandName === 'CopyObjectCommand' && v2 === undefined) {
        v2 = await upload(key, `${ROW_A}\n${ROW_B}\n${ROW_C}\n`);
      }
      return output;
    }, { step: 'initialize', name: 'uploadNewVersionAfterCopy' });

    const stale = await reconcileObject({ s3: racing, sns }, config, BUCKET, key);
    expect(stale.outcome).toBe('superseded');
    expect(await manifestHead()).toBeUndefined();

    // The event of the newer upload then brings it in.
    const fresh = await reconcileObject({ s3, sns }, config, BUCKET, key);
    expect(fresh).toMatchObject({ outcome: 'upserted', versionId: v2, rows: 3 });
    racing.destroy();
  });

  test('keys outside the raw prefix or without a data suffix are ignored', async () => {
    const results = await processS3Event(event(record('raw/readme.txt'), record('validated/x.csv')), clients(), config);
    expect(results.map((r) => r.outcome)).toEqual(['ignored', 'ignored']);
  });

  test('an event without records (the s3:TestEvent) does nothing', async () => {
    await expect(processS3Event({} as S3Event, clients(), config)).resolves.toEqual([]);
  });
});

describe('the latest training manifest at a stable key', () => {
  test('follows the data manifest through uploads and deletions', async () => {
    const first = await upload('raw/a.csv', `${ROW_A}\n`);
    await processS3Event(event(record('raw/a.csv', 'ObjectCreated:Put', first)), clients(), config);
    const second = await upload('raw/b.csv', `${ROW_B}\n`);
    await processS3Event(event(record('raw/b.csv', 'ObjectCreated:Put', second)), clients(), config);
    const current = await manifest();
    const contentAddressed = current!.trainingManifestUri!.replace(`s3://${BUCKET}/`, '');
    expect(await text(LATEST_TRAINING_MANIFEST_KEY)).toBe(await text(contentAddressed));
    expect(JSON.parse(await text(LATEST_TRAINING_MANIFEST_KEY))).toHaveLength(3);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'raw/a.csv' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'raw/b.csv' }));
    await processS3Event(event(record('raw/a.csv', 'ObjectRemoved:DeleteMarkerCreated'), record('raw/b.csv', 'ObjectRemoved:DeleteMarkerCreated')), clients(), config);
    expect((await manifest())!.files).toEqual([]);
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: LATEST_TRAINING_MANIFEST_KEY }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('after a concurrent burst it is the newest data manifest\'s', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `raw/burst-${i}.csv`);
    const versions = await Promise.all(keys.map((k, i) => upload(k, `${[ROW_A, ROW_B, ROW_C][i % 3]}\n`.repeat(i + 1))));
    await Promise.all(keys.map((k, i) => processS3Event(event(record(k, 'ObjectCreated:Put', versions[i])), clients(), config)));
    const current = await manifest();
    expect(current!.files).toHaveLength(6);
    expect(await text(LATEST_TRAINING_MANIFEST_KEY)).toBe(await text(current!.trainingManifestUri!.replace(`s3://${BUCKET}/`, '')));
  });
});

describe('conditional writes', () => {
  test('moto enforces If-Match / If-None-Match on PutObject (412 PreconditionFailed)', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: '{}', IfNoneMatch: '*' }));
    await expect(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: '{}', IfNoneMatch: '*' })))
      .rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: '{"x":1}', IfMatch: first.ETag }));
    await expect(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: '{"x":2}', IfMatch: first.ETag })))
      .rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
  });

  test('a write with a stale ETag is rejected and retried on a fresh read: both changes survive', async () => {
    await upload('raw/mine.csv', `${ROW_A}\n`);
    await upload('raw/theirs.csv', `${ROW_B}\n`);
    // Another writer updates the manifest between this writer's read and its conditional write.
    let interfered = false;
    const contended = new S3Client(moto.s3ClientConfig());
    contended.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName === 'PutObjectCommand' && input.Key === DATA_MANIFEST_KEY && !interfered) {
        interfered = true;
        await reconcileObject({ s3, sns }, config, BUCKET, 'raw/theirs.csv');
      }
      return next(args);
    }, { step: 'initialize', name: 'concurrentWriter' });

    const result = await reconcileObject({ s3: contended, sns }, config, BUCKET, 'raw/mine.csv');

    expect(interfered).toBe(true);
    expect(result).toMatchObject({ outcome: 'upserted', manifestAttempts: 2 });
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/mine.csv', 'raw/theirs.csv']);
    contended.destroy();
  });

  test('gives up after the configured attempts with an error (so the async retry takes over)', async () => {
    await upload('raw/a.csv', `${ROW_A}\n`);
    const hostile = new S3Client(moto.s3ClientConfig());
    let n = 0;
    hostile.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName === 'PutObjectCommand' && input.Key === DATA_MANIFEST_KEY) {
        // Someone else always writes first.
        const theirs = { schemaVersion: 1, bucket: BUCKET, files: [], totalRows: 0, updatedAt: String(n++) };
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: JSON.stringify(theirs) }));
      }
      return next(args);
    }, { step: 'initialize', name: 'alwaysFirst' });

    await expect(updateDataManifest(hostile, BUCKET, { ...config, maxManifestAttempts: 3 }, (files) => [...files, {
      sourceKey: 'raw/a.csv', sourceVersionId: 'v', eTag: 'e', size: 1, rows: 1, sha256: 'a'.repeat(64), dataKey: validatedKey('a'.repeat(64)),
    }])).rejects.toThrow(/changed concurrently on each of 3 attempts/);
    expect(n).toBe(3);
    hostile.destroy();
  });
});

describe('many keys reconciled with one manifest write', () => {
  /** An S3 client that counts the data manifest's writes and can act before a given command. */
  function countingClient(before?: (command: string, input: { Key?: string }) => Promise<void>) {
    const counted = new S3Client(moto.s3ClientConfig());
    const writes = { manifest: 0 };
    counted.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName === 'PutObjectCommand' && input.Key === DATA_MANIFEST_KEY) writes.manifest++;
      await before?.(context.commandName ?? '', input);
      return next(args);
    }, { step: 'initialize', name: 'countManifestWrites' });
    return { counted, writes };
  }

  test('uploads, a bad file, a deletion, a duplicate and a foreign key: one write, a result per key, one update notice', async () => {
    await upload('raw/old.csv', `${ROW_C}\n`);
    await reconcileObject(clients(), config, BUCKET, 'raw/old.csv');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'raw/old.csv' }));
    const good = ['raw/day/1.csv', 'raw/day/2.csv', 'raw/day/3.csv'];
    await Promise.all(good.map((k, i) => upload(k, `${[ROW_A, ROW_B, ROW_C][i]}\n`.repeat(i + 1))));
    await upload('raw/day/bad.csv', 'nonsense\n');
    const { counted, writes } = countingClient();

    const keys = [...good, 'raw/day/bad.csv', 'raw/old.csv', good[0], 'validated/x.csv'];
    const { results, failures } = await reconcileKeys({ s3: counted, sns }, config, BUCKET, keys);

    expect(failures).toEqual([]);
    expect(writes.manifest).toBe(1);
    expect(results.map((r) => [r.key, r.outcome])).toEqual([
      ['raw/day/1.csv', 'upserted'], ['raw/day/2.csv', 'upserted'], ['raw/day/3.csv', 'upserted'],
      ['raw/day/bad.csv', 'quarantined'], ['raw/old.csv', 'removed'], ['raw/day/1.csv', 'upserted'], ['validated/x.csv', 'ignored'],
    ]);
    expect(results.filter((r) => r.manifestChanged).map((r) => r.manifestAttempts)).toEqual([1, 1, 1, 1, 1]);
    const m = (await manifest())!;
    expect(m.files.map((f) => [f.sourceKey, f.rows])).toEqual([['raw/day/1.csv', 1], ['raw/day/2.csv', 2], ['raw/day/3.csv', 3]]);
    expect(JSON.parse(await text(LATEST_TRAINING_MANIFEST_KEY))).toEqual(JSON.parse(buildTrainingManifest(BUCKET, m.files)!.body));
    const published = await moto.publishedMessages(topicArn);
    const updates = published.filter((x) => x.attributes.event.Value === 'manifest-updated');
    expect(updates).toHaveLength(2); // the set-up's, and this batch's
    expect(updates[1].message.split('\n').slice(0, 4)).toEqual([
      expect.stringMatching(/^raw\/day\/1.csv \(version .+, 1 rows\) was validated.$/),
      expect.stringMatching(/^raw\/day\/2.csv \(version .+, 2 rows\) was validated.$/),
      expect.stringMatching(/^raw\/day\/3.csv \(version .+, 3 rows\) was validated.$/),
      'raw/old.csv was deleted; its entry left the manifest.',
    ]);
    expect(published.filter((x) => x.attributes.event.Value === 'quarantined')).toHaveLength(1);
    counted.destroy();
  });

  test('a key replaced while the batch was examined is left out; the others land in the same write', async () => {
    await upload('raw/stays.csv', `${ROW_A}\n`);
    await upload('raw/moves.csv', `${ROW_B}\n`);
    let newer: string | undefined;
    // The newer version of raw/moves.csv arrives just before the manifest is written.
    const { counted, writes } = countingClient(async (command, input) => {
      if (command === 'PutObjectCommand' && input.Key === DATA_MANIFEST_KEY) return;
      if (command === 'HeadObjectCommand' && input.Key === 'raw/moves.csv' && newer === undefined && (await versionsOf(validatedKey(sha256(`${ROW_B}\n`)))).length > 0) {
        newer = await upload('raw/moves.csv', `${ROW_B}\n${ROW_C}\n`);
      }
    });

    const { results } = await reconcileKeys({ s3: counted, sns }, config, BUCKET, ['raw/stays.csv', 'raw/moves.csv']);

    expect(newer).toBeDefined();
    expect(results.map((r) => [r.key, r.outcome])).toEqual([['raw/stays.csv', 'upserted'], ['raw/moves.csv', 'superseded']]);
    expect(writes.manifest).toBe(1);
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/stays.csv']);
    // The newer version's own event brings it in.
    expect(await reconcileObject(clients(), config, BUCKET, 'raw/moves.csv')).toMatchObject({ outcome: 'upserted', versionId: newer, rows: 2 });
    counted.destroy();
  });

  test('a key that fails is reported with its error and left out; the others are written', async () => {
    await upload('raw/ok.csv', `${ROW_A}\n`);
    await upload('raw/broken.csv', `${ROW_B}\n`);
    const { counted, writes } = countingClient(async (command, input) => {
      if (command === 'GetObjectCommand' && input.Key === 'raw/broken.csv') throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
    });

    const { results, failures } = await reconcileKeys({ s3: counted, sns }, config, BUCKET, ['raw/broken.csv', 'raw/ok.csv']);

    expect(failures).toEqual([{ key: 'raw/broken.csv', error: expect.objectContaining({ name: 'SlowDown' }) }]);
    expect(results.map((r) => [r.key, r.outcome])).toEqual([['raw/ok.csv', 'upserted']]);
    expect(writes.manifest).toBe(1);
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/ok.csv']);
    await expect(reconcileObject({ s3: counted, sns }, config, BUCKET, 'raw/broken.csv')).rejects.toMatchObject({ name: 'SlowDown' });
    counted.destroy();
  });

  test('nothing to change writes nothing', async () => {
    await upload('raw/a.csv', `${ROW_A}\n`);
    await reconcileObject(clients(), config, BUCKET, 'raw/a.csv');
    const before = await manifestHead();
    const { counted, writes } = countingClient();
    const { results } = await reconcileKeys({ s3: counted, sns }, config, BUCKET, ['raw/a.csv', 'raw/a.csv', 'raw/never-was.csv']);
    expect(results.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(writes.manifest).toBe(0);
    expect(await manifestHead()).toEqual(before);
    counted.destroy();
  });
});

describe('errors', () => {
  test('AWS errors propagate (after the other records were processed) so Lambda retries the event', async () => {
    await upload('raw/ok.csv', `${ROW_A}\n`);
    const missingBucket = record('raw/x.csv');
    missingBucket.s3.bucket.name = 'no-such-bucket-here';
    await expect(processS3Event(event(missingBucket, record('raw/ok.csv')), clients(), config)).rejects.toMatchObject({ name: 'NoSuchBucket' });
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/ok.csv']);
    expect(JSON.parse(logLines[0])).toMatchObject({ msg: 'record failed', errorName: 'NoSuchBucket' });
  });

  test('a corrupt data manifest is not overwritten', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: 'not json' }));
    await upload('raw/a.csv', `${ROW_A}\n`);
    await expect(reconcileObject(clients(), config, BUCKET, 'raw/a.csv')).rejects.toThrow(/manifest\/data-manifest.json: data manifest is not JSON/);
    expect(await text(DATA_MANIFEST_KEY)).toBe('not json');
  });
});

describe('queued notifications (the SQS adapter)', () => {
  function sqsEvent(...bodies: string[]): SQSEvent {
    return {
      Records: bodies.map((body, i) => ({
        messageId: `m${i}`,
        receiptHandle: `r${i}`,
        body,
        attributes: {} as never,
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
        awsRegion: 'us-east-1',
      })),
    };
  }

  test('reads S3 notifications, S3\'s test event and anything else, saying what it ignores', () => {
    expect(parseQueuedNotification(JSON.stringify(event(record('raw/a b.csv'))))).toEqual({ kind: 'objects', objects: [{ bucket: BUCKET, key: 'raw/a b.csv' }] });
    expect(parseQueuedNotification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BUCKET })))
      .toEqual({ kind: 'ignored', reason: 'S3\'s test event, sent when the notification is set up' });
    expect(parseQueuedNotification('{not json')).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('not JSON') });
    expect(parseQueuedNotification('null')).toMatchObject({ kind: 'ignored' });
    expect(parseQueuedNotification('{"Records": [{"eventSource": "aws:sns"}]}')).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('name no S3 object') });
  });

  test('a batch writes the manifest once and reports only the messages whose key failed', async () => {
    await upload('raw/a.csv', `${ROW_A}\n`);
    await upload('raw/b.csv', `${ROW_B}\n`);
    const failing = new S3Client(moto.s3ClientConfig());
    failing.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand' && (args.input as { Key?: string }).Key === 'raw/b.csv') {
        throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
      }
      return next(args);
    }, { step: 'initialize', name: 'failOneKey' });

    const response = await processSqsEvent(sqsEvent(
      JSON.stringify(event(record('raw/a.csv'))),
      JSON.stringify(event(record('raw/b.csv'))),
      JSON.stringify({ Event: 's3:TestEvent' }),
      JSON.stringify(event(record('raw/a.csv'))),
    ), { s3: failing, sns }, config);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/a.csv']);
    expect(logLines.map((l) => JSON.parse(l).msg)).toEqual(['message ignored', 'record failed', 'record', 'batch']);
    // Redelivered, the failed message lands.
    expect(await processSqsEvent(sqsEvent(JSON.stringify(event(record('raw/b.csv')))), clients(), config)).toEqual({ batchItemFailures: [] });
    expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/a.csv', 'raw/b.csv']);
    failing.destroy();
  });

  test('when the manifest cannot be written, every message of the bucket is reported for redelivery', async () => {
    // A manifest that cannot be read cannot be updated: nothing is overwritten, the messages come back.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: DATA_MANIFEST_KEY, Body: 'not json' }));
    await upload('raw/b.csv', `${ROW_B}\n`);
    const response = await processSqsEvent(sqsEvent(JSON.stringify(event(record('raw/b.csv'))), JSON.stringify({ Event: 's3:TestEvent' })), clients(), config);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    expect(await text(DATA_MANIFEST_KEY)).toBe('not json');
    expect(JSON.parse(logLines.find((l) => l.includes('batch failed'))!)).toMatchObject({ bucket: BUCKET, keys: 1, error: expect.stringContaining('data manifest is not JSON') });
  });
});

describe('the Lambda handler', () => {
  test('builds its clients and configuration from the environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      RAW_PREFIX: 'raw/',
      INGEST_TOPIC_ARN: topicArn,
    });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await upload('raw/h.csv', `${ROW_A}\n`);
      let handler: ((e: S3Event) => Promise<void>) | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        handler = (require('../../src/data-ingest/runtime/manifest.lambda') as { handler: (e: S3Event) => Promise<void> }).handler;
      });
      await handler!(event(record('raw/h.csv')));
      expect((await manifest())!.files.map((f) => f.sourceKey)).toEqual(['raw/h.csv']);
      expect(log).toHaveBeenCalledTimes(1);
      expect(JSON.parse(String(log.mock.calls[0][0]))).toMatchObject({ msg: 'record', outcome: 'upserted' });
      expect((await moto.publishedMessages(topicArn)).map((m) => m.attributes.event.Value)).toEqual(['manifest-updated']);
    } finally {
      log.mockRestore();
      process.env = saved;
    }
  });
});
