import { createPackage, endpointNow, ENDPOINT, Harness, testConfig, useHarness } from './harness';
import { DeploymentState } from '../../../src/model-serving/runtime/deploy/deployment';
import {
  decodeState, deploymentStep, encodeState, parseUserParameters, runDeployment, RunOptions,
} from '../../../src/model-serving/runtime/deploy/invocation';

const shared = useHarness();
let h: Harness;
beforeEach(() => {
  h = shared.current;
});

function timing(remainingMs = 600_000): RunOptions & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { pollIntervalMs: 30_000, reserveMs: 30_000, remainingTimeMs: () => remainingMs, sleep: async (ms) => { sleeps.push(ms); }, sleeps };
}

describe('runDeployment (direct invocation)', () => {
  test('waits by default and answers the outcome', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const t = timing();
    const response = await runDeployment(h.clients, testConfig(), {}, t);
    expect(response).toEqual({
      status: 'SUCCEEDED',
      endpointName: ENDPOINT,
      modelPackageArn: arn,
      endpointConfigName: expect.stringMatching(/^abalone-endpoint-1-[0-9a-f]{8}$/),
      reason: `endpoint ${ENDPOINT} serves ${arn}`,
    });
    expect(t.sleeps).toEqual([30_000]);
  });

  test('wait: false answers IN_PROGRESS with a state that a later { state } invocation continues', async () => {
    await createPackage(h.raw, 'Approved');
    const first = await runDeployment(h.clients, testConfig(), { wait: false }, timing());
    expect(first.status).toBe('IN_PROGRESS');
    expect(first.state).toBeDefined();
    const second = await runDeployment(h.clients, testConfig(), { state: first.state }, timing());
    expect(second.status).toBe('SUCCEEDED');
    expect(second.state).toBeUndefined();
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(first.endpointConfigName);
  });

  test('stops polling when the invocation\'s time runs short', async () => {
    await createPackage(h.raw, 'Approved');
    const t = timing(59_000);
    const response = await runDeployment(h.clients, testConfig(), {}, t);
    expect(response.status).toBe('IN_PROGRESS');
    expect(t.sleeps).toEqual([]);
  });

  test('a failure answers the reason', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const response = await runDeployment(h.clients, testConfig(), { modelPackageArn: arn }, timing());
    expect(response).toMatchObject({ status: 'FAILED', modelPackageArn: arn, endpointConfigName: '', reason: expect.stringContaining('PendingManualApproval') });
  });

  test('a state of another endpoint is refused', async () => {
    const state = { v: 1, endpointName: 'other', modelPackageArn: '', endpointConfigName: '', operation: 'create', phase: 'waiting', startedAt: 1 } as DeploymentState;
    await expect(runDeployment(h.clients, testConfig(), { state }, timing())).rejects.toThrow(`not a deployment state of endpoint ${ENDPOINT}`);
  });
});

describe('deploymentStep (CodePipeline continuation tokens)', () => {
  test('starts, hands back a continuation token, then finishes with output variables', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const first = await deploymentStep(h.clients, testConfig(), { userParameters: '' });
    expect(first.status).toBe('IN_PROGRESS');
    expect(first.outputVariables).toBeUndefined();
    expect(first.continuationToken!.length).toBeLessThanOrEqual(2048);

    const second = await deploymentStep(h.clients, testConfig(), { continuationToken: first.continuationToken });
    expect(second).toEqual({
      status: 'SUCCEEDED',
      summary: `endpoint ${ENDPOINT} serves ${arn}`,
      outputVariables: { EndpointName: ENDPOINT, ModelPackageArn: arn, EndpointConfigName: expect.stringMatching(/^abalone-endpoint-1-/) },
    });
    expect(second.continuationToken).toBeUndefined();
  });

  test('UserParameters may name the package and ask for approval', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const step = await deploymentStep(h.clients, testConfig(), { userParameters: JSON.stringify({ modelPackageArn: arn, approve: true }) });
    expect(step.status).toBe('IN_PROGRESS');
    expect(decodeState(testConfig(), step.continuationToken!).modelPackageArn).toBe(arn);
  });

  test('a failure is reported with its reason', async () => {
    const step = await deploymentStep(h.clients, testConfig(), {});
    expect(step).toEqual({ status: 'FAILED', summary: 'model package group AbaloneModelPackageGroup has no Approved package; approve one or deploy with approve: true' });
  });

  test('bad UserParameters and foreign tokens fail as invalid input', async () => {
    expect(await deploymentStep(h.clients, testConfig(), { userParameters: '{not json' })).toMatchObject({ status: 'FAILED', summary: expect.stringMatching(/^invalid input: /) });
    expect(await deploymentStep(h.clients, testConfig(), { userParameters: '[1]' })).toMatchObject({ status: 'FAILED', summary: 'invalid input: UserParameters must be a model package ARN or a JSON object' });
    const foreign = JSON.stringify({ v: 1, endpointName: 'other', modelPackageArn: '', endpointConfigName: '', operation: 'create', phase: 'waiting', startedAt: 1 });
    expect(await deploymentStep(h.clients, testConfig(), { continuationToken: foreign })).toMatchObject({ status: 'FAILED', summary: `invalid input: not a deployment state of endpoint ${ENDPOINT}` });
  });
});

describe('state and parameters', () => {
  test('the largest realistic state fits a continuation token', () => {
    const long = 'a'.repeat(63);
    const state: DeploymentState = {
      v: 1,
      endpointName: long,
      modelPackageArn: `arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/${long}/999999`,
      endpointConfigName: long,
      previousConfigName: long,
      operation: 'update',
      phase: 'waiting',
      scalingSuspended: true,
      startedAt: Date.now(),
    };
    expect(encodeState(state).length).toBeLessThan(700);
    expect(decodeState(testConfig({ endpointName: long }), encodeState(state))).toEqual(state);
  });

  test.each([
    [undefined, {}],
    ['  ', {}],
    ['arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3', { modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3' }],
    ['{"approve":true}', { approve: true, modelPackageArn: undefined }],
  ])('UserParameters %p', (input, expected) => {
    expect(parseUserParameters(input)).toEqual(expected);
  });
});
