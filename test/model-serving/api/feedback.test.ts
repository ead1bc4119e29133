import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ALLOWED_ORIGIN, INSTANCE, feedbackEvent, parseBody, predictEvent } from './fixtures';
import { PREDICTION_KEY_ATTRIBUTE, PREDICTION_TTL_ATTRIBUTE } from '../../../src/contracts/predict-function';
import { MAX_BATCH_INSTANCES, MAX_REQUEST_BODY_BYTES } from '../../../src/contracts/prediction-api';
import { DynamoDbPredictionStore } from '../../../src/model-serving/runtime/api/dynamodb-store';
import { FeedbackStore, handleFeedback } from '../../../src/model-serving/runtime/api/feedback';
import { ModelBackend } from '../../../src/model-serving/runtime/api/predict';
import { route } from '../../../src/model-serving/runtime/api/routes';
import { useMotoServer } from '../../support/moto-server';

const cors = { allowedOrigins: [ALLOWED_ORIGIN] };
const TABLE = 'predictions';
const DAY = 24 * 3600;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

const backend: ModelBackend = { predict: async (rows) => ({ rings: rows.map(() => 9.123), modelVersion: '4' }) };

describe('feedback validation (no store calls)', () => {
  const calls: unknown[] = [];
  const store: FeedbackStore = { attachFeedback: async (...args) => { calls.push(args); return true; } };
  const feedback = (id: string, body: unknown, extra = {}) => handleFeedback(feedbackEvent(id, body, extra), id, { store, cors });

  afterEach(() => expect(calls).toEqual([]));

  test.each([
    [{}, 'actualRings', 'is required'],
    [{ actualRings: '9' }, 'actualRings', 'must be an integer'],
    [{ actualRings: 9.5 }, 'actualRings', 'must be an integer'],
    [{ actualRings: 0 }, 'actualRings', 'must be at least 1'],
    [{ actualRings: 101 }, 'actualRings', 'must be at most 100'],
    [{ actualRings: 9, comment: 'x' }, 'comment', 'is not allowed'],
    [[9], 'body', 'must be an object'],
  ])('400 for %j', async (body, field, message) => {
    const response = await feedback(UNKNOWN_ID, body);
    expect(response.statusCode).toBe(400);
    expect(parseBody(response).errors).toEqual([{ field, message }]);
    expect(response.headers['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
  });

  test('400 for an empty body and invalid JSON, 413 for an oversized one', async () => {
    expect((await feedback(UNKNOWN_ID, '')).statusCode).toBe(400);
    expect((await feedback(UNKNOWN_ID, '{')).statusCode).toBe(400);
    expect((await feedback(UNKNOWN_ID, ' '.repeat(MAX_REQUEST_BODY_BYTES) + '{}')).statusCode).toBe(413);
  });

  test.each(['not-a-uuid', '../x', 'ABCDEF00-0000-4000-8000-000000000000', `${UNKNOWN_ID}0`])('404 for the malformed id %j without asking the store', async (id) => {
    const response = await feedback(id, { actualRings: 9 });
    expect(response.statusCode).toBe(404);
    expect(response.headers['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
  });

  test('500 without detail when the store fails', async () => {
    const failing: FeedbackStore = { attachFeedback: async () => { throw new Error('AccessDeniedException: arn:aws:dynamodb:us-east-1:123456789012:table/x'); } };
    const response = await handleFeedback(feedbackEvent(UNKNOWN_ID, { actualRings: 9 }), UNKNOWN_ID, { store: failing, cors, log: () => undefined });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toMatch(/arn:|dynamodb/i);
  });
});

describe('predictions and feedback in DynamoDB (moto_server over HTTP)', () => {
  const moto = useMotoServer();
  let now = new Date('2026-11-26T12:00:00.000Z');
  const client = () => new DynamoDBClient(moto.clientConfig());
  const store = () => new DynamoDbPredictionStore({ tableName: TABLE, client: client(), ttlSeconds: 90 * DAY, now: () => now });
  const deps = () => ({ backend, cors, store: store() });
  const getItem = async (id: string) => {
    const answer = await client().send(new GetItemCommand({ TableName: TABLE, Key: { [PREDICTION_KEY_ATTRIBUTE]: { S: id } } }));
    return answer.Item;
  };

  beforeEach(async () => {
    await moto.reset();
    now = new Date('2026-11-26T12:00:00.000Z');
    await client().send(new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: PREDICTION_KEY_ATTRIBUTE, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: PREDICTION_KEY_ATTRIBUTE, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    await client().send(new UpdateTimeToLiveCommand({
      TableName: TABLE,
      TimeToLiveSpecification: { AttributeName: PREDICTION_TTL_ATTRIBUTE, Enabled: true },
    }));
  });

  test('each prediction is stored with its inputs, rings, model version, creation time and TTL', async () => {
    const response = await route(predictEvent(INSTANCE), deps());
    const { predictionId } = parseBody(response);
    expect(await getItem(predictionId)).toEqual({
      predictionId: { S: predictionId },
      createdAt: { S: '2026-11-26T12:00:00.000Z' },
      expiresAt: { N: String(Date.parse('2026-11-26T12:00:00.000Z') / 1000 + 90 * DAY) },
      modelVersion: { S: '4' },
      rings: { N: '9.12' },
      ageYears: { N: '10.62' },
      inferenceId: { S: predictionId },
      row: { N: '0' },
      input: {
        M: {
          sex: { S: 'M' },
          lengthMm: { N: '91' },
          diameterMm: { N: '73' },
          heightMm: { N: '19' },
          wholeWeightG: { N: '102.8' },
          shuckedWeightG: { N: '44.9' },
          visceraWeightG: { N: '20.2' },
          shellWeightG: { N: '30' },
        },
      },
    });
  });

  test('a full batch is stored (BatchWriteItem in chunks of 25), each item with the invocation id and its row', async () => {
    const response = await route(predictEvent({ instances: Array(MAX_BATCH_INSTANCES).fill(INSTANCE) }), deps());
    const ids: string[] = parseBody(response).predictions.map((p: { predictionId: string }) => p.predictionId);
    for (const row of [0, 24, 25, 99]) {
      const item = await getItem(ids[row]);
      expect(item?.inferenceId).toEqual({ S: ids[0] });
      expect(item?.row).toEqual({ N: String(row) });
    }
  });

  test('feedback is stored with the prediction', async () => {
    const { predictionId } = parseBody(await route(predictEvent(INSTANCE), deps()));
    now = new Date('2026-11-27T08:30:00.000Z');
    const response = await route(feedbackEvent(predictionId, { actualRings: 11 }), deps());
    expect(response.statusCode).toBe(200);
    expect(parseBody(response)).toEqual({ predictionId, actualRings: 11 });
    expect(response.headers['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
    const item = await getItem(predictionId);
    expect(item?.actualRings).toEqual({ N: '11' });
    expect(item?.feedbackAt?.S).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(item?.rings).toEqual({ N: '9.12' });
  });

  test('feedback can be corrected: the last answer wins', async () => {
    const { predictionId } = parseBody(await route(predictEvent(INSTANCE), deps()));
    await route(feedbackEvent(predictionId, { actualRings: 11 }), deps());
    await route(feedbackEvent(predictionId, { actualRings: 12 }), deps());
    expect((await getItem(predictionId))?.actualRings).toEqual({ N: '12' });
  });

  test('404 for an unknown id, and nothing is created', async () => {
    const response = await route(feedbackEvent(UNKNOWN_ID, { actualRings: 9 }), deps());
    expect(response.statusCode).toBe(404);
    expect(parseBody(response)).toEqual({ message: 'No prediction with this id (it may have expired).' });
    expect(await getItem(UNKNOWN_ID)).toBeUndefined();
  });

  test('404 for an expired prediction that TTL has not deleted yet', async () => {
    const { predictionId } = parseBody(await route(predictEvent(INSTANCE), deps()));
    const s = store();
    expect(await s.attachFeedback(predictionId, 9, new Date(now.getTime() + 90 * DAY * 1000 - 1000))).toBe(true);
    expect(await s.attachFeedback(predictionId, 9, new Date(now.getTime() + 90 * DAY * 1000 + 1000))).toBe(false);
  });

  test('400 per field, and nothing is written', async () => {
    const { predictionId } = parseBody(await route(predictEvent(INSTANCE), deps()));
    const response = await route(feedbackEvent(predictionId, { actualRings: -1, note: 'x' }), deps());
    expect(response.statusCode).toBe(400);
    expect(parseBody(response).errors.map((e: { field: string }) => e.field)).toEqual(['actualRings', 'note']);
    expect((await getItem(predictionId))?.actualRings).toBeUndefined();
  });

  test('with feedback off nothing is recorded and the route answers 404', async () => {
    const response = await route(predictEvent(INSTANCE), { backend, cors });
    const { predictionId } = parseBody(response);
    expect(await getItem(predictionId)).toBeUndefined();
    expect((await route(feedbackEvent(predictionId, { actualRings: 9 }), { backend, cors })).statusCode).toBe(404);
  });
});

describe('DynamoDbPredictionStore retries unprocessed items (aws-sdk-client-mock)', () => {
  // Mock one client instance only: the moto tests above use real ones.
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const dynamo = mockClient(client);
  beforeEach(() => dynamo.reset());

  const records = (n: number) => Array.from({ length: n }, (_, i) => ({
    prediction: { predictionId: `id-${i}`, rings: 9, ageYears: 10.5, modelVersion: '1' },
    instance: INSTANCE,
    inferenceId: 'id-0',
    row: i,
  }));
  const store = () => new DynamoDbPredictionStore({ tableName: TABLE, client, ttlSeconds: DAY, backoff: async () => undefined });

  test('writes again only what DynamoDB left unprocessed', async () => {
    dynamo.on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: { predictionId: { S: 'id-3' } } } }] } })
      .resolves({});
    await store().record(records(30));
    const calls = dynamo.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input.RequestItems![TABLE].length);
    expect(calls.sort()).toEqual([1, 25, 5]);
  });

  test('gives up after 4 attempts', async () => {
    dynamo.on(BatchWriteItemCommand).resolves({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: { predictionId: { S: 'id-0' } } } }] } });
    await expect(store().record(records(1))).rejects.toThrow('1 prediction(s) left unprocessed by DynamoDB');
    expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(4);
  });
});
