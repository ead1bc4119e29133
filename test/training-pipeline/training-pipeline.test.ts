import * as fs from 'fs';
import * as path from 'path';
import { App, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { pipelineInputs } from './support';
import { TrainingPipeline, TrainingPipelineProps, TuningRangeScaling } from '../../src/training-pipeline';
import { SHARED_PYTHON_MODULES } from '../../src/training-pipeline/definition';
import { addNagChecks, nagFindings } from '../support/nag';

function build(props: Partial<TrainingPipelineProps> = {}, nag = false) {
  const stack = new Stack(new App(), 'Test');
  if (nag) addNagChecks(stack);
  const pipeline = new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), ...props });
  return { stack, pipeline, template: Template.fromStack(stack) };
}

function policyStatements(template: Template, policyIdPrefix = 'TrainingExecutionRoleDefaultPolicy'): any[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.entries<any>(policies)
    .filter(([id]) => id.startsWith(policyIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: any): string[] => [].concat(s.Action);

describe('TrainingPipeline', () => {
  describe('artifact bucket', () => {
    const { template } = build();
    const artifact = () => {
      const buckets = template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' }, LoggingConfiguration: Match.anyValue() } });
      expect(Object.keys(buckets)).toHaveLength(1);
      return Object.keys(buckets)[0];
    };

    test('is versioned, encrypted, blocks public access and logs access to a log bucket it creates', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^TrainingAccessLogsBucket') }, LogFilePrefix: 'artifact-bucket/' },
      });
      expect(artifact()).toMatch(/^TrainingArtifactBucket/);
    });

    test('delivers access logs through a bucket policy for the S3 logging service, not ACLs', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('^TrainingAccessLogsBucket') },
        PolicyDocument: {
          Statement: Match.arrayWith([{
            Action: 's3:PutObject',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingAccessLogsBucket'), 'Arn'] }, '/artifact-bucket/*']] },
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingArtifactBucket'), 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }]),
        },
      });
      const withAcl = Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { AccessControl: Match.anyValue() } }));
      expect(withAcl.filter((id) => id.startsWith('Training'))).toEqual([]);
    });

    test('denies requests without SSL, and so does the log bucket', () => {
      const policies = template.findResources('AWS::S3::BucketPolicy');
      const ssl = Object.values<any>(policies).filter((p) => p.Properties.PolicyDocument.Statement.some((s: any) =>
        s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
      expect(ssl.map((p) => p.Properties.Bucket.Ref).filter((id) => id.startsWith('Training')).sort()).toEqual([
        expect.stringMatching(/^TrainingAccessLogsBucket/), expect.stringMatching(/^TrainingArtifactBucket/),
      ]);
    });

    test('is retained on stack deletion by default and expires old versions', () => {
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          LifecycleConfiguration: { Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' })] },
        }),
      });
      template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    });

    test('uses the customer key when given', () => {
      const stack = new Stack(new App(), 'Test');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), encryptionKey: key });
      Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } },
          }],
        },
      });
    });

    test('logs to the given access log bucket instead of creating one', () => {
      const stack = new Stack(new App(), 'Test');
      const logs = new s3.Bucket(stack, 'Logs');
      new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), accessLogsBucket: logs });
      const t = Template.fromStack(stack);
      t.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^Logs') } } });
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('^Logs') },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' } })]) },
      });
      expect(Object.keys(t.findResources('AWS::S3::Bucket')).filter((id) => id.startsWith('TrainingAccessLogsBucket'))).toEqual([]);
    });

    test('with RemovalPolicy.DESTROY is deleted and emptied with the stack', () => {
      const { template: t } = build({ removalPolicy: RemovalPolicy.DESTROY });
      const buckets = t.findResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
      expect(Object.keys(buckets).filter((id) => id.startsWith('Training'))).toHaveLength(2);
      t.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    });
  });

  describe('execution role', () => {
    const { template } = build();
    const statements = policyStatements(template);

    test('is assumed by SageMaker and has no managed policies', () => {
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
        ManagedPolicyArns: Match.absent(),
      });
    });

    test('has no wildcard SageMaker or service-wide actions', () => {
      const actions = statements.flatMap(actionsOf);
      expect(actions.filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('sagemaker:')).sort()).toEqual([
        'sagemaker:AddTags', 'sagemaker:AddTags',
        'sagemaker:CreateModelPackage',
        'sagemaker:CreateProcessingJob', 'sagemaker:CreateTrainingJob',
        'sagemaker:DescribeModelPackage', 'sagemaker:DescribeModelPackageGroup',
        'sagemaker:DescribeProcessingJob', 'sagemaker:DescribeTrainingJob',
        'sagemaker:StopProcessingJob', 'sagemaker:StopTrainingJob',
      ]);
      expect(JSON.stringify(template.toJSON())).not.toMatch(/FullAccess/);
    });

    test('reads only validated/* and manifest/* of the data bucket', () => {
      const dataStatements = statements.filter((s) => JSON.stringify(s.Resource).includes('DataBucket'));
      const objectResources = dataStatements.flatMap((s) => [].concat(s.Resource)).filter((r: any) => r['Fn::Join']);
      expect(objectResources.map((r: any) => r['Fn::Join'][1][1]).sort()).toEqual(['/manifest/*', '/validated/*']);
      expect(dataStatements.flatMap(actionsOf).every((a) => /^s3:(GetObject\*|GetBucket\*|List\*)$/.test(a))).toBe(true);
    });

    test('reads exactly the ML code assets: the three scripts and the shared modules\' zip archive', () => {
      const get = statements.find((s) => s.Action === 's3:GetObject');
      const keys = get.Resource.map((r: any) => r['Fn::Join'][1].at(-1).slice(1));
      expect(keys.map((k: string) => k.replace(/^[0-9a-f]{64}/, '<hash>'))).toEqual(['<hash>.py', '<hash>.py', '<hash>.py', '<hash>.zip']);
      const list = statements.find((s) => s.Action === 's3:ListBucket');
      expect(list.Condition.StringEquals['s3:prefix']).toEqual(keys);
      // Every processing input of the definition reads one of them, or the data and the artifacts.
      const definition = JSON.stringify(template.findResources('AWS::SageMaker::Pipeline'));
      for (const key of keys) expect(definition).toContain(key);
    });

    test('pulls only the two AWS registry repositories and needs GetAuthorizationToken on *', () => {
      expect(statements.find((s) => s.Action === 'ecr:GetAuthorizationToken').Resource).toBe('*');
      const pull = statements.find((s) => actionsOf(s).includes('ecr:BatchGetImage'));
      expect(actionsOf(pull).sort()).toEqual(['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
      expect(pull.Resource.map((r: any) => r['Fn::Join'][1].at(-1))).toEqual([':repository/sagemaker-scikit-learn', ':repository/sagemaker-xgboost']);
    });

    test('creates, describes and stops only pipeline jobs, and tags them only while creating them', () => {
      const processing = statements.find((s) => actionsOf(s).includes('sagemaker:CreateProcessingJob'));
      expect(processing.Resource['Fn::Join'][1].at(-1)).toBe(':processing-job/pipelines-*');
      const training = statements.find((s) => actionsOf(s).includes('sagemaker:CreateTrainingJob'));
      expect(training.Resource['Fn::Join'][1].at(-1)).toBe(':training-job/pipelines-*');
      const tags = statements.filter((s) => s.Action === 'sagemaker:AddTags');
      expect(tags.map((s) => s.Condition.StringEquals['sagemaker:TaggingAction'])).toEqual([
        ['CreateProcessingJob', 'CreateTrainingJob'], 'CreateModelPackage',
      ]);
    });

    test('registers model versions only in the quality gate\'s group', () => {
      const register = statements.filter((s) => actionsOf(s).includes('sagemaker:CreateModelPackage'));
      const tails = register.flatMap((s) => s.Resource.map((r: any) => r['Fn::Join'][1].at(-1))).sort();
      // CreateModelPackage applies to model-package resources only (Service Authorization Reference for SageMaker).
      expect(tails).toEqual([':model-package/AbaloneModelPackageGroup/*', ':model-package/abalonemodelpackagegroup/*']);
    });

    test('writes only SageMaker job logs', () => {
      const logs = statements.find((s) => actionsOf(s).includes('logs:PutLogEvents'));
      expect(logs.Resource.map((r: any) => r['Fn::Join'][1].at(-1))).toEqual([
        ':log-group:/aws/sagemaker/ProcessingJobs:*', ':log-group:/aws/sagemaker/TrainingJobs:*',
      ]);
      const metrics = statements.find((s) => s.Action === 'cloudwatch:PutMetricData');
      expect(metrics.Condition).toEqual({ StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } });
    });

    test('may pass only itself, and only to SageMaker', () => {
      const pass = statements.filter((s) => actionsOf(s).includes('iam:PassRole'));
      expect(pass).toEqual([{
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TrainingExecutionRole/), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }]);
    });

    test('may use the customer key, and create grants on it only for AWS resources', () => {
      const stack = new Stack(new App(), 'Test');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), encryptionKey: key });
      const s = policyStatements(Template.fromStack(stack));
      const grant = s.find((x) => actionsOf(x).includes('kms:CreateGrant'));
      expect(grant.Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
      expect(s.some((x) => actionsOf(x).includes('kms:GenerateDataKey*'))).toBe(true);
    });
  });

  describe('pipeline', () => {
    test('is an AWS::SageMaker::Pipeline run by the execution role, created after its policy', () => {
      const { template } = build();
      template.hasResource('AWS::SageMaker::Pipeline', {
        Properties: {
          PipelineName: Match.stringLikeRegexp('^test-training-[0-9a-f]{8}$'),
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TrainingExecutionRole'), 'Arn'] },
          PipelineDefinition: { PipelineDefinitionBody: Match.anyValue() },
        },
        DependsOn: Match.arrayWith([Match.stringLikeRegexp('^RegistryModelPackageGroup'), Match.stringLikeRegexp('^TrainingExecutionRoleDefaultPolicy')]),
      });
    });

    test('exposes its name, a lower-case ARN, the role and the artifact bucket', () => {
      const { stack, pipeline } = build({ pipelineName: 'My-Abalone-Pipeline' });
      expect(pipeline.pipelineName).toBe('My-Abalone-Pipeline');
      expect(stack.resolve(pipeline.pipelineArn)['Fn::Join'][1].at(-1)).toBe(':pipeline/my-abalone-pipeline');
      expect(stack.resolve(pipeline.pipeline.pipelineName)).toBe('My-Abalone-Pipeline');
      expect(stack.resolve(pipeline.role.roleArn)['Fn::GetAtt'][0]).toMatch(/^TrainingExecutionRole/);
      expect(stack.resolve(pipeline.artifactBucket.bucketName).Ref).toMatch(/^TrainingArtifactBucket/);
    });

    test('grantStartExecution allows starting it and following its executions', () => {
      const stack = new Stack(new App(), 'Test');
      const pipeline = new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), pipelineName: 'Abalone' });
      const role = new iam.Role(stack, 'Starter', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      pipeline.grantStartExecution(role);
      const statements = policyStatements(Template.fromStack(stack), 'StarterDefaultPolicy');
      expect(statements.map((s) => [s.Action, s.Resource['Fn::Join'][1].at(-1)])).toEqual([
        ['sagemaker:StartPipelineExecution', ':pipeline/abalone'],
        [['sagemaker:DescribePipelineExecution', 'sagemaker:ListPipelineExecutionSteps'], ':pipeline/abalone/execution/*'],
      ]);
    });
  });

  describe('ML code assets', () => {
    const app = new App();
    const stack = new Stack(app, 'Test');
    new TrainingPipeline(stack, 'Training', pipelineInputs(stack));
    const assembly = app.synth();
    const files = Object.values<any>(JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Test.assets.json'), 'utf8')).files);
    const ml = path.resolve(__dirname, '..', '..', 'ml');

    test('the three scripts are file assets, and the shared modules one folder asset holding exactly them', () => {
      const staged = (f: any) => path.join(assembly.directory, f.source.path);
      const scripts = files.filter((f) => f.source.packaging === 'file' && f.source.path.endsWith('.py'));
      expect(scripts.map((f) => fs.readFileSync(staged(f), 'utf8')).sort()).toEqual(
        ['evaluate.py', 'inference.py', 'preprocess.py'].map((s) => fs.readFileSync(path.join(ml, s), 'utf8')).sort());
      const folders = files.filter((f) => f.source.packaging === 'zip');
      expect(folders).toHaveLength(1);
      // The CDK CLI zips the folder's files at the archive's root: the jobs import them with the zip on PYTHONPATH.
      expect(fs.readdirSync(staged(folders[0])).sort()).toEqual([...SHARED_PYTHON_MODULES].sort());
      for (const module of SHARED_PYTHON_MODULES) {
        expect(fs.readFileSync(path.join(staged(folders[0]), module), 'utf8')).toBe(fs.readFileSync(path.join(ml, module), 'utf8'));
      }
    });
  });

  describe('with tuning', () => {
    const { stack, template } = build({ tuning: {} }, true);
    const statements = policyStatements(template);

    test('the role may create, describe and stop tuning jobs of its account and region, and nothing more', () => {
      const tuningStatements = statements.filter((s) => actionsOf(s).some((a) => a.includes('HyperParameterTuningJob')));
      expect(tuningStatements).toHaveLength(1);
      expect(actionsOf(tuningStatements[0]).sort()).toEqual([
        'sagemaker:CreateHyperParameterTuningJob', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:StopHyperParameterTuningJob',
      ]);
      expect(JSON.stringify(tuningStatements[0].Resource)).toContain(':hyper-parameter-tuning-job/*');
      const tags = statements.find((s) => s.Action === 'sagemaker:AddTags');
      expect(tags.Condition.StringEquals['sagemaker:TaggingAction']).toContain('CreateHyperParameterTuningJob');
      const untuned = policyStatements(build().template).flatMap(actionsOf);
      expect(untuned.filter((a) => a.includes('HyperParameterTuningJob'))).toEqual([]);
    });

    test('has no unacknowledged AwsSolutions findings', () => {
      expect(nagFindings(stack)).toEqual([]);
    });

    test('bad tuning settings fail, naming each field', () => {
      expect(() => build({ tuning: { maxJobs: 0, eta: { minValue: 0, maxValue: 0.3, scaling: TuningRangeScaling.LOGARITHMIC } } }))
        .toThrow(/Invalid TrainingPipeline props:\n- tuning.maxJobs is 0; it must be an integer from 1\n.*\n- tuning.eta: Logarithmic scaling needs minValue above 0, got 0/s);
    });
  });

  describe('cdk-nag', () => {
    test('has no unacknowledged AwsSolutions findings with the defaults', () => {
      const { stack } = build({}, true);
      expect(nagFindings(stack)).toEqual([]);
    });

    test('has no unacknowledged AwsSolutions findings with a key, a log bucket and DESTROY', () => {
      const stack = new Stack(new App(), 'Test');
      addNagChecks(stack);
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      const logs = s3.Bucket.fromBucketName(stack, 'Logs', 'central-access-logs');
      new TrainingPipeline(stack, 'Training', {
        ...pipelineInputs(stack), encryptionKey: key, accessLogsBucket: logs, removalPolicy: RemovalPolicy.DESTROY,
      });
      expect(nagFindings(stack)).toEqual([]);
    });
  });

  describe('warnings', () => {
    test('warn when early stopping can never trigger and when instances would only repeat work', () => {
      const { stack } = build({ xgboostNumRound: 10, xgboostEarlyStoppingRounds: 10, trainingInstanceCount: 2 });
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data));
      expect(warnings).toEqual([
        expect.stringContaining('xgboostEarlyStoppingRounds (10) is not below xgboostNumRound (10)'),
        expect.stringContaining('do not shard their data'),
      ]);
    });

    test('are absent with the defaults', () => {
      const { stack } = build();
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    });
  });

  describe('prop validation', () => {
    const cases: Array<[keyof TrainingPipelineProps, unknown]> = [
      ['processingInstanceType', 'm5.large'],
      ['processingInstanceType', 'ml.m5'],
      ['trainingInstanceType', 'ML.M5.XLARGE'],
      ['processingInstanceCount', 0],
      ['processingInstanceCount', 1.5],
      ['trainingInstanceCount', 0],
      ['trainingInstanceCount', NaN],
      ['xgboostMaxDepth', 0],
      ['xgboostMaxDepth', 2.5],
      ['xgboostEta', 0],
      ['xgboostEta', 1.01],
      ['xgboostEta', NaN],
      ['xgboostGamma', -1],
      ['xgboostGamma', Infinity],
      ['xgboostMinChildWeight', -0.5],
      ['xgboostSubsample', 0],
      ['xgboostSubsample', 1.5],
      ['xgboostNumRound', 0],
      ['xgboostNumRound', 10.5],
      ['xgboostEarlyStoppingRounds', 0],
      ['xgboostEarlyStoppingRounds', 2.5],
      ['splitSeed', -1],
      ['splitSeed', 1.5],
      ['splitSeed', 2 ** 31],
      ['pipelineName', 'abalone_pipeline'],
      ['pipelineName', '-abalone'],
      ['pipelineName', 'a'.repeat(257)],
      ['inputManifestUri', 'https://bucket/manifest.json'],
      ['inputManifestUri', 's3://bucket'],
    ];

    test.each(cases)('fails when %s is %p, naming the prop', (prop, value) => {
      expect(() => build({ [prop]: value })).toThrow(new RegExp(`Invalid TrainingPipeline props:\\n- ${prop} is `));
    });

    test('reports every problem in one error', () => {
      expect(() => build({ xgboostEta: 2, splitSeed: -1, trainingInstanceType: 'big' }))
        .toThrow(/trainingInstanceType is "big".*\n- xgboostEta is 2.*\n- splitSeed is -1/s);
    });

    test('accepts boundary values and skips tokens', () => {
      expect(() => build({
        xgboostEta: 1,
        xgboostSubsample: 1,
        xgboostGamma: 0,
        xgboostMinChildWeight: 0,
        splitSeed: 0,
        pipelineName: Lazy.string({ produce: () => 'from-a-token' }),
        inputManifestUri: 's3://my.data-bucket/manifest/training/abc.json',
      })).not.toThrow();
    });
  });
});
