import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { MethodLoggingLevel } from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { deployConfig, roleStatements } from './support';
import { FEEDBACK_REQUEST_SCHEMA, PREDICTION_REQUEST_SCHEMA } from '../../src/contracts/prediction-api';
import { ModelRegistry } from '../../src/model-registry';
import {
  ApiAuthorization, EndpointDeployment, EndpointTrafficRouting, ModelServing, ModelServingProps, PredictionApi, PredictionStore,
} from '../../src/model-serving';
import { compileSchema } from '../../src/model-serving/runtime/api/schema-validator';
import { acknowledgeNag } from '../../src/private/nag';
import { addNagChecks, nagFindings } from '../support/nag';

const ORIGIN = 'https://app.example.com';

interface Built {
  readonly stack: Stack;
  readonly serving: ModelServing;
  readonly template: Template;
}

function build(props: Partial<ModelServingProps> = {}, extra?: (stack: Stack, serving: ModelServing) => void): Built {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const artifactBucket = s3.Bucket.fromBucketName(stack, 'Artifacts', 'abalone-artifacts');
  const modelRegistry = ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' });
  const serving = new ModelServing(stack, 'Serving', { modelRegistry, artifactBucket, ...props });
  extra?.(stack, serving);
  return { stack, serving, template: Template.fromStack(stack) };
}

function only(template: Template, type: string, props: object = {}): { logicalId: string; resource: any } {
  const found = template.findResources(type, props);
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { logicalId: ids[0], resource: found[ids[0]] };
}

function stageProps(template: Template): any {
  return only(template, 'AWS::ApiGateway::Stage').resource.Properties;
}

function gatewayResponse(template: Template, type: string): any {
  return only(template, 'AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }).resource.Properties;
}

function predictPolicyStatements(template: Template): any[] {
  return roleStatements(template, 'ServingPredictFunctionRole');
}

function postMethods(template: Template): any[] {
  return Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } })).map((m: any) => m.Properties);
}

/** A gateway response body with its message filled in as API Gateway would (test/model-serving/api/gateway-responses.test.ts tries hostile values). */
function renderGatewayTemplate(text: string, message = 'Missing Authentication Token'): unknown {
  return JSON.parse(text.split('$context.error.messageString').join(JSON.stringify(message)));
}

