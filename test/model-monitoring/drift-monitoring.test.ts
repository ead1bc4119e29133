import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { actionsOf, buildMonitoring, ENDPOINT, monitoringInputs, RELEASE_PIPELINE_ARN, statementsOf } from './support';
import { DRIFT_FUNCTION_CONFIG_ENV } from '../../src/contracts/drift-monitoring-functions';
import { MODEL_QUALITY_PARAMETER_NAMES, MONITORING_PARAMETER_NAMES } from '../../src/contracts/monitoring';
import { DriftMonitoring } from '../../src/model-monitoring';
import { expectCfnLintClean } from '../support/cfn-lint';
import { nagFindings } from '../support/nag';

const sid = (statements: any[], name: string) => {
  const found = statements.filter((s) => s.Sid === name);
  expect(found).toHaveLength(1);
  return found[0];
};

function functionConfig(template: any, descriptionStart: string): any {
  const fns = Object.values<any>(template.findResources('AWS::Lambda::Function'))
    .filter((f) => String(f.Properties.Description).startsWith(descriptionStart));
  expect(fns).toHaveLength(1);
  return fns[0].Properties.Environment.Variables[DRIFT_FUNCTION_CONFIG_ENV];
}

describe('DriftMonitoring', () => {
  const { stack, monitoring, template, inputs } = buildMonitoring({}, { nag: true });

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('the monitoring pipeline runs a network-isolated MonitorDrift step with the default thresholds', () => {
    const pipeline = Object.values<any>(template.findResources('AWS::SageMaker::Pipeline'));
    expect(pipeline).toHaveLength(1);
    const body = JSON.stringify(stack.resolve(pipeline[0].Properties.PipelineDefinition.PipelineDefinitionBody));
    expect(body).toContain('\\"Name\\":\\"MonitorDrift\\"');
    expect(body).toContain('\\"EnableNetworkIsolation\\":true');
    expect(body).toContain(`{\\"Name\\":\\"${MONITORING_PARAMETER_NAMES.psiThreshold}\\",\\"Type\\":\\"Float\\",\\"DefaultValue\\":0.2}`);
    expect(body).toContain(`{\\"Name\\":\\"${MONITORING_PARAMETER_NAMES.minRecords}\\",\\"Type\\":\\"Integer\\",\\"DefaultValue\\":200}`);
    expect(body).toMatch(/drift-reports/);
    expect(pipeline[0].Properties.RoleArn).toEqual(stack.resolve(monitoring.pipelineRole.roleArn));
  });

  test('the quality step runs behind the HasGroundTruth condition with the default tolerance and minimum labels', () => {
    const pipeline = Object.values<any>(template.findResources('AWS::SageMaker::Pipeline'))[0];
    const body = JSON.stringify(stack.resolve(pipeline.Properties.PipelineDefinition.PipelineDefinitionBody));
    expect(body).toContain('\\"Name\\":\\"HasGroundTruth\\",\\"Type\\":\\"Condition\\"');
    expect(body).toContain('\\"Name\\":\\"MonitorModelQuality\\"');
    expect(body).toContain(`{\\"Name\\":\\"${MODEL_QUALITY_PARAMETER_NAMES.mseTolerance}\\",\\"Type\\":\\"Float\\",\\"DefaultValue\\":0.25}`);
    expect(body).toContain(`{\\"Name\\":\\"${MODEL_QUALITY_PARAMETER_NAMES.minLabels}\\",\\"Type\\":\\"Integer\\",\\"DefaultValue\\":200}`);
  });

  test('EventBridge Scheduler runs the starter hourly at 10 past, with the scheduled time as input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(10 * * * ? *)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: stack.resolve(monitoring.startFunction.functionArn),
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
      },
    });
  });

  test('the schedule\'s role trusts the scheduler of this account and may only invoke the starter', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('EventBridge Scheduler'),
      AssumeRolePolicyDocument: {
        Statement: [{ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }, Action: 'sts:AssumeRole', Effect: 'Allow' }],
      },
    });
    const statements = statementsOf(template, 'MonitoringScheduleRole');
    expect(statements.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
  });

  test('the starter is configured with the endpoint, the capture bucket, the pipeline and the thresholds', () => {
    const config = functionConfig(template, 'Drift monitoring: starts');
    const resolved = JSON.stringify(config);
    expect(resolved).toContain(`\\"endpointName\\":\\"${ENDPOINT}\\"`);
    expect(resolved).toContain(`\\"pipelineName\\":\\"${monitoring.pipelineName}\\"`);
    expect(resolved).toContain('\\"thresholds\\":{\\"psiThreshold\\":0.2,\\"ksPValueThreshold\\":0.05,\\"driftedShareThreshold\\":0.3,\\"minRecords\\":200}');
    expect(resolved).toContain('\\"modelQuality\\":{\\"mseTolerance\\":0.25,\\"minLabels\\":200}');
  });

  test('a rule on the pipeline\'s Succeeded executions runs the metrics function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Building Pipeline Execution Status Change'],
        'detail': { pipelineArn: [stack.resolve(monitoring.pipelineArn)], currentPipelineExecutionStatus: ['Succeeded'] },
      },
      Targets: [Match.objectLike({ Arn: stack.resolve(monitoring.metricsFunction.functionArn) })],
    });
    expect(monitoring.pipelineArn).toMatch(/pipeline\/[a-z0-9-]+$/);
  });

  test('the drift alarm watches DriftedFeatureShare of the endpoint, above 0.3, missing data not breaching, and notifies the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MlopsAbalone/Monitoring',
      MetricName: 'DriftedFeatureShare',
      Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0.3,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(monitoring.monitoringTopic.topicArn)],
    });
  });

  test('the model-quality alarm watches MseRatio of the endpoint, above 1 + 0.25, missing data not breaching, and notifies the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'MlopsAbalone/Monitoring',
      MetricName: 'MseRatio',
      Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 1.25,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [stack.resolve(monitoring.monitoringTopic.topicArn)],
    });
    expect(stack.resolve(monitoring.metricLabelledPredictions().metricName)).toBe('LabelledPredictions');
    expect([monitoring.metricLiveMse(), monitoring.metricLiveMae(), monitoring.metricLiveR2()].map((m) => m.metricName)).toEqual(['LiveMSE', 'LiveMAE', 'LiveR2']);
  });

  test('a failed or stopped monitoring execution notifies the topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Building Pipeline Execution Status Change'],
        'detail': { pipelineArn: [stack.resolve(monitoring.pipelineArn)], currentPipelineExecutionStatus: ['Failed', 'Stopped'] },
      },
      Targets: [Match.objectLike({
        Arn: stack.resolve(monitoring.monitoringTopic.topicArn),
        InputTransformer: Match.objectLike({ InputPathsMap: { 'detail-pipelineExecutionArn': '$.detail.pipelineExecutionArn', 'detail-currentPipelineExecutionStatus': '$.detail.currentPipelineExecutionStatus' } }),
      })],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Principal: { Service: 'events.amazonaws.com' } })]) },
    });
  });

  test('errors of the starter or the metrics function notify the topic', () => {
    const alarms = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((a) => String(a.Properties.AlarmDescription).startsWith('A drift monitoring function'));
    expect(alarms).toHaveLength(1);
    const p = alarms[0].Properties;
    expect(p).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(p.AlarmActions).toEqual([stack.resolve(monitoring.monitoringTopic.topicArn)]);
    const expression = p.Metrics.find((m: any) => m.Expression);
    expect(expression.Expression).toBe('FILL(e0, 0) + FILL(e1, 0)');
    const functions = p.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.Dimensions[0].Value);
    expect(functions).toEqual([stack.resolve(monitoring.startFunction.functionName), stack.resolve(monitoring.metricsFunction.functionName)]);
    expect(p.Metrics.filter((m: any) => m.MetricStat).every((m: any) => m.MetricStat.Metric.MetricName === 'Errors' && m.MetricStat.Stat === 'Sum')).toBe(true);
  });

  test('notifyOnAlarm adds the topic to another alarm\'s actions, and refuses an imported one', () => {
    const { stack: s2, monitoring: m2 } = buildMonitoring();
    const other = new cloudwatch.Alarm(s2, 'Other', {
      metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }), threshold: 1, evaluationPeriods: 1,
    });
    m2.notifyOnAlarm(other);
    expect(s2.resolve((other.node.defaultChild as cloudwatch.CfnAlarm).alarmActions)).toEqual([s2.resolve(m2.monitoringTopic.topicArn)]);
    const imported = cloudwatch.Alarm.fromAlarmArn(s2, 'Imported', 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:x');
    expect(() => m2.notifyOnAlarm(imported)).toThrow(/is not an Alarm of this app/);
  });

  test('the monitoring topic is encrypted with a rotated key CloudWatch and EventBridge may use, and TLS only', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('MonitoringTopicKey'), 'Arn'] }) });
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: service }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
      });
    }
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('no retraining by default', () => {
    expect(monitoring.retrainFunction).toBeUndefined();
    // The report rule and the failed-execution rule.
    template.resourceCountIs('AWS::Events::Rule', 2);
  });

  describe('IAM', () => {
    test('the job role trusts SageMaker and reads captures, ground truth, profiles, evaluation reports and its code, writes reports; no CloudWatch', () => {
      template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('^Runs the drift monitoring job'),
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
      });
      const statements = statementsOf(template, 'MonitoringJobRole');
      expect(statements.map((s) => s.Sid).sort()).toEqual([
        'EcrLogin', 'JobLogs', 'ListCaptures', 'ListCode', 'ListEvaluationReports', 'ListGroundTruth', 'ListTrainingProfiles', 'PullScikitLearnImage',
        'ReadCaptures', 'ReadCode', 'ReadEvaluationReports', 'ReadGroundTruth', 'ReadTrainingProfiles', 'WriteReports',
      ]);
      expect(statements.flatMap(actionsOf).some((a) => a.startsWith('cloudwatch:'))).toBe(false);
      const bucket = stack.resolve(inputs.captureBucket.bucketArn);
      expect(sid(statements, 'ReadCaptures')).toMatchObject({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucket, '/data-capture/*']] } });
      expect(JSON.stringify(sid(statements, 'ListCaptures').Condition)).toBe('{"StringLike":{"s3:prefix":["data-capture/*"]}}');
      expect(sid(statements, 'ReadTrainingProfiles')).toMatchObject({
        Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucket, '/*/PreprocessData/profile/training-profile.json']] },
      });
      expect(sid(statements, 'ReadGroundTruth')).toMatchObject({ Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucket, '/ground-truth/*']] } });
      expect(JSON.stringify(sid(statements, 'ListGroundTruth').Condition)).toBe('{"StringLike":{"s3:prefix":["ground-truth/*"]}}');
      expect(sid(statements, 'ReadEvaluationReports')).toMatchObject({
        Action: 's3:GetObject', Resource: { 'Fn::Join': ['', [bucket, '/*/EvaluateModel/evaluation/evaluation.json']] },
      });
      expect(JSON.stringify(sid(statements, 'ListEvaluationReports').Condition)).toBe('{"StringLike":{"s3:prefix":["*/EvaluateModel/evaluation/evaluation.json"]}}');
      expect(sid(statements, 'WriteReports')).toMatchObject({
        Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: { 'Fn::Join': ['', [bucket, '/drift-reports/*']] },
      });
    });

    test('the pipeline role only creates the pipeline\'s processing jobs and passes the job role to SageMaker', () => {
      const statements = statementsOf(template, 'MonitoringPipelineRole');
      expect(statements.flatMap(actionsOf).sort()).toEqual([
        'iam:PassRole', 'sagemaker:AddTags', 'sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob',
      ]);
      expect(sid(statements, 'PassJobRole')).toMatchObject({
        Resource: stack.resolve(monitoring.jobRole.roleArn),
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      });
      expect(JSON.stringify(sid(statements, 'RunMonitoringJob').Resource)).toContain(':processing-job/pipelines-*');
      expect(sid(statements, 'TagMonitoringJob').Condition).toEqual({ StringEquals: { 'sagemaker:TaggingAction': 'CreateProcessingJob' } });
    });

    test('the starter reads the endpoint, its configurations, the registry\'s packages, lists captures and ground truth and starts this pipeline only', () => {
      const statements = statementsOf(template, 'MonitoringStartFunctionRole').filter((s) => s.Sid);
      expect(statements.map((s) => [s.Sid, actionsOf(s)])).toEqual([
        ['DescribeEndpoint', ['sagemaker:DescribeEndpoint']],
        ['ReadServingConfiguration', ['sagemaker:DescribeEndpointConfig', 'sagemaker:ListTags']],
        ['ReadServingPackage', ['sagemaker:DescribeModelPackage']],
        ['FindCaptures', ['s3:ListBucket']],
        ['FindGroundTruth', ['s3:ListBucket']],
        ['StartMonitoring', ['sagemaker:StartPipelineExecution']],
      ]);
      expect(JSON.stringify(sid(statements, 'FindGroundTruth').Condition)).toBe('{"StringLike":{"s3:prefix":["ground-truth/*"]}}');
      expect(JSON.stringify(sid(statements, 'ReadServingConfiguration').Resource)).toContain(`:endpoint-config/${ENDPOINT}-*`);
      expect(JSON.stringify(sid(statements, 'DescribeEndpoint').Resource)).toContain(`:endpoint/${ENDPOINT}`);
      expect(sid(statements, 'StartMonitoring').Resource).toEqual(stack.resolve(monitoring.pipelineArn));
    });

    test('the metrics function reads reports and publishes only in the library\'s namespace', () => {
      const statements = statementsOf(template, 'MonitoringMetricsFunctionRole').filter((s) => s.Sid);
      expect(sid(statements, 'PublishDriftMetrics')).toEqual({
        Sid: 'PublishDriftMetrics',
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'MlopsAbalone/Monitoring' } },
      });
      const reports = JSON.stringify(sid(statements, 'ReadDriftReports').Resource);
      expect(reports).toContain('/drift-reports/*/MonitorDrift/report/drift-report.json');
      expect(reports).toContain('/drift-reports/*/MonitorModelQuality/quality/model-quality-report.json');
      expect(sid(statements, 'ListMonitoringSteps')).toMatchObject({
        Action: 'sagemaker:ListPipelineExecutionSteps',
      });
      expect(JSON.stringify(sid(statements, 'ListMonitoringSteps').Resource)).toContain(`:pipeline/${monitoring.pipelineName}/execution/*`);
    });
  });
});

