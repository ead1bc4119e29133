import { CreateEndpointCommand, DescribeEndpointConfigCommand, UpdateEndpointCommand } from '@aws-sdk/client-sagemaker';
import {
  createPackage,
  deployToEnd as deployToEndWith,
  endpointConfigNames,
  endpointNow,
  ENDPOINT,
  Harness,
  useHarness,
  modelNames,
  scalableTarget,
  testConfig,
} from './harness';
import { checkDeployment, DeploymentRequest, DeploymentResult, startDeployment } from '../../../src/model-serving/runtime/deploy/deployment';

// moto 5.2.1 has no UpdateEndpoint: the harness simulates it, and these tests make SageMaker's answers
// (rollback, failure, busy statuses) appear through DescribeEndpoint while the rest runs against moto.

const shared = useHarness();
let h: Harness;
beforeEach(() => {
  h = shared.current;
});

const deployToEnd = (config = testConfig(), request: DeploymentRequest = {}): Promise<DeploymentResult> => deployToEndWith(h, config, request);

const ROLLBACK_REASON = 'Alarm endpoint-5xx went into ALARM during the baking period; rolled back to the previous endpoint configuration.';

describe('a rolled-back update (InService with the old config and a FailureReason)', () => {
  test('is a failure with SageMaker\'s reason; the old config keeps serving and the unused new one is deleted', async () => {
    await createPackage(h.raw, 'Approved');
    const first = await deployToEnd();
    const second = await createPackage(h.raw, 'Approved');

    h.onUpdate = async () => undefined; // SageMaker rolls back: the endpoint never switches
    h.describeOverride = (real) => real && { ...real, FailureReason: ROLLBACK_REASON };
    const started = await startDeployment(h.clients, testConfig(), {});
    expect(started.status).toBe('IN_PROGRESS');
    const result = await checkDeployment(h.clients, testConfig(), started.state);

    expect(result.status).toBe('FAILED');
    expect(result.reason).toBe(`deployment of ${second} to ${ENDPOINT} did not complete; the endpoint still serves ${first.state.endpointConfigName}: ${ROLLBACK_REASON}`);
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(first.state.endpointConfigName);
    expect(await modelNames(h.raw)).toEqual([first.state.endpointConfigName]);
    expect(await endpointConfigNames(h.raw)).toEqual([first.state.endpointConfigName]);
    expect(await scalableTarget(h.raw)).toMatchObject({ MinCapacity: 2, MaxCapacity: 4 });
  });

  test('restores auto-scaling that was removed for an instance type change', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    h.onUpdate = async () => undefined;
    const started = await startDeployment(h.clients, testConfig({ instanceType: 'ml.c5.xlarge' }), {});
    expect(started.state.scalingSuspended).toBe(true);
    expect(await scalableTarget(h.raw)).toBeUndefined();
    const result = await checkDeployment(h.clients, testConfig({ instanceType: 'ml.c5.xlarge' }), started.state);
    expect(result.status).toBe('FAILED');
    expect(result.reason).toMatch(/SageMaker gave no FailureReason$/);
    expect(await scalableTarget(h.raw)).toMatchObject({ MinCapacity: 2, MaxCapacity: 4 });
  });

  test('an UpdateEndpoint that SageMaker rejects fails at once and restores auto-scaling', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    h.onUpdate = async () => {
      throw Object.assign(new Error('The alarm endpoint-5xx does not exist.'), { name: 'ValidationException' });
    };
    const result = await startDeployment(h.clients, testConfig({ instanceType: 'ml.c5.xlarge' }), {});
    expect(result.status).toBe('FAILED');
    expect(result.reason).toBe(`UpdateEndpoint ${ENDPOINT} failed: ValidationException: The alarm endpoint-5xx does not exist.`);
    expect(await scalableTarget(h.raw)).toBeDefined();
  });

  test('UpdateRollbackFailed is a failure that says both fleets may serve', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    h.onUpdate = async () => undefined;
    const started = await startDeployment(h.clients, testConfig(), {});
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'UpdateRollbackFailed', FailureReason: 'Rollback failed.' };
    const result = await checkDeployment(h.clients, testConfig(), started.state);
    expect(result).toMatchObject({ status: 'FAILED', reason: `update of ${ENDPOINT} failed and so did its rollback (old and new fleets may both serve): Rollback failed.` });
  });
});

