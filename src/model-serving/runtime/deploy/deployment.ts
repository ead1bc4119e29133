import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateEndpointConfigInput,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeploymentConfig,
  DescribeEndpointCommandOutput,
  DescribeEndpointConfigCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageCommandOutput,
  ListModelPackagesCommand,
  ProductionVariantInstanceType,
  Tag,
  TrafficRoutingConfig,
  UpdateEndpointCommand,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { DeployClients, isAlreadyExists, isNotFound } from './aws';
import { deleteOwnedResources, describeEndpoint } from './cleanup';
import { applyScaling, findScalableTarget, removeScaling } from './scaling';
import { DeployConfig } from '../../../contracts/endpoint-deploy-config';
import { deploymentResourceName, parseModelPackageArn, TAG_ENDPOINT, TAG_MODEL_PACKAGE, VARIANT_NAME } from '../../../contracts/endpoint-names';
import { messageOf } from '../../../contracts/error-messages';

/** What to deploy. */
export interface DeploymentRequest {
  /** A versioned package ARN of the endpoint's model package group; default: the newest Approved one. */
  readonly modelPackageArn?: string;
  /** Approve the package (UpdateModelPackage) before deploying it. */
  readonly approve?: boolean;
}

export type DeploymentStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';

/** Where a deployment stands: JSON, small enough for a CodePipeline continuation token. */
export interface DeploymentState {
  readonly v: 1;
  readonly endpointName: string;
  /** Empty when the package could not be resolved. */
  readonly modelPackageArn: string;
  /** Name of the model and the endpoint config of this deployment. */
  readonly endpointConfigName: string;
  /** What the deployment does to the endpoint. */
  readonly operation: 'none' | 'create' | 'update' | 'recreate';
  /** `deleting`: a Failed endpoint is being deleted before it is created again. */
  readonly phase: 'deleting' | 'waiting' | 'done';
  /** The endpoint config that served before an update. */
  readonly previousConfigName?: string;
  /** Auto-scaling was removed for an instance type change and must come back. */
  readonly scalingSuspended?: boolean;
  /** Epoch milliseconds; clean-up spares anything created after it. */
  readonly startedAt: number;
}

/** The answer of {@link startDeployment} and {@link checkDeployment}. */
export interface DeploymentResult {
  readonly status: DeploymentStatus;
  readonly state: DeploymentState;
  /** Why it failed (SageMaker's FailureReason when it has one), or what it is waiting for. */
  readonly reason?: string;
}

/** A failure the deployment reports as FAILED (bad request, missing or unapproved package, ...). */
export class DeploymentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentFailure';
  }
}

// SageMaker is working on the endpoint in these statuses.
const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/**
 * Starts deploying a model package to the endpoint: resolves (and optionally approves) the package, creates the
 * model and the endpoint config, then creates the endpoint or starts a blue/green update. Returns at once;
 * poll {@link checkDeployment} with the returned state until the status is no longer IN_PROGRESS.
 */
export async function startDeployment(clients: DeployClients, config: DeployConfig, request: DeploymentRequest = {}): Promise<DeploymentResult> {
  const startedAt = Date.now();
  const blank: DeploymentState = {
    v: 1,
    endpointName: config.endpointName,
    modelPackageArn: typeof request.modelPackageArn === 'string' ? request.modelPackageArn : '',
    endpointConfigName: '',
    operation: 'none',
    phase: 'done',
    startedAt,
  };
  let state = blank;
  try {
    const modelPackageArn = await resolvePackage(clients, config, request);
    const name = deploymentResourceName(config.namePrefix, modelPackageArn, fingerprint(config));
    state = { ...blank, modelPackageArn, endpointConfigName: name };

    const endpoint = await describeEndpoint(clients, config.endpointName);
    const status = endpoint?.EndpointStatus;
    if (endpoint && status === 'InService' && endpoint.EndpointConfigName === name) {
      // Already serving exactly this: only make sure auto-scaling matches.
      await applyScaling(clients, config);
      return { status: 'SUCCEEDED', state, reason: `endpoint ${config.endpointName} already serves ${modelPackageArn}` };
    }
    if (endpoint && status && BUSY.has(status)) {
      if (status === 'Updating' && endpoint.PendingDeploymentSummary?.EndpointConfigName === name) {
        // The same deployment is already under way (a retry that lost its state): follow it.
        return { status: 'IN_PROGRESS', state: { ...state, operation: 'update', phase: 'waiting', previousConfigName: endpoint.EndpointConfigName } };
      }
      throw new DeploymentFailure(`endpoint ${config.endpointName} is ${status}; another deployment or operation is in progress, try again when it is InService`);
    }

    await createModel(clients, config, name, modelPackageArn);
    await createEndpointConfig(clients, config, name, modelPackageArn);

    if (!endpoint) {
      await createEndpoint(clients, config, name, modelPackageArn);
      return { status: 'IN_PROGRESS', state: { ...state, operation: 'create', phase: 'waiting' } };
    }
    if (status === 'Failed') {
      // DeleteEndpoint is the only operation a Failed endpoint accepts.
      await clients.sagemaker.send(new DeleteEndpointCommand({ EndpointName: config.endpointName }));
      return { status: 'IN_PROGRESS', state: { ...state, operation: 'recreate', phase: 'deleting' } };
    }

    const previousConfigName = endpoint.EndpointConfigName;
    const scalingSuspended = await suspendScalingForInstanceChange(clients, config, endpoint);
    state = { ...state, operation: 'update', phase: 'waiting', previousConfigName, scalingSuspended };
    try {
      await updateEndpoint(clients, config, name);
    } catch (error) {
      if (scalingSuspended) await applyScaling(clients, config);
      throw new DeploymentFailure(`UpdateEndpoint ${config.endpointName} failed: ${messageOf(error)}`);
    }
    return { status: 'IN_PROGRESS', state };
  } catch (error) {
    if (error instanceof DeploymentFailure) return { status: 'FAILED', state: { ...state, phase: 'done' }, reason: error.message };
    throw error;
  }
}

