import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createTableAndBucket, predictIds, sendFeedback } from './moto-fixtures';
import { feedbackTrainingKey } from '../../../src/contracts/feedback-training-export';
import { PREDICTION_KEY_ATTRIBUTE } from '../../../src/contracts/predict-function';
import { validateRawData } from '../../../src/data-ingest/runtime/raw-data-validator';
import { DynamoDbPredictionStore } from '../../../src/model-serving/runtime/api/dynamodb-store';
import { ModelBackend } from '../../../src/model-serving/runtime/api/predict';
import { FeedbackTrainingExportDependencies, exportFeedbackAsTrainingData } from '../../../src/model-serving/runtime/feedback/training-export';
import { useMotoServer } from '../../support/moto-server';
import { ALLOWED_ORIGIN, INSTANCE } from '../api/fixtures';

const TABLE = 'predictions';
const BUCKET = 'data';
const RETENTION_SECONDS = 90 * 86400;
const cors = { allowedOrigins: [ALLOWED_ORIGIN] };
const backend: ModelBackend = { predict: async (rows) => ({ rings: rows.map((_, i) => 9.5 + i), modelVersion: '3' }) };
/** INSTANCE on the dataset's scale (mm and g ÷ 200), in the raw CSV's column order. */
const INSTANCE_ROW = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15';

