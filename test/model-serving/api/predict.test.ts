import { ALLOWED_ORIGIN, INSTANCE, MEASURE_FIELDS, parseBody, predictEvent } from './fixtures';
import { AGE_OFFSET_YEARS } from '../../../src/contracts/abalone-data';
import { MAX_BATCH_INSTANCES, MAX_REQUEST_BODY_BYTES, RETRY_AFTER_SECONDS } from '../../../src/contracts/prediction-api';
import { ApiResponse, corsHeaders } from '../../../src/model-serving/runtime/api/http';
import {
  DatasetRow,
  ModelBackend,
  ModelFailureError,
  ModelUnavailableError,
  PredictionRecord,
  buildPrediction,
  handlePredict,
  parseModelCsv,
  toCsv,
  toDatasetRow,
} from '../../../src/model-serving/runtime/api/predict';
import { RouteRequest, route } from '../../../src/model-serving/runtime/api/routes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const cors = { allowedOrigins: [ALLOWED_ORIGIN] };

/** A backend answering rings = 10 + row index, recording what it was asked. */
function fakeBackend(): ModelBackend & { calls: DatasetRow[][]; inferenceIds: string[] } {
  const calls: DatasetRow[][] = [];
  const inferenceIds: string[] = [];
  return {
    calls,
    inferenceIds,
    predict: async (rows, context) => {
      calls.push([...rows]);
      inferenceIds.push(context.inferenceId);
      return { rings: rows.map((_, i) => 10 + i + 0.123456), modelVersion: '7' };
    },
  };
}

function failingBackend(error: Error): ModelBackend {
  return { predict: async () => { throw error; } };
}

async function predict(event: RouteRequest, backend: ModelBackend = fakeBackend()): Promise<ApiResponse> {
  return handlePredict(event, { backend, cors });
}

function expectFieldErrors(response: ApiResponse, fields: string[]): void {
  expect(response.statusCode).toBe(400);
  const body = parseBody(response);
  expect(typeof body.message).toBe('string');
  expect(body.errors.map((e: { field: string }) => e.field)).toEqual(fields);
  for (const e of body.errors) expect(typeof e.message).toBe('string');
}

describe('conversion to the dataset scale', () => {
  test('divides every measure by 200 and keeps the raw CSV column order', () => {
    expect(toDatasetRow(INSTANCE)).toEqual(['M', 0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15]);
  });

  test('writes headerless CSV, one row per line', () => {
    const rows = [toDatasetRow(INSTANCE), toDatasetRow({ ...INSTANCE, sex: 'I', lengthMm: 0 })];
    expect(toCsv(rows)).toBe('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nI,0,0.365,0.095,0.514,0.2245,0.101,0.15\n');
  });

  test('the backend receives dataset-scale rows, not millimetres and grams', async () => {
    const backend = fakeBackend();
    await predict(predictEvent({ instances: [INSTANCE, { ...INSTANCE, sex: 'F', wholeWeightG: 200 }] }), backend);
    expect(backend.calls).toEqual([[toDatasetRow(INSTANCE), ['F', 0.455, 0.365, 0.095, 1, 0.2245, 0.101, 0.15]]]);
  });
});

describe('reading the model answer', () => {
  test('one number per line, as XGBoost writes text/csv', () => {
    expect(parseModelCsv('9.5\n10.25\n', 2)).toEqual([9.5, 10.25]);
    expect(parseModelCsv('9.5,10.25', 2)).toEqual([9.5, 10.25]);
    expect(parseModelCsv('1.2e1\r\n', 1)).toEqual([12]);
  });

  test.each([
    ['body', 1],
    ['', 1],
    ['9.5\n', 2],
    ['9.5\n1\n', 1],
    ['NaN\n', 1],
    ['Infinity\n', 1],
    ['0x10\n', 1],
    ['{"predictions":[9.5]}', 1],
  ])('rejects %j for %i row(s)', (body, rows) => {
    expect(() => parseModelCsv(body, rows)).toThrow(ModelFailureError);
  });
});

