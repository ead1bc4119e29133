/**
 * A bad request gets the same 400 in the cloud as in local mode. API Gateway does not validate bodies, so every body
 * reaches the predict function through the proxy integration; the function's handler (the runtime `route` with its
 * cloud dependencies) answers with one entry per field, and `local serve` answers the very same.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ALLOWED_ORIGIN, INSTANCE } from './fixtures';
import { servingTemplate } from './serving-template';
import { PREDICT_FUNCTION_ENV } from '../../../src/contracts/predict-function';
import type { ErrorResponse } from '../../../src/contracts/prediction-api';
import { RunningLocalServer, startLocalServer } from '../../../src/local/local-server';
import { LocalPredictionStore, STORE_FILE, STORE_SCRIPT } from '../../../src/local/local-store';
import { checkPython } from '../../../src/local/python';
import { ModelBackend } from '../../../src/model-serving/runtime/api/predict';
import { FEEDBACK_PATH, PREDICTIONS_PATH } from '../../../src/model-serving/runtime/api/routes';

const PREDICTION_ID = '2b1f0c5e-8a7d-4e39-9c61-0f3a5b7d9e21';

const { shellWeightG: _omitted, ...WITHOUT_SHELL_WEIGHT } = INSTANCE;

interface BadRequest {
  readonly name: string;
  readonly resource: string;
  /** As API Gateway passes it: `null` when the request has no body. */
  readonly body: string | null;
  readonly errors: ErrorResponse['errors'];
}

const CASES: BadRequest[] = [
  { name: 'a missing field', resource: PREDICTIONS_PATH, body: JSON.stringify(WITHOUT_SHELL_WEIGHT), errors: [{ field: 'shellWeightG', message: 'is required' }] },
  { name: 'a field of the wrong type', resource: PREDICTIONS_PATH, body: JSON.stringify({ ...INSTANCE, lengthMm: '91' }), errors: [{ field: 'lengthMm', message: 'must be a number' }] },
  { name: 'an extra field', resource: PREDICTIONS_PATH, body: JSON.stringify({ ...INSTANCE, colour: 'red' }), errors: [{ field: 'colour', message: 'is not allowed' }] },
  { name: 'an extra field named with quotes', resource: PREDICTIONS_PATH, body: JSON.stringify({ ...INSTANCE, '"}\\\n': 1 }), errors: [{ field: '"}\\\n', message: 'is not allowed' }] },
  { name: 'a bad sex value', resource: PREDICTIONS_PATH, body: JSON.stringify({ ...INSTANCE, sex: 'X' }), errors: [{ field: 'sex', message: 'must be one of M, F, I' }] },
  {
    name: 'a bad sex value in a batch, with quotes and unicode',
    resource: PREDICTIONS_PATH,
    body: JSON.stringify({ instances: [INSTANCE, { ...INSTANCE, sex: '"}🐚' }] }),
    errors: [{ field: 'instances[1].sex', message: 'must be one of M, F, I' }],
  },
  {
    name: 'only sex',
    resource: PREDICTIONS_PATH,
    body: JSON.stringify({ sex: 'M' }),
    errors: ['lengthMm', 'diameterMm', 'heightMm', 'wholeWeightG', 'shuckedWeightG', 'visceraWeightG', 'shellWeightG'].map((field) => ({ field, message: 'is required' })),
  },
  { name: 'a body that is not an object', resource: PREDICTIONS_PATH, body: '[]', errors: [{ field: 'body', message: 'must be an object' }] },
  { name: 'a non-JSON body', resource: PREDICTIONS_PATH, body: '{"sex": "M",', errors: [{ field: 'body', message: 'is not valid JSON' }] },
  { name: 'an empty body', resource: PREDICTIONS_PATH, body: '', errors: [{ field: 'body', message: 'is required: send a JSON object' }] },
  { name: 'no body at all', resource: PREDICTIONS_PATH, body: null, errors: [{ field: 'body', message: 'is required: send a JSON object' }] },
  { name: 'feedback without actualRings', resource: FEEDBACK_PATH, body: '{}', errors: [{ field: 'actualRings', message: 'is required' }] },
  { name: 'feedback of the wrong type', resource: FEEDBACK_PATH, body: JSON.stringify({ actualRings: '10"' }), errors: [{ field: 'actualRings', message: 'must be an integer' }] },
  { name: 'feedback that is not JSON', resource: FEEDBACK_PATH, body: 'rings=10', errors: [{ field: 'body', message: 'is not valid JSON' }] },
];

