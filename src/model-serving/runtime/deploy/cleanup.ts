import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointCommandOutput,
  ListEndpointConfigsCommand,
  ListModelsCommand,
} from '@aws-sdk/client-sagemaker';
import { DeployClients, isAwsError, isNotFound } from './aws';
import { removeScaling } from './scaling';
import { isOwnedName } from '../../../contracts/endpoint-names';
import { messageOf } from '../../../contracts/error-messages';

/** A model or endpoint config name with its creation time. */
interface Owned {
  readonly name: string;
  readonly created?: Date;
}

/** The endpoint, or undefined when it does not exist. */
export async function describeEndpoint(clients: DeployClients, endpointName: string): Promise<DescribeEndpointCommandOutput | undefined> {
  try {
    return await clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Models made for this prefix (NameContains narrows the listing; the name pattern decides ownership). */
async function ownedModels(clients: DeployClients, namePrefix: string): Promise<Owned[]> {
  const owned: Owned[] = [];
  let token: string | undefined;
  do {
    const page = await clients.sagemaker.send(new ListModelsCommand({ NameContains: namePrefix, MaxResults: 100, NextToken: token }));
    for (const m of page.Models ?? []) {
      if (m.ModelName && isOwnedName(namePrefix, m.ModelName)) owned.push({ name: m.ModelName, created: m.CreationTime });
    }
    token = page.NextToken;
  } while (token);
  return owned;
}

async function ownedEndpointConfigs(clients: DeployClients, namePrefix: string): Promise<Owned[]> {
  const owned: Owned[] = [];
  let token: string | undefined;
  do {
    const page = await clients.sagemaker.send(new ListEndpointConfigsCommand({ NameContains: namePrefix, MaxResults: 100, NextToken: token }));
    for (const c of page.EndpointConfigs ?? []) {
      if (c.EndpointConfigName && isOwnedName(namePrefix, c.EndpointConfigName)) {
        owned.push({ name: c.EndpointConfigName, created: c.CreationTime });
      }
    }
    token = page.NextToken;
  } while (token);
  return owned;
}

/** Options of {@link deleteOwnedResources}. */
export interface DeleteOwnedOptions {
  /** Names never deleted (the config and model that serve). */
  readonly keep?: string[];
  /**
   * Only resources created before this instant: a deployment that started later (and has not switched the
   * endpoint yet) keeps its new model and config.
   */
  readonly createdBefore?: Date;
}

/**
 * Deletes the endpoint configs, then the models, that were made for `namePrefix` and are not kept.
 * Returns the deleted names and, instead of throwing, the problems met (clean-up is best effort).
 */
export async function deleteOwnedResources(
  clients: DeployClients,
  namePrefix: string,
  options: DeleteOwnedOptions = {},
): Promise<{ deleted: string[]; problems: string[] }> {
  const keep = new Set(options.keep ?? []);
  const eligible = (r: Owned) => !keep.has(r.name)
    && (!options.createdBefore || (r.created !== undefined && r.created.getTime() < options.createdBefore.getTime()));
  const deleted: string[] = [];
  const problems: string[] = [];
  const attempt = async (label: string, name: string, remove: () => Promise<unknown>) => {
    try {
      await remove();
      deleted.push(`${label}/${name}`);
    } catch (error) {
      if (!isNotFound(error)) problems.push(`${label}/${name}: ${messageOf(error)}`);
    }
  };
  for (const c of (await ownedEndpointConfigs(clients, namePrefix)).filter(eligible)) {
    await attempt('endpoint-config', c.name, () => clients.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: c.name })));
  }
  for (const m of (await ownedModels(clients, namePrefix)).filter(eligible)) {
    await attempt('model', m.name, () => clients.sagemaker.send(new DeleteModelCommand({ ModelName: m.name })));
  }
  return { deleted, problems };
}

// Statuses in which SageMaker is still working on the endpoint; deleting waits for them to end.
const BUSY = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/** Where a teardown stands. */
export interface TeardownProgress {
  readonly complete: boolean;
  readonly message: string;
}

/**
 * SageMaker refuses DeleteEndpoint while an update runs ("Cannot update in-progress endpoint": the
 * `DeleteEndpointInProgressMessagePrefix` of aws/amazon-sagemaker-operator-for-k8s, amazon-sagemaker-examples PR #3188),
 * and its API has no operation that stops or cancels an update
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_Operations.html), so the teardown waits for it to end.
 */
function isInProgressRefusal(error: unknown): boolean {
  return isAwsError(error, 'ValidationException', /cannot update in-progress endpoint/i);
}

/**
 * One step of removing everything the deploy function made for an endpoint, safe to repeat until complete and to
 * start again from scratch (a stack delete retried after a timeout runs it anew: every step reads where SageMaker
 * stands instead of remembering it):
 *
 * 1. while SageMaker is busy with the endpoint (creating, updating, rolling back, deleting) it waits: an update in
 *    flight cannot be stopped, and DeleteEndpoint is refused until it ends;
 * 2. then it deregisters the scalable target (DeleteEndpoint fails while one exists unless the caller may
 *    deregister it: https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html) and deletes
 *    the endpoint;
 * 3. when the endpoint is gone, it deletes the endpoint's configs and models.
 */
export async function teardownStep(clients: DeployClients, endpointName: string, namePrefix: string): Promise<TeardownProgress> {
  const endpoint = await describeEndpoint(clients, endpointName);
  if (endpoint) {
    const status = endpoint.EndpointStatus ?? 'unknown';
    if (BUSY.has(status)) return { complete: false, message: `endpoint ${endpointName} is ${status}; waiting` };
    try {
      await removeScaling(clients, endpointName);
      await clients.sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
    } catch (error) {
      if (isInProgressRefusal(error)) {
        // An update started between DescribeEndpoint and DeleteEndpoint: wait for it like any other.
        return { complete: false, message: `endpoint ${endpointName} has an operation in progress; waiting` };
      }
      if (!isNotFound(error)) return { complete: false, message: `deleting endpoint ${endpointName}: ${messageOf(error)}; retrying` };
    }
    if (await describeEndpoint(clients, endpointName)) {
      return { complete: false, message: `endpoint ${endpointName} is being deleted` };
    }
  } else {
    // No endpoint (never deployed, or deleted by an earlier attempt): a scalable target left behind goes too.
    try {
      await removeScaling(clients, endpointName);
    } catch (error) {
      return { complete: false, message: `deregistering the scalable target of ${endpointName}: ${messageOf(error)}; retrying` };
    }
  }
  const { deleted, problems } = await deleteOwnedResources(clients, namePrefix);
  if (problems.length > 0) return { complete: false, message: `could not delete: ${problems.join('; ')}` };
  return { complete: true, message: `endpoint ${endpointName} deleted${deleted.length ? `; deleted ${deleted.join(', ')}` : ''}` };
}