describe('answers', () => {
  test('a single instance answers one prediction: rounded rings, age = rings + 1.5, model version, a UUID', async () => {
    const response = await predict(predictEvent(INSTANCE));
    expect(response.statusCode).toBe(200);
    const body = parseBody(response);
    expect(body).toEqual({ predictionId: expect.stringMatching(UUID), rings: 10.12, ageYears: 11.62, modelVersion: '7' });
    expect(response.headers['Content-Type']).toBe('application/json');
    expect(response.headers['Cache-Control']).toBe('no-store');
  });

  test('a batch answers { predictions } in the order of instances, each with its own id', async () => {
    const response = await predict(predictEvent({ instances: [INSTANCE, INSTANCE, INSTANCE] }));
    const body = parseBody(response);
    expect(body.predictions.map((p: { rings: number }) => p.rings)).toEqual([10.12, 11.12, 12.12]);
    expect(new Set(body.predictions.map((p: { predictionId: string }) => p.predictionId)).size).toBe(3);
  });

  test('accepts a batch of exactly MAX_BATCH_INSTANCES', async () => {
    const response = await predict(predictEvent({ instances: Array(MAX_BATCH_INSTANCES).fill(INSTANCE) }));
    expect(response.statusCode).toBe(200);
    expect(parseBody(response).predictions).toHaveLength(MAX_BATCH_INSTANCES);
  });

  test('ageYears has no floating-point noise', () => {
    for (let r = 0; r < 30; r += 0.01) {
      const p = buildPrediction(r, '1', 'id');
      expect(p.ageYears).toBe(Math.round((p.rings + AGE_OFFSET_YEARS) * 100) / 100);
      expect(String(p.ageYears)).toMatch(/^\d+(\.\d{1,2})?$/);
    }
  });

  test('records each prediction with the inputs it was made from, the invocation id and its row', async () => {
    const recorded: PredictionRecord[] = [];
    const backend = fakeBackend();
    const response = await handlePredict(predictEvent({ instances: [INSTANCE, { ...INSTANCE, sex: 'F' }] }), {
      backend, cors, recorder: { record: async (r) => { recorded.push(...r); } },
    });
    const body = parseBody(response);
    const inferenceId = body.predictions[0].predictionId;
    expect(backend.inferenceIds).toEqual([inferenceId]);
    expect(recorded).toEqual([
      { prediction: body.predictions[0], instance: INSTANCE, inferenceId, row: 0 },
      { prediction: body.predictions[1], instance: { ...INSTANCE, sex: 'F' }, inferenceId, row: 1 },
    ]);
  });

  test('each invocation has its own InferenceId: the id of its single prediction', async () => {
    const backend = fakeBackend();
    const first = parseBody(await predict(predictEvent(INSTANCE), backend));
    const second = parseBody(await predict(predictEvent(INSTANCE), backend));
    expect(backend.inferenceIds).toEqual([first.predictionId, second.predictionId]);
    expect(first.predictionId).not.toBe(second.predictionId);
  });

  test('still answers the prediction when recording it fails, and logs why', async () => {
    const logs: unknown[] = [];
    const response = await handlePredict(predictEvent(INSTANCE), {
      backend: fakeBackend(),
      cors,
      recorder: { record: async () => { throw new Error('ProvisionedThroughputExceededException'); } },
      log: (...args) => logs.push(args),
    });
    expect(response.statusCode).toBe(200);
    expect(logs).toEqual([['error', 'Could not record predictions', { error: 'Error: ProvisionedThroughputExceededException' }]]);
  });
});