/** The event API Gateway's Lambda proxy integration sends for a request to the `prod` stage. */
function proxyEvent(resource: string, body: string | null): APIGatewayProxyEvent {
  const feedback = resource === FEEDBACK_PATH;
  const requestPath = feedback ? `/predictions/${PREDICTION_ID}/feedback` : PREDICTIONS_PATH;
  const headers = { 'Content-Type': 'application/json', 'Origin': ALLOWED_ORIGIN };
  return {
    resource,
    path: requestPath,
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: feedback ? { id: PREDICTION_ID } : null,
    stageVariables: null,
    requestContext: { resourcePath: resource, httpMethod: 'POST', path: `/prod${requestPath}`, stage: 'prod' } as APIGatewayProxyEvent['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

describe('the gateway hands every body to the function', () => {
  const template = servingTemplate({ allowedOrigins: [ALLOWED_ORIGIN] });

  test('no request validator checks bodies, and both POST methods proxy to the predict function', () => {
    const validators = template.findResources('AWS::ApiGateway::RequestValidator');
    expect(Object.values(validators).map((v: any) => v.Properties.ValidateRequestBody)).toEqual([false]);
    const fnIds = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } }));
    expect(fnIds).toHaveLength(1);
    const posts = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } })) as any[];
    expect(posts).toHaveLength(2);
    for (const method of posts) {
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(`{"Fn::GetAtt":["${fnIds[0]}","Arn"]}`);
    }
  });
});

describe('the same 400 from the function as from local mode', () => {
  const savedEnv = { ...process.env };
  let handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  let server: RunningLocalServer;
  let store: LocalPredictionStore | undefined;
  let webAppDir: string;
  let modelCalls = 0;

  beforeAll(async () => {
    // The function's configuration as ModelServing sets it; AWS calls would fail fast, and none is expected.
    Object.assign(process.env, {
      [PREDICT_FUNCTION_ENV.ENDPOINT_NAME]: 'abalone',
      [PREDICT_FUNCTION_ENV.ALLOWED_ORIGINS]: JSON.stringify([ALLOWED_ORIGIN]),
      [PREDICT_FUNCTION_ENV.PREDICTIONS_TABLE_NAME]: 'predictions',
      [PREDICT_FUNCTION_ENV.PREDICTION_TTL_SECONDS]: '3600',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    // Loaded after the environment is set: the handler reads its configuration once, at load.
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = (require('../../../src/model-serving/runtime/api/predict.lambda') as { handler: typeof handler }).handler;
    });

    webAppDir = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-bad-requests-'));
    fs.writeFileSync(path.join(webAppDir, 'index.html'), '<!doctype html><title>Abalone</title>');
    const backend: ModelBackend = {
      predict: async () => {
        modelCalls++;
        throw new Error('a bad request reached the model');
      },
    };
    // With a store, as `local serve` runs: feedback is validated before the store is asked.
    store = await LocalPredictionStore.open(await checkPython(), STORE_SCRIPT, path.join(webAppDir, STORE_FILE));
    server = await startLocalServer({ backend, store, webAppDir });
  });

  afterAll(async () => {
    await server?.close();
    await store?.close();
    if (webAppDir) fs.rmSync(webAppDir, { recursive: true, force: true });
    process.env = savedEnv;
  });

  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const cloud = await handler(proxyEvent(c.resource, c.body));
    const localPath = c.resource === FEEDBACK_PATH ? `/predictions/${PREDICTION_ID}/feedback` : PREDICTIONS_PATH;
    const local = await fetch(`${server.url}${localPath}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: c.body ?? undefined });

    expect(cloud.statusCode).toBe(400);
    const cloudBody = JSON.parse(cloud.body) as ErrorResponse;
    expect(cloudBody.errors).toEqual(c.errors);
    expect(cloudBody.message).toBe(c.errors!.length === 1 ? 'The request has an invalid field.' : `The request has ${c.errors!.length} invalid fields.`);
    expect(cloud.headers).toEqual(expect.objectContaining({ 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': ALLOWED_ORIGIN }));

    expect({ status: local.status, body: JSON.parse(await local.text()) }).toEqual({ status: cloud.statusCode, body: cloudBody });
    expect(local.headers.get('content-type')).toBe(cloud.headers!['Content-Type']);
    expect(modelCalls).toBe(0);
  });
});
