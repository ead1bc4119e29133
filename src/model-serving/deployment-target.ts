import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * An endpoint whose deploy function a release pipeline invokes: `{ modelPackageArn, approve, wait: false }`
 * starts a deployment of that package, `{ state, wait: false }` checks one that the answer said is IN_PROGRESS.
 *
 * ModelServing's endpoint provides it. The pipeline's action only invokes the function, so the deploy logic and its
 * permissions stay with the endpoint, which may be in another account.
 */
export interface IModelDeploymentTarget {
  /** Name of the SageMaker endpoint the deploy function manages. */
  readonly endpointName: string;

  /** The function that runs the endpoint's deploy logic. */
  readonly deployFunction: lambda.IFunction;

  /** Allows the grantee to invoke the deploy function. */
  grantInvokeDeploy(grantee: iam.IGrantable): iam.Grant;
}
