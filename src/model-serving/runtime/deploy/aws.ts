import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';

/** The AWS clients the deploy logic uses; tests point them at moto_server or stub them. */
export interface DeployClients {
  readonly sagemaker: SageMakerClient;
  readonly autoScaling: ApplicationAutoScalingClient;
}

/** Clients for the Lambda runtime (credentials and Region from the environment). */
export function defaultClients(): DeployClients {
  return { sagemaker: new SageMakerClient({}), autoScaling: new ApplicationAutoScalingClient({}) };
}

/** An AWS SDK error with the given name whose message matches. */
export function isAwsError(error: unknown, name: string, message?: RegExp): boolean {
  if (!(error instanceof Error) || error.name !== name) return false;
  return message ? message.test(error.message) : true;
}

/** SageMaker answers ValidationException for unknown names; the message says which kind of "not found". */
export function isNotFound(error: unknown): boolean {
  return isAwsError(error, 'ValidationException', /could not find|not found|does not exist/i)
    || isAwsError(error, 'ResourceNotFound');
}

/** SageMaker rejects a create whose name is taken. */
export function isAlreadyExists(error: unknown): boolean {
  return isAwsError(error, 'ValidationException', /already exist/i) || isAwsError(error, 'ResourceInUse');
}

/** Application Auto Scaling's answer when there is no such scalable target. */
export function isNoScalableTarget(error: unknown): boolean {
  return isAwsError(error, 'ObjectNotFoundException') || isAwsError(error, 'ValidationException', /no scalable target/i);
}

