/**
 * The Deploy action: has the endpoint's own deploy function deploy the package, driven by CodePipeline continuation
 * tokens. The first invocation starts a deployment of exactly the package named in UserParameters; each
 * continuation has the function check it once, until the endpoint serves the package or the update was rolled back.
 * The action holds no deploy permissions: it may only invoke that function, which may live in another account.
 */
import { FailureType } from '@aws-sdk/client-codepipeline';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { JOB_LIMITS, JobInput, JobOutcome } from './codepipeline-job';
import { ACTION_NAMESPACES, DEPLOY_OUTPUT_VARIABLES, TRAIN_OUTPUT_VARIABLES } from '../../contracts/release-actions';
import type { DeploymentRequest, DeploymentState } from '../../model-serving/runtime/deploy/deployment';
import type { DeployEvent, DeployResponse } from '../../model-serving/runtime/deploy/invocation';

/** Invokes the endpoint's deploy function; throws {@link DeployFunctionError} when the function failed. */
export type InvokeDeployFunction = (event: DeployEvent) => Promise<DeployResponse>;

/** The deploy function threw: its error message, as Lambda reports it. */
export class DeployFunctionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeployFunctionError';
  }
}

/** Invokes `functionArn` synchronously with the Lambda API and reads its answer. */
export function lambdaInvoker(lambda: Pick<LambdaClient, 'send'>, functionArn: string): InvokeDeployFunction {
  return async (event) => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: functionArn, Payload: Buffer.from(JSON.stringify(event)) }));
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      // Lambda answers a function's exception as {"errorType", "errorMessage", ...}.
      let message = text;
      try {
        message = String((JSON.parse(text) as { errorMessage?: unknown }).errorMessage ?? text);
      } catch {
        // not JSON: keep the raw text
      }
      throw new DeployFunctionError(message || `the deploy function failed (${out.FunctionError})`);
    }
    return JSON.parse(text) as DeployResponse;
  };
}

/** One step of the Deploy action. */
export async function deployStep(invoke: InvokeDeployFunction, input: JobInput): Promise<JobOutcome> {
  let response: DeployResponse;
  try {
    if (input.continuationToken === undefined) {
      const problem = requestProblem(input.userParameters);
      if (problem) return { kind: 'failed', message: problem, failureType: FailureType.ConfigurationError };
      const request = parseUserParameters(input.userParameters);
      response = await invoke({ modelPackageArn: request.modelPackageArn, approve: request.approve, wait: false });
    } else {
      response = await invoke({ state: JSON.parse(input.continuationToken), wait: false });
    }
  } catch (error) {
    // A token that is not JSON, or one the deploy function does not recognize as its endpoint's state.
    if (error instanceof SyntaxError || (error instanceof DeployFunctionError && /deployment state/.test(error.message))) {
      return { kind: 'failed', message: truncate(`invalid input: ${error.message}`) };
    }
    throw error;
  }
  const summary = truncate(response.reason ?? `${response.status}: ${response.modelPackageArn} → ${response.endpointName}`);
  switch (response.status) {
    case 'IN_PROGRESS':
      return { kind: 'in-progress', token: encodeState(response.state!), summary };
    case 'SUCCEEDED':
      return {
        kind: 'succeeded',
        summary,
        outputVariables: {
          [DEPLOY_OUTPUT_VARIABLES.endpointName]: response.endpointName,
          [DEPLOY_OUTPUT_VARIABLES.modelPackageArn]: response.modelPackageArn,
          [DEPLOY_OUTPUT_VARIABLES.endpointConfigName]: response.endpointConfigName,
        },
      };
    default:
      return { kind: 'failed', message: summary };
  }
}

/**
 * The release deploys the package the approver saw, never "the newest Approved one": a missing or unresolved ARN is
 * a configuration error, not a reason to pick another package.
 */
function requestProblem(userParameters: string): string | undefined {
  let arn: string | undefined;
  try {
    arn = parseUserParameters(userParameters).modelPackageArn;
  } catch (error) {
    return `UserParameters must be {"modelPackageArn": "...", "approve": true}: ${(error as Error).message}`;
  }
  if (!arn || arn.includes('#{')) {
    return `UserParameters.modelPackageArn must be the model package the Train action registered (#{${ACTION_NAMESPACES.train}.${TRAIN_OUTPUT_VARIABLES.modelPackageArn}}).`;
  }
  return undefined;
}

/** Serialises a deployment state as a continuation token (the deploy function checks it is its endpoint's). */
export function encodeState(state: DeploymentState): string {
  const token = JSON.stringify(state);
  if (token.length > JOB_LIMITS.continuationToken) {
    throw new Error(`deployment state is ${token.length} characters; a continuation token holds ${JOB_LIMITS.continuationToken}`);
  }
  return token;
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

function truncate(text: string): string {
  const max = JOB_LIMITS.summary;
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
