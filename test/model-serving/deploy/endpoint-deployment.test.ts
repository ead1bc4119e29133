import { App, Aws, CfnParameter, Duration, Resource, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { ModelRegistry } from '../../../src/model-registry';
import { EndpointDeployment, EndpointDeploymentProps, EndpointTrafficRouting } from '../../../src/model-serving/endpoint-deployment';
import { addNagChecks, nagFindings } from '../../support/nag';
import { deployConfig } from '../support';


interface Built {
  stack: Stack;
  deployment: EndpointDeployment;
  template: Template;
}

function build(props: Partial<EndpointDeploymentProps> = {}, env?: { account: string; region: string }): Built {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env });
  addNagChecks(stack);
  const deployment = new EndpointDeployment(stack, 'Endpoint', {
    modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
    artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifact-bucket'),
    endpointName: 'abalone',
    ...props,
  });
  let template: Template | undefined;
  // Synthesized on first use, so tests can add to the stack first.
  return { stack, deployment, get template() { return template ??= Template.fromStack(stack); } };
}

/** Every statement of every identity policy in the template. */
function statements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

function policyOf(template: Template, roleIdPrefix: string): any[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const match = Object.entries(policies).find(([id]) => id.startsWith(roleIdPrefix));
  if (!match) throw new Error(`no policy ${roleIdPrefix}*`);
  return (match[1] as any).Properties.PolicyDocument.Statement;
}

function bySid(statementList: any[], sid: string): any {
  const found = statementList.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}

