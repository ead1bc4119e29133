import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { releaseInputs } from './support';
import { TRAIN_ACTION_CONFIG_ENV } from '../../src/contracts/release-actions';
import { ReleasePipeline, ReleasePipelineProps } from '../../src/release-pipeline';
import { DeployActionFunction } from '../../src/release-pipeline/deploy-action-function';
import { TrainActionFunction } from '../../src/release-pipeline/train-action-function';
import { addNagChecks, nagFindings } from '../support/nag';

const CODE_SOURCE = {
  connectionArn: 'arn:aws:codeconnections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
  owner: 'my-org',
  repository: 'abalone-app',
};

function build(props: Partial<ReleasePipelineProps> = {}, options: { nag?: boolean; gate?: object } = {}) {
  const stack = new Stack(new App(), 'Test');
  if (options.nag) addNagChecks(stack);
  const inputs = releaseInputs(stack, options.gate);
  const release = new ReleasePipeline(stack, 'Release', { ...inputs.props, ...props });
  return { stack, release, inputs, template: Template.fromStack(stack) };
}

function pipelineOf(template: Template): any {
  const pipelines = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'));
  expect(pipelines).toHaveLength(1);
  return pipelines[0].Properties;
}

function stage(template: Template, name: string): any {
  return pipelineOf(template).Stages.find((s: any) => s.Name === name);
}

