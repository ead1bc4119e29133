import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
  DeleteEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { ALLOWED_ORIGIN, INSTANCE, parseBody, predictEvent } from './fixtures';
import { deploymentResourceName, namePrefixFor } from '../../../src/contracts/endpoint-names';
import { RETRY_AFTER_SECONDS } from '../../../src/contracts/prediction-api';
import { modelVersionFromEndpointConfigName } from '../../../src/model-serving/runtime/api/model-version';
import { ModelFailureError, ModelUnavailableError, handlePredict, toCsv, toDatasetRow } from '../../../src/model-serving/runtime/api/predict';
import { SageMakerBackend, SageMakerBackendOptions, isMissingEndpoint } from '../../../src/model-serving/runtime/api/sagemaker-backend';
import { useMotoServer } from '../../support/moto-server';

const ENDPOINT = 'abalone-endpoint';
const PACKAGE_ARN = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/AbaloneModelPackageGroup/12';
const CONFIG_NAME = deploymentResourceName(namePrefixFor(ENDPOINT), PACKAGE_ARN, { instanceType: 'ml.m5.large' });
const ROW = toDatasetRow(INSTANCE);
const CTX = { inferenceId: '3f0c2a9e-5b7d-4c1e-9a8f-0123456789ab' };
const cors = { allowedOrigins: [ALLOWED_ORIGIN] };

function missingEndpoint(): Error {
  return Object.assign(new Error(`Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/${ENDPOINT}".`), { name: 'ValidationException' });
}

describe('model version from the endpoint configuration name', () => {
  test('reads the package version the deploy function put in the name', () => {
    expect(CONFIG_NAME).toMatch(/^abalone-endpoint-12-[0-9a-f]{8}$/);
    expect(modelVersionFromEndpointConfigName(ENDPOINT, CONFIG_NAME)).toBe('12');
  });

  test('is undefined for names the deploy function did not make, or made without a version', () => {
    expect(modelVersionFromEndpointConfigName(ENDPOINT, 'my-own-config')).toBeUndefined();
    expect(modelVersionFromEndpointConfigName(ENDPOINT, 'other-endpoint-12-0123abcd')).toBeUndefined();
    expect(modelVersionFromEndpointConfigName(ENDPOINT, `${namePrefixFor(ENDPOINT)}0-0123abcd`)).toBeUndefined();
  });

  test('works for long endpoint names that the prefix truncates', () => {
    const longName = 'a'.repeat(63);
    const name = deploymentResourceName(namePrefixFor(longName), PACKAGE_ARN, {});
    expect(name.length).toBeLessThanOrEqual(63);
    expect(modelVersionFromEndpointConfigName(longName, name)).toBe('12');
  });
});

