import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createTableAndBucket, predictIds, sendFeedback } from './moto-fixtures';
import { GROUND_TRUTH_PREFIX, GroundTruthRecord, groundTruthKey } from '../../../src/contracts/monitoring';
import { PREDICTION_KEY_ATTRIBUTE } from '../../../src/contracts/predict-function';
import { DynamoDbPredictionStore } from '../../../src/model-serving/runtime/api/dynamodb-store';
import { ModelBackend } from '../../../src/model-serving/runtime/api/predict';
import { exportFeedback, groundTruthOf } from '../../../src/model-serving/runtime/feedback/export';
import { useMotoServer } from '../../support/moto-server';
import { ALLOWED_ORIGIN, INSTANCE } from '../api/fixtures';

const TABLE = 'predictions';
const BUCKET = 'artifacts';
const STREAM_ARN = `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}/stream/2026-11-26T00:00:00.000`;
const cors = { allowedOrigins: [ALLOWED_ORIGIN] };
const backend: ModelBackend = { predict: async (rows) => ({ rings: rows.map((_, i) => 9.5 + i), modelVersion: '3' }) };

let sequence = 100_000_000;

/**
 * One stream record as Lambda delivers it from a NEW_IMAGE stream
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#services-dynamodb-event-example).
 */
function streamRecord(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', image: Record<string, AttributeValue> | undefined, keys?: Record<string, AttributeValue>): DynamoDBRecord {
  sequence += 1;
  const key = keys ?? { [PREDICTION_KEY_ATTRIBUTE]: image![PREDICTION_KEY_ATTRIBUTE] };
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1795694400,
      Keys: key as any,
      ...(image ? { NewImage: image as any } : {}),
      SequenceNumber: String(sequence).padStart(21, '0'),
      SizeBytes: 200,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: STREAM_ARN,
  };
}

const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