describe('feedback as training data against moto_server (items as the predict and feedback routes write them)', () => {
  const moto = useMotoServer();
  let now = new Date('2026-11-26T12:34:56.000Z');
  const dynamo = () => new DynamoDBClient(moto.clientConfig());
  const s3 = () => new S3Client(moto.s3ClientConfig());
  const store = () => new DynamoDbPredictionStore({ tableName: TABLE, client: dynamo(), ttlSeconds: RETENTION_SECONDS, now: () => now });
  const deps = (more: Partial<FeedbackTrainingExportDependencies> = {}): FeedbackTrainingExportDependencies => ({
    dynamodb: dynamo(), s3: s3(), tableName: TABLE, bucketName: BUCKET, rawPrefix: 'raw/', retentionSeconds: RETENTION_SECONDS, now: () => now, ...more,
  });
  const text = async (key: string) => (await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
  const versions = async (key: string) => (await s3().send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }))).Versions ?? [];

  const predict = (instances: object[]) => predictIds({ backend, cors, store: store() }, instances);
  const feedback = (id: string, actualRings: number) => sendFeedback({ backend, cors, store: store() }, id, actualRings);

  beforeEach(async () => {
    await moto.reset();
    now = new Date('2026-11-26T12:34:56.000Z');
    await createTableAndBucket(dynamo(), s3(), TABLE, BUCKET);
    // DataIngest's bucket is versioned: every rewrite would be a new version, so rewrites are counted.
    await s3().send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
  });

  test('each prediction with feedback is one headerless raw data row, dataset scale, under raw/feedback/<day>.csv, which DataIngest accepts', async () => {
    const [a, , c] = await predict([INSTANCE, INSTANCE, { ...INSTANCE, sex: 'I', lengthMm: 40 }]);
    await feedback(a, 12);
    await feedback(c, 5);

    const report = await exportFeedbackAsTrainingData(deps());
    const key = 'raw/feedback/2026-11-26.csv';
    expect(feedbackTrainingKey('raw/', new Date('2026-11-26T12:34:56.000Z'))).toBe(key);
    expect(report).toEqual({
      predictionsWithFeedback: 2, rows: 2, dropped: 0, droppedReasons: {}, files: [{ key, rows: 2, outcome: 'written' }],
    });
    const body = await text(key);
    // Both predictions have the same time: ordered by prediction id.
    const expected = [[a, `${INSTANCE_ROW},12`], [c, 'I,0.2,0.365,0.095,0.514,0.2245,0.101,0.15,5']].sort(([x], [y]) => (x < y ? -1 : 1)).map(([, line]) => line);
    expect(body).toBe(expected.join('\n') + '\n');
    const validation = await validateRawData([Buffer.from(body)]);
    expect(validation).toMatchObject({ valid: true, rows: 2, hasHeader: false });
  });

  test('a second run with nothing new writes nothing; a second feedback replaces the prediction\'s row in a new version', async () => {
    const [a, b] = await predict([INSTANCE, INSTANCE]);
    await feedback(a, 8);
    await feedback(b, 9);
    const key = 'raw/feedback/2026-11-26.csv';
    await exportFeedbackAsTrainingData(deps());
    const again = await exportFeedbackAsTrainingData(deps());
    expect(again.files).toEqual([{ key, rows: 2, outcome: 'unchanged' }]);
    expect(await versions(key)).toHaveLength(1);

    await feedback(a, 11);
    const third = await exportFeedbackAsTrainingData(deps());
    expect(third.files).toEqual([{ key, rows: 2, outcome: 'written' }]);
    expect(await versions(key)).toHaveLength(2);
    const lines = (await text(key)).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.split(',').pop()).sort()).toEqual(['11', '9']);
  });

  test('predictions of different days go to their own files; predictions without feedback are not exported', async () => {
    const [first] = await predict([INSTANCE, INSTANCE]);
    now = new Date('2026-11-27T00:00:01.000Z');
    const [second] = await predict([INSTANCE]);
    await feedback(first, 7);
    await feedback(second, 13);
    const report = await exportFeedbackAsTrainingData(deps());
    expect(report.files).toEqual([
      { key: 'raw/feedback/2026-11-26.csv', rows: 1, outcome: 'written' },
      { key: 'raw/feedback/2026-11-27.csv', rows: 1, outcome: 'written' },
    ]);
    expect(await text('raw/feedback/2026-11-26.csv')).toBe(`${INSTANCE_ROW},7\n`);
    expect(await text('raw/feedback/2026-11-27.csv')).toBe(`${INSTANCE_ROW},13\n`);
  });

  test('rows outside the raw data contract are dropped and counted by reason; the rest are exported', async () => {
    const [good] = await predict([INSTANCE]);
    await feedback(good, 10);
    const item = (id: string, input: Record<string, unknown>) => ({
      [PREDICTION_KEY_ATTRIBUTE]: { S: id },
      createdAt: { S: now.toISOString() },
      expiresAt: { N: String(Math.floor(now.getTime() / 1000) + RETENTION_SECONDS) },
      actualRings: { N: '10' },
      input: { M: Object.fromEntries(Object.entries(input).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: String(v) }])) },
    });
    // Written before the API's schema bounded them, or by hand: the export does not trust the table.
    const { shellWeightG: _, ...incomplete } = INSTANCE;
    for (const [id, input] of [['too-long', { ...INSTANCE, lengthMm: 300 }], ['bad-sex', { ...INSTANCE, sex: 'X' }], ['incomplete', incomplete]] as const) {
      await dynamo().send(new PutItemCommand({ TableName: TABLE, Item: item(id, input) as any }));
    }
    await dynamo().send(new PutItemCommand({ TableName: TABLE, Item: { ...item('bad-rings', INSTANCE), actualRings: { N: '2.5' } } as any }));

    const logged: unknown[] = [];
    const report = await exportFeedbackAsTrainingData(deps({ log: (_level, message, detail) => logged.push({ message, detail }) }));
    expect(report.predictionsWithFeedback).toBe(5);
    expect(report.rows).toBe(1);
    expect(report.dropped).toBe(4);
    expect(report.droppedReasons).toEqual({
      'length outside the contract': 1,
      'sex outside the contract': 1,
      'rings outside the contract': 1,
      'input lacks shellWeightG': 1,
    });
    expect(logged).toEqual([{ message: 'Feedback left out of the training data', detail: { dropped: 4, reasons: report.droppedReasons } }]);
    expect(await text('raw/feedback/2026-11-26.csv')).toBe(`${INSTANCE_ROW},10\n`);
  });

  test('pages through the Scan: 500 predictions with feedback over 3 days, in pages of 40, each exported once', async () => {
    const ids: string[] = [];
    for (const day of ['2026-11-24', '2026-11-25', '2026-11-26']) {
      now = new Date(`${day}T08:00:00.000Z`);
      for (let i = 0; i < 2; i++) ids.push(...await predict(Array(100).fill(INSTANCE)));
    }
    now = new Date('2026-11-26T20:00:00.000Z');
    const labelled = ids.filter((_, i) => i % 6 !== 0).slice(0, 500);
    expect(labelled).toHaveLength(500);
    for (let i = 0; i < labelled.length; i += 50) await Promise.all(labelled.slice(i, i + 50).map((id, j) => feedback(id, 1 + ((i + j) % 29))));

    const report = await exportFeedbackAsTrainingData(deps({ scanPageSize: 40 }));
    expect(report.predictionsWithFeedback).toBe(500);
    expect(report.rows).toBe(500);
    expect(report.files.map((f) => f.key)).toEqual(['raw/feedback/2026-11-24.csv', 'raw/feedback/2026-11-25.csv', 'raw/feedback/2026-11-26.csv']);
    let lines = 0;
    for (const f of report.files) {
      const validation = await validateRawData([Buffer.from(await text(f.key))]);
      expect(validation.valid).toBe(true);
      lines += validation.rows;
    }
    expect(lines).toBe(500);
  });

  test('a day past its feedback window is never rewritten (the TTL may have removed rows), but is written once if missing', async () => {
    const [a, b] = await predict([INSTANCE, INSTANCE]);
    await feedback(a, 8);
    await feedback(b, 9);
    const key = 'raw/feedback/2026-11-26.csv';
    await exportFeedbackAsTrainingData(deps());
    const before = await text(key);

    // 90 days after the day began, its first predictions expire; TTL removes one.
    now = new Date('2027-02-24T00:00:00.000Z');
    await dynamo().send(new DeleteItemCommand({ TableName: TABLE, Key: { [PREDICTION_KEY_ATTRIBUTE]: { S: a } } }));
    const report = await exportFeedbackAsTrainingData(deps());
    expect(report.files).toEqual([{ key, rows: 1, outcome: 'closed' }]);
    expect(await text(key)).toBe(before);
    expect(await versions(key)).toHaveLength(1);

    // The same closed day with no file yet (e.g. the export was just turned on): written once.
    const other = deps({ rawPrefix: 'other/' });
    expect((await exportFeedbackAsTrainingData(other)).files).toEqual([{ key: 'other/feedback/2026-11-26.csv', rows: 1, outcome: 'written' }]);
    expect((await exportFeedbackAsTrainingData(other)).files).toEqual([{ key: 'other/feedback/2026-11-26.csv', rows: 1, outcome: 'closed' }]);
  });

  test('a file someone else wrote at the key (no content hash) is replaced by the export', async () => {
    const [a] = await predict([INSTANCE]);
    await feedback(a, 8);
    const key = 'raw/feedback/2026-11-26.csv';
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'M,0.1,0.1,0.1,0.1,0.1,0.1,0.1,3\n' }));
    expect((await exportFeedbackAsTrainingData(deps())).files).toEqual([{ key, rows: 1, outcome: 'written' }]);
    expect(await text(key)).toBe(`${INSTANCE_ROW},8\n`);
    const head = await s3().send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.Metadata).toEqual({ 'content-sha256': expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  test('with a customer managed key, writes with SSE-KMS under that key; an S3 error other than 404 fails the run', async () => {
    const [a] = await predict([INSTANCE]);
    await feedback(a, 8);
    const mock = mockClient(S3Client);
    try {
      mock.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
      mock.on(PutObjectCommand).resolves({});
      const kmsKeyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      await exportFeedbackAsTrainingData(deps({ s3: new S3Client({ region: 'us-east-1' }), kmsKeyArn }));
      expect(mock.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({
        Bucket: BUCKET, Key: 'raw/feedback/2026-11-26.csv', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyArn, ContentType: 'text/csv',
      });
      mock.reset();
      mock.on(HeadObjectCommand).rejects(Object.assign(new Error('Forbidden'), { name: '403', $metadata: { httpStatusCode: 403 } }));
      await expect(exportFeedbackAsTrainingData(deps({ s3: new S3Client({ region: 'us-east-1' }) }))).rejects.toThrow('Forbidden');
      expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    } finally {
      mock.restore();
    }
  });
});
