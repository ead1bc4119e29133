import { createHash } from 'crypto';

// Runtime-free helpers shared by the construct and the handlers: they must not import the AWS SDK.

/** The one production variant; kept stable so blue/green guardrails and the scalable target keep working. */
export const VARIANT_NAME = 'AllTraffic';

/** Application Auto Scaling dimension of a SageMaker variant's instance count. */
export const SCALABLE_DIMENSION = 'sagemaker:variant:DesiredInstanceCount';

/** Tag keys written on every model, endpoint config and endpoint the deploy function creates. */
export const TAG_ENDPOINT = 'cdk-mlops-abalone:endpoint';
export const TAG_MODEL_PACKAGE = 'cdk-mlops-abalone:model-package';

/** SageMaker's name pattern for endpoints, endpoint configs and models (63 characters at most). */
export const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * Endpoint names this library accepts: lower case, because SageMaker lower-cases names in ARNs and IAM
 * policies must match them.
 */
export const ENDPOINT_NAME = /^[a-z0-9](-*[a-z0-9]){0,62}$/;

const MAX_NAME = 63;
// '<version>-<8 hex>' after the prefix: room for a 6-digit version.
const MAX_SUFFIX = 6 + 1 + 8;

/** A versioned model package ARN: `arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version>`. */
const VERSIONED_PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})\/(\d+)$/;

/** The prefix of every model and endpoint config name made for an endpoint: `<endpoint name, truncated>-`. */
export function namePrefixFor(endpointName: string): string {
  return `${endpointName.toLowerCase().slice(0, MAX_NAME - MAX_SUFFIX - 1)}-`;
}

/** Group name (as written in the ARN) and version of a versioned model package ARN, or undefined. */
export function parseModelPackageArn(arn: string): { group: string; version: number } | undefined {
  const match = VERSIONED_PACKAGE_ARN.exec(arn);
  return match ? { group: match[1], version: Number(match[2]) } : undefined;
}

/**
 * The name shared by the model and the endpoint config of one deployment: the prefix, the package version
 * and a hash of everything that defines them, so that the same inputs always give the same name (creation is
 * idempotent, and "already serving" is a name comparison) and different inputs never collide.
 */
export function deploymentResourceName(namePrefix: string, modelPackageArn: string, fingerprint: unknown): string {
  const version = String(parseModelPackageArn(modelPackageArn)?.version ?? 0).slice(-6);
  const hash = createHash('sha256').update(JSON.stringify([modelPackageArn, fingerprint])).digest('hex').slice(0, 8);
  return `${namePrefix}${version}-${hash}`;
}

/** Whether a model or endpoint config name was made by {@link deploymentResourceName} for this prefix. */
export function isOwnedName(namePrefix: string, name: string): boolean {
  if (!name.startsWith(namePrefix)) return false;
  return /^\d{1,6}-[0-9a-f]{8}$/.test(name.slice(namePrefix.length));
}

/** Application Auto Scaling resource id of the endpoint's variant. */
export function scalableResourceId(endpointName: string): string {
  return `endpoint/${endpointName}/variant/${VARIANT_NAME}`;
}
