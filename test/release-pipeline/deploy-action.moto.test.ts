/**
 * The Deploy action: ModelServing's deploy logic driven by continuation tokens. SageMaker and Application Auto
 * Scaling calls go to moto_server through the endpoint deployment's own test harness (which simulates the
 * UpdateEndpoint moto lacks); CodePipeline's job API goes through aws-sdk-client-mock.
 */
import { DescribeModelPackageCommand, DescribeEndpointConfigCommand } from '@aws-sdk/client-sagemaker';
import { fakeCodePipeline, FakeCodePipeline, jobEvent } from './jobs';
import { runJob } from '../../src/release-pipeline/runtime/codepipeline-job';
import { deployStep } from '../../src/release-pipeline/runtime/deploy-action';
import { createGroup, createPackage, endpointNow, ENDPOINT, harness, Harness, inProcessDeployFunction } from '../model-serving/deploy/harness';
import { useMotoServer } from '../support/moto-server';

const moto = useMotoServer();
let h: Harness;
let cp: FakeCodePipeline;

beforeEach(async () => {
  await moto.reset();
  h = harness(moto);
  cp = fakeCodePipeline();
  await createGroup(h.raw);
});
afterEach(() => {
  h.restore();
  cp.restore();
});

const params = (modelPackageArn: string) => JSON.stringify({ modelPackageArn, approve: true });

const deployFunction = () => inProcessDeployFunction(h.clients);

async function invoke(userParameters: string, continuationToken?: string) {
  return runJob(jobEvent({ userParameters, continuationToken }), cp.client, (input) => deployStep(deployFunction(), input));
}

function lastToken(): string {
  const token = cp.lastReply().success?.continuationToken;
  if (!token) throw new Error(`the last reply has no continuation token: ${JSON.stringify(cp.lastReply())}`);
  return token;
}

describe('Deploy action', () => {
  test('deploys exactly the approved package, not the newest Approved one, over continuation tokens', async () => {
    await createPackage(h.raw, 'Approved');
    const approvedByPerson = await createPackage(h.raw, 'PendingManualApproval');
    await createPackage(h.raw, 'Approved');

    await invoke(params(approvedByPerson));
    const first = cp.lastReply().success!;
    expect(first.continuationToken).toBeDefined();
    expect(first.outputVariables).toBeUndefined();
    const pkg = await h.raw.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: approvedByPerson }));
    expect(pkg.ModelApprovalStatus).toBe('Approved');

    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Creating' };
    await invoke(params(approvedByPerson), lastToken());
    expect(cp.lastReply().success!.executionDetails!.summary).toBe(`endpoint ${ENDPOINT} is Creating`);

    h.describeOverride = undefined;
    await invoke(params(approvedByPerson), lastToken());
    const done = cp.lastReply().success!;
    expect(done.continuationToken).toBeUndefined();
    expect(done.outputVariables).toEqual({
      EndpointName: ENDPOINT,
      ModelPackageArn: approvedByPerson,
      EndpointConfigName: expect.any(String),
    });
    const endpoint = await endpointNow(h.raw);
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: done.outputVariables!.EndpointConfigName });
    const endpointConfig = await h.raw.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
    expect(endpointConfig.ProductionVariants![0].ModelName).toBe(done.outputVariables!.EndpointConfigName);
  });

  test('a rolled-back update fails the action with SageMaker\'s reason, and the old model keeps serving', async () => {
    const serving = await createPackage(h.raw, 'Approved');
    await invoke(params(serving));
    await invoke(params(serving), lastToken());
    const servingConfig = cp.lastReply().success!.outputVariables!.EndpointConfigName;

    const candidate = await createPackage(h.raw, 'PendingManualApproval');
    h.onUpdate = async () => undefined;
    h.describeOverride = (real) => real && { ...real, FailureReason: 'Alarm endpoint-5xx went into ALARM during the baking period.' };
    await invoke(params(candidate));
    await invoke(params(candidate), lastToken());
    expect(cp.lastReply().failure!.failureDetails).toEqual({
      type: 'JobFailed',
      message: `deployment of ${candidate} to ${ENDPOINT} did not complete; the endpoint still serves ${servingConfig}: Alarm endpoint-5xx went into ALARM during the baking period.`,
    });
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(servingConfig);
  });

  test.each([
    ['no package', ''],
    ['an unresolved variable', params('#{Train.ModelPackageArn}')],
    ['JSON without the package', JSON.stringify({ approve: true })],
  ])('refuses %s as a configuration error, touching nothing', async (_, userParameters) => {
    await createPackage(h.raw, 'Approved');
    await invoke(userParameters);
    expect(cp.lastReply().failure!.failureDetails).toEqual({
      type: 'ConfigurationError',
      message: 'UserParameters.modelPackageArn must be the model package the Train action registered (#{Train.ModelPackageArn}).',
    });
    expect(h.sagemakerMock.calls()).toHaveLength(0);
  });

  test('fails on a package of another group', async () => {
    await createGroup(h.raw, 'OtherGroup');
    const other = await createPackage(h.raw, 'Approved', 'OtherGroup');
    await invoke(params(other));
    expect(cp.lastReply().failure!.failureDetails!.message).toBe(`model package ${other} belongs to group othergroup; this endpoint deploys from AbaloneModelPackageGroup`);
  });

  test('fails on UserParameters that are not JSON', async () => {
    await invoke('{not json');
    expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringMatching(/^UserParameters must be/) });
  });
});