describe('ModelServing secure defaults', () => {
  const { stack, serving, template } = build({ allowedOrigins: [ORIGIN] });

  test('cdk-nag AwsSolutions: zero unacknowledged findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  test('request validation (APIG2) is acknowledged on the REST API alone, saying the function validates every body', () => {
    const acknowledged = Object.entries(template.toJSON().Resources as Record<string, any>)
      .filter(([, r]) => (r.Metadata?.cdk_nag?.rules_to_suppress ?? []).some((a: any) => a.id === 'AwsSolutions-APIG2'));
    expect(acknowledged.map(([, r]) => r.Type)).toEqual(['AWS::ApiGateway::RestApi']);
    const [ack] = acknowledged[0][1].Metadata.cdk_nag.rules_to_suppress.filter((a: any) => a.id === 'AwsSolutions-APIG2');
    expect(ack.reason).toMatch(/request bodies by the predict function, against the same JSON schema/);
    expect(ack.reason).toMatch(/names each field/);
    expect(ack.applies_to).toBeUndefined();
  });

  test('a regional REST API with a prod stage at apiUrl', () => {
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    expect(stageProps(template).StageName).toBe('prod');
    expect(stack.resolve(serving.apiUrl)).toEqual({
      'Fn::Join': ['', ['https://', { Ref: expect.stringMatching(/^ServingApi/) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/',
        { Ref: expect.stringMatching(/^ServingApiDeploymentStageprod/) }, '/']],
    });
  });

  test('the stage throttles at 50 requests per second with bursts of 100', () => {
    expect(stageProps(template).MethodSettings).toEqual([expect.objectContaining({
      HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100,
    })]);
  });

  test('the stage is traced, logs errors, and never logs request or response bodies', () => {
    const props = stageProps(template);
    expect(props.TracingEnabled).toBe(true);
    expect(props.MethodSettings[0]).toEqual(expect.objectContaining({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true }));
  });

  test('access logs: one JSON object per request into a retained log group kept a year', () => {
    const { logicalId, resource } = only(template, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 } });
    expect(resource.DeletionPolicy).toBe('Retain');
    const setting = stageProps(template).AccessLogSetting;
    expect(setting.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    const line = JSON.parse(setting.Format.replace(/\$context\.error\.messageString/, '"Forbidden"'));
    expect(line).toEqual(expect.objectContaining({ requestId: '$context.requestId', status: '$context.status', ip: '$context.identity.sourceIp', errorMessage: 'Forbidden' }));
  });

  test('the account-level CloudWatch role exists and is retained when the stack is deleted', () => {
    const account = only(template, 'AWS::ApiGateway::Account').resource;
    const roleId = account.Properties.CloudWatchRoleArn['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[roleId].DeletionPolicy).toBe('Retain');
  });

  test('both POST methods document the body with a model and leave its validation to the function; the gateway checks parameters', () => {
    const { logicalId } = only(template, 'AWS::ApiGateway::RequestValidator', { Properties: { ValidateRequestBody: false, ValidateRequestParameters: true } });
    template.resourceCountIs('AWS::ApiGateway::RequestValidator', 1);
    const methods = postMethods(template);
    expect(methods).toHaveLength(2);
    for (const method of methods) {
      expect(method.RequestValidatorId).toEqual({ Ref: logicalId });
      expect(method.RequestModels['application/json']).toEqual({ Ref: expect.stringMatching(/RequestModel/) });
      expect(method.Integration.Type).toBe('AWS_PROXY');
      expect(method.AuthorizationType).toBe('NONE');
    }
  });

  test('the request model is the contract\'s draft-4 schema, the very object the handler validates against', () => {
    const model = only(template, 'AWS::ApiGateway::Model', { Properties: { Schema: { title: 'PredictionRequest' } } }).resource.Properties;
    expect(model.ContentType).toBe('application/json');
    expect(model.Schema).toEqual(JSON.parse(JSON.stringify(PREDICTION_REQUEST_SCHEMA)));
    const { $schema, ...withoutDialect } = model.Schema;
    expect($schema).toBe('http://json-schema.org/draft-04/schema#');
    const { $schema: _contractDialect, ...contractWithoutDialect } = PREDICTION_REQUEST_SCHEMA;
    expect(withoutDialect).toEqual(JSON.parse(JSON.stringify(contractWithoutDialect)));
    // The handler's validator compiles the deployed schema too: no keyword the gateway enforces is ignored.
    expect(() => compileSchema(model.Schema)).not.toThrow();
  });

  test('the feedback route has its own model from FEEDBACK_REQUEST_SCHEMA and requires the id path parameter', () => {
    const model = only(template, 'AWS::ApiGateway::Model', { Properties: { Schema: { title: 'FeedbackRequest' } } }).resource.Properties;
    expect(model.Schema).toEqual(JSON.parse(JSON.stringify(FEEDBACK_REQUEST_SCHEMA)));
    const feedback = postMethods(template).find((m) => m.RequestParameters);
    expect(feedback.RequestParameters).toEqual({ 'method.request.path.id': true });
    const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map((r: any) => r.Properties.PathPart);
    expect(paths.sort()).toEqual(['feedback', 'predictions', '{id}']);
  });

  test('gateway-generated errors carry the allowed origin and the contract\'s error shape', () => {
    // Bodies are not validated at the gateway, so there is no BAD_REQUEST_BODY answer to shape.
    template.resourcePropertiesCountIs('AWS::ApiGateway::GatewayResponse', { ResponseType: 'BAD_REQUEST_BODY' }, 0);
    const badParameters = gatewayResponse(template, 'BAD_REQUEST_PARAMETERS');
    expect(badParameters.StatusCode).toBe('400');
    expect(badParameters.ResponseParameters).toEqual({ 'gatewayresponse.header.Access-Control-Allow-Origin': `'${ORIGIN}'` });
    expect(renderGatewayTemplate(badParameters.ResponseTemplates['application/json'], 'Missing required request parameters: [id]')).toEqual({
      message: 'The request has an invalid field.',
      errors: [{ field: 'parameters', message: 'Missing required request parameters: [id]' }],
    });
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      const response = gatewayResponse(template, type);
      expect(response.ResponseParameters).toEqual({ 'gatewayresponse.header.Access-Control-Allow-Origin': `'${ORIGIN}'` });
      expect(renderGatewayTemplate(response.ResponseTemplates['application/json'])).toEqual({ message: 'Missing Authentication Token' });
    }
  });

  test('CORS preflight answers only the allowed origin, and the function is told the same list', () => {
    const preflights = template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } });
    expect(Object.keys(preflights).length).toBeGreaterThanOrEqual(2);
    for (const method of Object.values(preflights) as any[]) {
      expect(method.Properties.Integration.IntegrationResponses[0].ResponseParameters['method.response.header.Access-Control-Allow-Origin']).toBe(`'${ORIGIN}'`);
    }
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ALLOWED_ORIGINS: JSON.stringify([ORIGIN]) }) } });
  });

  test('the feedback table: point-in-time recovery, encryption, TTL, on-demand, retained', () => {
    const { resource } = only(template, 'AWS::DynamoDB::Table');
    expect(resource.Properties).toEqual(expect.objectContaining({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [{ AttributeName: 'predictionId', KeyType: 'HASH' }],
    }));
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(serving.predictionStore).toBeInstanceOf(PredictionStore);
    expect(serving.feedbackTable).toBe(serving.predictionStore!.table);
    expect(stack.resolve(serving.feedbackTable!.tableName)).toEqual({ Ref: only(template, 'AWS::DynamoDB::Table').logicalId });
  });

  test('the predict function: Node.js bundle, JSON logs, a timeout inside API Gateway\'s 29 s, its settings in the environment', () => {
    const fn = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } }).resource.Properties;
    expect(fn.Runtime).toMatch(/^nodejs\d+\.x$/);
    expect(fn.Handler).toBe('index.handler');
    expect(fn.Timeout).toBeLessThanOrEqual(29);
    expect(fn.LoggingConfig.LogFormat).toBe('JSON');
    expect(fn.Environment.Variables).toEqual(expect.objectContaining({
      ENDPOINT_NAME: serving.endpointName,
      PREDICTION_TTL_SECONDS: String(90 * 24 * 3600),
      PREDICTIONS_TABLE_NAME: { Ref: expect.stringMatching(/^ServingFeedbackTable/) },
    }));
  });

  test('least privilege: invoke and describe the one endpoint, write and update items of the one table', () => {
    const endpointArn = stack.resolve(serving.endpointArn);
    const statements = predictPolicyStatements(template);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'sagemaker:InvokeEndpoint', Resource: endpointArn }),
      expect.objectContaining({ Action: 'sagemaker:DescribeEndpoint', Resource: endpointArn }),
      expect.objectContaining({ Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'], Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^ServingFeedbackTable/), 'Arn'] }] }),
    ]));
    expect(statements).toHaveLength(4);
    for (const s of statements) expect(JSON.stringify(s.Resource)).not.toContain('*');
  });

  test('exposes the endpoint, the API and the store it composes, wired to each other', () => {
    expect(serving.endpoint).toBeInstanceOf(EndpointDeployment);
    expect(serving.predictionApi).toBeInstanceOf(PredictionApi);
    expect(serving.predictionApi.endpoint).toBe(serving.endpoint);
    expect(serving.predictionApi.predictionStore).toBe(serving.predictionStore);
    expect(serving.endpointName).toMatch(/^[a-z0-9-]+$/);
    expect(serving.endpointName).toBe(serving.endpoint.endpointName);
    expect(serving.endpointArn).toBe(serving.endpoint.endpointArn);
    expect(serving.deployFunction).toBe(serving.endpoint.deployFunction);
    expect(serving.modelRole).toBe(serving.endpoint.modelRole);
    expect(serving.rollbackAlarms).toBe(serving.endpoint.rollbackAlarms);
    expect(serving.rollbackAlarms).toHaveLength(2);
    expect(serving.api).toBe(serving.predictionApi.api);
    expect(serving.predictFunction).toBe(serving.predictionApi.predictFunction);
    expect(serving.accessLogGroup).toBe(serving.predictionApi.accessLogGroup);
    expect(serving.apiKey).toBeUndefined();
    expect(serving.usagePlan).toBeUndefined();
  });

  test('the deploy function deploys to the endpoint the predict function invokes', () => {
    const deploy = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Deploys an approved model package') } });
    expect(stack.resolve(serving.deployFunction.functionArn)).toEqual({ 'Fn::GetAtt': [deploy.logicalId, 'Arn'] });
    expect(deployConfig(template).endpointName).toBe(serving.endpointName);
    const predict = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } });
    expect(stack.resolve(serving.predictFunction.functionArn)).toEqual({ 'Fn::GetAtt': [predict.logicalId, 'Arn'] });
    expect(predict.resource.Properties.Environment.Variables.ENDPOINT_NAME).toBe(serving.endpointName);
  });
});

