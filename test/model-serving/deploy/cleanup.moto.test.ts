/**
 * The endpoint clean-up on stack delete, in the states only a real account shows. moto 5.2.1 has no UpdateEndpoint and
 * never reports a busy endpoint, so SageMaker's answers are simulated on top of it (as in rollback.moto.test.ts):
 * DescribeEndpoint reports Updating / Creating / Deleting, and DeleteEndpoint is refused with SageMaker's
 * "Cannot update in-progress endpoint" while an update runs (SageMaker has no API that stops an update).
 */
import { CreateEndpointCommand, DeleteEndpointCommand, DeleteEndpointCommandInput, DescribeEndpointCommandOutput } from '@aws-sdk/client-sagemaker';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import {
  createPackage,
  deployToEnd,
  endpointConfigNames,
  endpointNow,
  ENDPOINT,
  Harness,
  modelNames,
  scalableTarget,
  testConfig,
  useHarness,
} from './harness';
import { namePrefixFor } from '../../../src/contracts/endpoint-names';
import { teardownStep, TeardownProgress } from '../../../src/model-serving/runtime/deploy/cleanup';
import * as cleanupEvent from '../../../src/model-serving/runtime/deploy/cleanup.lambda';
import { startDeployment } from '../../../src/model-serving/runtime/deploy/deployment';

const shared = useHarness();
let h: Harness;
beforeEach(() => {
  h = shared.current;
});

const PREFIX = namePrefixFor(ENDPOINT);
const IN_PROGRESS = () => Object.assign(
  new Error(`Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/${ENDPOINT}".`),
  { name: 'ValidationException' },
);

/** One run of the Provider's waiter: `polls` isComplete steps, or fewer if one completes (then the run succeeds). */
async function providerRun(polls: number): Promise<TeardownProgress[]> {
  const seen: TeardownProgress[] = [];
  for (let i = 0; i < polls; i++) {
    const progress = await teardownStep(h.clients, ENDPOINT, PREFIX);
    seen.push(progress);
    if (progress.complete) break;
  }
  return seen;
}

/** DeleteEndpoint as SageMaker answers it: refused while `busy()` says an operation runs, else passed to moto. */
function simulateDeleteEndpoint(
  busy: () => boolean,
  onAccepted?: (input: DeleteEndpointCommandInput) => Promise<void>,
): DeleteEndpointCommandInput[] {
  const calls: DeleteEndpointCommandInput[] = [];
  h.sagemakerMock.on(DeleteEndpointCommand).callsFake(async (input: DeleteEndpointCommandInput) => {
    calls.push(input);
    if (busy()) throw IN_PROGRESS();
    if (onAccepted) await onAccepted(input);
    else await h.raw.sagemaker.send(new DeleteEndpointCommand(input));
    return {};
  });
  return calls;
}

const updating = (config: string) => (real: DescribeEndpointCommandOutput | undefined) => real && {
  ...real,
  EndpointStatus: 'Updating' as const,
  PendingDeploymentSummary: { EndpointConfigName: config, StartTime: new Date() },
};

describe('stack delete during a blue/green update', () => {
  test('waits while the update runs (without calling DeleteEndpoint), then deletes everything once it ends', async () => {
    await createPackage(h.raw, 'Approved');
    const first = await deployToEnd(h);
    await createPackage(h.raw, 'Approved');
    h.onUpdate = async () => undefined; // the update is accepted and runs on
    const update = await startDeployment(h.clients, testConfig(), {});
    expect(update).toMatchObject({ status: 'IN_PROGRESS', state: { operation: 'update' } });
    let inFlight = true;
    h.describeOverride = (real) => (inFlight ? updating(update.state.endpointConfigName)(real) : real);
    const deletes = simulateDeleteEndpoint(() => inFlight);

    // The stack delete arrives: every poll waits, and leaves the serving endpoint and its scaling alone.
    const waiting = await providerRun(4);
    expect(waiting).toEqual(Array(4).fill({ complete: false, message: `endpoint ${ENDPOINT} is Updating; waiting` }));
    expect(deletes).toEqual([]);
    expect(await scalableTarget(h.raw)).toBeDefined();
    expect(await modelNames(h.raw)).toEqual([first.state.endpointConfigName, update.state.endpointConfigName].sort());

    // The update ends (here: it switched to the new config) and the next poll deletes the lot.
    inFlight = false;
    await h.raw.sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: update.state.endpointConfigName }));
    const done = await providerRun(3);
    expect(done).toHaveLength(1);
    expect(done[0].complete).toBe(true);
    expect(deletes).toEqual([{ EndpointName: ENDPOINT }]);
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
    expect(await scalableTarget(h.raw)).toBeUndefined();
    expect(await modelNames(h.raw)).toEqual([]);
    expect(await endpointConfigNames(h.raw)).toEqual([]);
  });

  test('an update that starts between DescribeEndpoint and DeleteEndpoint is waited for like any other', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd(h);
    let refusals = 1;
    const deletes = simulateDeleteEndpoint(() => refusals-- > 0);
    expect(await teardownStep(h.clients, ENDPOINT, PREFIX)).toEqual({
      complete: false,
      message: `endpoint ${ENDPOINT} has an operation in progress; waiting`,
    });
    expect((await endpointNow(h.raw)).EndpointStatus).toBe('InService');
    expect((await teardownStep(h.clients, ENDPOINT, PREFIX)).complete).toBe(true);
    expect(deletes).toHaveLength(2);
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
  });

  test('any other DeleteEndpoint error is retried on the next poll, not thrown', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd(h);
    h.sagemakerMock.on(DeleteEndpointCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(await teardownStep(h.clients, ENDPOINT, PREFIX)).toEqual({
      complete: false,
      message: `deleting endpoint ${ENDPOINT}: ThrottlingException: Rate exceeded; retrying`,
    });
  });
});

