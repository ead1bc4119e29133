/**
 * Application Auto Scaling validates the caller's CloudWatch permissions before RegisterScalableTarget,
 * PutScalingPolicy and DeregisterScalableTarget proceed: it calls DescribeAlarms (MaxRecords=1) and PutMetricAlarm /
 * DeleteAlarms with an empty alarm name, and fails the request when one is denied
 * (https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html). These tests
 * evaluate every role of the synthesized system that may call those APIs against the exact probe requests.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { deniedRequests, IamRequest, isAllowed, render, roleStatements, TEST_ENVIRONMENT, wildcardMatch } from './iam-policy';
import { MlopsAbalonePipeline, ModelRegistry } from '../../../src';
import { EndpointDeployment } from '../../../src/model-serving/endpoint-deployment';

const SCALING_CALLS = [
  'application-autoscaling:RegisterScalableTarget',
  'application-autoscaling:PutScalingPolicy',
  'application-autoscaling:DeregisterScalableTarget',
];

/** The probes Application Auto Scaling makes as the caller, in the caller's account and Region. */
function cloudWatchProbes(env: { region: string; account: string }): IamRequest[] {
  const alarms = `arn:aws:cloudwatch:${env.region}:${env.account}:alarm:`;
  return [
    // DescribeAlarms without alarm names: authorized against alarm:* (aws-samples/amazon-cloudwatch-auto-alarms#1);
    // the empty name too, in case the probe names none at all.
    { action: 'cloudwatch:DescribeAlarms', resource: `${alarms}*` },
    { action: 'cloudwatch:DescribeAlarms', resource: alarms },
    // PutMetricAlarm and DeleteAlarms with an empty alarm name: the resource ends at "alarm:" (#18 there).
    { action: 'cloudwatch:PutMetricAlarm', resource: alarms },
    { action: 'cloudwatch:DeleteAlarms', resource: alarms },
  ];
}

/** A scaling call on the endpoint variant's scalable target (Application Auto Scaling generates the target id). */
function scalingCall(action: string, env: { region: string; account: string }): IamRequest {
  return {
    action,
    resource: `arn:aws:application-autoscaling:${env.region}:${env.account}:scalable-target/056b0fbc8e2e4f72a9c4e3e3c5d7e4a1`,
    context: { 'application-autoscaling:service-namespace': 'sagemaker' },
  };
}