describe('feedback export against moto_server (DynamoDB items as the predict function writes them, S3 writes)', () => {
  const moto = useMotoServer();
  let now = new Date('2026-11-26T12:34:56.000Z');
  const dynamo = () => new DynamoDBClient(moto.clientConfig());
  const s3 = () => new S3Client(moto.s3ClientConfig());
  const store = () => new DynamoDbPredictionStore({ tableName: TABLE, client: dynamo(), ttlSeconds: 90 * 86400, now: () => now });
  const deps = () => ({ s3: s3(), bucketName: BUCKET });

  const item = async (id: string) => {
    const answer = await dynamo().send(new GetItemCommand({ TableName: TABLE, Key: { [PREDICTION_KEY_ATTRIBUTE]: { S: id } } }));
    return answer.Item as Record<string, AttributeValue>;
  };
  const object = async (key: string) => {
    const answer = await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return JSON.parse(await answer.Body!.transformToString());
  };
  const keys = async () => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: GROUND_TRUTH_PREFIX, ContinuationToken: token }));
      found.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return found.sort();
  };

  /** Predicts a batch through the API handler; returns the ids. */
  const predict = (instances: number) => predictIds({ backend, cors, store: store() }, Array(instances).fill(INSTANCE));
  const feedback = (id: string, actualRings: number) => sendFeedback({ backend, cors, store: store() }, id, actualRings);

  beforeEach(async () => {
    await moto.reset();
    now = new Date('2026-11-26T12:34:56.000Z');
    await createTableAndBucket(dynamo(), s3(), TABLE, BUCKET);
  });

  test('a prediction with feedback becomes one ground-truth record, keyed by the prediction and its hour', async () => {
    const [first, second] = await predict(2);
    const inserted = await item(second);
    await feedback(second, 12);
    const modified = await item(second);

    const result = await exportFeedback(batch(streamRecord('INSERT', inserted), streamRecord('MODIFY', modified)), deps());
    expect(result).toEqual({ batchItemFailures: [], written: 1, skipped: 1, superseded: 0 });
    const key = groundTruthKey(second, new Date('2026-11-26T12:34:56.000Z'));
    expect(key).toBe(`ground-truth/2026/11/26/12/${second}.json`);
    expect(await keys()).toEqual([key]);
    const expected: GroundTruthRecord = {
      predictionId: second,
      inferenceId: first,
      row: 1,
      actualRings: 12,
      predictedRings: 10.5,
      modelVersion: '3',
      predictedAt: '2026-11-26T12:34:56.000Z',
      // The feedback route stamps its own time.
      collectedAt: modified.feedbackAt.S!,
    };
    expect(Date.parse(expected.collectedAt)).not.toBeNaN();
    expect(await object(key)).toEqual(expected);
  });

  test('redelivery changes nothing: the same objects with the same content', async () => {
    const ids = await predict(3);
    for (const id of ids) await feedback(id, 8);
    const records = await Promise.all(ids.map(async (id) => streamRecord('MODIFY', await item(id))));
    await exportFeedback(batch(...records), deps());
    const before = await keys();
    const contents = await Promise.all(before.map(object));
    await exportFeedback(batch(...records), deps());
    await exportFeedback(batch(records[1]), deps());
    expect(await keys()).toEqual(before);
    expect(await Promise.all(before.map(object))).toEqual(contents);
    expect(before).toHaveLength(3);
  });

  test('a second feedback for the same prediction replaces the first, in one batch or in the next', async () => {
    const [id] = await predict(1);
    await feedback(id, 8);
    const firstImage = streamRecord('MODIFY', await item(id));
    await feedback(id, 11);
    const secondImage = streamRecord('MODIFY', await item(id));
    const inOne = await exportFeedback(batch(firstImage, secondImage), deps());
    expect(inOne).toMatchObject({ written: 1, superseded: 1 });
    const key = groundTruthKey(id, now);
    expect((await object(key)).actualRings).toBe(11);

    await feedback(id, 13);
    await exportFeedback(batch(streamRecord('MODIFY', await item(id))), deps());
    expect(await keys()).toEqual([key]);
    expect((await object(key)).actualRings).toBe(13);
  });

  test('new predictions, TTL removals and items without an inferenceId write nothing', async () => {
    const [id] = await predict(1);
    const inserted = await item(id);
    const legacy = { ...inserted, actualRings: { N: '7' }, feedbackAt: { S: '2026-11-26T13:00:00.000Z' } };
    delete (legacy as Record<string, unknown>).inferenceId;
    const logs: unknown[] = [];
    const result = await exportFeedback(batch(
      streamRecord('INSERT', inserted),
      streamRecord('REMOVE', undefined, { [PREDICTION_KEY_ATTRIBUTE]: { S: id } }),
      streamRecord('MODIFY', legacy),
    ), { ...deps(), log: (...args) => logs.push(args) });
    expect(result).toEqual({ batchItemFailures: [], written: 0, skipped: 3, superseded: 0 });
    expect(await keys()).toEqual([]);
    expect(logs).toEqual([['warn', 'Feedback not exportable', { reason: 'missing inferenceId', eventID: expect.any(String) }]]);
  });

  test('10,000 feedback records, delivered in batches of 100 with every 10th batch delivered twice: each exported once, none lost', async () => {
    const count = 10_000;
    const predictedAt = new Date('2026-11-26T12:34:56.000Z');
    // Images as the predict function stores them: one real item's shape, with distinct ids, rows and rings.
    const [seedId] = await predict(1);
    await feedback(seedId, 9);
    const seed = await item(seedId);
    const images = Array.from({ length: count }, (_, i) => {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      return { ...seed, predictionId: { S: id }, inferenceId: { S: id }, row: { N: '0' }, actualRings: { N: String(1 + (i % 29)) } };
    });
    const records = images.map((image) => streamRecord('MODIFY', image));
    const batches: DynamoDBRecord[][] = [];
    for (let i = 0; i < records.length; i += 100) batches.push(records.slice(i, i + 100));
    const deliveries = batches.flatMap((b, i) => (i % 10 === 0 ? [b, b] : [b]));

    const client = s3();
    let puts = 0;
    client.middlewareStack.add((next) => async (args) => {
      puts++;
      return next(args);
    }, { step: 'initialize', name: 'countPuts' });
    const started = process.hrtime.bigint();
    let failures = 0;
    for (const delivery of deliveries) {
      failures += (await exportFeedback(batch(...delivery), { s3: client, bucketName: BUCKET })).batchItemFailures.length;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // eslint-disable-next-line no-console
    console.log(`feedback export: ${count} records in ${deliveries.length} deliveries (${deliveries.length - batches.length} redelivered) `
      + `in ${seconds.toFixed(2)} s, ${Math.round(puts / seconds)} PutObject/s against moto`);

    expect(failures).toBe(0);
    expect(puts).toBe(count + 10 * 100);
    const written = await keys();
    const expectedKeys = images.map((image) => groundTruthKey(image.predictionId.S!, predictedAt)).sort();
    expect(written).toEqual(expectedKeys);
    // Spot-check contents across the range.
    for (const i of [0, 1, 4_999, 9_999]) {
      const record = await object(groundTruthKey(images[i].predictionId.S!, predictedAt));
      expect(record).toMatchObject({ predictionId: images[i].predictionId.S, actualRings: 1 + (i % 29) });
    }
  }, 300_000);
});