describe('a stack delete retried after the clean-up timed out', () => {
  test('a create stuck in Creating outlasts the first delete; the retried delete removes it once SageMaker lets go', async () => {
    await createPackage(h.raw, 'Approved');
    const created = await startDeployment(h.clients, testConfig(), {});
    expect(created.state.operation).toBe('create');
    let status: 'Creating' | 'Failed' = 'Creating';
    h.describeOverride = (real) => real && { ...real, EndpointStatus: status, FailureReason: status === 'Failed' ? 'Request to service failed.' : undefined };
    const deletes = simulateDeleteEndpoint(() => status === 'Creating');

    // First stack delete: the Provider polls until its timeout (here: a few polls) and reports FAILED.
    const first = await providerRun(5);
    expect(first.every((p) => !p.complete && p.message === `endpoint ${ENDPOINT} is Creating; waiting`)).toBe(true);
    expect(deletes).toEqual([]);
    // Nothing was half-deleted: the endpoint still has its config and model.
    expect(await endpointConfigNames(h.raw)).toEqual([created.state.endpointConfigName]);

    // SageMaker fails the create in the end. The user deletes the stack again: CloudFormation sends a new Delete, which
    // onEvent answers at once (the work is in isComplete, which reads where SageMaker stands, not a saved state).
    status = 'Failed';
    const event = { RequestType: 'Delete', PhysicalResourceId: ENDPOINT, ResourceProperties: { ServiceToken: 'x', EndpointName: ENDPOINT, NamePrefix: PREFIX } };
    expect(await cleanupEvent.handler(event as unknown as CdkCustomResourceEvent)).toEqual({ PhysicalResourceId: ENDPOINT });
    const retried = await providerRun(5);
    expect(retried.at(-1)!.complete).toBe(true);
    expect(deletes).toEqual([{ EndpointName: ENDPOINT }]);
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
    expect(await modelNames(h.raw)).toEqual([]);
    expect(await endpointConfigNames(h.raw)).toEqual([]);

    // And once more (a third attempt, or CloudFormation retrying): nothing left, still a success.
    expect(await teardownStep(h.clients, ENDPOINT, PREFIX)).toEqual({ complete: true, message: `endpoint ${ENDPOINT} deleted` });
    expect(deletes).toHaveLength(1);
  });

  test('a timeout while SageMaker was still deleting resumes with the configs and models, without deleting twice', async () => {
    await createPackage(h.raw, 'Approved');
    const deployed = await deployToEnd(h);
    let deleting = false;
    let gone = false;
    h.describeOverride = (real) => (gone ? undefined : deleting ? real && { ...real, EndpointStatus: 'Deleting' as const } : real);
    const deletes = simulateDeleteEndpoint(() => false, async () => {
      deleting = true; // accepted; SageMaker deletes in the background
    });

    const first = await providerRun(4);
    expect(first.map((p) => p.message)).toEqual([
      `endpoint ${ENDPOINT} is being deleted`,
      `endpoint ${ENDPOINT} is Deleting; waiting`,
      `endpoint ${ENDPOINT} is Deleting; waiting`,
      `endpoint ${ENDPOINT} is Deleting; waiting`,
    ]);
    // The endpoint's config is not deleted while the endpoint may still use it.
    expect(await endpointConfigNames(h.raw)).toEqual([deployed.state.endpointConfigName]);

    // SageMaker finishes after the first delete gave up; the retried delete completes the clean-up.
    await h.raw.sagemaker.send(new DeleteEndpointCommand({ EndpointName: ENDPOINT }));
    gone = true;
    const retried = await providerRun(3);
    expect(retried).toEqual([{
      complete: true,
      message: `endpoint ${ENDPOINT} deleted; deleted endpoint-config/${deployed.state.endpointConfigName}, model/${deployed.state.endpointConfigName}`,
    }]);
    expect(deletes).toHaveLength(1);
    expect(await modelNames(h.raw)).toEqual([]);
  });
});
