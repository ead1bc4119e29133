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

// CodePipeline limits (PutJobSuccessResult / PutJobFailureResult).
const MAX_TOKEN = 2048;
const MAX_SUMMARY = 2048;

/** Serialises a state as a CodePipeline continuation token. */
export function encodeState(state: DeploymentState): string {
  const token = JSON.stringify(state);
  if (token.length > MAX_TOKEN) throw new Error(`deployment state is ${token.length} characters; a continuation token holds ${MAX_TOKEN}`);
  return token;
}

/** Reads a continuation token written by {@link encodeState}. */
export function decodeState(config: DeployConfig, token: string): DeploymentState {
  return validState(config, JSON.parse(token));
}

/**
 * The action's UserParameters: empty (the newest Approved package), a model package ARN, or JSON
 * `{"modelPackageArn": "...", "approve": true}`.
 */
export function parseUserParameters(userParameters: string | undefined): DeploymentRequest {
  const text = (userParameters ?? '').trim();
  if (text === '') return {};
  if (text.startsWith('arn:')) return { modelPackageArn: text };
  const parsed = JSON.parse(text) as DeploymentRequest;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('UserParameters must be a model package ARN or a JSON object');
  }
  return { modelPackageArn: parsed.modelPackageArn, approve: parsed.approve };
}

/** One invocation of a CodePipeline Lambda action. */
export interface PipelineStepInput {
  readonly userParameters?: string;
  /** The job's continuationToken, when CodePipeline continues the action. */
  readonly continuationToken?: string;
}

/** What to report to CodePipeline. */
export interface PipelineStepOutput {
  readonly status: DeploymentStatus;
  /** While IN_PROGRESS: PutJobSuccessResult with this continuationToken. */
  readonly continuationToken?: string;
  /** executionDetails.summary, or the failure message (at most 2048 characters). */
  readonly summary: string;
  /** On SUCCEEDED: PutJobSuccessResult outputVariables (only allowed without a continuation token). */
  readonly outputVariables?: { [key: string]: string };
}

/**
 * One step of a deployment driven by CodePipeline continuation tokens: starts on the first invocation, checks
 * once on each continuation. The caller turns the answer into PutJobSuccessResult / PutJobFailureResult.
 */
export async function deploymentStep(clients: DeployClients, config: DeployConfig, input: PipelineStepInput): Promise<PipelineStepOutput> {
  let result: DeploymentResult;
  try {
    result = input.continuationToken
      ? await checkDeployment(clients, config, decodeState(config, input.continuationToken))
      : await startDeployment(clients, config, parseUserParameters(input.userParameters));
  } catch (error) {
    if (error instanceof SyntaxError || (error instanceof Error && /UserParameters|deployment state/.test(error.message))) {
      return { status: 'FAILED', summary: truncate(`invalid input: ${error.message}`) };
    }
    throw error;
  }
  const { state } = result;
  const summary = truncate(result.reason ?? `${result.status}: ${state.modelPackageArn} → ${state.endpointName}`);
  switch (result.status) {
    case 'IN_PROGRESS':
      return { status: 'IN_PROGRESS', continuationToken: encodeState(state), summary };
    case 'SUCCEEDED':
      return {
        status: 'SUCCEEDED',
        summary,
        outputVariables: {
          EndpointName: state.endpointName,
          ModelPackageArn: state.modelPackageArn,
          EndpointConfigName: state.endpointConfigName,
        },
      };
    default:
      return { status: 'FAILED', summary };
  }
}

function truncate(text: string): string {
  return text.length <= MAX_SUMMARY ? text : `${text.slice(0, MAX_SUMMARY - 1)}…`;
}
