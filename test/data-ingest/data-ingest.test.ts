import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataIngest, DataIngestProps } from '../../src';
import { addNagChecks, nagFindings } from '../support/nag';

function build(props: DataIngestProps = {}): { stack: Stack; ingest: DataIngest; template: Template } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const ingest = new DataIngest(stack, 'Ingest', props);
  return { stack, ingest, template: Template.fromStack(stack) };
}

function dataBucket(template: Template): Record<string, any> {
  const buckets = template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' }, LoggingConfiguration: Match.anyValue() } });
  const entries = Object.values(buckets);
  expect(entries).toHaveLength(1);
  return entries[0].Properties;
}

describe('DataIngest secure defaults', () => {
  const { stack, template } = build();

  test('data bucket is versioned, encrypted, logged, private, and emits EventBridge events', () => {
    const props = dataBucket(template);
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    expect(props.LoggingConfiguration.LogFilePrefix).toBe('data-bucket/');
    expect(props.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerEnforced');
    expect(props.LifecycleConfiguration.Rules).toEqual(expect.arrayContaining([
      expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
    ]));
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: Match.objectLike({ EventBridgeConfiguration: {} }),
    });
  });

  test('both buckets deny requests without TLS', () => {
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]));
    }
  });

  test('buckets are retained by default', () => {
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test('created and removed .csv and .data files under raw/ are notified to the queue the function reads', () => {
    const notifications = template.findResources('Custom::S3BucketNotifications');
    const config = Object.values(notifications)[0].Properties.NotificationConfiguration;
    expect(config.LambdaFunctionConfigurations).toBeUndefined();
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue')).find((id) => id.startsWith('IngestNotificationQueue'))!;
    expect(new Set(config.QueueConfigurations.map((c: any) => JSON.stringify(c.QueueArn)))).toEqual(new Set([JSON.stringify({ 'Fn::GetAtt': [queueId, 'Arn'] })]));
    const filters = config.QueueConfigurations.map((c: any) => [c.Events[0], c.Filter.Key.FilterRules]);
    expect(filters).toEqual(expect.arrayContaining([
      ['s3:ObjectCreated:*', [{ Name: 'suffix', Value: '.csv' }, { Name: 'prefix', Value: 'raw/' }]],
      ['s3:ObjectRemoved:*', [{ Name: 'suffix', Value: '.csv' }, { Name: 'prefix', Value: 'raw/' }]],
      ['s3:ObjectCreated:*', [{ Name: 'suffix', Value: '.data' }, { Name: 'prefix', Value: 'raw/' }]],
      ['s3:ObjectRemoved:*', [{ Name: 'suffix', Value: '.data' }, { Name: 'prefix', Value: 'raw/' }]],
    ]));
    expect(filters).toHaveLength(4);
  });

  test('the function runs on an explicit Node.js runtime with its own log group, in batches of the queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 900,
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: { Variables: Match.objectLike({ RAW_PREFIX: 'raw/', MAX_FILE_SIZE_BYTES: '104857600' }) },
    });
    // Up to 100 notifications per invocation, two invocations at most, failed messages redelivered alone.
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestNotificationQueue'), 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 20,
      ScalingConfig: { MaximumConcurrency: 2 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // Visibility six times the function's timeout; five deliveries, then the dead-letter queue, which an alarm watches.
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 5400,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestDeadLetterQueue'), 'QueueName'] } }],
      Threshold: 1,
    });
    // Only S3, only from the data bucket, may send to the queue.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: 's3.amazonaws.com' },
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestDataBucket'), 'Arn'] } } },
        })]),
      },
    });
  });

  test('the function role is limited to the prefixes it owns and has no managed policies', () => {
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('Validates abalone data uploads') },
    });
    const [roleId, role] = Object.entries(roles)[0];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p: any) =>
      p.Properties.Roles.some((r: any) => r.Ref === roleId));
    const statements = policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).not.toContain('s3:*');
    const objects = (key: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^IngestDataBucket/), 'Arn'] }, key]] });
    const deleteObject = statements.find((s: any) => [s.Action].flat().includes('s3:DeleteObject'));
    expect([deleteObject.Resource].flat()).toEqual([objects('/manifest/training-manifest.json')]);
    const deleteVersion = statements.find((s: any) => [s.Action].flat().includes('s3:DeleteObjectVersion'));
    expect([deleteVersion.Resource].flat()).toEqual([objects('/raw/*')]);
    const publish = statements.find((s: any) => s.Action === 'sns:Publish');
    expect(publish.Resource).toEqual({ Ref: expect.stringMatching(/IngestTopic/) });
  });

  test('the ingest topic is encrypted and SSL-only', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('DataIngest options', () => {
  test('a customer KMS key encrypts the bucket, topic and queue', () => {
    const stack = new Stack(new App(), 'Test');
    addNagChecks(stack);
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new DataIngest(stack, 'Ingest', { encryptionKey: key });
    const template = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] };
    const props = dataBucket(template);
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0]).toEqual({
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    expect(Object.values<any>(template.findResources('AWS::SQS::Queue')).map((q) => q.Properties.KmsMasterKeyId)).toEqual([keyArn, keyArn]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KMS_KEY_ARN: keyArn }) },
    });
    // S3 may use the key for the queue, and CloudWatch for the topic the dead-letter alarm notifies; neither statement
    // names the bucket (which the key encrypts: that would be a dependency cycle).
    const keyPolicy = JSON.stringify(Object.values<any>(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement);
    for (const service of ['s3.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: service }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
      });
    }
    expect(keyPolicy).not.toContain('IngestDataBucket');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^IngestIngestTopic') }],
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('RemovalPolicy.DESTROY empties and deletes the buckets', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });

  test('a custom raw prefix and size limit reach the function and the triggers', () => {
    const { template } = build({ rawDataPrefix: 'uploads/abalone/', maxFileSizeBytes: 1024 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RAW_PREFIX: 'uploads/abalone/', MAX_FILE_SIZE_BYTES: '1024' }) },
    });
    const [notifications] = Object.values<any>(template.findResources('Custom::S3BucketNotifications'));
    const prefixes = notifications.Properties.NotificationConfiguration.QueueConfigurations
      .map((c: any) => c.Filter.Key.FilterRules.find((r: any) => r.Name === 'prefix').Value);
    expect(prefixes).toEqual(['uploads/abalone/', 'uploads/abalone/', 'uploads/abalone/', 'uploads/abalone/']);
  });

  test('dataBucketProps are merged over the defaults', () => {
    const { template } = build({ dataBucketProps: { bucketName: 'my-abalone-data' } });
    expect(dataBucket(template).BucketName).toBe('my-abalone-data');
  });

  test('an existing bucket is used as it is, with a warning about versioning', () => {
    const stack = new Stack(new App(), 'Test');
    const existing = s3.Bucket.fromBucketName(stack, 'Existing', 'team-data');
    const ingest = new DataIngest(stack, 'Ingest', { existingDataBucket: existing });
    expect(ingest.dataBucket).toBe(existing);
    expect(ingest.accessLogsBucket).toBeUndefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::S3::Bucket', 0);
    Annotations.fromStack(stack).hasWarning('/Test/Ingest', Match.stringLikeRegexp('existingDataBucket.*versioned'));
  });

  test('exposes the layout and grants', () => {
    const stack = new Stack(new App(), 'Test');
    const ingest = new DataIngest(stack, 'Ingest');
    expect(ingest.rawDataPrefix).toBe('raw/');
    expect(ingest.dataManifestKey).toBe('manifest/data-manifest.json');
    expect(ingest.trainingManifestKey).toBe('manifest/training-manifest.json');
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    ingest.grantReadManifests(role);
    ingest.grantUpload(role);
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [stack.resolve(ingest.dataBucket.bucketArn), prefix]] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']), Resource: Match.arrayWith([objects('/manifest/*')]) }),
          Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']), Resource: Match.arrayWith([objects('/validated/*')]) }),
          Match.objectLike({ Action: Match.arrayWith(['s3:PutObject']), Resource: objects('/raw/*') }),
        ]),
      },
    });
  });

  test('grantReadManifests returns one grant covering the manifests, the validated copies and the key', () => {
    const stack = new Stack(new App(), 'Test');
    const encryptionKey = new kms.Key(stack, 'Key');
    const ingest = new DataIngest(stack, 'Ingest', { encryptionKey });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    const grant = ingest.grantReadManifests(role);
    expect(grant.success).toBe(true);
    const resources = JSON.stringify(stack.resolve(grant.principalStatements.map((s) => s.toStatementJson().Resource)));
    expect(resources).toMatch(/\/manifest\/\*/);
    expect(resources).toMatch(/\/validated\/\*/);
    const policies = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as iam.CfnRole) }] } }));
    expect(policies).toContain('kms:Decrypt');
  });
});

