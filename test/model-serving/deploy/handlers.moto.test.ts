import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent, Context } from 'aws-lambda';
import { createGroup, createPackage, endpointNow, ENDPOINT, harness, Harness, modelNames, scalableTarget, testConfig } from './harness';
import { DEPLOY_CONFIG_ENV } from '../../../src/contracts/endpoint-deploy-config';
import { namePrefixFor } from '../../../src/contracts/endpoint-names';
import * as cleanupComplete from '../../../src/model-serving/runtime/deploy/cleanup-complete.lambda';
import * as cleanup from '../../../src/model-serving/runtime/deploy/cleanup.lambda';
import * as deploy from '../../../src/model-serving/runtime/deploy/deploy.lambda';
import { MOTO_CREDENTIALS, MOTO_REGION, useMotoServer } from '../../support/moto-server';

// The handlers build their clients from the environment, as in Lambda: point that environment at moto.

const moto = useMotoServer();
const saved = { ...process.env };
let h: Harness;

// The clients the handlers make when loaded read their settings at the first call, after this.
beforeAll(() => {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    [DEPLOY_CONFIG_ENV]: JSON.stringify(testConfig()),
  });
  delete process.env.AWS_PROFILE;
});
afterAll(() => {
  process.env = saved;
});
beforeEach(async () => {
  await moto.reset();
  h = harness(moto);
  await createGroup(h.raw);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  h.restore();
  jest.restoreAllMocks();
});

const context = { getRemainingTimeInMillis: () => 900_000 } as Context;
const properties = { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider', EndpointName: ENDPOINT, NamePrefix: namePrefixFor(ENDPOINT) };

describe('deploy.lambda', () => {
  test('starts with wait: false, then finishes when invoked with the state', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const started = await deploy.handler({ wait: false }, context);
    expect(started).toMatchObject({ status: 'IN_PROGRESS', endpointName: ENDPOINT, modelPackageArn: arn });
    const finished = await deploy.handler({ state: started.state }, context);
    expect(finished).toMatchObject({ status: 'SUCCEEDED', endpointConfigName: started.endpointConfigName });
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(started.endpointConfigName);
    expect(await scalableTarget(h.raw)).toBeDefined();
    expect(console.log).toHaveBeenLastCalledWith(expect.stringContaining('"status":"SUCCEEDED"'));
  });

  test('without configuration it fails loudly', async () => {
    const config = process.env[DEPLOY_CONFIG_ENV];
    delete process.env[DEPLOY_CONFIG_ENV];
    try {
      await expect(deploy.handler({}, context)).rejects.toThrow(`${DEPLOY_CONFIG_ENV} is not set`);
    } finally {
      process.env[DEPLOY_CONFIG_ENV] = config;
    }
  });
});

describe('clean-up custom resource handlers', () => {
  test('Create and Update answer the endpoint name and change nothing', async () => {
    for (const RequestType of ['Create', 'Update'] as const) {
      const event = { RequestType, ResourceProperties: properties, PhysicalResourceId: 'old' } as unknown as CdkCustomResourceEvent;
      expect(await cleanup.handler(event)).toEqual({ PhysicalResourceId: ENDPOINT, Data: { EndpointName: ENDPOINT } });
      const complete = { ...event } as unknown as CdkCustomResourceIsCompleteEvent;
      expect(await cleanupComplete.handler(complete)).toEqual({ IsComplete: true });
    }
  });

  test('Delete removes the deployed endpoint with its configs, models and scalable target', async () => {
    await createPackage(h.raw, 'Approved');
    const started = await deploy.handler({ wait: false }, context);
    await deploy.handler({ state: started.state }, context);

    const event = { RequestType: 'Delete', ResourceProperties: properties, PhysicalResourceId: ENDPOINT };
    expect(await cleanup.handler(event as unknown as CdkCustomResourceEvent)).toEqual({ PhysicalResourceId: ENDPOINT });
    expect(await cleanupComplete.handler(event as unknown as CdkCustomResourceIsCompleteEvent)).toEqual({ IsComplete: true });
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
    expect(await modelNames(h.raw)).toEqual([]);
    expect(await scalableTarget(h.raw)).toBeUndefined();
  });

  test.each([
    [{ EndpointName: 'Upper-Case', NamePrefix: 'upper-case-' }, /EndpointName must be/],
    [{ EndpointName: ENDPOINT }, /NamePrefix must be/],
    [{ EndpointName: ENDPOINT, NamePrefix: '*' }, /NamePrefix must be/],
  ])('refuses properties %p', async (props, message) => {
    const event = { RequestType: 'Delete', ResourceProperties: { ServiceToken: 'x', ...props }, PhysicalResourceId: ENDPOINT };
    await expect(cleanupComplete.handler(event as unknown as CdkCustomResourceIsCompleteEvent)).rejects.toThrow(message);
  });
});
