import { RegisterScalableTargetCommand } from '@aws-sdk/client-application-auto-scaling';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import {
  createGroup,
  createPackage,
  deployToEnd as deployToEndWith,
  endpointConfigNames,
  endpointNow,
  ENDPOINT,
  Harness,
  useHarness,
  modelNames,
  scalableTarget,
  scalingPolicies,
  testConfig,
} from './harness';
import { isOwnedName, namePrefixFor, scalableResourceId } from '../../../src/contracts/endpoint-names';
import { teardownStep } from '../../../src/model-serving/runtime/deploy/cleanup';
import { checkDeployment, DeploymentRequest, DeploymentResult, startDeployment } from '../../../src/model-serving/runtime/deploy/deployment';

const shared = useHarness();
let h: Harness;
beforeEach(() => {
  h = shared.current;
});

/** Completes each simulated update, noting the scalable target as it was while the update ran. */
function recordScalingDuringUpdate(): unknown[] {
  const seen: unknown[] = [];
  h.onUpdate = async (input) => {
    seen.push(await scalableTarget(h.raw));
    await h.raw.sagemaker.send(new CreateEndpointCommand({ EndpointName: input.EndpointName, EndpointConfigName: input.EndpointConfigName }));
  };
  return seen;
}

const deployToEnd = (config = testConfig(), request: DeploymentRequest = {}): Promise<DeploymentResult> => deployToEndWith(h, config, request);

describe('first deployment', () => {
  test('creates the model from the newest Approved package, the endpoint config and the endpoint, then registers auto-scaling', async () => {
    await createPackage(h.raw, 'Approved');
    const newest = await createPackage(h.raw, 'Approved');
    await createPackage(h.raw, 'PendingManualApproval');

    const started = await startDeployment(h.clients, testConfig(), {});
    expect(started.status).toBe('IN_PROGRESS');
    expect(started.state).toMatchObject({ operation: 'create', phase: 'waiting', modelPackageArn: newest, endpointName: ENDPOINT });
    const name = started.state.endpointConfigName;
    expect(isOwnedName(namePrefixFor(ENDPOINT), name)).toBe(true);
    expect(name).toMatch(/^abalone-endpoint-2-[0-9a-f]{8}$/);

    const model = await h.raw.sagemaker.send(new DescribeModelCommand({ ModelName: name }));
    expect(model.Containers).toEqual([{ ModelPackageName: newest }]);
    expect(model.ExecutionRoleArn).toBe('arn:aws:iam::123456789012:role/model-role');
    const endpointConfig = await h.raw.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
    expect(endpointConfig.ProductionVariants).toEqual([
      expect.objectContaining({ VariantName: 'AllTraffic', ModelName: name, InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }),
    ]);

    const checked = await checkDeployment(h.clients, testConfig(), started.state);
    expect(checked.status).toBe('SUCCEEDED');
    expect(checked.reason).toContain(newest);
    expect((await endpointNow(h.raw)).EndpointConfigName).toBe(name);
    expect(await scalableTarget(h.raw)).toMatchObject({ MinCapacity: 2, MaxCapacity: 4, ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' });
    expect(await scalingPolicies(h.raw)).toEqual([expect.objectContaining({
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: expect.objectContaining({
        TargetValue: 70,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      }),
    })]);
    expect(h.updates).toEqual([]);
  });

  test('tags what it creates with the endpoint and the model package', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    await deployToEnd();
    const tagged = h.sagemakerMock.commandCalls(CreateModelCommand)[0].args[0].input.Tags;
    expect(tagged).toEqual([
      { Key: 'cdk-mlops-abalone:endpoint', Value: ENDPOINT },
      { Key: 'cdk-mlops-abalone:model-package', Value: arn },
    ]);
  });

  test('writes the volume key and data capture into the endpoint config', async () => {
    await createPackage(h.raw, 'Approved');
    const config = testConfig({
      volumeKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
      dataCapture: { destinationS3Uri: 's3://artifacts/data-capture', samplingPercentage: 25, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' },
    });
    const result = await deployToEnd(config);
    expect(result.status).toBe('SUCCEEDED');
    const input = h.sagemakerMock.commandCalls(CreateEndpointConfigCommand)[0].args[0].input;
    expect(input.KmsKeyId).toBe('arn:aws:kms:us-east-1:123456789012:key/k');
    // The exact request: request and response, CSV kept as text (not base64), under the customer key.
    expect(input.DataCaptureConfig).toEqual({
      EnableCapture: true,
      InitialSamplingPercentage: 25,
      DestinationS3Uri: 's3://artifacts/data-capture',
      KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
    });
    // moto accepted it and keeps it on the endpoint config.
    const stored = await h.raw.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: result.state.endpointConfigName }));
    expect(stored.DataCaptureConfig).toMatchObject({ EnableCapture: true, InitialSamplingPercentage: 25, DestinationS3Uri: 's3://artifacts/data-capture' });
  });

  test('without data capture the endpoint config has none', async () => {
    await createPackage(h.raw, 'Approved');
    expect((await deployToEnd(testConfig({ dataCapture: undefined }))).status).toBe('SUCCEEDED');
    expect(h.sagemakerMock.commandCalls(CreateEndpointConfigCommand)[0].args[0].input.DataCaptureConfig).toBeUndefined();
  });

  test('changed capture settings are a new deployment: a new endpoint config name for the same package', async () => {
    await createPackage(h.raw, 'Approved');
    const capture = { destinationS3Uri: 's3://artifacts/data-capture', samplingPercentage: 100 };
    const first = await deployToEnd(testConfig({ dataCapture: capture }));
    const same = await startDeployment(h.clients, testConfig({ dataCapture: capture }), {});
    expect(same.status).toBe('SUCCEEDED');
    expect(same.state.endpointConfigName).toBe(first.state.endpointConfigName);
    const changed = await startDeployment(h.clients, testConfig({ dataCapture: { ...capture, samplingPercentage: 20 } }), {});
    expect(changed.state).toMatchObject({ operation: 'update', previousConfigName: first.state.endpointConfigName });
    expect(changed.state.endpointConfigName).not.toBe(first.state.endpointConfigName);
  });

  test('without auto-scaling registers no scalable target', async () => {
    await createPackage(h.raw, 'Approved');
    expect((await deployToEnd(testConfig({ autoScaling: undefined }))).status).toBe('SUCCEEDED');
    expect(await scalableTarget(h.raw)).toBeUndefined();
  });
});