describe('endpoint creation', () => {
  test('a create that ends Failed is a failure with SageMaker\'s reason', async () => {
    await createPackage(h.raw, 'Approved');
    const started = await startDeployment(h.clients, testConfig(), {});
    const reason = 'Please make sure all images included in the model for the production variant AllTraffic exist, and that the execution role used to create the model has permissions to access them.';
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Failed', FailureReason: reason };
    const result = await checkDeployment(h.clients, testConfig(), started.state);
    expect(result).toMatchObject({ status: 'FAILED', reason: `endpoint ${ENDPOINT} is Failed: ${reason}` });
  });

  test('a Failed endpoint is deleted and created again with the new config', async () => {
    await createPackage(h.raw, 'Approved');
    await startDeployment(h.clients, testConfig(), {});
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Failed', FailureReason: 'bad image' };
    await createPackage(h.raw, 'Approved');

    const started = await startDeployment(h.clients, testConfig(), {});
    expect(started.state).toMatchObject({ operation: 'recreate', phase: 'deleting' });
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
    h.describeOverride = undefined;

    const created = await checkDeployment(h.clients, testConfig(), started.state);
    expect(created).toMatchObject({ status: 'IN_PROGRESS', state: { phase: 'waiting' } });
    const createdWith = h.sagemakerMock.commandCalls(CreateEndpointCommand).map((c) => c.args[0].input.EndpointConfigName);
    expect(createdWith).toContain(started.state.endpointConfigName);
    const done = await checkDeployment(h.clients, testConfig(), created.state);
    expect(done.status).toBe('SUCCEEDED');
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(started.state.endpointConfigName);
  });

  test('while the endpoint is still Creating the deployment is in progress', async () => {
    await createPackage(h.raw, 'Approved');
    const started = await startDeployment(h.clients, testConfig(), {});
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Creating' };
    expect(await checkDeployment(h.clients, testConfig(), started.state)).toMatchObject({ status: 'IN_PROGRESS', reason: `endpoint ${ENDPOINT} is Creating` });
    expect(await scalableTarget(h.raw)).toBeUndefined();
  });

  test('an endpoint deleted during the deployment is a failure', async () => {
    await createPackage(h.raw, 'Approved');
    const started = await startDeployment(h.clients, testConfig(), {});
    h.describeOverride = () => undefined;
    expect(await checkDeployment(h.clients, testConfig(), started.state)).toMatchObject({ status: 'FAILED', reason: `endpoint ${ENDPOINT} no longer exists` });
  });
});

describe('concurrent operations', () => {
  test('an endpoint busy with another update refuses a new deployment', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: 'abalone-endpoint-1-ffffffff', StartTime: new Date() } };
    const result = await startDeployment(h.clients, testConfig(), {});
    expect(result).toMatchObject({
      status: 'FAILED',
      reason: `endpoint ${ENDPOINT} is Updating; another deployment or operation is in progress, try again when it is InService`,
    });
    expect(h.updates).toEqual([]);
  });

  test('a retry that lost its state follows the same update already under way', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    h.onUpdate = async () => undefined;
    const lost = await startDeployment(h.clients, testConfig(), {});
    const name = lost.state.endpointConfigName;
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Updating', PendingDeploymentSummary: { EndpointConfigName: name, StartTime: new Date() } };

    const resumed = await startDeployment(h.clients, testConfig(), {});
    expect(resumed).toMatchObject({ status: 'IN_PROGRESS', state: { operation: 'update', phase: 'waiting', endpointConfigName: name } });
    expect(h.sagemakerMock.commandCalls(UpdateEndpointCommand)).toHaveLength(1);

    h.describeOverride = undefined;
    await h.raw.sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: name }));
    expect((await checkDeployment(h.clients, testConfig(), resumed.state)).status).toBe('SUCCEEDED');
  });

  test('checking a finished deployment again is refused', async () => {
    await createPackage(h.raw, 'Approved');
    const done = await deployToEnd();
    expect(await checkDeployment(h.clients, testConfig(), done.state)).toMatchObject({ status: 'FAILED', reason: 'the deployment has already finished; start a new one' });
  });

  test('an endpoint config of unknown origin is treated as a different instance type', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    h.sagemakerMock.on(DescribeEndpointConfigCommand).rejectsOnce(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    h.onUpdate = async () => undefined;
    const started = await startDeployment(h.clients, testConfig(), {});
    expect(started.state.scalingSuspended).toBe(true);
  });
});
