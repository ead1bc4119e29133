import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateEndpointCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DescribeEndpointCommand,
  DescribeEndpointCommandOutput,
  ListEndpointConfigsCommand,
  ListModelsCommand,
  ModelApprovalStatus,
  SageMakerClient,
  UpdateEndpointCommand,
  UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { DeployConfig } from '../../../src/contracts/endpoint-deploy-config';
import { namePrefixFor, scalableResourceId } from '../../../src/contracts/endpoint-names';
import { DeployClients } from '../../../src/model-serving/runtime/deploy/aws';
import { checkDeployment, DeploymentRequest, DeploymentResult, startDeployment } from '../../../src/model-serving/runtime/deploy/deployment';
import { runDeployment } from '../../../src/model-serving/runtime/deploy/invocation';
import { DeployFunctionError, InvokeDeployFunction } from '../../../src/release-pipeline/runtime/deploy-action';
import { MotoServer, useMotoServer } from '../../support/moto-server';

export const ENDPOINT = 'abalone-endpoint';
export const GROUP = 'AbaloneModelPackageGroup';

export function testConfig(overrides: Partial<DeployConfig> = {}): DeployConfig {
  return {
    endpointName: ENDPOINT,
    namePrefix: namePrefixFor(ENDPOINT),
    modelPackageGroupName: GROUP,
    modelRoleArn: 'arn:aws:iam::123456789012:role/model-role',
    instanceType: 'ml.m5.large',
    instanceCount: 2,
    autoScaling: { minCapacity: 2, maxCapacity: 4, targetInvocationsPerInstance: 70, scaleInCooldownSeconds: 300, scaleOutCooldownSeconds: 60 },
    rollbackAlarmNames: ['endpoint-5xx', 'endpoint-latency'],
    trafficRouting: { type: 'ALL_AT_ONCE' },
    bakeSeconds: 300,
    maxUpdateSeconds: 1200,
    ...overrides,
  };
}

/**
 * Clients for the deploy logic: real moto_server over HTTP, except what moto 5.2.1 lacks. It has no
 * UpdateEndpoint, so an update is simulated (by default: the endpoint switches to the new config at once,
 * which moto models as a CreateEndpoint over the existing one); hooks change what DescribeEndpoint reports.
 */
/**
 * The endpoint's deploy function as the release pipeline's Deploy action invokes it (`wait: false`), run in this
 * process with these clients; its exceptions come back as the function errors Lambda reports.
 */
export function inProcessDeployFunction(clients: DeployClients, config: DeployConfig = testConfig()): InvokeDeployFunction {
  return async (event) => {
    try {
      return await runDeployment(clients, config, event, { pollIntervalMs: 30_000, reserveMs: 30_000, remainingTimeMs: () => 0 });
    } catch (error) {
      throw new DeployFunctionError((error as Error).message);
    }
  };
}

export interface Harness {
  readonly clients: DeployClients;
  /** Unmocked clients on the same moto_server, to arrange and inspect. */
  readonly raw: DeployClients;
  readonly sagemakerMock: AwsStub<any, any, any>;
  /** Inputs of every (simulated) UpdateEndpoint call. */
  readonly updates: UpdateEndpointCommandInput[];
  /** Replaces the simulated UpdateEndpoint. */
  onUpdate?: (input: UpdateEndpointCommandInput) => Promise<void>;
  /** Rewrites what DescribeEndpoint answers. */
  describeOverride?: (real: DescribeEndpointCommandOutput | undefined) => DescribeEndpointCommandOutput | undefined;
  restore(): void;
}