describe('ModelServing CORS choices', () => {
  test('no allowed origins: no CORS headers anywhere, and no preflight methods', () => {
    const { stack, template } = build();
    expect(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } })).toEqual({});
    for (const type of ['BAD_REQUEST_PARAMETERS', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      expect(gatewayResponse(template, type).ResponseParameters).toBeUndefined();
    }
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ALLOWED_ORIGINS: '[]' }) } });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('several origins: the preflight picks the caller\'s origin from the list; gateway errors echo it with Vary', () => {
    const origins = [ORIGIN, 'http://localhost:5173'];
    const { template } = build({ allowedOrigins: origins });
    for (const type of ['BAD_REQUEST_PARAMETERS', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      expect(gatewayResponse(template, type).ResponseParameters).toEqual({
        'gatewayresponse.header.Access-Control-Allow-Origin': 'method.request.header.Origin',
        'gatewayresponse.header.Vary': "'Origin'",
      });
    }
    // CDK's preflight answers the first origin by default and switches to any other listed one in VTL.
    const preflight: any = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } }))[0];
    const integration = preflight.Properties.Integration.IntegrationResponses[0];
    expect(integration.ResponseParameters['method.response.header.Access-Control-Allow-Origin']).toBe(`'${origins[0]}'`);
    expect(integration.ResponseTemplates['application/json']).toContain(`#if($origin == "${origins[1]}")`);
  });

  test('"*": any origin', () => {
    const { template } = build({ allowedOrigins: ['*'] });
    expect(gatewayResponse(template, 'DEFAULT_4XX').ResponseParameters).toEqual({ 'gatewayresponse.header.Access-Control-Allow-Origin': "'*'" });
  });
});