describe('DataIngest prop validation', () => {
  const cases: Array<[string, DataIngestProps, RegExp]> = [
    ['both existingDataBucket and dataBucketProps', { dataBucketProps: {}, existingDataBucket: {} as s3.IBucket }, /existingDataBucket and dataBucketProps were both given/],
    ['rawDataPrefix without trailing slash', { rawDataPrefix: 'raw' }, /rawDataPrefix is "raw"/],
    ['empty rawDataPrefix', { rawDataPrefix: '' }, /rawDataPrefix is ""/],
    ['rawDataPrefix starting with a slash', { rawDataPrefix: '/raw/' }, /rawDataPrefix is "\/raw\/"; it must not start with "\/"/],
    ['rawDataPrefix overlapping an owned prefix', { rawDataPrefix: 'manifest/raw/' }, /rawDataPrefix is "manifest\/raw\/"; it must not overlap/],
    ['zero maxFileSizeBytes', { maxFileSizeBytes: 0 }, /maxFileSizeBytes is 0/],
    ['fractional maxFileSizeBytes', { maxFileSizeBytes: 10.5 }, /maxFileSizeBytes is 10.5; it must be an integer/],
    ['maxFileSizeBytes over 1 GiB', { maxFileSizeBytes: 2 * 1024 ** 3 }, /maxFileSizeBytes is 2147483648/],
    ['NaN maxFileSizeBytes', { maxFileSizeBytes: NaN }, /maxFileSizeBytes is NaN/],
    ['unversioned dataBucketProps', { dataBucketProps: { versioned: false } }, /dataBucketProps.versioned is false/],
    ['dataBucketProps without SSL enforcement', { dataBucketProps: { enforceSSL: false } }, /dataBucketProps.enforceSSL is false/],
    ['dataBucketProps without EventBridge', { dataBucketProps: { eventBridgeEnabled: false } }, /dataBucketProps.eventBridgeEnabled is false/],
    ['public dataBucketProps', { dataBucketProps: { publicReadAccess: true } }, /dataBucketProps.publicReadAccess is true/],
  ];
  test.each(cases)('fails on %s, naming the prop', (_name, props, message) => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new DataIngest(stack, 'Ingest', props)).toThrow(message);
  });

  test('reports every problem at once', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new DataIngest(stack, 'Ingest', { rawDataPrefix: 'raw', maxFileSizeBytes: -1 }))
      .toThrow(/rawDataPrefix[\s\S]*maxFileSizeBytes/);
  });
});