export function harness(moto: MotoServer): Harness {
  const config = { ...moto.clientConfig(), maxAttempts: 1 };
  const raw: DeployClients = { sagemaker: new SageMakerClient(config), autoScaling: new ApplicationAutoScalingClient(config) };
  const sagemaker = new SageMakerClient(config);
  const sagemakerMock = mockClient(sagemaker);
  (sagemakerMock.send as unknown as { callThrough(): void }).callThrough();
  const h: Harness = {
    clients: { sagemaker, autoScaling: new ApplicationAutoScalingClient(config) },
    raw,
    sagemakerMock,
    updates: [],
    restore: () => sagemakerMock.restore(),
  };
  sagemakerMock.on(UpdateEndpointCommand).callsFake(async (input: UpdateEndpointCommandInput) => {
    h.updates.push(input);
    if (h.onUpdate) {
      await h.onUpdate(input);
    } else {
      await raw.sagemaker.send(new CreateEndpointCommand({ EndpointName: input.EndpointName, EndpointConfigName: input.EndpointConfigName }));
    }
    return { EndpointArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${input.EndpointName}` };
  });
  sagemakerMock.on(DescribeEndpointCommand).callsFake(async (input) => {
    let real: DescribeEndpointCommandOutput | undefined;
    let notFound: unknown;
    try {
      real = await raw.sagemaker.send(new DescribeEndpointCommand(input));
    } catch (error) {
      notFound = error;
    }
    const answer = h.describeOverride ? h.describeOverride(real) : real;
    if (!answer) throw notFound ?? Object.assign(new Error(`Could not find endpoint "${input.EndpointName}".`), { name: 'ValidationException' });
    return answer;
  });
  return h;
}

export async function createGroup(raw: DeployClients, name = GROUP): Promise<void> {
  await raw.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: name }));
}

export async function createPackage(raw: DeployClients, status: ModelApprovalStatus, group = GROUP): Promise<string> {
  const out = await raw.sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: group,
    ModelApprovalStatus: status,
    InferenceSpecification: {
      Containers: [
        { Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3', ModelDataUrl: 's3://artifacts/preprocess/model.tar.gz' },
        { Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1', ModelDataUrl: 's3://artifacts/train/model.tar.gz' },
      ],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
  }));
  return out.ModelPackageArn!;
}

export async function modelNames(raw: DeployClients): Promise<string[]> {
  const out = await raw.sagemaker.send(new ListModelsCommand({}));
  return (out.Models ?? []).map((m) => m.ModelName!).sort();
}

export async function endpointConfigNames(raw: DeployClients): Promise<string[]> {
  const out = await raw.sagemaker.send(new ListEndpointConfigsCommand({}));
  return (out.EndpointConfigs ?? []).map((c) => c.EndpointConfigName!).sort();
}

export async function scalableTarget(raw: DeployClients, endpointName = ENDPOINT) {
  const out = await raw.autoScaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [scalableResourceId(endpointName)] }));
  return out.ScalableTargets?.[0];
}

export async function scalingPolicies(raw: DeployClients, endpointName = ENDPOINT) {
  const out = await raw.autoScaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: scalableResourceId(endpointName) }));
  return out.ScalingPolicies ?? [];
}

export async function endpointNow(raw: DeployClients, endpointName = ENDPOINT): Promise<DescribeEndpointCommandOutput> {
  return raw.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
}

/** Per test: a fresh moto state, a harness on it and the model package group; read `current` inside tests. */
export function useHarness(): { readonly current: Harness } {
  const moto = useMotoServer();
  const ref: { current: Harness } = {} as { current: Harness };
  beforeEach(async () => {
    await moto.reset();
    ref.current = harness(moto);
    await createGroup(ref.current.raw);
  });
  afterEach(() => ref.current.restore());
  return ref;
}

/** Polls a deployment to its end, as the handler does (moto answers at once, so no sleeping). */
export async function deployToEnd(h: Harness, config = testConfig(), request: DeploymentRequest = {}): Promise<DeploymentResult> {
  let result = await startDeployment(h.clients, config, request);
  for (let i = 0; result.status === 'IN_PROGRESS' && i < 10; i++) {
    result = await checkDeployment(h.clients, config, result.state);
  }
  return result;
}
