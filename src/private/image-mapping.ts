import { CfnMapping, Stack, Token } from 'aws-cdk-lib';
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
