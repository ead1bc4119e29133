import { DeployClients } from './aws';
import { checkDeployment, DeploymentRequest, DeploymentResult, DeploymentState, DeploymentStatus, startDeployment } from './deployment';
import { DeployConfig } from '../../../contracts/endpoint-deploy-config';

/** Input of the deploy function when invoked directly. */
export interface DeployEvent {
  readonly modelPackageArn?: string;
  readonly approve?: boolean;
  /** Poll until the deployment ends or the invocation's time runs short (default true). */
  readonly wait?: boolean;
  /** Continue a deployment from the state a previous invocation returned. */
  readonly state?: DeploymentState;
}

/** Answer of the deploy function. */
export interface DeployResponse {
  readonly status: DeploymentStatus;
  readonly endpointName: string;
  readonly modelPackageArn: string;
  readonly endpointConfigName: string;
  readonly reason?: string;
  /** While IN_PROGRESS: invoke again with `{ state }` to continue. */
  readonly state?: DeploymentState;
}

/** Timing of {@link runDeployment}. */
export interface RunOptions {
  readonly pollIntervalMs: number;
  /** Time left in the invocation. */
  readonly remainingTimeMs: () => number;
  /** Time kept back to answer before the invocation times out. */
  readonly reserveMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts (or continues) a deployment and, unless `wait` is false, polls it while time allows. */
export async function runDeployment(clients: DeployClients, config: DeployConfig, event: DeployEvent, options: RunOptions): Promise<DeployResponse> {
  const request: DeploymentRequest = { modelPackageArn: event.modelPackageArn, approve: event.approve };
  let result: DeploymentResult = event.state
    ? await checkDeployment(clients, config, validState(config, event.state))
    : await startDeployment(clients, config, request);
  const sleep = options.sleep ?? sleepFor;
  while (event.wait !== false && result.status === 'IN_PROGRESS'
    && options.remainingTimeMs() > options.pollIntervalMs + options.reserveMs) {
    await sleep(options.pollIntervalMs);
    result = await checkDeployment(clients, config, result.state);
  }
  return {
    status: result.status,
    endpointName: result.state.endpointName,
    modelPackageArn: result.state.modelPackageArn,
    endpointConfigName: result.state.endpointConfigName,
    ...(result.reason ? { reason: result.reason } : {}),
    ...(result.status === 'IN_PROGRESS' ? { state: result.state } : {}),
  };
}

/** A state received from outside, checked to be one of this endpoint's. */
export function validState(config: DeployConfig, state: unknown): DeploymentState {
  const s = state as Partial<DeploymentState> | undefined;
  const ok = typeof s === 'object' && s !== null && s.v === 1
    && s.endpointName === config.endpointName
    && typeof s.modelPackageArn === 'string' && typeof s.endpointConfigName === 'string'
    && typeof s.startedAt === 'number'
    && ['none', 'create', 'update', 'recreate'].includes(s.operation as string)
    && ['deleting', 'waiting', 'done'].includes(s.phase as string);
  if (!ok) throw new Error(`not a deployment state of endpoint ${config.endpointName}`);
  return s as DeploymentState;
}