describe('400: one entry per bad field', () => {
  test.each(['sex', ...MEASURE_FIELDS])('missing %s', async (field) => {
    const { [field]: _omitted, ...rest } = INSTANCE as Record<string, unknown>;
    expectFieldErrors(await predict(predictEvent(rest)), [field]);
  });

  test.each(MEASURE_FIELDS)('%s of the wrong type and out of range', async (field) => {
    expectFieldErrors(await predict(predictEvent({ ...INSTANCE, [field]: '91' })), [field]);
    expectFieldErrors(await predict(predictEvent({ ...INSTANCE, [field]: -1 })), [field]);
    expectFieldErrors(await predict(predictEvent({ ...INSTANCE, [field]: 100000 })), [field]);
  });

  test('sex outside M, F, I', async () => {
    const response = await predict(predictEvent({ ...INSTANCE, sex: 'male' }));
    expect(parseBody(response)).toEqual({ message: 'The request has an invalid field.', errors: [{ field: 'sex', message: 'must be one of M, F, I' }] });
  });

  test('extra fields, each named', async () => {
    expectFieldErrors(await predict(predictEvent({ ...INSTANCE, rings: 9, note: 'x' })), ['rings', 'note']);
  });

  test('several problems in a batch, with instance paths', async () => {
    const response = await predict(predictEvent({ instances: [INSTANCE, { ...INSTANCE, sex: 'X' }, { ...INSTANCE, heightMm: null, extra: 1 }] }));
    expectFieldErrors(response, ['instances[1].sex', 'instances[2].heightMm', 'instances[2].extra']);
    expect(parseBody(response).message).toBe('The request has 3 invalid fields.');
  });

  test('an oversized batch', async () => {
    const response = await predict(predictEvent({ instances: Array(MAX_BATCH_INSTANCES + 1).fill(INSTANCE) }));
    expect(parseBody(response).errors).toEqual([{ field: 'instances', message: `must contain at most ${MAX_BATCH_INSTANCES} items` }]);
  });

  test.each([
    ['no body', null, 'is required: send a JSON object'],
    ['an empty body', '', 'is required: send a JSON object'],
    ['a blank body', '  \n', 'is required: send a JSON object'],
    ['invalid JSON', '{"sex": "M",', 'is not valid JSON'],
    ['a JSON array', '[]', 'must be an object'],
    ['a JSON string', '"M"', 'must be an object'],
    ['JSON null', 'null', 'must be an object'],
  ])('%s', async (_name, body, message) => {
    const response = await predict(predictEvent('', { body }));
    expect(response.statusCode).toBe(400);
    expect(parseBody(response).errors).toEqual([{ field: 'body', message }]);
  });

  test('lists at most 100 problems and counts the rest', async () => {
    const instances = Array.from({ length: MAX_BATCH_INSTANCES }, () => ({ ...INSTANCE, a: 1, b: 2 }));
    const body = parseBody(await predict(predictEvent({ instances })));
    expect(body.errors).toHaveLength(100);
    expect(body.message).toBe('The request has 200 invalid fields; the first 100 are listed.');
  });

  test('the backend is not called for an invalid request', async () => {
    const backend = fakeBackend();
    await predict(predictEvent({ ...INSTANCE, sex: 'X' }), backend);
    expect(backend.calls).toEqual([]);
  });
});