describe('a second package replacing the first', () => {
  test('updates the endpoint blue/green with auto-rollback, then deletes the old model and config', async () => {
    await createPackage(h.raw, 'Approved');
    const first = await deployToEnd();
    const second = await createPackage(h.raw, 'Approved');

    const started = await startDeployment(h.clients, testConfig(), {});
    expect(started.state).toMatchObject({ operation: 'update', previousConfigName: first.state.endpointConfigName, modelPackageArn: second });
    expect(h.updates).toEqual([{
      EndpointName: ENDPOINT,
      EndpointConfigName: started.state.endpointConfigName,
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DataCaptureConfig' }],
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          // ALL_AT_ONCE has no steps to wait between: its baking period is the termination wait, during which the
          // alarms can still roll back to the old fleet.
          TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 },
          TerminationWaitInSeconds: 300,
          MaximumExecutionTimeoutInSeconds: 1200,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'endpoint-5xx' }, { AlarmName: 'endpoint-latency' }] },
      },
    }]);
    // Nothing is deleted while the update runs.
    expect(await modelNames(h.raw)).toEqual([first.state.endpointConfigName, started.state.endpointConfigName].sort());

    const done = await checkDeployment(h.clients, testConfig(), started.state);
    expect(done.status).toBe('SUCCEEDED');
    expect(await modelNames(h.raw)).toEqual([started.state.endpointConfigName]);
    expect(await endpointConfigNames(h.raw)).toEqual([started.state.endpointConfigName]);
    expect(await scalableTarget(h.raw)).toBeDefined();
  });

  test('a canary update shifts the canary first, bakes it, then bakes the whole new fleet before the old one goes', async () => {
    const config = testConfig({ trafficRouting: { type: 'CANARY', canaryPercent: 25, canaryBakeSeconds: 360 }, bakeSeconds: 420, maxUpdateSeconds: 1680 });
    await createPackage(h.raw, 'Approved');
    await deployToEnd(config);
    await createPackage(h.raw, 'Approved');
    expect((await deployToEnd(config)).status).toBe('SUCCEEDED');
    expect(h.updates).toHaveLength(1);
    expect(h.updates[0].DeploymentConfig).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 360 },
        TerminationWaitInSeconds: 420,
        MaximumExecutionTimeoutInSeconds: 1680,
      },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'endpoint-5xx' }, { AlarmName: 'endpoint-latency' }] },
    });
  });

  test('without auto-scaling the update takes the instance count of the new config', async () => {
    await createPackage(h.raw, 'Approved');
    const config = testConfig({ autoScaling: undefined });
    await deployToEnd(config);
    await createPackage(h.raw, 'Approved');
    await deployToEnd(config);
    expect(h.updates[0]).toMatchObject({ RetainAllVariantProperties: false });
    expect(h.updates[0].ExcludeRetainedVariantProperties).toBeUndefined();
  });

  test('an instance type change deregisters auto-scaling before the update and registers it again after', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    const registeredDuringUpdate = recordScalingDuringUpdate();
    const result = await deployToEnd(testConfig({ instanceType: 'ml.c5.large' }));
    expect(result.status).toBe('SUCCEEDED');
    expect(h.updates).toHaveLength(1);
    expect(registeredDuringUpdate).toEqual([undefined]);
    expect(await scalableTarget(h.raw)).toMatchObject({ MinCapacity: 2, MaxCapacity: 4 });
  });

  test('the same instance type keeps auto-scaling registered through the update', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    const registeredDuringUpdate = recordScalingDuringUpdate();
    await createPackage(h.raw, 'Approved');
    expect((await deployToEnd()).status).toBe('SUCCEEDED');
    expect(registeredDuringUpdate).toEqual([expect.objectContaining({ ResourceId: scalableResourceId(ENDPOINT) })]);
  });

  test('clean-up spares resources of other endpoints and ones created after the deployment started', async () => {
    await createPackage(h.raw, 'Approved');
    const create = (name: string) => h.raw.sagemaker.send(new CreateModelCommand({
      ModelName: name, ExecutionRoleArn: 'arn:aws:iam::123456789012:role/r', Containers: [{ Image: 'x' }],
    }));
    await create('abalone-endpoint-2-1-abcdef12'); // endpoint "abalone-endpoint-2"
    await create('someone-elses-model');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    const started = await startDeployment(h.clients, testConfig(), {});
    await create('abalone-endpoint-9-0123abcd'); // a concurrent deployment's model
    await checkDeployment(h.clients, testConfig(), started.state);
    expect(await modelNames(h.raw)).toEqual(['abalone-endpoint-2-1-abcdef12', 'abalone-endpoint-9-0123abcd', started.state.endpointConfigName, 'someone-elses-model'].sort());
  });
});

