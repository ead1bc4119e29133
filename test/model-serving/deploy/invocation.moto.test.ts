import { createPackage, endpointNow, ENDPOINT, Harness, inProcessDeployFunction, testConfig, useHarness } from './harness';
import { DeploymentState } from '../../../src/model-serving/runtime/deploy/deployment';
import { runDeployment, RunOptions, validState } from '../../../src/model-serving/runtime/deploy/invocation';
import { JobInput } from '../../../src/release-pipeline/runtime/codepipeline-job';
import { deployStep, encodeState, parseUserParameters } from '../../../src/release-pipeline/runtime/deploy-action';

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

const deployFunction = () => inProcessDeployFunction(h.clients);

function job(userParameters: string, continuationToken?: string): JobInput {
  return { jobId: 'job', userParameters, continuationToken, inputArtifacts: [] };
}

describe('the Deploy action invoking the deploy function (CodePipeline continuation tokens)', () => {
  test('starts, hands back a continuation token, then finishes with output variables', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const first = await deployStep(deployFunction(), job(arn));
    expect(first.kind).toBe('in-progress');
    if (first.kind !== 'in-progress') throw new Error('unreachable');
    expect(first.token.length).toBeLessThanOrEqual(2048);

    const second = await deployStep(deployFunction(), job(arn, first.token));
    expect(second).toEqual({
      kind: 'succeeded',
      summary: `endpoint ${ENDPOINT} serves ${arn}`,
      outputVariables: { EndpointName: ENDPOINT, ModelPackageArn: arn, EndpointConfigName: expect.stringMatching(/^abalone-endpoint-1-/) },
    });
  });

  test('UserParameters name the package and may ask for approval', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const step = await deployStep(deployFunction(), job(JSON.stringify({ modelPackageArn: arn, approve: true })));
    expect(step.kind).toBe('in-progress');
    if (step.kind !== 'in-progress') throw new Error('unreachable');
    expect(validState(testConfig(), JSON.parse(step.token)).modelPackageArn).toBe(arn);
  });

  test('a failure is reported with its reason', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const step = await deployStep(deployFunction(), job(arn));
    expect(step).toEqual({ kind: 'failed', message: expect.stringContaining('PendingManualApproval') });
  });

  test('bad UserParameters fail as configuration errors, foreign tokens as invalid input', async () => {
    expect(await deployStep(deployFunction(), job('{not json'))).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^UserParameters must be /) });
    expect(await deployStep(deployFunction(), job('[1]')))
      .toMatchObject({ kind: 'failed', message: expect.stringContaining('UserParameters must be a model package ARN or a JSON object') });
    const foreign = JSON.stringify({ v: 1, endpointName: 'other', modelPackageArn: '', endpointConfigName: '', operation: 'create', phase: 'waiting', startedAt: 1 });
    expect(await deployStep(deployFunction(), job('', foreign)))
      .toEqual({ kind: 'failed', message: `invalid input: not a deployment state of endpoint ${ENDPOINT}` });
    expect(await deployStep(deployFunction(), job('', '{cut'))).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^invalid input: /) });
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
    expect(validState(testConfig({ endpointName: long }), JSON.parse(encodeState(state)))).toEqual(state);
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