/** Roles of a template that may call any of the scaling APIs, by logical id, with their statements. */
function scalingCallers(template: { [key: string]: any }, env: { region: string; account: string }): Map<string, any[]> {
  const callers = new Map<string, any[]>();
  for (const [id, resource] of Object.entries<any>(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const statements = roleStatements(template, id);
    if (SCALING_CALLS.some((action) => isAllowed(statements, scalingCall(action, env)))) callers.set(id, statements);
  }
  return callers;
}

function roleId(template: { [key: string]: any }, descriptionStart: string): string {
  const found = Object.entries<any>(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role' && String(r.Properties.Description ?? '').startsWith(descriptionStart));
  if (found.length !== 1) throw new Error(`${found.length} roles described "${descriptionStart}…"`);
  return found[0][0];
}

describe('the IAM evaluator', () => {
  test('matches IAM wildcards: * is any run of characters, including none; ? is one character', () => {
    expect(wildcardMatch('arn:aws:cloudwatch:eu-west-1:1:alarm:*', 'arn:aws:cloudwatch:eu-west-1:1:alarm:')).toBe(true);
    expect(wildcardMatch('arn:aws:cloudwatch:eu-west-1:1:alarm:*', 'arn:aws:cloudwatch:eu-west-1:1:alarm:*')).toBe(true);
    expect(wildcardMatch('arn:aws:cloudwatch:eu-west-1:1:alarm:TargetTracking-*', 'arn:aws:cloudwatch:eu-west-1:1:alarm:')).toBe(false);
    expect(wildcardMatch('arn:aws:s3:::b?', 'arn:aws:s3:::bx')).toBe(true);
    expect(wildcardMatch('arn:aws:s3:::b?', 'arn:aws:s3:::b')).toBe(false);
    expect(wildcardMatch('arn:aws:s3:::b.c', 'arn:aws:s3:::bxc')).toBe(false);
    expect(wildcardMatch('CloudWatch:Describe*', 'cloudwatch:DescribeAlarms', true)).toBe(true);
  });

  test('evaluates conditions, explicit denies and rendered ARNs', () => {
    const allow = {
      Effect: 'Allow',
      Action: 'application-autoscaling:DeregisterScalableTarget',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':application-autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':scalable-target/*']] },
      Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
    };
    const call = scalingCall('application-autoscaling:DeregisterScalableTarget', { region: 'eu-west-1', account: '123456789012' });
    expect(isAllowed([allow], call)).toBe(true);
    expect(isAllowed([allow], { ...call, context: { 'application-autoscaling:service-namespace': 'ecs' } })).toBe(false);
    expect(isAllowed([allow], { ...call, context: {} })).toBe(false);
    expect(isAllowed([allow, { Effect: 'Deny', Action: '*', Resource: '*' }], call)).toBe(false);
    expect(render({ 'Fn::GetAtt': ['Alarm', 'Arn'] })).toBe('<Alarm.Arn>');
    expect(() => isAllowed([{ Effect: 'Allow', NotAction: 'x', Resource: '*' }], call)).toThrow(/NotAction/);
  });

  test('denies the empty-name probes to a grant limited to target-tracking alarm names (the grant this replaces)', () => {
    const old = {
      Effect: 'Allow',
      Action: ['cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm'],
      Resource: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-endpoint/abalone/variant/AllTraffic-*',
    };
    expect(deniedRequests([old], cloudWatchProbes({ region: 'eu-west-1', account: '123456789012' }))).toHaveLength(4);
  });
});

describe('every role that calls Application Auto Scaling passes its permission probes', () => {
  // The whole system, so that every role of the release pipeline is checked too.
  const stack = new Stack(new App(), 'System');
  new MlopsAbalonePipeline(stack, 'Abalone', {});
  const template = Template.fromStack(stack).toJSON();
  const env = { region: TEST_ENVIRONMENT['AWS::Region'], account: TEST_ENVIRONMENT['AWS::AccountId'] };
  const callers = scalingCallers(template, env);

  test('the callers are the deploy function and the endpoint clean-up: the release pipeline\'s Deploy action only invokes the deploy function', () => {
    expect([...callers.keys()].sort()).toEqual([
      roleId(template, 'Deploys model packages to SageMaker endpoint'),
      roleId(template, 'Deletes SageMaker endpoint'),
    ].sort());
  });

  test('the deploy function may register, scale and deregister, and passes every CloudWatch probe', () => {
    const statements = roleStatements(template, roleId(template, 'Deploys model packages to SageMaker endpoint'));
    expect(deniedRequests(statements, SCALING_CALLS.map((action) => scalingCall(action, env)))).toEqual([]);
    expect(deniedRequests(statements, cloudWatchProbes(env))).toEqual([]);
  });

  test('the clean-up role may deregister the scalable target and passes every CloudWatch probe', () => {
    const statements = roleStatements(template, roleId(template, 'Deletes SageMaker endpoint'));
    expect(deniedRequests(statements, [scalingCall('application-autoscaling:DeregisterScalableTarget', env)])).toEqual([]);
    expect(deniedRequests(statements, cloudWatchProbes(env))).toEqual([]);
  });

  test('no role may use alarms of another Region or account', () => {
    for (const [id, statements] of callers) {
      const elsewhere = cloudWatchProbes({ region: 'us-east-1', account: '999999999999' });
      expect({ id, denied: deniedRequests(statements, elsewhere) }).toEqual({ id, denied: elsewhere.map((r) => `${r.action} on ${r.resource}`) });
    }
  });
});

describe('in a stack with a concrete account and Region', () => {
  test('the deploy and clean-up roles pass the probes of that account and Region', () => {
    const env = { account: '111111111111', region: 'ap-southeast-2' };
    const stack = new Stack(new App(), 'Concrete', { env });
    const deployment = new EndpointDeployment(stack, 'Endpoint', {
      modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
      artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifact-bucket'),
      endpointName: 'abalone',
    });
    const pipelineRole = new iam.Role(stack, 'PipelineDeployer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    deployment.grantInvokeDeploy(pipelineRole);
    const template = Template.fromStack(stack).toJSON();
    const callers = scalingCallers(template, env);
    expect(callers.size).toBe(2);
    for (const [id, statements] of callers) {
      expect({ id, denied: deniedRequests(statements, cloudWatchProbes(env)) }).toEqual({ id, denied: [] });
    }
  });
});