describe('SageMakerBackend (aws-sdk-client-mock)', () => {
  // Mock these instances only: the moto tests below use real clients.
  const runtimeClient = new SageMakerRuntimeClient({ region: 'us-east-1' });
  const sagemakerClient = new SageMakerClient({ region: 'us-east-1' });
  const runtime = mockClient(runtimeClient);
  const sagemaker = mockClient(sagemakerClient);
  let clock = 0;
  const backend = (overrides: Partial<SageMakerBackendOptions> = {}) => new SageMakerBackend({
    endpointName: ENDPOINT,
    runtime: runtimeClient,
    sagemaker: sagemakerClient,
    modelVersionOf: (name) => modelVersionFromEndpointConfigName(ENDPOINT, name),
    now: () => clock,
    ...overrides,
  });
  const body = (text: string) => new TextEncoder().encode(text) as any;

  beforeEach(() => {
    runtime.reset();
    sagemaker.reset();
    clock = 1_000_000;
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: CONFIG_NAME });
  });

  test('invokes the endpoint with text/csv rows and answers the version in service', async () => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('9.5\n10.25\n') });
    const output = await backend().predict([ROW, ['F', ...ROW.slice(1)] as any], CTX);
    expect(output).toEqual({ rings: [9.5, 10.25], modelVersion: '12' });
    const input = runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect(input).toEqual(expect.objectContaining({ EndpointName: ENDPOINT, ContentType: 'text/csv', Accept: 'text/csv', InferenceId: CTX.inferenceId }));
    expect(new TextDecoder().decode(input.Body as Uint8Array)).toBe(toCsv([ROW, ['F', ...ROW.slice(1)] as any]));
  });

  test("through the handler, InferenceId is the first prediction's id and fits InvokeEndpoint's constraint", async () => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('9.5\n10.25\n') });
    const response = await handlePredict(predictEvent({ instances: [INSTANCE, { ...INSTANCE, sex: 'F' }] }), { backend: backend(), cors });
    const ids = parseBody(response).predictions.map((p: { predictionId: string }) => p.predictionId);
    const inferenceId = runtime.commandCalls(InvokeEndpointCommand)[0].args[0].input.InferenceId!;
    expect(inferenceId).toBe(ids[0]);
    // botocore's sagemaker-runtime InferenceId: 1-64 characters, pattern \A\S[\p{Print}]*\z.
    expect(inferenceId.length).toBeGreaterThanOrEqual(1);
    expect(inferenceId.length).toBeLessThanOrEqual(64);
    expect(inferenceId).toMatch(/^\S[\x20-\x7e]*$/);
    expect(new Set(ids).size).toBe(2);
  });

  test('describes the endpoint at most once per 30 s', async () => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('9.5\n') });
    const b = backend();
    await b.predict([ROW], CTX);
    clock += 29_999;
    await b.predict([ROW], CTX);
    expect(sagemaker.commandCalls(DescribeEndpointCommand)).toHaveLength(1);
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: `${namePrefixFor(ENDPOINT)}13-0123abcd` });
    clock += 1;
    expect((await b.predict([ROW], CTX)).modelVersion).toBe('13');
    expect(sagemaker.commandCalls(DescribeEndpointCommand)).toHaveLength(2);
  });

  test('no endpoint yet: unavailable, without invoking', async () => {
    sagemaker.on(DescribeEndpointCommand).rejects(missingEndpoint());
    await expect(backend().predict([ROW], CTX)).rejects.toThrow(ModelUnavailableError);
    expect(runtime.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  test.each(['Creating', 'Failed', 'Deleting', 'OutOfService'])('endpoint %s: unavailable', async (status) => {
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: status as any, EndpointConfigName: CONFIG_NAME });
    await expect(backend().predict([ROW], CTX)).rejects.toThrow(ModelUnavailableError);
  });

  test.each(['Updating', 'SystemUpdating', 'RollingBack', 'UpdateRollbackFailed'])('endpoint %s still serves its current model', async (status) => {
    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: status as any, EndpointConfigName: CONFIG_NAME });
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('7\n') });
    expect(await backend().predict([ROW], CTX)).toEqual({ rings: [7], modelVersion: '12' });
  });

  test('InvokeEndpoint "Could not find endpoint": unavailable, and the next request describes again', async () => {
    runtime.on(InvokeEndpointCommand).rejects(new ValidationError({ message: `Could not find endpoint "${ENDPOINT}".`, $metadata: {} }));
    const b = backend();
    await expect(b.predict([ROW], CTX)).rejects.toThrow(ModelUnavailableError);
    await expect(b.predict([ROW], CTX)).rejects.toThrow(ModelUnavailableError);
    expect(sagemaker.commandCalls(DescribeEndpointCommand)).toHaveLength(2);
  });

  test('ModelNotReadyException: unavailable', async () => {
    runtime.on(InvokeEndpointCommand).rejects(new ModelNotReadyException({ message: 'not ready', $metadata: {} }));
    await expect(backend().predict([ROW], CTX)).rejects.toThrow(ModelUnavailableError);
  });

  test.each([
    ['ModelError', new ModelError({ message: 'Received server error (500) from primary', $metadata: {} })],
    ['ServiceUnavailable', new ServiceUnavailable({ message: 'busy', $metadata: {} })],
    ['another ValidationError', new ValidationError({ message: 'Input is invalid', $metadata: {} })],
  ])('%s: model failure', async (_name, error) => {
    runtime.on(InvokeEndpointCommand).rejects(error);
    await expect(backend().predict([ROW], CTX)).rejects.toThrow(ModelFailureError);
  });

  test.each(['', 'body', '9.5\n10\n', '{"error": true}'])('answer %j for one row: model failure', async (text) => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body(text) });
    await expect(backend().predict([ROW], CTX)).rejects.toThrow(ModelFailureError);
  });

  test('a failing DescribeEndpoint does not stop predictions: the last known version is kept', async () => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('9\n') });
    const logs: unknown[] = [];
    const b = backend({ log: (m, d) => logs.push([m, d]) });
    expect((await b.predict([ROW], CTX)).modelVersion).toBe('12');
    sagemaker.on(DescribeEndpointCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    clock += 60_000;
    expect((await b.predict([ROW], CTX)).modelVersion).toBe('12');
    expect(logs).toEqual([['DescribeEndpoint failed', { error: 'ThrottlingException: Rate exceeded' }]]);
    expect((await backend().predict([ROW], CTX)).modelVersion).toBe('unknown');
  });

  test('isMissingEndpoint recognises both wordings and nothing else', () => {
    expect(isMissingEndpoint(missingEndpoint())).toBe(true);
    expect(isMissingEndpoint(Object.assign(new Error('Endpoint abalone of account 123456789012 not found.'), { name: 'ValidationError' }))).toBe(true);
    expect(isMissingEndpoint(Object.assign(new Error('Could not find endpoint x'), { name: 'AccessDeniedException' }))).toBe(false);
    expect(isMissingEndpoint('Could not find endpoint')).toBe(false);
  });

  test('through the handler: exact answers for 200, 503 and 502', async () => {
    runtime.on(InvokeEndpointCommand).resolves({ Body: body('9.876\n') });
    const ok = await handlePredict(predictEvent(INSTANCE), { backend: backend(), cors });
    expect(ok.statusCode).toBe(200);
    expect(parseBody(ok)).toEqual({ predictionId: expect.any(String), rings: 9.88, ageYears: 11.38, modelVersion: '12' });

    sagemaker.on(DescribeEndpointCommand).rejects(missingEndpoint());
    const unavailable = await handlePredict(predictEvent(INSTANCE), { backend: backend(), cors });
    expect(unavailable).toEqual({
      statusCode: 503,
      headers: {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Access-Control-Allow-Origin': ALLOWED_ORIGIN,
        'Access-Control-Expose-Headers': 'Retry-After',
        'Vary': 'Origin',
        'Retry-After': String(RETRY_AFTER_SECONDS),
      },
      body: JSON.stringify({ message: 'No model is deployed yet. Try again later.' }),
    });

    sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'InService', EndpointConfigName: CONFIG_NAME });
    runtime.on(InvokeEndpointCommand).rejects(new ModelError({
      message: `Received server error (500) from primary with message "boom". See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws/sagemaker/Endpoints/${ENDPOINT}`,
      $metadata: {},
    }));
    const failed = await handlePredict(predictEvent(INSTANCE), { backend: backend(), cors, log: () => undefined });
    expect(failed.statusCode).toBe(502);
    expect(failed.body).toBe(JSON.stringify({ message: 'The model failed to answer. Try again later.' }));
    expect(failed.body).not.toContain(ENDPOINT);
  });
});