describe('an idempotent rerun', () => {
  test('deploying the package that already serves changes nothing and succeeds at once', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const first = await deployToEnd();
    const models = await modelNames(h.raw);
    const configs = await endpointConfigNames(h.raw);
    h.sagemakerMock.resetHistory();

    for (const request of [{}, { modelPackageArn: arn }]) {
      const again = await startDeployment(h.clients, testConfig(), request);
      expect(again).toMatchObject({ status: 'SUCCEEDED', state: { operation: 'none', endpointConfigName: first.state.endpointConfigName } });
      expect(again.reason).toMatch(/already serves/);
    }
    expect(h.sagemakerMock.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(h.sagemakerMock.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
    expect(h.updates).toEqual([]);
    expect(await modelNames(h.raw)).toEqual(models);
    expect(await endpointConfigNames(h.raw)).toEqual(configs);
  });

  test('a rerun restores auto-scaling that went missing', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await h.raw.autoScaling.send(new RegisterScalableTargetCommand({
      ServiceNamespace: 'sagemaker', ResourceId: scalableResourceId(ENDPOINT), ScalableDimension: 'sagemaker:variant:DesiredInstanceCount', MinCapacity: 1, MaxCapacity: 1,
    }));
    expect((await startDeployment(h.clients, testConfig(), {})).status).toBe('SUCCEEDED');
    expect(await scalableTarget(h.raw)).toMatchObject({ MinCapacity: 2, MaxCapacity: 4 });
  });

  test('creating a model or config that an interrupted attempt already made is not an error', async () => {
    await createPackage(h.raw, 'Approved');
    const first = await startDeployment(h.clients, testConfig(), { });
    // moto accepts duplicate creates; SageMaker answers "Cannot create already existing ..." — both must pass.
    h.sagemakerMock.on(CreateModelCommand).rejectsOnce(Object.assign(new Error(`Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/${first.state.endpointConfigName}".`), { name: 'ValidationException' }));
    await h.raw.sagemaker.send(new DeleteEndpointCommand({ EndpointName: ENDPOINT }));
    const again = await startDeployment(h.clients, testConfig(), {});
    expect(again.status).toBe('IN_PROGRESS');
    expect(again.state.endpointConfigName).toBe(first.state.endpointConfigName);
  });
});

