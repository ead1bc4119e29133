import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelRegistry } from '../../../src/model-registry';
import { ModelServing, ModelServingProps } from '../../../src/model-serving';

/** The CloudFormation template of a stack holding one ModelServing with these props. */
export function servingTemplate(props: Partial<ModelServingProps> = {}): Template {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const artifactBucket = s3.Bucket.fromBucketName(stack, 'Artifacts', 'abalone-artifacts');
  const modelRegistry = ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' });
  new ModelServing(stack, 'Serving', { modelRegistry, artifactBucket, ...props });
  return Template.fromStack(stack);
}