describe('feedback export failures and encryption (aws-sdk-client-mock)', () => {
  const client = new S3Client({ region: 'us-east-1' });
  const s3 = mockClient(client);
  beforeEach(() => s3.reset());

  const image = (i: number): Record<string, AttributeValue> => ({
    predictionId: { S: `id-${i}` },
    inferenceId: { S: `id-${i}` },
    row: { N: '0' },
    rings: { N: '9.5' },
    modelVersion: { S: '2' },
    createdAt: { S: '2026-11-26T12:00:00.000Z' },
    actualRings: { N: '10' },
    feedbackAt: { S: '2026-11-26T13:00:00.000Z' },
  });

  test('a failed write is reported by its sequence number; the others are written', async () => {
    const records = [0, 1, 2].map((i) => streamRecord('MODIFY', image(i)));
    s3.on(PutObjectCommand).resolves({});
    s3.on(PutObjectCommand, { Key: groundTruthKey('id-1', new Date('2026-11-26T12:00:00.000Z')) }).rejects(new Error('SlowDown'));
    const result = await exportFeedback(batch(...records), { s3: client, bucketName: BUCKET, log: () => undefined });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: records[1].dynamodb!.SequenceNumber }]);
    expect(result.written).toBe(2);
  });

  test('with a customer key, every object is written with SSE-KMS under it', async () => {
    s3.on(PutObjectCommand).resolves({});
    const key = 'arn:aws:kms:us-east-1:123456789012:key/k';
    await exportFeedback(batch(streamRecord('MODIFY', image(0))), { s3: client, bucketName: BUCKET, kmsKeyArn: key });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'ground-truth/2026/11/26/12/id-0.json',
      Body: expect.any(String),
      ContentType: 'application/json',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: key,
    });
  });

  test('groundTruthOf names what is missing or wrong', () => {
    expect(groundTruthOf(streamRecord('MODIFY', { ...image(0), row: { N: 'x' } }))).toEqual({ skip: 'missing row' });
    expect(groundTruthOf(streamRecord('MODIFY', { ...image(0), createdAt: { S: 'yesterday' } }))).toEqual({ skip: 'predictedAt is not a date' });
    expect(groundTruthOf(streamRecord('INSERT', { ...image(0), actualRings: undefined as any }))).toEqual({ skip: 'no feedback' });
  });
});