/**
 * Checks a started deployment once. Success means the endpoint is InService AND serves the new endpoint config:
 * a failed or rolled-back update also ends InService, with the old config and a FailureReason.
 * After success it applies auto-scaling and deletes models and configs that no longer serve.
 */
export async function checkDeployment(clients: DeployClients, config: DeployConfig, state: DeploymentState): Promise<DeploymentResult> {
  if (state.phase === 'done') {
    return { status: 'FAILED', state, reason: 'the deployment has already finished; start a new one' };
  }
  const endpoint = await describeEndpoint(clients, state.endpointName);
  if (state.phase === 'deleting') {
    if (endpoint) return { status: 'IN_PROGRESS', state, reason: `waiting for the Failed endpoint ${state.endpointName} to be deleted` };
    await createEndpoint(clients, config, state.endpointConfigName, state.modelPackageArn);
    return { status: 'IN_PROGRESS', state: { ...state, phase: 'waiting' } };
  }

  const done: DeploymentState = { ...state, phase: 'done' };
  if (!endpoint) return fail(done, `endpoint ${state.endpointName} no longer exists`);
  const status = endpoint.EndpointStatus ?? 'unknown';
  if (status === 'Deleting') return fail(done, `endpoint ${state.endpointName} is being deleted`);
  if (BUSY.has(status)) return { status: 'IN_PROGRESS', state, reason: `endpoint ${state.endpointName} is ${status}` };

  if (status === 'InService' && endpoint.EndpointConfigName === state.endpointConfigName) {
    await applyScaling(clients, config);
    const cleanup = await deleteOwnedResources(clients, config.namePrefix, {
      keep: [state.endpointConfigName],
      createdBefore: new Date(state.startedAt),
    });
    const note = cleanup.problems.length ? `; clean-up incomplete: ${cleanup.problems.join('; ')}` : '';
    return { status: 'SUCCEEDED', state: done, reason: `endpoint ${state.endpointName} serves ${state.modelPackageArn}${note}` };
  }

  const failure = endpoint.FailureReason ?? 'SageMaker gave no FailureReason';
  if (status === 'InService' || status === 'OutOfService') {
    // Rolled back: the old config still serves.
    await recoverFromRollback(clients, config, state, endpoint);
    return fail(done, `deployment of ${state.modelPackageArn} to ${state.endpointName} did not complete; the endpoint still serves ${endpoint.EndpointConfigName}: ${failure}`);
  }
  if (status === 'UpdateRollbackFailed') {
    return fail(done, `update of ${state.endpointName} failed and so did its rollback (old and new fleets may both serve): ${failure}`);
  }
  return fail(done, `endpoint ${state.endpointName} is ${status}: ${failure}`);
}

function fail(state: DeploymentState, reason: string): DeploymentResult {
  return { status: 'FAILED', state, reason };
}

/** Everything besides the package that defines the model and endpoint config; part of their name's hash. */
function fingerprint(config: DeployConfig): unknown {
  return [config.modelRoleArn, config.instanceType, config.instanceCount, config.volumeKmsKeyId ?? null, config.dataCapture ?? null];
}