describe('SageMakerBackend against moto_server over HTTP', () => {
  const moto = useMotoServer();
  const clients = () => ({
    runtime: new SageMakerRuntimeClient(moto.clientConfig()),
    sagemaker: new SageMakerClient(moto.clientConfig()),
  });
  const backend = () => new SageMakerBackend({
    endpointName: ENDPOINT,
    ...clients(),
    modelVersionOf: (name) => modelVersionFromEndpointConfigName(ENDPOINT, name),
  });

  async function createEndpoint(configName: string): Promise<void> {
    const { sagemaker } = clients();
    await sagemaker.send(new CreateModelCommand({
      ModelName: configName,
      ExecutionRoleArn: 'arn:aws:iam::123456789012:role/model',
      PrimaryContainer: { ModelPackageName: PACKAGE_ARN },
    }));
    await sagemaker.send(new CreateEndpointConfigCommand({
      EndpointConfigName: configName,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: configName, InitialInstanceCount: 2, InstanceType: 'ml.m5.large' }],
    }));
  }

  /** moto answers a canned "body" unless told what to answer next (its static results API). */
  async function queueModelAnswers(...bodies: string[]): Promise<void> {
    const response = await fetch(`${moto.endpoint}/moto-api/static/sagemaker/endpoint-results`, {
      method: 'POST',
      body: JSON.stringify({ region: 'us-east-1', results: bodies.map((Body) => ({ Body, ContentType: 'text/csv', InvokedProductionVariant: 'AllTraffic' })) }),
    });
    expect(response.status).toBe(201);
  }

  beforeEach(() => moto.reset());

  test('503 before the endpoint exists, 200 with the served version once it is in service', async () => {
    const unavailable = await handlePredict(predictEvent(INSTANCE), { backend: backend(), cors });
    expect(unavailable.statusCode).toBe(503);

    await createEndpoint(CONFIG_NAME);
    await clients().sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: CONFIG_NAME }));
    await queueModelAnswers('10.4\n8.25\n');
    const response = await handlePredict(predictEvent({ instances: [INSTANCE, { ...INSTANCE, sex: 'I' }] }), { backend: backend(), cors });
    expect(response.statusCode).toBe(200);
    expect(parseBody(response).predictions).toEqual([
      { predictionId: expect.any(String), rings: 10.4, ageYears: 11.9, modelVersion: '12' },
      { predictionId: expect.any(String), rings: 8.25, ageYears: 9.75, modelVersion: '12' },
    ]);
  });

  test("moto's default canned answer (\"body\") is not a prediction: 502", async () => {
    await createEndpoint(CONFIG_NAME);
    await clients().sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: CONFIG_NAME }));
    const response = await handlePredict(predictEvent(INSTANCE), { backend: backend(), cors, log: () => undefined });
    expect(response.statusCode).toBe(502);
  });

  test('a new deployment is picked up once the cached version expires', async () => {
    // moto has no UpdateEndpoint: replace the endpoint instead.
    const next = deploymentResourceName(namePrefixFor(ENDPOINT), PACKAGE_ARN.replace(/12$/, '13'), {});
    await createEndpoint(CONFIG_NAME);
    await createEndpoint(next);
    const { sagemaker } = clients();
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: CONFIG_NAME }));
    let clock = 0;
    const b = new SageMakerBackend({
      endpointName: ENDPOINT,
      ...clients(),
      modelVersionOf: (n) => modelVersionFromEndpointConfigName(ENDPOINT, n),
      now: () => clock,
    });
    await queueModelAnswers('11\n', '12\n', '13\n');
    expect(await b.predict([ROW], CTX)).toEqual({ rings: [11], modelVersion: '12' });

    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: ENDPOINT }));
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: next }));
    clock += 10_000;
    expect((await b.predict([['F', ...ROW.slice(1)] as any], CTX)).modelVersion).toBe('12');
    clock += 20_000;
    expect((await b.predict([['I', ...ROW.slice(1)] as any], CTX)).modelVersion).toBe('13');
  });
});
