import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { MlopsAbalonePipeline } from '../../../src';
import { FeedbackTrainingExport, PredictionStore } from '../../../src/model-serving';
import { expectCfnLintClean } from '../../support/cfn-lint';
import { addNagChecks, nagFindings } from '../../support/nag';
import { roleStatements } from '../support';

function build(options: { key?: boolean; rawDataPrefix?: string; schedule?: scheduler.ScheduleExpression; app?: App; id?: string } = {}) {
  const stack = new Stack(options.app ?? new App(), options.id ?? 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const key = options.key ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
  // DataIngest's bucket, as another stack's construct would pass it.
  const dataBucket = s3.Bucket.fromBucketAttributes(stack, 'Data', { bucketName: 'abalone-data', encryptionKey: key });
  const predictionStore = new PredictionStore(stack, 'Store', { encryptionKey: key, retention: Duration.days(30) });
  const exporter = new FeedbackTrainingExport(stack, 'Export', {
    predictionStore, dataBucket, encryptionKey: key, rawDataPrefix: options.rawDataPrefix, schedule: options.schedule,
  });
  return { stack, exporter, get template() { return Template.fromStack(stack); } };
}

describe('FeedbackTrainingExport', () => {
  test('runs every day at 03:00 UTC through EventBridge Scheduler, with a role that may only invoke the function', () => {
    const { template, exporter, stack } = build();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ExportFunction'), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ExportScheduleRole'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 21600 },
      },
    });
    const scheduleStatements = roleStatements(template, 'ExportScheduleRole');
    expect(stack.resolve(scheduleStatements)).toEqual([expect.objectContaining({
      Action: 'lambda:InvokeFunction',
      Resource: expect.arrayContaining([{ 'Fn::GetAtt': [expect.stringMatching(/^ExportFunction/), 'Arn'] }]),
    })]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }],
      },
    });
    expect(exporter.keyPrefix).toBe('raw/feedback/');
  });

  test('a schedule prop replaces the default', () => {
    const { template } = build({ schedule: scheduler.ScheduleExpression.rate(Duration.hours(6)) });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(6 hours)' });
  });

  test('the function is told the table, the bucket, the raw prefix and the retention (seconds)', () => {
    const { template } = build({ rawDataPrefix: 'uploads/' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 300,
      Environment: {
        Variables: {
          TABLE_NAME: { Ref: Match.stringLikeRegexp('^Store') },
          BUCKET_NAME: 'abalone-data',
          RAW_PREFIX: 'uploads/',
          RETENTION_SECONDS: String(30 * 86400),
        },
      },
    });
  });

  test('IAM: s3:GetObject (HeadObject) and s3:PutObject on raw/feedback/* only, dynamodb:Scan on the table only, no KMS without a key', () => {
    const { template, stack } = build();
    const statements = stack.resolve(roleStatements(template, 'ExportRole'));
    expect(statements.find((s: any) => s.Sid === 'WriteFeedbackFiles')).toEqual({
      Sid: 'WriteFeedbackFiles',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::abalone-data/raw/feedback/*']] },
    });
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions.filter((a: string) => a.startsWith('s3:'))).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(actions.filter((a: string) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:Scan']);
    const scan = statements.find((s: any) => [s.Action].flat().includes('dynamodb:Scan'));
    expect(scan.Resource).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [expect.stringMatching(/^Store/), 'Arn'] }]));
    expect(actions.filter((a: string) => a.startsWith('kms:'))).toEqual([]);
  });

  test('with a customer managed key: SSE-KMS with it, GenerateDataKey on it, and Decrypt only through DynamoDB for the table', () => {
    const { template, stack } = build({ key: true });
    const statements = stack.resolve(roleStatements(template, 'ExportRole'));
    const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
    expect(statements.find((s: any) => s.Sid === 'EncryptFeedbackFiles')).toEqual({
      Sid: 'EncryptFeedbackFiles', Effect: 'Allow', Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn,
    });
    expect(statements.find((s: any) => s.Sid === 'ReadTableKeyThroughDynamoDb')).toEqual({
      Sid: 'ReadTableKeyThroughDynamoDb',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey'],
      Resource: keyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { KMS_KEY_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } } },
    });
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged, with and without a key', () => {
    expect(nagFindings(build().stack)).toEqual([]);
    expect(nagFindings(build({ key: true }).stack)).toEqual([]);
  });

  test('fails on a raw data prefix without a trailing slash, naming the prop', () => {
    expect(() => build({ rawDataPrefix: 'raw' })).toThrow(/Invalid FeedbackTrainingExport props:\n- rawDataPrefix is "raw"; it must be DataIngest's raw data prefix/);
  });
});

describe('feedbackAsTrainingData in MlopsAbalonePipeline', () => {
  function pipeline(props: ConstructorParameters<typeof MlopsAbalonePipeline>[2] = {}, outdir?: string) {
    const app = new App(outdir ? { outdir } : {});
    const stack = new Stack(app, 'Abalone', { env: { account: '111111111111', region: 'eu-west-1' } });
    addNagChecks(stack);
    return { app, stack, abalone: new MlopsAbalonePipeline(stack, 'Abalone', props) };
  }

  function configJson(app: App, outdir: string): unknown {
    app.synth();
    const found = fs.readdirSync(outdir).map((d) => path.join(outdir, d, 'config.json')).filter((f) => fs.existsSync(f));
    expect(found).toHaveLength(1);
    // The API URL is a deploy-time marker here (BucketDeployment substitutes it); only the feedback fields matter.
    const text = fs.readFileSync(found[0], 'utf8').replace(/<<marker:0x[0-9a-f]+:\d+>>/g, '"marker"');
    const { apiUrl: _, ...rest } = JSON.parse(text);
    return rest;
  }

  test('off by default: no export, and config.json does not promise retraining', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-'));
    try {
      const { app, abalone } = pipeline({}, outdir);
      expect(abalone.feedbackTrainingExport).toBeUndefined();
      expect(configJson(app, outdir)).toEqual({ feedback: true, feedbackRetrainsModel: false });
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('on: writes to the data bucket under DataIngest\'s raw prefix, and config.json says feedback retrains the model', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-'));
    try {
      const { app, stack, abalone } = pipeline({ feedbackAsTrainingData: true, rawDataPrefix: 'uploads/' }, outdir);
      expect(abalone.feedbackTrainingExport).toBeInstanceOf(FeedbackTrainingExport);
      expect(abalone.feedbackTrainingExport!.keyPrefix).toBe('uploads/feedback/');
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            BUCKET_NAME: stack.resolve(abalone.dataIngest.dataBucket.bucketName),
            TABLE_NAME: stack.resolve(abalone.modelServing.predictionStore!.table.tableName),
            RAW_PREFIX: 'uploads/',
          },
        },
      });
      expect(nagFindings(stack)).toEqual([]);
      expect(configJson(app, outdir)).toEqual({ feedback: true, feedbackRetrainsModel: true });
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  test('fails with feedback off, and on a schedule without the export, naming the props', () => {
    expect(() => pipeline({ feedbackAsTrainingData: true, feedback: false }))
      .toThrow(/feedbackAsTrainingData is true; it needs the feedback the API stores/);
    expect(() => pipeline({ feedbackTrainingSchedule: scheduler.ScheduleExpression.rate(Duration.days(1)) }))
      .toThrow(/feedbackTrainingSchedule is "rate\(1 day\)"; it only applies with feedbackAsTrainingData/);
  });
});

test('FeedbackTrainingExport is cfn-lint clean (with and without a key)', () => {
  expectCfnLintClean(2, (app) => {
    build({ app, id: 'Plain' });
    build({ app, id: 'Keyed', key: true });
  });
}, 120_000);
