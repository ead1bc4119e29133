import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { MlopsAbalonePipeline } from '../../../src';
import { ModelRegistry } from '../../../src/model-registry';
import { FeedbackExport, ModelServing, ModelServingProps, PredictionStore } from '../../../src/model-serving';
import { expectCfnLintClean } from '../../support/cfn-lint';
import { addNagChecks, nagFindings } from '../../support/nag';
import { roleStatements } from '../support';

interface Built {
  readonly stack: Stack;
  readonly serving: ModelServing;
  readonly template: Template;
}

function build(props: Partial<ModelServingProps> = {}, options: { key?: boolean; concreteBucket?: boolean } = {}): Built {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const key = options.key ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  const artifactBucket = options.concreteBucket
    ? new s3.Bucket(stack, 'Artifacts', { enforceSSL: true, encryptionKey: key, serverAccessLogsPrefix: 'logs/' })
    : s3.Bucket.fromBucketName(stack, 'Artifacts', 'abalone-artifacts');
  const modelRegistry = ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' });
  const serving = new ModelServing(stack, 'Serving', { modelRegistry, artifactBucket, encryptionKey: key, ...props });
  return { stack, serving, template: Template.fromStack(stack) };
}

describe('FeedbackExport in ModelServing', () => {
  test('reads the table stream in batches of 100, bisecting and retrying 5 times, reporting item failures, with an SQS on-failure destination', () => {
    const { template, serving } = build();
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping');
    expect(Object.keys(mappings)).toHaveLength(1);
    const mapping = (Object.values(mappings)[0] as any).Properties;
    expect(mapping).toEqual({
      FunctionName: { Ref: expect.stringMatching(/^ServingFeedbackExportFunction/) },
      EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^ServingFeedbackTable/), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^ServingFeedbackExportDeadLetterQueue/), 'Arn'] } } },
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { actualRings: { N: [{ exists: true }] } } } }) }] },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(serving.feedbackExport).toBeInstanceOf(FeedbackExport);
    expect(serving.feedbackExport!.keyPrefix).toBe('ground-truth/');
    expect(nagFindings(build().stack)).toEqual([]);
  });

  test('the function writes exactly s3:PutObject under ground-truth/ and reads only the table stream', () => {
    const { template, stack } = build();
    const statements = roleStatements(template, 'ServingFeedbackExportRole');
    expect(stack.resolve(statements.find((s) => s.Sid === 'WriteGroundTruth'))).toEqual({
      Sid: 'WriteGroundTruth',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::abalone-artifacts/ground-truth/*']] },
    });
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('s3:'))).toEqual(['s3:PutObject']);
    expect(actions.filter((a: string) => a.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams',
    ]);
    expect(actions.filter((a: string) => a.startsWith('kms:'))).toEqual([]);
    expect(statements.find((s) => s.Sid === 'EncryptGroundTruth')).toBeUndefined();
  });

  test('with a customer key: records SSE-KMS under it, the queue encrypted with it, zero nag findings', () => {
    const { template, stack } = build({}, { key: true });
    const statements = roleStatements(template, 'ServingFeedbackExportRole');
    expect(statements.find((s) => s.Sid === 'EncryptGroundTruth')).toEqual({
      Sid: 'EncryptGroundTruth',
      Effect: 'Allow',
      Action: ['kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
    });
    const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
    const fns = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { BUCKET_NAME: Match.anyValue() } } } }));
    expect(fns.map((f: any) => f.Properties.Environment.Variables)).toEqual([{ BUCKET_NAME: 'abalone-artifacts', KMS_KEY_ARN: keyArn }]);
    const queues = Object.values(template.findResources('AWS::SQS::Queue')).map((q: any) => q.Properties.KmsMasterKeyId);
    expect(queues).toEqual([keyArn]);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('without feedback there is no stream consumer', () => {
    const { template, serving } = build({ feedback: false });
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
    expect(serving.feedbackExport).toBeUndefined();
  });

  test('on its own: batch size and retries are props, checked by name', () => {
    const stack = new Stack(new App(), 'S');
    const store = new PredictionStore(stack, 'Store');
    const bucket = s3.Bucket.fromBucketName(stack, 'B', 'ground-truth-bucket');
    new FeedbackExport(stack, 'Export', { predictionStore: store, bucket, batchSize: 500, retryAttempts: 2 });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 500, MaximumRetryAttempts: 2 });
    expect(() => new FeedbackExport(stack, 'Bad', { predictionStore: store, bucket, batchSize: 0, retryAttempts: 1.5 }))
      .toThrow(/Invalid FeedbackExport props:\n- batchSize is 0; it must be an integer, >= 1, <= 1000\n- retryAttempts is 1.5; it must be an integer/);
  });
});

describe('data capture on the L3', () => {
  test('on by default: the artifact bucket expires captures after 90 days, the endpoint exposes where they are', () => {
    const stack = new Stack(new App(), 'L3');
    const system = new MlopsAbalonePipeline(stack, 'Abalone', { projectName: 'demo' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([{ Id: 'ExpireDataCapture', Prefix: 'data-capture/', ExpirationInDays: 90, Status: 'Enabled' }]) },
    });
    const location = system.modelServing.dataCaptureLocation!;
    expect(location.bucket).toBe(system.trainingPipeline.artifactBucket);
    expect(location.endpointKeyPrefix).toBe('data-capture/demo-endpoint/AllTraffic/');
  });

  test('flat props: sampling, expiration, off; bad values name the flat prop', () => {
    const stack = new Stack(new App(), 'L3');
    new MlopsAbalonePipeline(stack, 'Abalone', { dataCaptureSamplingPercentage: 25, dataCaptureExpiration: Duration.days(7) });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireDataCapture', ExpirationInDays: 7 })]) },
    });
    const off = new MlopsAbalonePipeline(new Stack(new App(), 'Off'), 'Abalone', { dataCapture: false });
    expect(off.modelServing.dataCaptureLocation).toBeUndefined();
    expect(() => new MlopsAbalonePipeline(new Stack(new App(), 'Bad'), 'Abalone', { dataCaptureSamplingPercentage: 101 }))
      .toThrow(/Invalid MlopsAbalonePipeline props:\n- dataCaptureSamplingPercentage is 101; it must be an integer, >= 0, <= 100/);
    expect(() => new MlopsAbalonePipeline(new Stack(new App(), 'Bad2'), 'Abalone', { dataCapture: false, dataCaptureExpiration: Duration.days(3) }))
      .toThrow(/- dataCaptureExpiration is "3 days"; it only applies with dataCapture/);
  });
});

test('ModelServing with data capture and the feedback export is cfn-lint clean (with and without a key)', () => {
  expectCfnLintClean(2, (app) => {
    for (const [name, withKey] of [['Plain', false], ['Keyed', true]] as const) {
      const stack = new Stack(app, name, { env: { account: '123456789012', region: 'eu-west-1' } });
      const key = withKey ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
      new ModelServing(stack, 'Serving', {
        modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'g' }),
        artifactBucket: new s3.Bucket(stack, 'Artifacts', { enforceSSL: true, encryptionKey: key }),
        encryptionKey: key,
      });
    }
  });
}, 120_000);
