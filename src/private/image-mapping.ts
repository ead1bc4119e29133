import { CfnMapping, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { BuiltInImage, SKLEARN_IMAGE, XGBOOST_IMAGE, supportedImageRegions } from '../training-pipeline/definition/images';

/** A built-in image's URI and registry account, resolved for the stack's region. */
export interface ResolvedImage {
  readonly uri: string;
  readonly account: string;
  readonly repository: string;
}

/**
 * Image URIs for the stack: one region-agnostic template (a mapping keyed by region and the partition's URL
 * suffix); with an explicit region the values are inlined. An explicit region without the images fails here.
 */
export function resolveBuiltInImages(scope: Construct, id: string): { sklearn: ResolvedImage; xgboost: ResolvedImage } {
  const stack = Stack.of(scope);
  const regions = supportedImageRegions();
  if (!Token.isUnresolved(stack.region) && !regions.includes(stack.region)) {
    throw new Error(
      `The SageMaker built-in images ${SKLEARN_IMAGE.repository}:${SKLEARN_IMAGE.tag} and ${XGBOOST_IMAGE.repository}:${XGBOOST_IMAGE.tag} `
      + `are not available in region ${stack.region} (stack ${stack.stackName}). Supported regions: ${regions.join(', ')}.`,
    );
  }
  const mapping: Record<string, Record<string, string>> = {};
  for (const region of regions) {
    mapping[region] = { sklearn: SKLEARN_IMAGE.registries[region], xgboost: XGBOOST_IMAGE.registries[region] };
  }
  const map = new CfnMapping(scope, id, { mapping, lazy: true });
  const resolve = (key: string, image: BuiltInImage): ResolvedImage => {
    const account = map.findInMap(stack.region, key);
    return {
      account,
      repository: image.repository,
      uri: `${account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/${image.repository}:${image.tag}`,
    };
  };
  return { sklearn: resolve('sklearn', SKLEARN_IMAGE), xgboost: resolve('xgboost', XGBOOST_IMAGE) };
}

/** ECR repository ARNs of resolved built-in images (in the registry accounts AWS owns). */
export function imageRepositoryArns(scope: Construct, images: ResolvedImage[]): string[] {
  return images.map((image) => Stack.of(scope).formatArn({
    service: 'ecr',
    account: image.account,
    resource: 'repository',
    resourceName: image.repository,
  }));
}

/**
 * What a SageMaker job or model role needs to pull images and publish its metrics: the layers of exactly these
 * repositories, the ECR login (which has no resource type) and PutMetricData (none either), limited to
 * `metricsNamespace` by condition.
 */
export function sagemakerContainerStatements(repositoryArns: string[], metricsNamespace: string, sids: {
  readonly pull?: string; readonly login?: string; readonly metrics?: string;
} = {}): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: sids.pull,
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: repositoryArns,
    }),
    new iam.PolicyStatement({ sid: sids.login, actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    new iam.PolicyStatement({
      sid: sids.metrics,
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': metricsNamespace } },
    }),
  ];
}