describe('EndpointDeployment', () => {
  test('synthesizes with zero unacknowledged cdk-nag findings', () => {
    const { stack } = build();
    expect(nagFindings(stack)).toEqual([]);
  });

  test('synthesizes with zero unacknowledged cdk-nag findings with a key, data capture and a known Region', () => {
    const app = new App();
    const stack = new Stack(app, 'KeyStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    addNagChecks(stack);
    new EndpointDeployment(stack, 'Endpoint', {
      modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
      artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifact-bucket'),
      encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('synthesizes with zero unacknowledged cdk-nag findings without data capture', () => {
    expect(nagFindings(build({ dataCapture: { enabled: false } }).stack)).toEqual([]);
  });

  test('exposes the endpoint name and its lower-case ARN', () => {
    const { stack, deployment } = build();
    expect(deployment.endpointName).toBe('abalone');
    expect(stack.resolve(deployment.endpointArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/abalone']],
    });
    expect(deployment.rollbackAlarms).toHaveLength(2);
  });

  test('defaults to a unique lower-case endpoint name', () => {
    const { deployment } = build({ endpointName: undefined });
    expect(deployment.endpointName).toMatch(/^[a-z0-9](-*[a-z0-9]){0,39}$/);
    expect(deployment.endpointName).toContain('endpoint');
    expect(build({ endpointName: undefined }).deployment.endpointName).toBe(deployment.endpointName);
  });

  describe('deploy function', () => {
    test('runs on Node.js for up to 15 minutes with its configuration in one variable', () => {
      const { template } = build();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: Match.stringLikeRegexp('^nodejs\\d+\\.x$'),
        Handler: 'index.handler',
        Timeout: 900,
        Environment: { Variables: { DEPLOY_CONFIG: Match.anyValue() } },
      });
    });

    test('is configured with the defaults: ml.m5.large x2, auto-scaling 2-4 at 70 invocations, 5-minute bake, both alarms', () => {
      const config = deployConfig(build().template);
      expect(config).toMatchObject({
        endpointName: 'abalone',
        namePrefix: 'abalone-',
        modelPackageGroupName: 'AbaloneModelPackageGroup',
        instanceType: 'ml.m5.large',
        instanceCount: 2,
        autoScaling: { minCapacity: 2, maxCapacity: 4, targetInvocationsPerInstance: 70, scaleInCooldownSeconds: 300, scaleOutCooldownSeconds: 60 },
        // All traffic at once, then a 5-minute final bake (the alarms' detection time); SageMaker may take
        // 15 minutes to start the new fleet before it.
        trafficRouting: { type: 'ALL_AT_ONCE' },
        bakeSeconds: 300,
        maxUpdateSeconds: 1200,
      });
      expect(config.rollbackAlarmNames).toHaveLength(2);
      expect(config.volumeKmsKeyId).toBeUndefined();
      // Data capture is on by default: every request, to the artifact bucket, S3 managed encryption.
      expect(config.dataCapture).toEqual({ samplingPercentage: 100, destinationS3Uri: 's3://artifact-bucket/data-capture' });
    });

    test('takes instance type, counts, capacity, key and data capture from props', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
        artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifact-bucket'),
        endpointInstanceType: 'ml.c5.xlarge',
        endpointInstanceCount: 3,
        maxCapacity: 6,
        targetInvocationsPerInstance: 200,
        encryptionKey: key,
        dataCapture: { samplingPercentage: 20 },
        deploymentBakeTime: Duration.minutes(10),
      });
      const config = deployConfig(Template.fromStack(stack));
      expect(config).toMatchObject({
        instanceType: 'ml.c5.xlarge',
        instanceCount: 3,
        autoScaling: { minCapacity: 3, maxCapacity: 6, targetInvocationsPerInstance: 200 },
        bakeSeconds: 600,
        dataCapture: { samplingPercentage: 20, destinationS3Uri: 's3://artifact-bucket/data-capture' },
      });
      expect(config.volumeKmsKeyId).toContain('Key');
      expect(config.dataCapture!.kmsKeyId).toEqual(config.volumeKmsKeyId);
    });

    test('without data capture the deploy request has none and nothing is exposed', () => {
      const { template, deployment } = build({ dataCapture: { enabled: false } });
      expect(deployConfig(template).dataCapture).toBeUndefined();
      expect(deployment.dataCaptureLocation).toBeUndefined();
      const policy = policyOf(template, 'EndpointModelRoleDefaultPolicy');
      expect(policy.filter((st) => [st.Action].flat().includes('s3:PutObject'))).toEqual([]);
    });

    test('without auto-scaling has no scaling configuration', () => {
      expect(deployConfig(build({ autoScaling: false, endpointInstanceType: 'ml.t2.medium' }).template).autoScaling).toBeUndefined();
    });

    test('a canary shifts its percentage first and bakes it; the update\'s timeout covers both bakes and the fleet\'s start', () => {
      const config = deployConfig(build({
        trafficRouting: EndpointTrafficRouting.canary({ percent: 25, bakeTime: Duration.minutes(6) }),
        deploymentBakeTime: Duration.minutes(7),
      }).template);
      expect(config).toMatchObject({
        trafficRouting: { type: 'CANARY', canaryPercent: 25, canaryBakeSeconds: 360 },
        bakeSeconds: 420,
        maxUpdateSeconds: 360 + 420 + 900,
      });
    });

    test('a canary defaults to half the capacity (one of the default two instances) for 5 minutes', () => {
      expect(deployConfig(build({ trafficRouting: EndpointTrafficRouting.canary() }).template)).toMatchObject({
        trafficRouting: { type: 'CANARY', canaryPercent: 50, canaryBakeSeconds: 300 },
        bakeSeconds: 300,
        maxUpdateSeconds: 1500,
      });
      expect(deployConfig(build({ trafficRouting: EndpointTrafficRouting.allAtOnce() }).template).trafficRouting).toEqual({ type: 'ALL_AT_ONCE' });
    });
  });

  describe('deploy role', () => {
    test('has no managed policies and no wildcard actions', () => {
      const { template } = build();
      const roles = Object.values(template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] } } }));
      for (const role of roles.filter((r: any) => !JSON.stringify(r).includes('AWSLambdaBasicExecutionRole'))) {
        expect((role as any).Properties.ManagedPolicyArns).toBeUndefined();
      }
      expect(JSON.stringify(template.toJSON())).not.toMatch(/FullAccess/);
      for (const s of statements(template)) {
        for (const action of [s.Action].flat()) {
          expect(action).not.toMatch(/^sagemaker:\*$|^[a-z-]+:\*$/);
          expect(action).not.toMatch(/^sagemaker:.*\*/);
        }
      }
    });

    test('creates models and endpoint configs only under the endpoint\'s name prefix', () => {
      const policy = policyOf(build().template, 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'ManageModels')).toMatchObject({
        Action: ['sagemaker:CreateModel', 'sagemaker:DeleteModel'],
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':model/abalone-*'])] },
      });
      expect(bySid(policy, 'ManageEndpointConfigs')).toMatchObject({
        Action: ['sagemaker:CreateEndpointConfig', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DescribeEndpointConfig'],
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':endpoint-config/abalone-*'])] },
      });
    });

    test('creates and updates only its endpoint, which needs both the endpoint and endpoint-config resources', () => {
      const policy = policyOf(build().template, 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'CreateAndUpdateEndpoint')).toMatchObject({
        Action: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'],
        Resource: [
          { 'Fn::Join': ['', expect.arrayContaining([':endpoint/abalone'])] },
          { 'Fn::Join': ['', expect.arrayContaining([':endpoint-config/abalone-*'])] },
        ],
      });
      expect(bySid(policy, 'OperateEndpoint')).toMatchObject({
        Action: ['sagemaker:DeleteEndpoint', 'sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'],
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':endpoint/abalone'])] },
      });
    });

    test('reads and approves only the group\'s packages, in the lower case of SageMaker ARNs and as named', () => {
      const { stack, template } = build();
      const policy = policyOf(template, 'EndpointDeployRoleDefaultPolicy');
      const packages = ['abalonemodelpackagegroup', 'AbaloneModelPackageGroup'].map((group) => stack.resolve(stack.formatArn({
        service: 'sagemaker', resource: 'model-package', resourceName: `${group}/*`,
      })));
      expect(bySid(policy, 'ReadModelPackages')).toMatchObject({ Action: 'sagemaker:DescribeModelPackage', Resource: packages });
      expect(bySid(policy, 'ApproveModelPackages')).toMatchObject({
        Action: 'sagemaker:UpdateModelPackage',
        Resource: packages,
        Condition: { StringEquals: { 'sagemaker:ModelApprovalStatus': 'Approved' } },
      });
      expect(bySid(policy, 'ListModelPackages')).toMatchObject({ Action: 'sagemaker:ListModelPackages', Resource: '*' });
    });

    test('takes the package ARNs from the model registry, in both spellings', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'Abalone-Group' });
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: registry,
        artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifact-bucket'),
      });
      const policy = policyOf(Template.fromStack(stack), 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'ReadModelPackages').Resource).toEqual(stack.resolve(registry.modelPackageArns()));
      expect(JSON.stringify(bySid(policy, 'ApproveModelPackages').Resource)).toContain(':model-package/abalone-group/*');
    });

    test('tags only on create, passes only the model role and only to SageMaker', () => {
      const policy = policyOf(build().template, 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'TagOnCreate')).toMatchObject({
        Action: 'sagemaker:AddTags',
        Condition: { StringEquals: { 'sagemaker:TaggingAction': ['CreateEndpoint', 'CreateEndpointConfig', 'CreateModel'] } },
      });
      expect(bySid(policy, 'PassModelRole')).toMatchObject({
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [expect.stringMatching('^EndpointModelRole'), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      });
    });

    test('scales only SageMaker targets and may create the auto-scaling service-linked role', () => {
      const policy = policyOf(build().template, 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'ScaleEndpoint')).toMatchObject({
        Action: [
          'application-autoscaling:DeleteScalingPolicy',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:PutScalingPolicy',
          'application-autoscaling:RegisterScalableTarget',
        ],
        Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
      });
      expect(bySid(policy, 'CreateScalingServiceRole')).toMatchObject({
        Action: 'iam:CreateServiceLinkedRole',
        Resource: { 'Fn::Join': ['', expect.arrayContaining([expect.stringMatching('AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint$')])] },
        Condition: { StringLike: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' } },
      });
      // Application Auto Scaling's permission probes name no alarm: only the alarm namespace matches them
      // (scaling-permissions.test.ts evaluates them against the policy).
      expect(bySid(policy, 'ScalingPermissionProbes')).toMatchObject({
        Action: ['cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm'],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] },
      });
    });

    test('reads the rollback alarms', () => {
      const policy = policyOf(build().template, 'EndpointDeployRoleDefaultPolicy');
      expect(bySid(policy, 'ReadRollbackAlarms')).toMatchObject({
        Action: 'cloudwatch:DescribeAlarms',
        Resource: [{ 'Fn::GetAtt': [expect.stringMatching('Invocation5XXErrorsAlarm'), 'Arn'] }, { 'Fn::GetAtt': [expect.stringMatching('ModelLatencyAlarm'), 'Arn'] }],
      });
    });

    test('may create KMS grants for AWS resources only, when a key is given', () => {
      const { template: plain } = build();
      expect(policyOf(plain, 'EndpointDeployRoleDefaultPolicy').find((s) => s.Sid === 'EncryptEndpointStorage')).toBeUndefined();
      const app = new App();
      const stack = new Stack(app, 'S');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: s3.Bucket.fromBucketName(stack, 'A', 'artifact-bucket'),
        encryptionKey: key,
      });
      expect(bySid(policyOf(Template.fromStack(stack), 'EndpointDeployRoleDefaultPolicy'), 'EncryptEndpointStorage')).toMatchObject({
        Action: ['kms:CreateGrant', 'kms:DescribeKey'],
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      });
    });

    test('grantInvokeDeploy lets another principal invoke the deploy function and nothing else', () => {
      const { stack, deployment } = build();
      const other = new iam.Role(stack, 'PipelineDeployer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      const grant = deployment.grantInvokeDeploy(other);
      expect(grant.success).toBe(true);
      const granted = policyOf(Template.fromStack(stack), 'PipelineDeployerDefaultPolicy');
      const functionArn = stack.resolve(deployment.deployFunction.functionArn);
      expect(granted).toEqual([{
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: [functionArn, { 'Fn::Join': ['', [functionArn, ':*']] }],
      }]);
    });
  });

  describe('model role', () => {
    test('is assumed by SageMaker and has no managed policies', () => {
      build().template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
        ManagedPolicyArns: Match.absent(),
      });
    });

    test('pulls the two inference images of the stack\'s Region', () => {
      const policy = policyOf(build({}, { account: '111111111111', region: 'eu-west-1' }).template, 'EndpointModelRoleDefaultPolicy');
      expect(bySid(policy, 'PullInferenceImages')).toMatchObject({
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: [
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:141502667606:repository/sagemaker-scikit-learn']] },
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:141502667606:repository/sagemaker-xgboost']] },
        ],
      });
    });

    test('looks the image registry up by Region in an environment-agnostic stack', () => {
      const { template } = build();
      expect(Object.keys(template.toJSON().Mappings ?? {})).toHaveLength(1);
      const policy = policyOf(template, 'EndpointModelRoleDefaultPolicy');
      expect(JSON.stringify(bySid(policy, 'PullInferenceImages').Resource)).toContain('Fn::FindInMap');
    });

    test('fails for a Region without the images', () => {
      expect(() => build({}, { account: '111111111111', region: 'ap-southeast-7' })).toThrow(/not available in region ap-southeast-7/);
    });

    test('reads the artifact bucket, writes the endpoint logs and may decrypt with the key', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: s3.Bucket.fromBucketName(stack, 'A', 'artifact-bucket'),
        endpointName: 'abalone',
        encryptionKey: key,
      });
      const policy = policyOf(Template.fromStack(stack), 'EndpointModelRoleDefaultPolicy');
      expect(policy).toEqual(expect.arrayContaining([
        expect.objectContaining({ Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'] }),
        expect.objectContaining({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching('^Key'), 'Arn'] } }),
      ]));
      expect(JSON.stringify(bySid(policy, 'EndpointLogs').Resource)).toContain('log-group:/aws/sagemaker/Endpoints/abalone');
      expect(bySid(policy, 'EndpointMetrics').Condition).toEqual({ StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/Endpoints*' } });
    });

    test("may write captured data under its own endpoint's capture prefix only: exactly s3:PutObject, no KMS without a key", () => {
      const { template, stack } = build();
      const policy = policyOf(template, 'EndpointModelRoleDefaultPolicy');
      const writes = policy.filter((st) => [st.Action].flat().some((a: string) => /^s3:(Put|Delete|Abort)/.test(a)));
      expect(writes).toHaveLength(1);
      expect(stack.resolve(bySid(policy, 'WriteDataCapture'))).toEqual({
        Sid: 'WriteDataCapture',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::artifact-bucket/data-capture/abalone/AllTraffic/*']] },
      });
      expect(policy.find((st) => st.Sid === 'EncryptDataCapture')).toBeUndefined();
    });

    test('with a customer key: encrypts captures with it (kms:Encrypt and kms:GenerateDataKey on that key only)', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: s3.Bucket.fromBucketName(stack, 'A', 'artifact-bucket'),
        endpointName: 'abalone',
        encryptionKey: key,
      });
      const policy = policyOf(Template.fromStack(stack), 'EndpointModelRoleDefaultPolicy');
      expect(bySid(policy, 'EncryptDataCapture')).toEqual({
        Sid: 'EncryptDataCapture',
        Effect: 'Allow',
        Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching('^Key'), 'Arn'] },
      });
    });

    test("a concrete artifact bucket's own key encrypts the captures, and the bucket expires them (default 90 days)", () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      const bucketKey = new kms.Key(stack, 'BucketKey', { enableKeyRotation: true });
      const bucket = new s3.Bucket(stack, 'Artifacts', { encryptionKey: bucketKey, enforceSSL: true });
      const deployment = new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: bucket,
        endpointName: 'abalone',
      });
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: [{ Id: 'ExpireDataCapture', Prefix: 'data-capture/', ExpirationInDays: 90, Status: 'Enabled' }] },
      });
      const config = deployConfig(template);
      expect(stack.resolve(config.dataCapture)).toEqual({
        samplingPercentage: 100,
        destinationS3Uri: expect.stringMatching(/^s3:\/\/.+\/data-capture$/),
        kmsKeyId: expect.stringContaining('BucketKey'),
      });
      expect(deployment.dataCaptureLocation).toEqual({
        bucket,
        keyPrefix: 'data-capture/',
        endpointKeyPrefix: 'data-capture/abalone/AllTraffic/',
        encryptionKey: bucketKey,
      });
    });

    test('dataCapture.expiration sets the lifecycle rule', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      new EndpointDeployment(stack, 'Endpoint', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: new s3.Bucket(stack, 'Artifacts', { enforceSSL: true }),
        endpointName: 'abalone',
        dataCapture: { expiration: Duration.days(14) },
      });
      Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'ExpireDataCapture', ExpirationInDays: 14 })] },
      });
    });
  });

  describe('rollback alarms', () => {
    test('watch server errors and model latency on the endpoint variant', () => {
      const { template } = build();
      template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
      const dimensions = [{ Name: 'EndpointName', Value: 'abalone' }, { Name: 'VariantName', Value: 'AllTraffic' }];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocation5XXErrors',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: 'ModelLatency',
        Dimensions: dimensions,
        Statistic: 'Average',
        Threshold: 1_000_000,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    test('watch the metric helpers\' metrics over one minute', () => {
      const { deployment } = build();
      const [errors, latency] = deployment.rollbackAlarms as cloudwatch.Alarm[];
      expect(errors.metric.toMetricConfig()).toEqual(deployment.metricInvocation5XXErrors({ period: Duration.minutes(1) }).toMetricConfig());
      expect(latency.metric.toMetricConfig()).toEqual(deployment.metricModelLatency({ period: Duration.minutes(1) }).toMetricConfig());
    });

    test('take their thresholds from props (latency in microseconds)', () => {
      const { template } = build({ rollbackErrorThreshold: 5, rollbackLatencyThreshold: Duration.millis(250) });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocation5XXErrors', Threshold: 5 });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ModelLatency', Threshold: 250_000 });
    });
  });

  describe('clean-up on stack delete', () => {
    test('is a custom resource naming the endpoint and its resource prefix, polled by the Provider framework', () => {
      const { template } = build();
      template.hasResourceProperties('Custom::SageMakerEndpointCleanup', { EndpointName: 'abalone', NamePrefix: 'abalone-' });
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ USER_IS_COMPLETE_FUNCTION_ARN: Match.anyValue() }) },
      });
    });

    test('is deleted before the model role and the alarms that an update in flight may still use', () => {
      const resources = build().template.findResources('Custom::SageMakerEndpointCleanup');
      const dependsOn: string[] = (Object.values(resources)[0] as any).DependsOn;
      expect(dependsOn).toEqual(expect.arrayContaining([
        expect.stringMatching(/^EndpointModelRole/),
        expect.stringMatching(/^EndpointModelRoleDefaultPolicy/),
        expect.stringMatching(/^EndpointInvocation5XXErrorsAlarm/),
        expect.stringMatching(/^EndpointModelLatencyAlarm/),
      ]));
    });

    test('gives up within the hour: the Provider polls for at most 50 minutes, CloudFormation waits at most 3600 s', () => {
      const { template } = build();
      const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
      expect(machines).toHaveLength(1);
      const definition = JSON.stringify((machines[0] as any).Properties.DefinitionString);
      const retry = /\\"IntervalSeconds\\":(\d+),\\"MaxAttempts\\":(\d+),\\"BackoffRate\\":1\b/.exec(definition);
      expect(retry).not.toBeNull();
      const [interval, attempts] = [Number(retry![1]), Number(retry![2])];
      // The Provider's totalTimeout is interval × attempts (backoff rate 1); its maximum is 1 hour.
      expect(interval * attempts).toBe(50 * 60);
      expect(interval * attempts).toBeLessThanOrEqual(3600);
      const cleanup = Object.values(template.findResources('Custom::SageMakerEndpointCleanup'))[0] as any;
      expect(Number(cleanup.Properties.ServiceTimeout)).toBeGreaterThan(interval * attempts);
      expect(Number(cleanup.Properties.ServiceTimeout)).toBeLessThanOrEqual(3600);
    });

    test('outlasts the longest update the deploy may start, plus a rollback or termination and the delete itself', () => {
      const { template } = build({
        trafficRouting: EndpointTrafficRouting.canary({ bakeTime: Duration.minutes(10) }),
        deploymentBakeTime: Duration.minutes(10),
      });
      const definition = JSON.stringify((Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any).Properties.DefinitionString);
      const [, interval, attempts] = /\\"IntervalSeconds\\":(\d+),\\"MaxAttempts\\":(\d+)/.exec(definition)!.map(Number);
      const longest = deployConfig(template).maxUpdateSeconds;
      expect(longest).toBe(1200 + 900);
      expect(longest + 600).toBeLessThan(interval * attempts);
    });

    test('may delete only its endpoint, the prefixed configs and models, and deregister SageMaker scaling', () => {
      const policy = policyOf(build().template, 'EndpointCleanupRoleDefaultPolicy');
      expect(bySid(policy, 'DeleteEndpoint')).toMatchObject({
        Action: ['sagemaker:DeleteEndpoint', 'sagemaker:DescribeEndpoint'],
        Resource: { 'Fn::Join': ['', expect.arrayContaining([':endpoint/abalone'])] },
      });
      expect(bySid(policy, 'DeleteOwnResources')).toMatchObject({
        Action: ['sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel'],
        Resource: [
          { 'Fn::Join': ['', expect.arrayContaining([':endpoint-config/abalone-*'])] },
          { 'Fn::Join': ['', expect.arrayContaining([':model/abalone-*'])] },
        ],
      });
      expect(bySid(policy, 'DeregisterScaling')).toMatchObject({
        Action: ['application-autoscaling:DeleteScalingPolicy', 'application-autoscaling:DeregisterScalableTarget'],
        Condition: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
      });
    });
  });

  describe('as a SageMaker IEndpoint', () => {
    const arnOf = (account: unknown, region: unknown, name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', region, ':', account, `:endpoint/${name}`]],
    });

    test('grantInvoke allows sagemaker:InvokeEndpoint on exactly this endpoint\'s ARN', () => {
      const { stack, deployment } = build();
      const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      const endpoint: sagemaker.IEndpoint = deployment;
      const grant = endpoint.grantInvoke(caller);
      expect(grant.success).toBe(true);
      expect(policyOf(Template.fromStack(stack), 'CallerDefaultPolicy')).toEqual([{
        Action: 'sagemaker:InvokeEndpoint',
        Effect: 'Allow',
        Resource: arnOf({ Ref: 'AWS::AccountId' }, { Ref: 'AWS::Region' }, 'abalone'),
      }]);
      expect(stack.resolve(deployment.endpointRef.endpointArn)).toEqual(stack.resolve(deployment.endpointArn));
    });

    test('is a Resource of its stack\'s environment', () => {
      const { stack, deployment } = build({}, { account: '111111111111', region: 'eu-west-1' });
      expect(deployment).toBeInstanceOf(Resource);
      expect(deployment.stack).toBe(stack);
      expect(deployment.env).toEqual({ account: '111111111111', region: 'eu-west-1' });
      expect(stack.resolve(deployment.endpointArn)).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:eu-west-1:111111111111:endpoint/abalone']],
      });
    });

    test('fromEndpointName: the ARN is in the stack\'s partition, Region and account, with the name in lower case', () => {
      const stack = new Stack(new App(), 'S', { env: { account: '222222222222', region: 'us-west-2' } });
      const imported = EndpointDeployment.fromEndpointName(stack, 'Imported', 'Abalone-Prod');
      expect(imported.endpointName).toBe('Abalone-Prod');
      expect(stack.resolve(imported.endpointArn)).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:us-west-2:222222222222:endpoint/abalone-prod']],
      });
      expect(stack.resolve(imported.endpointRef.endpointArn)).toEqual(stack.resolve(imported.endpointArn));
      expect(imported.env).toEqual({ account: '222222222222', region: 'us-west-2' });
    });

    test('fromEndpointName in an environment-agnostic stack uses the stack\'s pseudo parameters', () => {
      const stack = new Stack(new App(), 'S');
      const imported = EndpointDeployment.fromEndpointName(stack, 'Imported', 'abalone');
      expect(stack.resolve(imported.endpointArn)).toEqual(arnOf({ Ref: 'AWS::AccountId' }, { Ref: 'AWS::Region' }, 'abalone'));
    });

    test('fromEndpointArn: the name is the ARN\'s, and the endpoint is in the ARN\'s account and Region', () => {
      const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
      const arn = 'arn:aws-cn:sagemaker:cn-north-1:333333333333:endpoint/abalone-prod';
      const imported = EndpointDeployment.fromEndpointArn(stack, 'Imported', arn);
      expect(imported.endpointName).toBe('abalone-prod');
      expect(imported.endpointArn).toBe(arn);
      expect(imported.env).toEqual({ account: '333333333333', region: 'cn-north-1' });
    });

    test('fromEndpointArn takes a token ARN and splits the name out of it at deploy time', () => {
      const stack = new Stack(new App(), 'S');
      const arn = new CfnParameter(stack, 'EndpointArn').valueAsString;
      const imported = EndpointDeployment.fromEndpointArn(stack, 'Imported', arn);
      expect(stack.resolve(imported.endpointName)).toEqual({
        'Fn::Select': [1, { 'Fn::Split': ['/', { 'Fn::Select': [5, { 'Fn::Split': [':', { Ref: 'EndpointArn' }] }] }] }],
      });
    });

    test.each([
      ['by name', (stack: Stack) => EndpointDeployment.fromEndpointName(stack, 'Imported', 'abalone'),
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:eu-west-1:111111111111:endpoint/abalone']] }],
      ['by ARN', (stack: Stack) => EndpointDeployment.fromEndpointArn(stack, 'Imported', 'arn:aws:sagemaker:eu-west-1:111111111111:endpoint/abalone'),
        'arn:aws:sagemaker:eu-west-1:111111111111:endpoint/abalone'],
    ])('an endpoint imported %s grants InvokeEndpoint on exactly its ARN', (_how, imported, resource) => {
      const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
      const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      imported(stack).grantInvoke(caller);
      expect(policyOf(Template.fromStack(stack), 'CallerDefaultPolicy')).toEqual([{ Action: 'sagemaker:InvokeEndpoint', Effect: 'Allow', Resource: resource }]);
    });

    test.each([
      ['fromEndpointName', () => EndpointDeployment.fromEndpointName(new Stack(), 'I', 'abalone_prod'), /Invalid EndpointDeployment.fromEndpointName props:\n- endpointName is "abalone_prod"; it must be a SageMaker endpoint name/],
      ['fromEndpointArn', () => EndpointDeployment.fromEndpointArn(new Stack(), 'I', 'arn:aws:sagemaker:eu-west-1:111111111111:model/abalone'),
        /Invalid EndpointDeployment.fromEndpointArn props:\n- endpointArn is "arn:aws:sagemaker:eu-west-1:111111111111:model\/abalone"; it must be a SageMaker endpoint ARN/],
    ])('%s refuses what is not an endpoint, naming the argument', (_name, importIt, message) => {
      expect(importIt).toThrow(message);
    });
  });

  describe('metrics of the AllTraffic variant', () => {
    const dimensions = { EndpointName: 'abalone', VariantName: 'AllTraffic' };

    test('metric names any SageMaker endpoint metric, with the endpoint and variant as dimensions, in the endpoint\'s account and Region', () => {
      const { deployment } = build({}, { account: '111111111111', region: 'eu-west-1' });
      const metric = deployment.metric('InvocationsPerInstance', { statistic: 'Sum', period: Duration.minutes(1) });
      expect(metric.namespace).toBe('AWS/SageMaker');
      expect(metric.metricName).toBe('InvocationsPerInstance');
      expect(metric.dimensions).toEqual(dimensions);
      expect(metric.statistic).toBe('Sum');
      expect(metric.period.toSeconds()).toBe(60);
      expect(metric.account).toBe('111111111111');
      expect(metric.region).toBe('eu-west-1');
    });

    test.each<[string, (d: EndpointDeployment) => cloudwatch.Metric, string, string]>([
      ['metricInvocations', (d) => d.metricInvocations(), 'Invocations', 'Sum'],
      ['metricInvocation5XXErrors', (d) => d.metricInvocation5XXErrors(), 'Invocation5XXErrors', 'Sum'],
      ['metricModelLatency', (d) => d.metricModelLatency(), 'ModelLatency', 'Average'],
    ])('%s: %s, statistic by default, over 5 minutes', (_helper, metricOf, metricName, statistic) => {
      const metric = metricOf(build().deployment);
      expect(metric).toMatchObject({ namespace: 'AWS/SageMaker', metricName, statistic, dimensions });
      expect(metric.period.toSeconds()).toBe(300);
    });

    test('the helpers take options', () => {
      const metric = build().deployment.metricModelLatency({ statistic: 'p99', period: Duration.minutes(1), label: 'p99 latency' });
      expect(metric).toMatchObject({ metricName: 'ModelLatency', statistic: 'p99', label: 'p99 latency', dimensions });
    });

    test('an alarm on a helper metric watches the variant, as the rollback alarms do', () => {
      const { stack, deployment } = build();
      deployment.metricInvocations({ period: Duration.minutes(1) }).createAlarm(stack, 'NoTraffic', {
        threshold: 1, evaluationPeriods: 5, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      });
      Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocations',
        Dimensions: [{ Name: 'EndpointName', Value: 'abalone' }, { Name: 'VariantName', Value: 'AllTraffic' }],
        Statistic: 'Sum',
        Period: 60,
      });
    });
  });

  describe('prop validation names the prop', () => {
    test.each<[string, Partial<EndpointDeploymentProps>]>([
      ['endpointName', { endpointName: 'Abalone' }],
      ['endpointName', { endpointName: 'a'.repeat(64) }],
      ['endpointName', { endpointName: 'abalone-' }],
      ['endpointInstanceType', { endpointInstanceType: 'm5.large' }],
      ['endpointInstanceType', { endpointInstanceType: 'ml.t2.medium' }],
      ['endpointInstanceType', { endpointInstanceType: 'ml.t3.large' }],
      ['endpointInstanceCount', { endpointInstanceCount: 0 }],
      ['endpointInstanceCount', { endpointInstanceCount: 1.5 }],
      ['minCapacity', { minCapacity: 0 }],
      ['maxCapacity', { maxCapacity: 0 }],
      ['maxCapacity', { minCapacity: 5, maxCapacity: 3 }],
      ['maxCapacity', { endpointInstanceCount: 5, maxCapacity: 4 }],
      ['targetInvocationsPerInstance', { targetInvocationsPerInstance: 0 }],
      ['dataCapture.samplingPercentage', { dataCapture: { samplingPercentage: 101 } }],
      ['dataCapture.samplingPercentage', { dataCapture: { samplingPercentage: -1 } }],
      ['dataCapture.samplingPercentage', { dataCapture: { samplingPercentage: 12.5 } }],
      ['dataCapture.samplingPercentage', { dataCapture: { enabled: false, samplingPercentage: 50 } }],
      ['dataCapture.expiration', { dataCapture: { enabled: false, expiration: Duration.days(30) } }],
      // The test's artifact bucket is imported: its owner sets the lifecycle.
      ['dataCapture.expiration', { dataCapture: { expiration: Duration.days(30) } }],
      ['rollbackErrorThreshold', { rollbackErrorThreshold: 0 }],
      ['rollbackLatencyThreshold', { rollbackLatencyThreshold: Duration.millis(0) }],
      ['deploymentBakeTime', { deploymentBakeTime: Duration.hours(2) }],
      ['deploymentBakeTime', { deploymentBakeTime: Duration.minutes(2) }],
      ['deploymentBakeTime', { deploymentBakeTime: Duration.seconds(0) }],
      ['deploymentBakeTime', { deploymentBakeTime: Duration.minutes(21) }],
      ['deploymentBakeTime', { deploymentBakeTime: Duration.minutes(15), trafficRouting: EndpointTrafficRouting.canary({ bakeTime: Duration.minutes(6) }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary({ percent: 0 }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary({ percent: 51 }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary({ percent: 12.5 }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary({ bakeTime: Duration.seconds(3601) }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary({ bakeTime: Duration.millis(1500) }) }],
      ['trafficRouting', { trafficRouting: EndpointTrafficRouting.canary(), endpointInstanceCount: 1 }],
      ['minCapacity', { autoScaling: false, minCapacity: 2 }],
      ['maxCapacity', { autoScaling: false, maxCapacity: 2 }],
      ['targetInvocationsPerInstance', { autoScaling: false, targetInvocationsPerInstance: 2 }],
    ])('%s: %p', (prop, props) => {
      expect(() => build(props)).toThrow(new RegExp(`Invalid EndpointDeployment props:[\\s\\S]*- ${prop} is `));
    });

    test('an endpoint name token is refused', () => {
      const app = new App();
      const stack = new Stack(app, 'S');
      expect(() => new EndpointDeployment(stack, 'E', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: s3.Bucket.fromBucketName(stack, 'A', 'artifact-bucket'),
        endpointName: Aws.STACK_NAME,
      })).toThrow(/endpointName is .*it must be known at synth/);
    });

    test('reports every problem in one error', () => {
      expect(() => build({ endpointInstanceCount: 0, endpointInstanceType: 'bad' })).toThrow(/endpointInstanceType is "bad"[\s\S]*endpointInstanceCount is 0/);
    });

    test('a bake shorter than the alarms\' detection time is refused, saying why', () => {
      expect(() => build({ deploymentBakeTime: Duration.minutes(2) })).toThrow(
        'deploymentBakeTime is 120; it must be at least 300 seconds: the rollback alarms need 2 periods of 60 s plus about 180 s '
        + 'for the endpoint\'s metrics to reach CloudWatch before they fire, and SageMaker keeps the old fleet to roll back to only this long');
      expect(() => build({ deploymentBakeTime: Duration.minutes(5) })).not.toThrow();
    });

    test('waits that would outlast the clean-up\'s hour are refused, naming the bake and the canary\'s share', () => {
      const canary = (minutes: number) => EndpointTrafficRouting.canary({ bakeTime: Duration.minutes(minutes) });
      expect(() => build({ deploymentBakeTime: Duration.minutes(15), trafficRouting: canary(6) }))
        .toThrow(/deploymentBakeTime is 900; with the canary's bake of 360 s, an update would wait 1260 s in all; at most 1200 s are allowed/);
      expect(() => build({ deploymentBakeTime: Duration.minutes(10), trafficRouting: canary(10) })).not.toThrow();
    });

    test('a canary outside what SageMaker accepts is refused, naming the prop', () => {
      expect(() => build({ trafficRouting: EndpointTrafficRouting.canary({ percent: 60 }) }))
        .toThrow(/trafficRouting is "canary 60% for 300 s"; its percent must be a whole number from 1 to 50/);
      expect(() => build({ trafficRouting: EndpointTrafficRouting.canary({ percent: 1, bakeTime: Duration.seconds(0) }) })).not.toThrow();
    });

    test('burstable instances are allowed without auto-scaling', () => {
      expect(() => build({ autoScaling: false, endpointInstanceType: 'ml.t2.medium' })).not.toThrow();
    });
  });
});

describe('EndpointDeployment with an artifact bucket of another account', () => {
  const KEY_ARN = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  function buildForeign(encryptionKey?: (stack: Stack) => kms.IKey) {
    const stack = new Stack(new App(), 'Target', { env: { account: '222222222222', region: 'eu-west-1' } });
    addNagChecks(stack);
    new EndpointDeployment(stack, 'Endpoint', {
      modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup', account: '111111111111' }),
      artifactBucket: s3.Bucket.fromBucketAttributes(stack, 'Artifacts', {
        bucketName: 'training-bucket', account: '111111111111', region: 'eu-west-1', encryptionKey: encryptionKey?.(stack),
      }),
      endpointName: 'abalone',
      dataCapture: { enabled: false },
    });
    const model = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .filter((p: any) => JSON.stringify(p.Properties.Roles).includes('EndpointModelRole'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    return { stack, model };
  }
  const touchingTooling = (model: any[]) => model.filter((s) => /training-bucket|:kms:/.test(JSON.stringify(s.Resource)));

  test('names the bucket\'s imported key exactly, through S3 only, and reads only the execution outputs', () => {
    const { stack, model } = buildForeign((s) => kms.Key.fromKeyArn(s, 'Key', KEY_ARN));
    expect(touchingTooling(model)).toEqual([
      {
        Sid: 'ReadTrainingArtifacts',
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::training-bucket/pipeline-executions/*']] },
      },
      {
        Sid: 'DecryptTrainingArtifactsThroughS3',
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: KEY_ARN,
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
    ]);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('without a key, names the owner account\'s keys in its Region, through S3 only', () => {
    const { stack, model } = buildForeign();
    expect(touchingTooling(model).map((s) => [s.Sid, JSON.stringify(s.Resource)])).toEqual([
      ['ReadTrainingArtifacts', expect.stringContaining('training-bucket/pipeline-executions/*')],
      ['DecryptTrainingArtifactsThroughS3', expect.stringContaining(':kms:eu-west-1:111111111111:key/*')],
    ]);
    expect(nagFindings(stack)).toEqual([]);
  });
});