/** Statements of the IAM policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): any[] {
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: any): string[] => [].concat(s.Action);

describe('ReleasePipeline', () => {
  describe('pipeline', () => {
    const { template } = build();

    test('is a V2 pipeline in SUPERSEDED mode, so the newest execution overtakes older waiting ones', () => {
      expect(pipelineOf(template)).toMatchObject({ PipelineType: 'V2', ExecutionMode: 'SUPERSEDED', RestartExecutionOnUpdate: false });
    });

    test('has the stages Source, Train, Approve and Deploy without a code source', () => {
      expect(pipelineOf(template).Stages.map((s: any) => s.Name)).toEqual(['Source', 'Train', 'Approve', 'Deploy']);
    });

    test('has a literal name (the Train action\'s policy names it)', () => {
      expect(pipelineOf(template).Name).toMatch(/^Test-Release-[A-F0-9]{8}$/);
    });

    test('stores artifacts encrypted with a KMS key that rotates', () => {
      const store = pipelineOf(template).ArtifactStore;
      expect(store).toMatchObject({ Type: 'S3', Location: { Ref: expect.stringMatching(/^ReleaseArtifactBucket/) }, EncryptionKey: { Type: 'KMS' } });
      expect(store.EncryptionKey.Id['Fn::GetAtt'][0]).toMatch(/^ReleaseArtifactKey/);
      template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('release pipeline') });
    });
  });

  describe('artifact bucket', () => {
    const { template } = build();

    test('is KMS-encrypted, blocks public access and logs access to a log bucket', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReleaseArtifactKey'), 'Arn'] } },
          }],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^ReleaseAccessLogsBucket') }, LogFilePrefix: 'artifact-bucket/' },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })]) },
      });
    });

    test('denies requests without SSL', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('^ReleaseArtifactBucket') },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    test('is retained by default, and destroyed and emptied with RemovalPolicy.DESTROY', () => {
      template.hasResource('AWS::S3::Bucket', { Properties: { LoggingConfiguration: Match.anyValue(), BucketEncryption: Match.objectLike({}) }, DeletionPolicy: 'Retain' });
      const destroyed = build({ removalPolicy: RemovalPolicy.DESTROY }).template;
      destroyed.hasResource('AWS::S3::Bucket', { Properties: { LoggingConfiguration: { LogFilePrefix: 'artifact-bucket/' } }, DeletionPolicy: 'Delete' });
      expect(Object.keys(destroyed.findResources('Custom::S3AutoDeleteObjects')).length).toBeGreaterThanOrEqual(2);
    });

    test('uses the customer key when given, and creates none', () => {
      const stack = new Stack(new App(), 'Test');
      const key = new kms.Key(stack, 'CustomerKey', { enableKeyRotation: true });
      const release = new ReleasePipeline(stack, 'Release', { ...releaseInputs(stack).props, encryptionKey: key });
      const withKey = Template.fromStack(stack);
      expect(release.encryptionKey).toBe(key);
      expect(pipelineOf(withKey).ArtifactStore.EncryptionKey.Id['Fn::GetAtt'][0]).toMatch(/^CustomerKey/);
      expect(Object.keys(withKey.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('Release'))).toEqual([]);
    });
  });

  describe('source and trigger', () => {
    const { template } = build();

    test('reads the data manifest object with S3 polling off', () => {
      expect(stage(template, 'Source').Actions).toEqual([expect.objectContaining({
        Name: 'DataManifest',
        ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'S3', Version: '1' },
        Configuration: { S3Bucket: { Ref: expect.stringMatching(/^DataIngestDataBucket/) }, S3ObjectKey: 'manifest/data-manifest.json', PollForSourceChanges: false },
        Namespace: 'DataSource',
        OutputArtifacts: [{ Name: 'DataManifest' }],
      })]);
    });

    test('starts on S3\'s own EventBridge "Object Created" event for the manifest key, not on CloudTrail', () => {
      template.resourceCountIs('AWS::Events::Rule', 1);
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          'source': ['aws.s3'],
          'detail-type': ['Object Created'],
          'detail': { bucket: { name: [{ Ref: Match.stringLikeRegexp('^DataIngestDataBucket') }] }, object: { key: ['manifest/data-manifest.json'] } },
        },
        Targets: [Match.objectLike({
          Arn: { 'Fn::Join': ['', Match.arrayWith([':codepipeline:', { Ref: Match.stringLikeRegexp('^Release') }])] },
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReleaseEventsRole'), 'Arn'] },
        })],
      });
      template.resourceCountIs('AWS::CloudTrail::Trail', 0);
    });

    test('lets EventBridge start only this pipeline', () => {
      const statements = statementsOf(template, 'ReleaseEventsRole');
      expect(statements).toEqual([expect.objectContaining({ Action: 'codepipeline:StartPipelineExecution', Effect: 'Allow' })]);
      expect(JSON.stringify(statements[0].Resource)).toContain('Release');
    });

    test('turns on S3 events to EventBridge for a data bucket that did not send them', () => {
      const stack = new Stack(new App(), 'Test');
      const inputs = releaseInputs(stack);
      const plain = new s3.Bucket(stack, 'PlainBucket', { versioned: true, enforceSSL: true });
      new ReleasePipeline(stack, 'Release', { ...inputs.props, dataBucket: plain });
      Template.fromStack(stack).hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: { Ref: Match.stringLikeRegexp('^PlainBucket') },
        NotificationConfiguration: { EventBridgeConfiguration: {} },
      });
    });

    test('follows a custom manifest key', () => {
      const { template: custom } = build({ dataManifestKey: 'other/manifest.json' });
      expect(stage(custom, 'Source').Actions[0].Configuration.S3ObjectKey).toBe('other/manifest.json');
      custom.hasResourceProperties('AWS::Events::Rule', { EventPattern: { detail: { object: { key: ['other/manifest.json'] } } } });
    });
  });

  describe('code source and CI', () => {
    const { template } = build({ codeSource: CODE_SOURCE });

    test('adds the repository through the CodeStar connection, main branch by default, and a CI stage before Train', () => {
      expect(pipelineOf(template).Stages.map((s: any) => s.Name)).toEqual(['Source', 'CI', 'Train', 'Approve', 'Deploy']);
      expect(stage(template, 'Source').Actions[1]).toMatchObject({
        Name: 'Code',
        ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'CodeStarSourceConnection' },
        Configuration: { ConnectionArn: CODE_SOURCE.connectionArn, FullRepositoryId: 'my-org/abalone-app', BranchName: 'main', DetectChanges: true },
        OutputArtifacts: [{ Name: 'Code' }],
      });
      expect(stage(template, 'CI').Actions).toEqual([expect.objectContaining({
        Name: 'TestLintSynth',
        ActionTypeId: expect.objectContaining({ Provider: 'CodeBuild' }),
        InputArtifacts: [{ Name: 'Code' }],
      })]);
    });

    test('runs npm ci, projen test, projen eslint and cdk synth by default, on Node.js 22, unprivileged and encrypted', () => {
      const project = Object.values<any>(template.findResources('AWS::CodeBuild::Project'))[0].Properties;
      const spec = JSON.parse(project.Source.BuildSpec);
      expect(spec.phases).toEqual({
        install: { 'runtime-versions': { nodejs: '22' }, 'commands': ['npm ci'] },
        build: { commands: ['npx projen test', 'npx projen eslint', 'npx cdk synth'] },
      });
      expect(spec.env).toEqual({ variables: { CI: 'true' } });
      expect(project.Environment).toMatchObject({ Image: 'aws/codebuild/standard:7.0', ComputeType: 'BUILD_GENERAL1_SMALL', PrivilegedMode: false });
      expect(project.EncryptionKey['Fn::GetAtt'][0]).toMatch(/^ReleaseArtifactKey/);
    });

    test('takes the consumer\'s commands and branch', () => {
      const { template: custom } = build({
        codeSource: { ...CODE_SOURCE, branch: 'release' },
        ciCommands: { install: ['yarn install --frozen-lockfile'], test: ['yarn test'], lint: [], synth: ['yarn cdk synth'], nodejsVersion: '20' },
      });
      const spec = JSON.parse(Object.values<any>(custom.findResources('AWS::CodeBuild::Project'))[0].Properties.Source.BuildSpec);
      expect(spec.phases).toEqual({
        install: { 'runtime-versions': { nodejs: '20' }, 'commands': ['yarn install --frozen-lockfile'] },
        build: { commands: ['yarn test', 'yarn cdk synth'] },
      });
      expect(stage(custom, 'Source').Actions[1].Configuration.BranchName).toBe('release');
    });

    test('has no CodeBuild project and no CI stage without a code source', () => {
      const { template: dataOnly, release } = build();
      dataOnly.resourceCountIs('AWS::CodeBuild::Project', 0);
      expect(release.ciProject).toBeUndefined();
    });
  });

  describe('Train action', () => {
    const { template, release } = build({}, { gate: { mseThreshold: 5.5, maxMae: 2 } });

    test('invokes the train function with the manifest artifact, the execution id and the manifest version', () => {
      const action = stage(template, 'Train').Actions[0];
      expect(action).toMatchObject({
        Name: 'RunTrainingPipeline',
        ActionTypeId: { Category: 'Invoke', Owner: 'AWS', Provider: 'Lambda' },
        Configuration: { FunctionName: { Ref: expect.stringMatching(/^ReleaseTrainActionFunction/) } },
        InputArtifacts: [{ Name: 'DataManifest' }],
        Namespace: 'Train',
      });
      expect(JSON.parse(action.Configuration.UserParameters)).toEqual({
        pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
        manifestVersionId: '#{DataSource.VersionId}',
      });
      expect(action.OutputArtifacts).toBeUndefined();
    });

    test('configures the function with both pipelines, the debounce and the gate\'s bounds', () => {
      const fn = Object.values<any>(template.findResources('AWS::Lambda::Function'))
        .find((f) => f.Properties.Environment?.Variables?.[TRAIN_ACTION_CONFIG_ENV])!.Properties;
      const config = JSON.parse(Stack.of(release).resolve(fn.Environment.Variables[TRAIN_ACTION_CONFIG_ENV]));
      expect(config).toMatchObject({
        releasePipelineName: pipelineOf(template).Name,
        trainingPipelineName: expect.any(String),
        debounceSeconds: 300,
        mseThreshold: 5.5,
        maxMae: 2,
      });
      expect(config.minR2).toBeUndefined();
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', Timeout: 120, Architectures: ['arm64'] });
    });

    test('takes a debounce of zero', () => {
      const { template: t } = build({ trainingDebounce: Duration.seconds(0) });
      const fn = Object.values<any>(t.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[TRAIN_ACTION_CONFIG_ENV])!;
      t.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: { [TRAIN_ACTION_CONFIG_ENV]: Match.serializedJson(Match.objectLike({ debounceSeconds: 0 })) } },
      });
      expect(fn).toBeTruthy();
    });
  });

  describe('Approve action', () => {
    const { template } = build({ approvalEmails: ['approver@example.com'], approvalTimeout: Duration.days(3) });

    test('notifies the quality gate\'s topic with the metrics against the threshold and the model package', () => {
      const action = stage(template, 'Approve').Actions[0];
      expect(action).toMatchObject({
        Name: 'ApproveModel',
        ActionTypeId: { Category: 'Approval', Owner: 'AWS', Provider: 'Manual' },
        Configuration: { NotificationArn: { Ref: expect.stringMatching(/^RegistryApprovalTopic/) } },
        TimeoutInMinutes: 3 * 24 * 60,
      });
      const text: string = action.Configuration.CustomData;
      for (const variable of ['GateSummary', 'ModelPackageArn', 'ModelPackageVersion', 'ModelPackageGroupName', 'DataRows', 'DataFiles']) {
        expect(text).toContain(`#{Train.${variable}}`);
      }
      expect(text).toContain('abalone-endpoint');
      // Variables resolve to at most ~400 characters; the configuration value limit is 1000.
      expect(text.length).toBeLessThan(600);
    });

    test('subscribes the approval e-mails to that topic', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'approver@example.com',
        TopicArn: { Ref: Match.stringLikeRegexp('^RegistryApprovalTopic') },
      });
    });

    test('uses another topic when given', () => {
      const stack = new Stack(new App(), 'Test');
      const inputs = releaseInputs(stack);
      const topic = new sns.Topic(stack, 'OtherTopic', { enforceSSL: true, masterKey: new kms.Key(stack, 'K', { enableKeyRotation: true }) });
      new ReleasePipeline(stack, 'Release', { ...inputs.props, approvalTopic: topic });
      expect(stage(Template.fromStack(stack), 'Approve').Actions[0].Configuration.NotificationArn).toEqual({ Ref: expect.stringMatching(/^OtherTopic/) });
    });

    test('can be turned off for non-production stacks, with a warning', () => {
      const { template: t, stack } = build({ requireApproval: false });
      expect(pipelineOf(t).Stages.map((s: any) => s.Name)).toEqual(['Source', 'Train', 'Deploy']);
      Annotations.fromStack(stack).hasWarning('/Test/Release', Match.stringLikeRegexp('requireApproval is false: every model that passes the quality gate is deployed'));
    });

    test('warns about nothing when approval is on', () => {
      expect(Annotations.fromStack(build().stack).findWarning('/Test/Release', Match.anyValue())).toEqual([]);
    });
  });

  describe('Deploy action', () => {
    const { template, inputs, stack } = build();

    test('deploys exactly the package the Train action registered, approving it in the registry', () => {
      const action = stage(template, 'Deploy').Actions[0];
      expect(action).toMatchObject({
        Name: 'DeployModel',
        ActionTypeId: { Category: 'Invoke', Provider: 'Lambda' },
        Configuration: { FunctionName: { Ref: expect.stringMatching(/^ReleaseDeployActionFunction/) } },
        Namespace: 'Deploy',
      });
      expect(JSON.parse(action.Configuration.UserParameters)).toEqual({ modelPackageArn: '#{Train.ModelPackageArn}', approve: true });
    });

    test('invokes the endpoint\'s deploy function, named in its environment', () => {
      const fn = Object.entries<any>(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ReleaseDeployActionFunction'))![1];
      const deployFunctionArn = stack.resolve(inputs.endpoint.deployFunction.functionArn);
      expect(stack.resolve(fn.Properties.Environment.Variables)).toEqual({ DEPLOY_FUNCTION_ARN: deployFunctionArn });
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Timeout: 120 });
    });
  });

  describe('IAM per action', () => {
    const { template, inputs, stack } = build();
    const train = statementsOf(template, 'ReleaseTrainActionRole');
    const deploy = statementsOf(template, 'ReleaseDeployActionRole');
    const resolved = (x: unknown) => JSON.stringify(stack.resolve(x));

    test('no action role has a wildcard SageMaker or service-wide action', () => {
      const all = Object.values<any>(template.findResources('AWS::IAM::Policy'))
        .filter((p) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith('Release')))
        .flatMap((p) => p.Properties.PolicyDocument.Statement).flatMap(actionsOf);
      expect(all.filter((a) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))).toEqual([]);
    });

    test('the train function starts only the training pipeline and follows only its executions', () => {
      const sagemaker = train.filter((s) => actionsOf(s).some((a) => a.startsWith('sagemaker:')));
      expect(sagemaker.flatMap(actionsOf).sort()).toEqual([
        'sagemaker:DescribeModelPackage',
        'sagemaker:DescribePipelineExecution',
        'sagemaker:ListPipelineExecutionSteps',
        'sagemaker:StartPipelineExecution',
      ]);
      const start = sagemaker.find((s) => actionsOf(s).includes('sagemaker:StartPipelineExecution'));
      expect(JSON.stringify(start.Resource)).toBe(resolved(inputs.trainingPipeline.pipelineArn));
      const follow = sagemaker.find((s) => actionsOf(s).includes('sagemaker:DescribePipelineExecution'));
      expect(JSON.stringify(follow.Resource)).toBe(resolved(`${inputs.trainingPipeline.pipelineArn}/execution/*`));
      const packages = sagemaker.find((s) => actionsOf(s).includes('sagemaker:DescribeModelPackage'));
      expect(JSON.stringify(packages.Resource)).toContain('model-package/abalonemodelpackagegroup/*');
    });

    test('the train function reads only evaluation reports of the training artifact bucket', () => {
      const reads = train.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(reads).toEqual([expect.objectContaining({ Action: 's3:GetObject' })]);
      expect(JSON.stringify(reads[0].Resource)).toBe(resolved(inputs.trainingPipeline.artifactBucket.arnForObjects('*/EvaluateModel/evaluation/evaluation.json')));
    });

    test('the train function lists and stops executions of its own pipeline only (to yield to a newer one)', () => {
      const own = train.find((s) => actionsOf(s).includes('codepipeline:StopPipelineExecution'));
      expect(actionsOf(own).sort()).toEqual(['codepipeline:ListPipelineExecutions', 'codepipeline:StopPipelineExecution']);
      expect(JSON.stringify(own.Resource)).toContain(`:${pipelineOf(template).Name}`);
    });

    test('both functions may report job results, which only accept Resource "*"', () => {
      for (const statements of [train, deploy]) {
        expect(statements).toContainEqual(expect.objectContaining({
          Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
          Resource: '*',
        }));
      }
    });

    test('the deploy action may invoke the endpoint\'s deploy function and holds no deploy permissions of its own', () => {
      const own = deploy.filter((s) => !actionsOf(s).some((a) => a.startsWith('codepipeline:') || a.startsWith('logs:')));
      const functionArn = stack.resolve(inputs.endpoint.deployFunction.functionArn);
      expect(own).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: [functionArn, { 'Fn::Join': ['', [functionArn, ':*']] }] }]);
      expect(deploy.flatMap(actionsOf).filter((a) => a.startsWith('sagemaker:') || a.startsWith('application-autoscaling:'))).toEqual([]);
    });

    test('each Lambda action has its own role that may invoke only its function', () => {
      for (const [stageName, fn] of [['Train', 'ReleaseTrainActionFunction'], ['Deploy', 'ReleaseDeployActionFunction']]) {
        const roleId = stage(template, stageName).Actions[0].RoleArn['Fn::GetAtt'][0];
        const invoke = statementsOf(template, roleId).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
        expect(JSON.stringify(invoke.map((s) => s.Resource))).toContain(fn);
        expect(JSON.stringify(invoke.map((s) => s.Resource))).not.toContain(fn === 'ReleaseTrainActionFunction' ? 'ReleaseDeployActionFunction' : 'ReleaseTrainActionFunction');
      }
    });

    test('the CI build may only write its logs and reports and read the pipeline\'s artifacts', () => {
      const { template: withCode } = build({ codeSource: CODE_SOURCE });
      const roleId = Object.keys(withCode.findResources('AWS::IAM::Role')).find((id) => id.startsWith('ReleaseCiProjectRole'))!;
      const services = new Set(statementsOf(withCode, roleId).flatMap(actionsOf).map((a) => a.split(':')[0]));
      expect([...services].sort()).toEqual(['codebuild', 'kms', 'logs', 's3']);
    });

    test('the approval action may only publish to the approval topic', () => {
      const roleId = stage(template, 'Approve').Actions[0].RoleArn['Fn::GetAtt'][0];
      expect(statementsOf(template, roleId)).toEqual([expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/^RegistryApprovalTopic/) } })]);
    });
  });

  describe('cdk-nag', () => {
    test('has no unacknowledged AwsSolutions findings with the defaults', () => {
      expect(nagFindings(build({}, { nag: true }).stack)).toEqual([]);
    });

    test('has none with a code source, approval e-mails, a customer key and DESTROY', () => {
      const stack = new Stack(new App(), 'Test');
      addNagChecks(stack);
      const key = new kms.Key(stack, 'CustomerKey', { enableKeyRotation: true });
      new ReleasePipeline(stack, 'Release', {
        ...releaseInputs(stack).props,
        codeSource: CODE_SOURCE,
        approvalEmails: ['approver@example.com'],
        encryptionKey: key,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      expect(nagFindings(stack)).toEqual([]);
    });

    test('has none without approval', () => {
      expect(nagFindings(build({ requireApproval: false }, { nag: true }).stack)).toEqual([]);
    });
  });

  describe('exposes', () => {
    test('the pipeline, its functions, artifact bucket, key and trigger', () => {
      const { release, template } = build({ codeSource: CODE_SOURCE });
      expect(Stack.of(release).resolve(release.pipeline.pipelineName)).toEqual({ Ref: expect.stringMatching(/^Release/) });
      expect(release.pipelineName).toMatch(/^Test-Release-/);
      const resolve = (x: unknown) => Stack.of(release).resolve(x);
      expect(release.trainActionFunction).toBeInstanceOf(TrainActionFunction);
      expect(release.deployActionFunction).toBeInstanceOf(DeployActionFunction);
      expect(release.artifactBucket).toBe(release.pipeline.artifactBucket);
      // Wired: the stages invoke these functions, the trigger starts this pipeline, CI runs this project.
      expect(resolve(stage(template, 'Train').Actions[0].Configuration.FunctionName)).toEqual(resolve(release.trainActionFunction.functionName));
      expect(resolve(stage(template, 'Deploy').Actions[0].Configuration.FunctionName)).toEqual(resolve(release.deployActionFunction.functionName));
      expect(release.manifestTrigger).toBeInstanceOf(events.Rule);
      expect(resolve((release.manifestTrigger.node.defaultChild as events.CfnRule).targets)).toEqual([
        expect.objectContaining({ arn: resolve(release.pipeline.pipelineArn) }),
      ]);
      expect(release.ciProject).toBeInstanceOf(codebuild.PipelineProject);
      expect(resolve(stage(template, 'CI').Actions[0].Configuration.ProjectName)).toEqual(resolve(release.ciProject!.projectName));
    });

    test('a given pipeline name', () => {
      const { template } = build({ pipelineName: 'abalone-release' });
      expect(pipelineOf(template).Name).toBe('abalone-release');
    });
  });

  describe('validation', () => {
    test.each<[string, Partial<ReleasePipelineProps>]>([
      ['pipelineName', { pipelineName: 'has spaces' }],
      ['dataManifestKey', { dataManifestKey: '/manifest.json' }],
      ['approvalEmails[1]', { approvalEmails: ['a@example.com', 'not-an-address'] }],
      ['approvalEmails', { requireApproval: false, approvalEmails: ['a@example.com'] }],
      ['approvalTimeout', { requireApproval: false, approvalTimeout: Duration.days(1) }],
      ['approvalTopic', { requireApproval: false, approvalTopic: sns.Topic.fromTopicArn(new Stack(), 'T', 'arn:aws:sns:us-east-1:123456789012:t') }],
      ['approvalTimeout', { approvalTimeout: Duration.minutes(1) }],
      ['trainingDebounce', { trainingDebounce: Duration.hours(2) }],
      ['trainingDebounce', { trainingDebounce: Duration.millis(1500) }],
      ['codeSource.connectionArn', { codeSource: { ...CODE_SOURCE, connectionArn: 'arn:aws:codecommit:us-east-1:123456789012:repo' } }],
      ['codeSource.owner', { codeSource: { ...CODE_SOURCE, owner: '' } }],
      ['codeSource.repository', { codeSource: { ...CODE_SOURCE, repository: 'a/b' } }],
      ['codeSource.branch', { codeSource: { ...CODE_SOURCE, branch: '' } }],
      ['ciCommands', { ciCommands: { test: ['npm test'] } }],
      ['ciCommands', { codeSource: CODE_SOURCE, ciCommands: { install: [], test: [], lint: [], synth: [] } }],
      ['ciCommands.nodejsVersion', { codeSource: CODE_SOURCE, ciCommands: { nodejsVersion: 'node22' } }],
    ])('fails naming %s', (prop, props) => {
      const escaped = prop.replace(/[.[\]]/g, '\\$&');
      expect(() => build(props)).toThrow(new RegExp(`Invalid ReleasePipeline props:(\\n- .*)*\\n- ${escaped} (is|and) `));
    });

    test('reports every problem in one error', () => {
      expect(() => build({ pipelineName: 'bad name', dataManifestKey: 'dir/' }))
        .toThrow(/pipelineName is "bad name"; .*\n- dataManifestKey is "dir\/"; /);
    });

    test('accepts the legacy codestar-connections ARN form', () => {
      expect(() => build({ codeSource: { ...CODE_SOURCE, connectionArn: 'arn:aws:codestar-connections:eu-west-1:123456789012:connection/abc-123' } })).not.toThrow();
    });
  });
});