function tags(config: DeployConfig, modelPackageArn: string): Tag[] {
  return [
    { Key: TAG_ENDPOINT, Value: config.endpointName },
    { Key: TAG_MODEL_PACKAGE, Value: modelPackageArn },
  ];
}

/** The package to deploy: checked to exist, to belong to the group, to be complete and Approved (or approved now). */
async function resolvePackage(clients: DeployClients, config: DeployConfig, request: DeploymentRequest): Promise<string> {
  if (request.modelPackageArn !== undefined && typeof request.modelPackageArn !== 'string') {
    throw new DeploymentFailure('modelPackageArn must be a string');
  }
  if (request.approve !== undefined && typeof request.approve !== 'boolean') {
    throw new DeploymentFailure('approve must be a boolean');
  }
  let arn = request.modelPackageArn;
  if (!arn) {
    arn = await newestPackage(clients, config, request.approve === true);
  } else {
    const parsed = parseModelPackageArn(arn);
    if (!parsed) {
      throw new DeploymentFailure(`modelPackageArn ${arn} is not a versioned model package ARN (arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>)`);
    }
    if (parsed.group.toLowerCase() !== config.modelPackageGroupName.toLowerCase()) {
      throw new DeploymentFailure(`model package ${arn} belongs to group ${parsed.group}; this endpoint deploys from ${config.modelPackageGroupName}`);
    }
  }

  let described: DescribeModelPackageCommandOutput;
  try {
    described = await clients.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  } catch (error) {
    if (isNotFound(error)) throw new DeploymentFailure(`model package ${arn} does not exist`);
    throw error;
  }
  if (described.ModelPackageStatus && described.ModelPackageStatus !== 'Completed') {
    throw new DeploymentFailure(`model package ${arn} is ${described.ModelPackageStatus}, not Completed`);
  }
  if (described.ModelApprovalStatus !== 'Approved') {
    if (!request.approve) {
      throw new DeploymentFailure(`model package ${arn} is ${described.ModelApprovalStatus ?? 'not approved'}; approve it in the model registry or deploy with approve: true`);
    }
    await clients.sagemaker.send(new UpdateModelPackageCommand({
      ModelPackageArn: arn,
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: `Approved for deployment to endpoint ${config.endpointName}`,
    }));
  }
  return described.ModelPackageArn ?? arn;
}

/** The newest Approved package; with `approve`, the newest one that was not Rejected. */
async function newestPackage(clients: DeployClients, config: DeployConfig, approve: boolean): Promise<string> {
  const out = await clients.sagemaker.send(new ListModelPackagesCommand({
    ModelPackageGroupName: config.modelPackageGroupName,
    ModelApprovalStatus: approve ? undefined : 'Approved',
    ModelPackageType: 'Versioned',
    SortBy: 'CreationTime',
    SortOrder: 'Descending',
    MaxResults: approve ? 20 : 1,
  }));
  const found = (out.ModelPackageSummaryList ?? []).find((p) => p.ModelApprovalStatus !== 'Rejected');
  if (!found?.ModelPackageArn) {
    throw new DeploymentFailure(approve
      ? `model package group ${config.modelPackageGroupName} has no package that is not Rejected`
      : `model package group ${config.modelPackageGroupName} has no Approved package; approve one or deploy with approve: true`);
  }
  return found.ModelPackageArn;
}

async function createModel(clients: DeployClients, config: DeployConfig, name: string, modelPackageArn: string): Promise<void> {
  try {
    await clients.sagemaker.send(new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: config.modelRoleArn,
      Containers: [{ ModelPackageName: modelPackageArn }],
      Tags: tags(config, modelPackageArn),
    }));
  } catch (error) {
    // Same name, same definition: made by an earlier attempt of this deployment.
    if (!isAlreadyExists(error)) throw error;
  }
}