describe('DriftMonitoring options', () => {
  test('retrainOnDrift: one rule on either alarm entering ALARM runs a function that may list and start the release pipeline only', () => {
    const { stack, monitoring, template } = buildMonitoring({ retrainOnDrift: true, retrainCooldown: Duration.hours(6) }, { nag: true });
    expect(nagFindings(stack)).toEqual([]);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        'resources': [stack.resolve(monitoring.driftAlarm.alarmArn), stack.resolve(monitoring.modelQualityAlarm.alarmArn)],
        'detail': { state: { value: ['ALARM'] } },
      },
      Targets: [Match.objectLike({ Arn: stack.resolve(monitoring.retrainFunction!.functionArn) })],
    });
    const statements = statementsOf(template, 'MonitoringRetrainFunctionRole').filter((s) => s.Sid);
    expect(statements).toEqual([{
      Sid: 'StartReleasePipelineOncePerCooldown',
      Effect: 'Allow',
      Action: ['codepipeline:ListPipelineExecutions', 'codepipeline:StartPipelineExecution'],
      Resource: RELEASE_PIPELINE_ARN,
    }]);
    expect(functionConfig(template, 'Drift monitoring: starts the release')).toBe(JSON.stringify({ releasePipelineName: 'abalone-release', cooldownSeconds: 21600 }));
    // Its errors count in the function-errors alarm too.
    const errors = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))
      .find((a) => String(a.Properties.AlarmDescription).startsWith('A drift monitoring function'));
    expect(errors.Properties.Metrics.find((m: any) => m.Expression).Expression).toBe('FILL(e0, 0) + FILL(e1, 0) + FILL(e2, 0)');
  });

  test('thresholds, schedule and e-mails are configurable', () => {
    const { template } = buildMonitoring({
      psiThreshold: 0.25,
      ksPValueThreshold: 0.01,
      driftedShareThreshold: 0.5,
      minRecords: 500,
      modelQualityTolerance: 0.4,
      modelQualityMinLabels: 120,
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(6)),
      alarmEmails: ['ops@example.com'],
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(6 hours)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0.5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MseRatio', Threshold: 1.4 });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const body = JSON.stringify(Object.values<any>(template.findResources('AWS::SageMaker::Pipeline'))[0].Properties.PipelineDefinition);
    expect(body).toContain('\\"DefaultValue\\":0.25');
    expect(body).toContain('\\"DefaultValue\\":500');
    expect(body).toContain('\\"DefaultValue\\":0.4');
    expect(body).toContain('\\"DefaultValue\\":120');
  });

  test('a customer key encrypts the topic, the job\'s volume and report, and passes nag', () => {
    const stack = new Stack(new App(), 'Test');
    const { addNagChecks } = jest.requireActual('../support/nag');
    addNagChecks(stack);
    const { releasePipeline: _unused, ...inputs } = monitoringInputs(stack);
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new DriftMonitoring(stack, 'Monitoring', { ...inputs, encryptionKey: key });
    const template = (jest.requireActual('aws-cdk-lib/assertions') as typeof import('aws-cdk-lib/assertions')).Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    const body = JSON.stringify(Object.values<any>(template.findResources('AWS::SageMaker::Pipeline'))[0].Properties.PipelineDefinition);
    expect(body).toContain('VolumeKmsKeyId');
    expect(nagFindings(stack)).toEqual([]);
  });

  test('an imported key gets a warning that its policy must let CloudWatch publish', () => {
    const stack = new Stack(new App(), 'Test');
    const { releasePipeline: _unused, ...inputs } = monitoringInputs(stack);
    const key = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    new DriftMonitoring(stack, 'Monitoring', { ...inputs, encryptionKey: key });
    Annotations.fromStack(stack).hasWarning('/Test/Monitoring', Match.stringLikeRegexp('cloudwatch.amazonaws.com'));
  });

  test.each([
    ['psiThreshold', { psiThreshold: 0 }, /psiThreshold is 0/],
    ['ksPValueThreshold', { ksPValueThreshold: 1 }, /ksPValueThreshold is 1; it must be below 1/],
    ['driftedShareThreshold', { driftedShareThreshold: -0.1 }, /driftedShareThreshold is -0.1/],
    ['minRecords', { minRecords: 10.5 }, /minRecords is 10.5/],
    ['modelQualityTolerance', { modelQualityTolerance: 0 }, /modelQualityTolerance is 0; it must be/],
    ['modelQualityMinLabels', { modelQualityMinLabels: 1 }, /modelQualityMinLabels is 1; it must be/],
    ['processingInstanceType', { processingInstanceType: 'm5.large' }, /processingInstanceType is "m5.large"/],
    ['pipelineName', { pipelineName: 'bad_name' }, /pipelineName is "bad_name"/],
    ['alarmEmails', { alarmEmails: ['not-an-address'] }, /alarmEmails\[0\] is "not-an-address"/],
    ['releasePipeline', { retrainOnDrift: true }, /releasePipeline is undefined; it is required with retrainOnDrift/],
    ['retrainCooldown', { retrainCooldown: Duration.hours(1) }, /retrainCooldown is "1 hour"; it only applies with retrainOnDrift/],
  ])('fails on a bad %s, naming it', (_name, bad, message) => {
    const stack = new Stack(new App(), 'Test');
    const { releasePipeline: _unused, ...inputs } = monitoringInputs(stack);
    expect(() => new DriftMonitoring(stack, 'Monitoring', { ...inputs, ...bad })).toThrow(message);
  });
});

test('the synthesized templates are cfn-lint clean (region-agnostic; eu-west-1 with a key and retraining)', () => {
  expectCfnLintClean(2, (app) => {
    for (const [name, region] of [['Agnostic', undefined], ['EuWest1', 'eu-west-1']] as const) {
      const stack = new Stack(app, name, region ? { env: { region, account: '123456789012' } } : {});
      const { releasePipeline, ...inputs } = monitoringInputs(stack);
      const key = region ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
      new DriftMonitoring(stack, 'Monitoring', { ...inputs, encryptionKey: key, ...(region ? { retrainOnDrift: true, releasePipeline } : {}) });
    }
  });
});