describe('413: bodies over MAX_REQUEST_BODY_BYTES', () => {
  const padded = (bytes: number) => {
    const json = JSON.stringify(INSTANCE);
    return json.slice(0, -1) + ' '.repeat(bytes - json.length) + '}';
  };

  test('answers 413 one byte over the limit, and accepts the limit itself', async () => {
    expect((await predict(predictEvent(padded(MAX_REQUEST_BODY_BYTES)))).statusCode).toBe(200);
    const response = await predict(predictEvent(padded(MAX_REQUEST_BODY_BYTES + 1)));
    expect(response.statusCode).toBe(413);
    expect(parseBody(response)).toEqual({ message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.` });
  });

  test('counts bytes, not characters', async () => {
    const text = JSON.stringify({ ...INSTANCE, note: 'é'.repeat(MAX_REQUEST_BODY_BYTES / 2) });
    expect(text.length).toBeLessThan(MAX_REQUEST_BODY_BYTES);
    expect((await predict(predictEvent(text))).statusCode).toBe(413);
  });

  test('measures a base64-encoded body after decoding', async () => {
    const atLimit = Buffer.from(padded(MAX_REQUEST_BODY_BYTES)).toString('base64');
    const overLimit = Buffer.from(padded(MAX_REQUEST_BODY_BYTES + 1)).toString('base64');
    expect(atLimit.length).toBeGreaterThan(MAX_REQUEST_BODY_BYTES);
    expect((await predict(predictEvent(atLimit, { isBase64Encoded: true }))).statusCode).toBe(200);
    expect((await predict(predictEvent(overLimit, { isBase64Encoded: true }))).statusCode).toBe(413);
  });

  test('decodes a small base64 body', async () => {
    const response = await predict(predictEvent(Buffer.from(JSON.stringify(INSTANCE)).toString('base64'), { isBase64Encoded: true }));
    expect(response.statusCode).toBe(200);
  });
});

describe('503 and 502', () => {
  test('503 with Retry-After while no model is deployed', async () => {
    const response = await predict(predictEvent(INSTANCE), failingBackend(new ModelUnavailableError('Endpoint status Creating')));
    expect(response.statusCode).toBe(503);
    expect(response.headers['Retry-After']).toBe(String(RETRY_AFTER_SECONDS));
    expect(parseBody(response)).toEqual({ message: 'No model is deployed yet. Try again later.' });
  });

  test.each([
    ['a model error', new ModelFailureError('ModelError: Received server error (500) from primary with message "xgboost exploded" arn:aws:sagemaker:us-east-1:123456789012:endpoint/abalone')],
    ['any other failure', new Error('AccessDeniedException: User arn:aws:sts::123456789012:assumed-role/x is not authorized')],
  ])('502 without internal detail on %s', async (_name, error) => {
    const response = await predict(predictEvent(INSTANCE), failingBackend(error));
    expect(response.statusCode).toBe(502);
    expect(parseBody(response)).toEqual({ message: 'The model failed to answer. Try again later.' });
    expect(response.body).not.toMatch(/arn:|abalone|xgboost|Error/);
  });

  test('502 when the model answers fewer predictions than rows', async () => {
    const backend: ModelBackend = { predict: async () => ({ rings: [1], modelVersion: '1' }) };
    expect((await predict(predictEvent({ instances: [INSTANCE, INSTANCE] }), backend)).statusCode).toBe(502);
  });
});

describe('CORS on every answer', () => {
  const backends: Record<string, ModelBackend> = {
    200: fakeBackend(),
    503: failingBackend(new ModelUnavailableError('x')),
    502: failingBackend(new ModelFailureError('x')),
  };
  const requests: Array<[string, RouteRequest, ModelBackend]> = [
    ['200', predictEvent(INSTANCE), backends['200']],
    ['400', predictEvent({}), backends['200']],
    ['413', predictEvent('x'.repeat(MAX_REQUEST_BODY_BYTES + 1)), backends['200']],
    ['502', predictEvent(INSTANCE), backends['502']],
    ['503', predictEvent(INSTANCE), backends['503']],
    ['404', predictEvent(INSTANCE, { resource: '/other' }), backends['200']],
  ];

  test.each(requests)('%s echoes an allowed origin', async (status, event, backend) => {
    const response = await route(event, { backend, cors });
    expect(String(response.statusCode)).toBe(status);
    expect(response.headers['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
    expect(response.headers.Vary).toBe('Origin');
  });

  test.each(requests)('%s gives no Allow-Origin to another origin', async (_status, event, backend) => {
    const response = await route({ ...event, headers: { Origin: 'https://evil.example' } }, { backend, cors });
    expect(response.headers['Access-Control-Allow-Origin']).toBeUndefined();
    expect(response.headers.Vary).toBe('Origin');
  });

  test('no CORS headers at all when no origin is configured', async () => {
    const response = await route(predictEvent(INSTANCE), { backend: fakeBackend(), cors: { allowedOrigins: [] } });
    expect(Object.keys(response.headers).filter((h) => /^(access-control|vary)/i.test(h))).toEqual([]);
  });

  test('the origin header is matched case-insensitively, its value exactly', () => {
    expect(corsHeaders(cors, ALLOWED_ORIGIN)['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
    expect(corsHeaders(cors, ALLOWED_ORIGIN.toUpperCase())['Access-Control-Allow-Origin']).toBeUndefined();
    expect(corsHeaders(cors, `${ALLOWED_ORIGIN}.evil.example`)['Access-Control-Allow-Origin']).toBeUndefined();
  });

  test('Retry-After is readable by the page', async () => {
    const response = await route(predictEvent(INSTANCE), { backend: backends['503'], cors });
    expect(response.headers['Access-Control-Expose-Headers']).toBe('Retry-After');
  });

  test('"*" allows any origin', () => {
    expect(corsHeaders({ allowedOrigins: ['*'] }, 'https://any.example')['Access-Control-Allow-Origin']).toBe('*');
  });
});

describe('routing', () => {
  test('only POST /predictions predicts', async () => {
    const backend = fakeBackend();
    expect((await route(predictEvent(INSTANCE, { httpMethod: 'GET' }), { backend, cors })).statusCode).toBe(404);
    expect(backend.calls).toEqual([]);
  });

  test('the feedback route answers 404 when feedback is turned off', async () => {
    const event = predictEvent({ actualRings: 9 }, { resource: '/predictions/{id}/feedback', pathParameters: { id: 'x' } });
    const response = await route(event, { backend: fakeBackend(), cors });
    expect(response.statusCode).toBe(404);
    expect(parseBody(response)).toEqual({ message: 'Not found.' });
  });
});