async function createEndpointConfig(clients: DeployClients, config: DeployConfig, name: string, modelPackageArn: string): Promise<void> {
  const input: CreateEndpointConfigInput = {
    EndpointConfigName: name,
    ProductionVariants: [{
      VariantName: VARIANT_NAME,
      ModelName: name,
      InstanceType: config.instanceType as ProductionVariantInstanceType,
      InitialInstanceCount: config.instanceCount,
      InitialVariantWeight: 1,
    }],
    KmsKeyId: config.volumeKmsKeyId,
    DataCaptureConfig: config.dataCapture ? {
      EnableCapture: true,
      InitialSamplingPercentage: config.dataCapture.samplingPercentage,
      DestinationS3Uri: config.dataCapture.destinationS3Uri,
      KmsKeyId: config.dataCapture.kmsKeyId,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      // Without it SageMaker base64-encodes the bodies; the endpoint takes and answers text/csv only.
      CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
    } : undefined,
    Tags: tags(config, modelPackageArn),
  };
  try {
    await clients.sagemaker.send(new CreateEndpointConfigCommand(input));
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

async function createEndpoint(clients: DeployClients, config: DeployConfig, name: string, modelPackageArn: string): Promise<void> {
  await clients.sagemaker.send(new CreateEndpointCommand({
    EndpointName: config.endpointName,
    EndpointConfigName: name,
    Tags: tags(config, modelPackageArn),
  }));
}

async function updateEndpoint(clients: DeployClients, config: DeployConfig, name: string): Promise<void> {
  await clients.sagemaker.send(new UpdateEndpointCommand({
    EndpointName: config.endpointName,
    EndpointConfigName: name,
    // With auto-scaling, keep the instance count it chose; but take data capture from the new config.
    RetainAllVariantProperties: config.autoScaling !== undefined,
    ExcludeRetainedVariantProperties: config.autoScaling !== undefined ? [{ VariantPropertyType: 'DataCaptureConfig' }] : undefined,
    DeploymentConfig: deploymentConfigFor(config),
  }));
}

/**
 * The blue/green DeploymentConfig of an update.
 *
 * - ALL_AT_ONCE: the baking period is `TerminationWaitInSeconds`: SageMaker shifts all traffic, watches the alarms
 *   for that long and only then terminates the old fleet. `WaitIntervalInSeconds` (required by the API) times the
 *   bake between traffic steps, which ALL_AT_ONCE does not have, so it is 0
 *   (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-all-at-once.html,
 *   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html).
 * - CANARY: `CanarySize` of the capacity first, baked for `WaitIntervalInSeconds`, then the rest, then the final
 *   bake of `TerminationWaitInSeconds`
 *   (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html).
 *
 * `MaximumExecutionTimeoutInSeconds` must exceed the waits
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html): parseDeployConfig
 * checks it; the construct chooses it so that an update in flight ends in time for the endpoint to be deleted with
 * its stack.
 */
export function deploymentConfigFor(config: DeployConfig): DeploymentConfig {
  const routing = config.trafficRouting;
  const trafficRouting: TrafficRoutingConfig = routing.type === 'CANARY'
    ? {
      Type: 'CANARY',
      CanarySize: { Type: 'CAPACITY_PERCENT', Value: routing.canaryPercent },
      WaitIntervalInSeconds: routing.canaryBakeSeconds,
    }
    : { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 };
  const alarms = config.rollbackAlarmNames.slice(0, 10).map((AlarmName) => ({ AlarmName }));
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: trafficRouting,
      TerminationWaitInSeconds: config.bakeSeconds,
      MaximumExecutionTimeoutInSeconds: config.maxUpdateSeconds,
    },
    AutoRollbackConfiguration: alarms.length > 0 ? { Alarms: alarms } : undefined,
  };
}

/**
 * SageMaker rejects an update that changes the instance type of an auto-scaled variant: deregister first
 * (and register again after the update). Returns whether auto-scaling was removed.
 */
async function suspendScalingForInstanceChange(
  clients: DeployClients,
  config: DeployConfig,
  endpoint: DescribeEndpointCommandOutput,
): Promise<boolean> {
  if (!(await findScalableTarget(clients, config.endpointName))) return false;
  let currentType: string | undefined;
  try {
    const current = await clients.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: endpoint.EndpointConfigName }));
    currentType = current.ProductionVariants?.find((v) => v.VariantName === VARIANT_NAME)?.InstanceType;
  } catch (error) {
    // Unknown current config (not made by this function): assume the type changes.
    if (!isNotFound(error) && !(error instanceof Error && error.name === 'AccessDeniedException')) throw error;
  }
  if (currentType === config.instanceType) return false;
  return removeScaling(clients, config.endpointName);
}

/** After a rollback: restore auto-scaling if it was removed, and delete this deployment's unused model and config. */
async function recoverFromRollback(
  clients: DeployClients,
  config: DeployConfig,
  state: DeploymentState,
  endpoint: DescribeEndpointCommandOutput,
): Promise<void> {
  if (state.scalingSuspended) await applyScaling(clients, config);
  if (endpoint.EndpointConfigName === state.endpointConfigName) return;
  // Best effort: the next successful deployment's clean-up deletes whatever remains.
  const ignore = () => undefined;
  await clients.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: state.endpointConfigName })).catch(ignore);
  await clients.sagemaker.send(new DeleteModelCommand({ ModelName: state.endpointConfigName })).catch(ignore);
}
