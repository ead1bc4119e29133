import { App, Stack, StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DriftMonitoring, DriftMonitoringProps } from '../../src/model-monitoring';
import { ModelRegistry } from '../../src/model-registry';
import { EndpointDeployment } from '../../src/model-serving';
import { acknowledgeNag } from '../../src/private/nag';
import { addNagChecks } from '../support/nag';

export const ENDPOINT = 'abalone-endpoint';
export const RELEASE_PIPELINE_ARN = 'arn:aws:codepipeline:us-east-1:123456789012:abalone-release';

function artifactBucket(stack: Stack): s3.Bucket {
  const bucket = new s3.Bucket(stack, 'ArtifactBucket', { enforceSSL: true });
  acknowledgeNag(bucket, [{ id: 'AwsSolutions-S1', reason: 'A test fixture standing in for the training pipeline\'s artifact bucket.' }]);
  return bucket;
}

/** What a DriftMonitoring needs: an endpoint, the bucket it captures to, a registry (and a release pipeline). */
export function monitoringInputs(stack: Stack) {
  return {
    endpoint: EndpointDeployment.fromEndpointName(stack, 'Endpoint', ENDPOINT),
    captureBucket: artifactBucket(stack),
    modelRegistry: new ModelRegistry(stack, 'Registry', {}),
    releasePipeline: codepipeline.Pipeline.fromPipelineArn(stack, 'Release', RELEASE_PIPELINE_ARN),
  };
}

/** A stack with one DriftMonitoring (and cdk-nag when asked). */
export function buildMonitoring(props: Partial<DriftMonitoringProps> = {}, options: { nag?: boolean; stackProps?: StackProps } = {}) {
  const stack = new Stack(new App(), 'Test', options.stackProps);
  if (options.nag) addNagChecks(stack);
  const inputs = monitoringInputs(stack);
  const { releasePipeline, ...required } = inputs;
  const monitoring = new DriftMonitoring(stack, 'Monitoring', {
    ...required,
    ...(props.retrainOnDrift ? { releasePipeline } : {}),
    ...props,
  });
  return { stack, monitoring, inputs, template: Template.fromStack(stack) };
}

/** Statements of the IAM policies attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(template: Template, rolePrefix: string): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export const actionsOf = (s: any): string[] => [].concat(s.Action);