describe('failing deployments', () => {
  test('an unapproved package fails clearly and creates nothing', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const result = await startDeployment(h.clients, testConfig(), { modelPackageArn: arn });
    expect(result.status).toBe('FAILED');
    expect(result.reason).toBe(`model package ${arn} is PendingManualApproval; approve it in the model registry or deploy with approve: true`);
    expect(result.state.phase).toBe('done');
    expect(await modelNames(h.raw)).toEqual([]);
  });

  test('approve: true approves the package first, then deploys it', async () => {
    const arn = await createPackage(h.raw, 'PendingManualApproval');
    const result = await deployToEnd(testConfig(), { modelPackageArn: arn, approve: true });
    expect(result.status).toBe('SUCCEEDED');
    const described = await h.raw.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
    expect(described.ModelApprovalStatus).toBe('Approved');
  });

  test('approve: true without an ARN takes the newest package that is not Rejected', async () => {
    const pending = await createPackage(h.raw, 'PendingManualApproval');
    await createPackage(h.raw, 'Rejected');
    const result = await deployToEnd(testConfig(), { approve: true });
    expect(result).toMatchObject({ status: 'SUCCEEDED', state: { modelPackageArn: pending } });
  });

  test('a missing package fails clearly', async () => {
    const arn = await createPackage(h.raw, 'Approved');
    const missing = arn.replace(/\/1$/, '/7');
    const result = await startDeployment(h.clients, testConfig(), { modelPackageArn: missing });
    expect(result).toMatchObject({ status: 'FAILED', reason: `model package ${missing} does not exist` });
  });

  test('a group without an Approved package fails clearly', async () => {
    await createPackage(h.raw, 'PendingManualApproval');
    const result = await startDeployment(h.clients, testConfig(), {});
    expect(result).toMatchObject({ status: 'FAILED', reason: `model package group ${'AbaloneModelPackageGroup'} has no Approved package; approve one or deploy with approve: true` });
  });

  test('a package of another group is refused', async () => {
    await createGroup(h.raw, 'OtherGroup');
    const other = await createPackage(h.raw, 'Approved', 'OtherGroup');
    const result = await startDeployment(h.clients, testConfig(), { modelPackageArn: other });
    expect(result.status).toBe('FAILED');
    expect(result.reason).toContain('belongs to group othergroup; this endpoint deploys from AbaloneModelPackageGroup');
  });

  test('an unversioned or malformed ARN is refused', async () => {
    const result = await startDeployment(h.clients, testConfig(), { modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone' });
    expect(result.status).toBe('FAILED');
    expect(result.reason).toMatch(/is not a versioned model package ARN/);
  });
});

describe('deletion clean-up', () => {
  test('removes the scalable target, the endpoint and its configs and models, and nothing else', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    await h.raw.sagemaker.send(new CreateModelCommand({ ModelName: 'someone-elses-model', ExecutionRoleArn: 'arn:aws:iam::123456789012:role/r', Containers: [{ Image: 'x' }] }));
    expect(await scalableTarget(h.raw)).toBeDefined();

    const progress = await teardownStep(h.clients, ENDPOINT, namePrefixFor(ENDPOINT));
    expect(progress.complete).toBe(true);
    expect(await scalableTarget(h.raw)).toBeUndefined();
    await expect(endpointNow(h.raw)).rejects.toThrow(/Could not find endpoint/);
    expect(await modelNames(h.raw)).toEqual(['someone-elses-model']);
    expect(await endpointConfigNames(h.raw)).toEqual([]);

    // Repeating it (CloudFormation may retry) is harmless.
    expect((await teardownStep(h.clients, ENDPOINT, namePrefixFor(ENDPOINT))).complete).toBe(true);
  });

  test('waits while SageMaker is busy with the endpoint', async () => {
    await createPackage(h.raw, 'Approved');
    await deployToEnd();
    h.describeOverride = (real) => real && { ...real, EndpointStatus: 'Updating' };
    const progress = await teardownStep(h.clients, ENDPOINT, namePrefixFor(ENDPOINT));
    expect(progress).toEqual({ complete: false, message: `endpoint ${ENDPOINT} is Updating; waiting` });
    h.describeOverride = undefined;
    expect((await endpointNow(h.raw)).EndpointStatus).toBe('InService');
    expect((await teardownStep(h.clients, ENDPOINT, namePrefixFor(ENDPOINT))).complete).toBe(true);
  });

  test('with no endpoint deployed completes at once', async () => {
    expect(await teardownStep(h.clients, ENDPOINT, namePrefixFor(ENDPOINT))).toEqual({ complete: true, message: `endpoint ${ENDPOINT} deleted` });
  });
});
