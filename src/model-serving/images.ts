import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { resolveBuiltInImages } from '../private/image-mapping';

/**
 * ARNs of the model package's two image repositories (sklearn 1.2-1 preprocessor, XGBoost 1.7-1) in the stack's
 * Region: literal when the Region is known at synth, a template mapping otherwise. Throws for a Region without them.
 */
export function inferenceRepositoryArns(scope: Construct): string[] {
  const images = resolveBuiltInImages(scope, 'ImageRegistries');
  return [images.sklearn, images.xgboost].map((image) => Stack.of(scope).formatArn({
    service: 'ecr',
    account: image.account,
    resource: 'repository',
    resourceName: image.repository,
  }));
}