describe('ModelServing feedback: false', () => {
  const { stack, serving, template } = build({ feedback: false, allowedOrigins: [ORIGIN] });

  test('removes the table, the feedback route and the writes', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(serving.feedbackTable).toBeUndefined();
    expect(postMethods(template)).toHaveLength(1);
    const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map((r: any) => r.Properties.PathPart);
    expect(paths).toEqual(['predictions']);
    expect(predictPolicyStatements(template).flatMap((st) => [st.Action].flat())).not.toContainEqual(expect.stringMatching(/^dynamodb:/));
    const fn = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } }).resource.Properties;
    expect(fn.Environment.Variables.PREDICTIONS_TABLE_NAME).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::Model', 1);
  });

  test('cdk-nag: zero unacknowledged findings', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('ModelServing authorization', () => {
  test('IAM: methods require SigV4 and grantInvoke allows execute-api:Invoke on exactly the two routes', () => {
    const { stack, template } = build({ authorization: ApiAuthorization.IAM }, (s, serving) => {
      const caller = new iam.Role(s, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
      serving.grantInvoke(caller);
      acknowledgeNag(caller, [{ id: 'AwsSolutions-IAM5', reason: 'Test caller: feedback is invoked for any prediction id.', appliesTo: [{ regex: '/\\/prod\\/POST\\/predictions\\/\\*\\/feedback$/' } as any] }], true);
    });
    for (const method of postMethods(template)) expect(method.AuthorizationType).toBe('AWS_IAM');
    const policy = only(template, 'AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }] } }).resource.Properties;
    const [statement] = policy.PolicyDocument.Statement;
    expect(statement.Action).toBe('execute-api:Invoke');
    const api = { Ref: only(template, 'AWS::ApiGateway::RestApi').logicalId };
    const executeApi = (path: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:111111111111:', api, path]] });
    expect(statement.Resource).toEqual([executeApi('/prod/POST/predictions'), executeApi('/prod/POST/predictions/*/feedback')]);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('grantInvoke warns when authorization is not IAM', () => {
    const { stack, serving } = build({}, (s, ms) => ms.grantInvoke(new iam.Role(s, 'Caller', { assumedBy: new iam.AccountRootPrincipal() })));
    // The API's own construct warns: ModelServing's grantInvoke is PredictionApi's.
    Annotations.fromStack(stack).hasWarning(`/${serving.predictionApi.node.path}`,
      Match.stringLikeRegexp('grantInvoke has no effect unless authorization is ApiAuthorization.IAM'));
  });

  test('API_KEY: methods require the key; a usage plan on the prod stage applies the throttling to it', () => {
    const { stack, serving, template } = build({ authorization: ApiAuthorization.API_KEY, throttlingRateLimit: 10, throttlingBurstLimit: 20 });
    for (const method of postMethods(template)) {
      expect(method.ApiKeyRequired).toBe(true);
      expect(method.AuthorizationType).toBe('NONE');
    }
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      ApiStages: [Match.objectLike({ Stage: { Ref: Match.stringLikeRegexp('Stage') } })],
    });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    expect(stack.resolve(serving.apiKey!.keyId)).toEqual({ Ref: only(template, 'AWS::ApiGateway::ApiKey').logicalId });
    expect(stack.resolve(serving.usagePlan!.usagePlanId)).toEqual({ Ref: only(template, 'AWS::ApiGateway::UsagePlan').logicalId });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: only(template, 'AWS::ApiGateway::ApiKey').logicalId },
      UsagePlanId: { Ref: only(template, 'AWS::ApiGateway::UsagePlan').logicalId },
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('the NONE acknowledgement says why and points at the README', () => {
    const { template } = build();
    const method: any = Object.values(template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }))[0];
    const reasons = method.Metadata.cdk_nag.rules_to_suppress;
    expect(reasons.map((r: any) => r.id).sort()).toEqual(['AwsSolutions-APIG4', 'AwsSolutions-COG4']);
    for (const r of reasons) expect(r.reason).toMatch(/ApiAuthorization\.NONE.*README/);
  });
});

describe('ModelServing options', () => {
  test('a customer managed key encrypts the table and both log groups; the function uses it only through DynamoDB', () => {
    const stack2 = new Stack(new App(), 'Keyed', { env: { account: '111111111111', region: 'eu-west-1' } });
    addNagChecks(stack2);
    const key = new kms.Key(stack2, 'Key', { enableKeyRotation: true });
    new ModelServing(stack2, 'Serving', {
      modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack2, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
      artifactBucket: s3.Bucket.fromBucketName(stack2, 'Artifacts', 'abalone-artifacts'),
      encryptionKey: key,
    });
    const t = Template.fromStack(stack2);
    const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
    expect(only(t, 'AWS::DynamoDB::Table').resource.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn });
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup')).filter((g: any) => g.Properties.KmsKeyId);
    expect(groups).toHaveLength(2);
    const keyPolicy = only(t, 'AWS::KMS::Key').resource.Properties.KeyPolicy.Statement;
    expect(keyPolicy).toEqual(expect.arrayContaining([expect.objectContaining({
      Principal: { Service: { 'Fn::Join': ['', ['logs.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } },
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': expect.anything() } },
    })]));
    const statements = predictPolicyStatements(t);
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({
      Sid: 'UseTableKeyThroughDynamoDb',
      Resource: keyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
    })]));
    expect(nagFindings(stack2)).toEqual([]);
  });

  test('an imported key still encrypts the table; the logs keep CloudWatch\'s encryption, with a warning', () => {
    const stack2 = new Stack(new App(), 'Imported', { env: { account: '111111111111', region: 'eu-west-1' } });
    const key = kms.Key.fromKeyArn(stack2, 'Key', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555');
    const serving = new ModelServing(stack2, 'Serving', {
      modelRegistry: ModelRegistry.fromModelPackageGroupAttributes(stack2, 'Registry', { modelPackageGroupName: 'AbaloneModelPackageGroup' }),
      artifactBucket: s3.Bucket.fromBucketName(stack2, 'Artifacts', 'abalone-artifacts'),
      encryptionKey: key,
    });
    const t = Template.fromStack(stack2);
    expect(only(t, 'AWS::DynamoDB::Table').resource.Properties.SSESpecification.KMSMasterKeyId).toBe(key.keyArn);
    expect(Object.values(t.findResources('AWS::Logs::LogGroup')).filter((g: any) => g.Properties.KmsKeyId)).toEqual([]);
    // The API's own construct warns: the logs are PredictionApi's.
    Annotations.fromStack(stack2).hasWarning(`/${serving.predictionApi.node.path}`, Match.stringLikeRegexp('encryptionKey is imported'));
  });

  test('removalPolicy DESTROY deletes the table and the access logs', () => {
    const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
    expect(only(template, 'AWS::DynamoDB::Table').resource.DeletionPolicy).toBe('Delete');
    expect(only(template, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 } }).resource.DeletionPolicy).toBe('Delete');
  });

  test('throttling, retention and a web ACL are configurable', () => {
    const webAclArn = 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/abalone/0123';
    const { stack, template } = build({ throttlingRateLimit: 5, throttlingBurstLimit: 10, predictionRetention: Duration.days(7), webAclArn });
    expect(stageProps(template).MethodSettings[0]).toEqual(expect.objectContaining({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }));
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ PREDICTION_TTL_SECONDS: String(7 * 24 * 3600) }) } });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { WebACLArn: webAclArn, ResourceArn: Match.anyValue() });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('a rate limit above 100 raises the default burst to match it', () => {
    const { template } = build({ throttlingRateLimit: 250 });
    expect(stageProps(template).MethodSettings[0]).toEqual(expect.objectContaining({ ThrottlingRateLimit: 250, ThrottlingBurstLimit: 250 }));
  });

  test('cloudWatchRole: false leaves the account setting alone', () => {
    const { template } = build({ cloudWatchRole: false });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('endpoint props pass through to the deployment', () => {
    const { serving, template } = build({ endpointName: 'abalone-prod', endpointInstanceType: 'ml.c5.large', endpointInstanceCount: 3 });
    expect(serving.endpointName).toBe('abalone-prod');
    expect(deployConfig(template)).toMatchObject({ endpointName: 'abalone-prod', namePrefix: 'abalone-prod-', instanceType: 'ml.c5.large', instanceCount: 3 });
  });

  test('the blue/green bake and a canary pass through to the deployment', () => {
    const { template } = build({
      endpointDeploymentBakeTime: Duration.minutes(8),
      endpointTrafficRouting: EndpointTrafficRouting.canary({ percent: 20, bakeTime: Duration.minutes(4) }),
    });
    expect(deployConfig(template)).toMatchObject({
      trafficRouting: { type: 'CANARY', canaryPercent: 20, canaryBakeSeconds: 240 },
      bakeSeconds: 480,
      maxUpdateSeconds: 240 + 480 + 900,
    });
  });

  test('the model package ARNs are the registry\'s, in this account and Region, lower case first', () => {
    const { template } = build();
    const packages = ['abalonemodelpackagegroup', 'AbaloneModelPackageGroup'].map((group) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:eu-west-1:111111111111:model-package/${group}/*`]],
    }));
    const deployStatements = roleStatements(template, 'ServingEndpointDeployRole');
    for (const sid of ['ReadModelPackages', 'ApproveModelPackages']) {
      expect(deployStatements).toContainEqual(expect.objectContaining({ Sid: sid, Resource: packages }));
    }
    expect(JSON.stringify(template.toJSON())).not.toContain('model-package-group/');
  });
});

describe('ModelServing prop validation names the prop', () => {
  test.each<[string, Partial<ModelServingProps>, RegExp]>([
    ['allowedOrigins with a path', { allowedOrigins: ['https://app.example.com/'] }, /allowedOrigins is "https:\/\/app.example.com\/"; each origin must be a scheme and host/],
    ['allowedOrigins without a scheme', { allowedOrigins: ['app.example.com'] }, /allowedOrigins is "app.example.com"/],
    ['allowedOrigins mixing "*"', { allowedOrigins: ['*', ORIGIN] }, /allowedOrigins is .*"\*" already allows every origin/],
    ['throttlingRateLimit 0', { throttlingRateLimit: 0 }, /throttlingRateLimit is 0; it must be a finite number, > 0/],
    ['throttlingBurstLimit fractional', { throttlingBurstLimit: 1.5 }, /throttlingBurstLimit is 1.5; it must be an integer/],
    ['throttlingBurstLimit below the rate', { throttlingRateLimit: 20, throttlingBurstLimit: 10 }, /throttlingBurstLimit is 10; it must be at least throttlingRateLimit \(20\)/],
    ['predictionRetention too short', { predictionRetention: Duration.hours(1) }, /predictionRetention is 0.0416.*; it must be a finite number, >= 1, <= 3650/],
    ['predictionRetention without feedback', { feedback: false, predictionRetention: Duration.days(7) }, /predictionRetention is "7 days"; it only applies with feedback/],
    ['webAclArn', { webAclArn: 'arn:aws:wafv2:eu-west-1:111111111111:global/webacl/x/1' }, /webAclArn is "arn:aws:wafv2:eu-west-1:111111111111:global\/webacl\/x\/1"; it must be the ARN of a regional WAFv2 web ACL/],
    ['endpointName', { endpointName: 'Abalone_Prod' }, /endpointName is "Abalone_Prod"/],
    ['endpointInstanceType', { endpointInstanceType: 'm5.large' }, /endpointInstanceType is "m5.large"/],
    ['endpointInstanceCount', { endpointInstanceCount: 0 }, /endpointInstanceCount is 0/],
    ['endpointMinCapacity', { endpointMinCapacity: 0 }, /- endpointMinCapacity is 0/],
    ['endpointMaxCapacity', { endpointMinCapacity: 3, endpointMaxCapacity: 2 }, /- endpointMaxCapacity is 2; it must be at least endpointMinCapacity \(3\)/],
    ['endpointTargetInvocationsPerInstance', { endpointTargetInvocationsPerInstance: 0 }, /- endpointTargetInvocationsPerInstance is 0/],
    ['endpointDataCapture.samplingPercentage', { endpointDataCapture: { samplingPercentage: 150 } },
      /- endpointDataCapture.samplingPercentage is 150; it must be an integer, >= 0, <= 100/],
    ['endpointDataCapture.expiration with an imported bucket', { endpointDataCapture: { expiration: Duration.days(30) } },
      /- endpointDataCapture.expiration is "30 days"; the artifact bucket \(artifactBucket\) is imported/],
    ['endpointRollbackErrorThreshold', { endpointRollbackErrorThreshold: 0 }, /- endpointRollbackErrorThreshold is 0/],
    ['endpointDeploymentBakeTime', { endpointDeploymentBakeTime: Duration.hours(2) }, /- endpointDeploymentBakeTime is 7200/],
    ['endpointDeploymentBakeTime shorter than the alarms need', { endpointDeploymentBakeTime: Duration.minutes(2) },
      /- endpointDeploymentBakeTime is 120; it must be at least 300 seconds: the rollback alarms need 2 periods of 60 s/],
    ['endpointDeploymentBakeTime with a canary beyond the clean-up\'s budget',
      { endpointDeploymentBakeTime: Duration.minutes(15), endpointTrafficRouting: EndpointTrafficRouting.canary({ bakeTime: Duration.minutes(10) }) },
      /- endpointDeploymentBakeTime is 900; with the canary's bake of 600 s, an update would wait 1500 s in all/],
    ['endpointTrafficRouting', { endpointTrafficRouting: EndpointTrafficRouting.canary({ percent: 75 }) },
      /- endpointTrafficRouting is "canary 75% for 300 s"; its percent must be a whole number from 1 to 50/],
    ['endpointAutoScaling', { endpointAutoScaling: false, endpointMinCapacity: 2 }, /- endpointMinCapacity is 2; it only applies with endpointAutoScaling/],
  ])('%s', (_name, props, message) => {
    let error: Error | undefined;
    try {
      build(props);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/^Invalid ModelServing props:/);
    expect(error?.message).toMatch(message);
  });

  test('all problems are reported at once', () => {
    expect(() => build({ throttlingRateLimit: -1, allowedOrigins: ['x'] })).toThrow(/throttlingRateLimit[\s\S]*allowedOrigins|allowedOrigins[\s\S]*throttlingRateLimit/);
  });

  function errorOf(props: Partial<ModelServingProps>): string {
    try {
      build(props);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  }

  test('each prop is checked once, under the name the user gave it, with the endpoint\'s, the store\'s and the API\'s together', () => {
    const message = errorOf({
      endpointInstanceCount: 0,
      endpointAutoScaling: false,
      endpointMaxCapacity: 3,
      predictionRetention: Duration.hours(1),
      throttlingRateLimit: 0,
      restApiProps: { deployOptions: { dataTraceEnabled: true } },
    });
    const problems = message.split('\n').slice(1);
    expect(message.split('\n')[0]).toBe('Invalid ModelServing props:');
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^- endpointInstanceCount is 0; /),
      '- endpointMaxCapacity is 3; it only applies with endpointAutoScaling',
      expect.stringMatching(/^- predictionRetention is 0.04\d+; it must be a finite number, >= 1, <= 3650$/),
      expect.stringMatching(/^- throttlingRateLimit is 0; /),
      expect.stringMatching(/^- restApiProps\.deployOptions\.dataTraceEnabled is true; /),
    ]));
    expect(problems).toHaveLength(5);
    // No sub-construct's own names or error.
    expect(message).not.toMatch(/EndpointDeployment|PredictionApi|PredictionStore|\bmaxCapacity\b|\bautoScaling\b|\bretention\b/);
  });

  test('restApiProps is PredictionApi\'s escape hatch: a default gives way, a requirement does not', () => {
    const { template } = build({ restApiProps: { description: 'Abalone ages for the reef survey', deployOptions: { loggingLevel: MethodLoggingLevel.INFO } } });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { Description: 'Abalone ages for the reef survey' });
    expect(stageProps(template).MethodSettings).toEqual([expect.objectContaining({ LoggingLevel: 'INFO', DataTraceEnabled: false, ThrottlingRateLimit: 50 })]);
    expect(errorOf({ restApiProps: { deployOptions: { loggingLevel: MethodLoggingLevel.OFF } } }))
      .toMatch(/^Invalid ModelServing props:\n- restApiProps\.deployOptions\.loggingLevel is "OFF"; execution errors are always logged/);
  });
});
