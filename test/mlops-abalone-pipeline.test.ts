import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ApiAuthorization, DriftMonitoring, EndpointDeployment, MlopsAbalonePipeline, MlopsAbalonePipelineProps, ModelServing, PredictionStore } from '../src';
import { addNagChecks, nagFindings } from './support/nag';

function build(props: MlopsAbalonePipelineProps = {}): { stack: Stack; mlops: MlopsAbalonePipeline; template: Template } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const mlops = new MlopsAbalonePipeline(stack, 'Abalone', props);
  return { stack, mlops, template: Template.fromStack(stack) };
}

describe('MlopsAbalonePipeline', () => {
  const { stack, mlops, template } = build({ mseThreshold: 5.5, trainingInstanceType: 'ml.m5.large', approvalEmails: ['ml@example.com'] });

  test('exposes every sub-construct', () => {
    expect(mlops.dataIngest.dataBucket).toBeDefined();
    expect(mlops.qualityGate.mseThreshold).toBe(5.5);
    expect(mlops.trainingPipeline.pipelineName).toBeDefined();
    expect(mlops.modelServing).toBeInstanceOf(ModelServing);
    expect(mlops.modelServing.endpoint).toBeInstanceOf(EndpointDeployment);
    expect(mlops.modelServing.predictionApi.endpoint).toBe(mlops.modelServing.endpoint);
    expect(mlops.modelServing.predictionStore).toBeInstanceOf(PredictionStore);
    expect(mlops.modelServing.apiUrl).toBe(mlops.modelServing.predictionApi.api.url);
    expect(mlops.webFrontend.siteUrl).toBeDefined();
    expect(mlops.releasePipeline.pipeline).toBeDefined();
  });

  test('the release pipeline\'s Deploy action invokes the deploy function of the endpoint the API invokes', () => {
    const deployAction = Object.values(template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { DEPLOY_FUNCTION_ARN: Match.anyValue() } } },
    })) as any[];
    expect(deployAction).toHaveLength(1);
    expect(deployAction[0].Properties.Environment.Variables.DEPLOY_FUNCTION_ARN)
      .toEqual(stack.resolve(mlops.modelServing.endpoint.deployFunction.functionArn));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Answers the prediction API'),
      Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: mlops.modelServing.endpoint.endpointName }) },
    });
  });

  test('the pipeline definition carries the props as parameter defaults', () => {
    const pipeline = Object.values(template.findResources('AWS::SageMaker::Pipeline'))[0] as any;
    const body = JSON.stringify(stack.resolve(pipeline.Properties.PipelineDefinition.PipelineDefinitionBody));
    expect(body).toContain('{\\"Name\\":\\"MseThreshold\\",\\"Type\\":\\"Float\\",\\"DefaultValue\\":5.5}');
    expect(body).toContain('{\\"Name\\":\\"TrainingInstanceType\\",\\"Type\\":\\"String\\",\\"DefaultValue\\":\\"ml.m5.large\\"}');
    // The default manifest location is the data bucket's latest training manifest.
    expect(body).toMatch(/InputManifestUri.*DefaultValue.*s3:\/\/.*DataIngestDataBucket.*manifest\/training-manifest\.json/);
  });

  test('the API allows the web app\'s origin, and the web app is told the API\'s URL', () => {
    const predict = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('[Pp]redict') },
    });
    expect(JSON.stringify(predict)).toMatch(/AbaloneWebFrontendDistribution[A-Z0-9]+","DomainName"/);
    const deployment = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0] as any;
    expect(JSON.stringify(deployment.Properties.SourceMarkers)).toMatch(/AbaloneModelServingApi[A-Z0-9]+/);
    const csp = Object.values(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0] as any;
    expect(JSON.stringify(csp)).toMatch(/"Ref":"AbaloneModelServingApi[A-Z0-9]+"/);
  });

  test('the release pipeline is started by changes of the data manifest, through EventBridge', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': Match.objectLike({ object: { key: ['manifest/data-manifest.json'] } }),
      }),
    });
  });

  test('approval e-mails subscribe once', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml@example.com' });
  });

  test('no managed FullAccess policies anywhere, and no sagemaker:*', () => {
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toMatch(/FullAccess/);
    expect(json).not.toContain('"sagemaker:*"');
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged in the whole system', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('MlopsAbalonePipeline options', () => {
  test('projectName prefixes the physical names', () => {
    const { template } = build({ projectName: 'Reef' });
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', { ModelPackageGroupName: 'Reef-models' });
    template.hasResourceProperties('AWS::SageMaker::Pipeline', { PipelineName: 'Reef-training' });
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', { Name: 'Reef-release' });
    expect(JSON.stringify(template.toJSON())).toContain('reef-endpoint');
  });

  test('a customer KMS key and IAM authorization pass nag too', () => {
    const stack = new Stack(new App(), 'Keyed', { env: { account: '111111111111', region: 'us-east-1' } });
    addNagChecks(stack);
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new MlopsAbalonePipeline(stack, 'Abalone', { encryptionKey: key, apiAuthorization: ApiAuthorization.IAM, feedback: false });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    expect(nagFindings(stack)).toEqual([]);
  });

  test.each([
    ['an empty projectName', ''],
    ['a projectName with underscores', 'my_project'],
    ['a projectName that is too long', 'a'.repeat(31)],
  ])('fails on %s, naming the prop', (_name, projectName) => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new MlopsAbalonePipeline(stack, 'Abalone', { projectName })).toThrow(/projectName is "/);
  });

  test('drift monitoring is on by default, watches the endpoint and reads the captures in the artifact bucket', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { projectName: 'abalone', monitoringEmails: ['ops@example.com'], driftedShareThreshold: 0.5 });
    const template = Template.fromStack(stack);
    expect(mlops.driftMonitoring).toBeInstanceOf(DriftMonitoring);
    expect(mlops.driftMonitoring!.endpointName).toBe(mlops.modelServing.endpointName);
    expect(mlops.driftMonitoring!.pipelineName).toBe('abalone-monitoring');
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DriftedFeatureShare', Threshold: 0.5 });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const starter = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Drift monitoring: starts the monitoring pipeline') },
    });
    expect(Object.keys(starter)).toHaveLength(1);
    expect(JSON.stringify(starter)).toContain(`"Ref":"${stack.resolve(mlops.trainingPipeline.artifactBucket.bucketName).Ref}"`);
    // No retraining unless asked.
    expect(mlops.driftMonitoring!.retrainFunction).toBeUndefined();
  });

  test('retrainOnDrift lets the drift alarm start the release pipeline, and passes nag', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    addNagChecks(stack);
    const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { retrainOnDrift: true });
    const template = Template.fromStack(stack);
    expect(mlops.driftMonitoring!.retrainFunction).toBeDefined();
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((st) => st.Sid === 'StartReleasePipelineOncePerCooldown');
    expect(statements).toHaveLength(1);
    expect(statements[0].Resource).toEqual(stack.resolve(mlops.releasePipeline.pipeline.pipelineArn));
    expect(nagFindings(stack)).toEqual([]);
  });

  test('without data capture there is no drift monitoring, and its props fail naming them', () => {
    const stack = new Stack(new App(), 'Test');
    const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { dataCapture: false });
    expect(mlops.driftMonitoring).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::Scheduler::Schedule', 0);
    expect(() => new MlopsAbalonePipeline(new Stack(new App(), 'Test'), 'Abalone', { dataCapture: false, retrainOnDrift: true }))
      .toThrow(/retrainOnDrift is true; drift monitoring reads the endpoint's captures/);
  });

  test('bad drift monitoring props fail naming the prop', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new MlopsAbalonePipeline(stack, 'Abalone', { driftPsiThreshold: 0 })).toThrow(/psiThreshold is 0/);
  });

  test('bad props of a sub-construct fail naming the prop', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new MlopsAbalonePipeline(stack, 'Abalone', { mseThreshold: -1 })).toThrow(/mseThreshold is -1/);
  });
});
