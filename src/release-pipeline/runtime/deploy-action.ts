/**
 * The Deploy action: the endpoint's own deploy logic (ModelServing's `deploymentStep`), driven by CodePipeline
 * continuation tokens. The first invocation starts a deployment of exactly the package named in UserParameters;
 * each continuation checks it once, until the endpoint serves the package or the update was rolled back.
 */
import { FailureType } from '@aws-sdk/client-codepipeline';
import { JobInput, JobOutcome } from './codepipeline-job';
import { DeployConfig } from '../../contracts/endpoint-deploy-config';
import { ACTION_NAMESPACES, TRAIN_OUTPUT_VARIABLES } from '../../contracts/release-actions';
import { DeployClients } from '../../model-serving/runtime/deploy/aws';
import { deploymentStep, parseUserParameters } from '../../model-serving/runtime/deploy/invocation';

/** One step of the Deploy action. */
export async function deployStep(clients: DeployClients, config: DeployConfig, input: JobInput): Promise<JobOutcome> {
  if (input.continuationToken === undefined) {
    const problem = requestProblem(input.userParameters);
    if (problem) return { kind: 'failed', message: problem, failureType: FailureType.ConfigurationError };
  }
  const step = await deploymentStep(clients, config, {
    userParameters: input.userParameters,
    continuationToken: input.continuationToken,
  });
  switch (step.status) {
    case 'IN_PROGRESS':
      return { kind: 'in-progress', token: step.continuationToken!, summary: step.summary };
    case 'SUCCEEDED':
      return { kind: 'succeeded', summary: step.summary, outputVariables: step.outputVariables };
    default:
      return { kind: 'failed', message: step.summary };
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
