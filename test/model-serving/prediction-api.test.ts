import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { roleStatements } from './support';
import { ApiAuthorization, EndpointDeployment, PredictionApi, PredictionApiProps, PredictionStore } from '../../src/model-serving';
import { acknowledgeNag } from '../../src/private/nag';
import { addNagChecks, nagFindings } from '../support/nag';

const ENV = { account: '111111111111', region: 'eu-west-1' };

interface Built {
  readonly stack: Stack;
  readonly endpoint: sagemaker.IEndpoint;
  readonly api: PredictionApi;
  readonly template: Template;
}

/** A PredictionApi alone, in front of an endpoint imported by name; with a PredictionStore unless `store` is false. */
interface BuildOptions {
  readonly store?: boolean;
  readonly extra?: (stack: Stack, api: PredictionApi) => void;
}

function build(props: Partial<PredictionApiProps> = {}, options: BuildOptions = {}): Built {
  const stack = new Stack(new App(), 'Test', { env: ENV });
  addNagChecks(stack);
  const endpoint = EndpointDeployment.fromEndpointName(stack, 'Endpoint', 'abalone-prod');
  const predictionStore = options.store === false ? undefined : new PredictionStore(stack, 'Predictions');
  const api = new PredictionApi(stack, 'PredictionApi', { endpoint, predictionStore, ...props });
  options.extra?.(stack, api);
  return { stack, endpoint, api, template: Template.fromStack(stack) };
}

function errorOf(props: Partial<PredictionApiProps>): string {
  try {
    build(props);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
}

function only(template: Template, type: string, props: object = {}): { logicalId: string; resource: any } {
  const found = template.findResources(type, props);
  expect(Object.keys(found)).toHaveLength(1);
  const [logicalId] = Object.keys(found);
  return { logicalId, resource: found[logicalId] };
}

function stageProps(template: Template): any {
  return only(template, 'AWS::ApiGateway::Stage').resource.Properties;
}

describe('PredictionApi on its own', () => {
  describe('in front of an imported endpoint, with a store', () => {
    const { stack, endpoint, api, template } = build({ allowedOrigins: ['https://app.example.com'] });

    test('cdk-nag AwsSolutions: zero unacknowledged findings', () => {
      expect(nagFindings(stack)).toEqual([]);
    });

    test('the function invokes the endpoint it was given, by name, and may invoke and describe exactly that endpoint', () => {
      expect(api.endpoint).toBe(endpoint);
      const fn = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } });
      expect(stack.resolve(api.predictFunction.functionArn)).toEqual({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] });
      expect(fn.resource.Properties.Environment.Variables.ENDPOINT_NAME).toBe('abalone-prod');
      const endpointArn = stack.resolve(endpoint.endpointArn);
      expect(endpointArn).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:eu-west-1:111111111111:endpoint/abalone-prod']] });
      const statements = roleStatements(template, 'PredictionApiPredictFunctionRole');
      expect(statements).toEqual(expect.arrayContaining([
        expect.objectContaining({ Action: 'sagemaker:InvokeEndpoint', Resource: endpointArn }),
        expect.objectContaining({ Sid: 'ReadServingModelVersion', Action: 'sagemaker:DescribeEndpoint', Resource: endpointArn }),
      ]));
    });

    test('the store is wired in: its table and retention in the environment, the feedback route, and the writes', () => {
      const store = api.predictionStore!;
      expect(store).toBeInstanceOf(PredictionStore);
      const fn = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } });
      expect(fn.resource.Properties.Environment.Variables).toEqual(expect.objectContaining({
        PREDICTIONS_TABLE_NAME: stack.resolve(store.table.tableName),
        PREDICTION_TTL_SECONDS: String(90 * 24 * 3600),
      }));
      const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map((r: any) => r.Properties.PathPart);
      expect(paths.sort()).toEqual(['feedback', 'predictions', '{id}']);
      expect(roleStatements(template, 'PredictionApiPredictFunctionRole')).toContainEqual(expect.objectContaining({
        Action: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
        Resource: [stack.resolve(store.table.tableArn)],
      }));
    });

    test('exposes the REST API, its URL, its access logs', () => {
      expect(api.api).toBeInstanceOf(apigateway.RestApi);
      const restApi = only(template, 'AWS::ApiGateway::RestApi').logicalId;
      expect(stack.resolve(api.api.restApiId)).toEqual({ Ref: restApi });
      expect(stack.resolve(api.apiUrl)).toEqual({
        'Fn::Join': ['', ['https://', { Ref: restApi }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/',
          { Ref: expect.stringMatching(/^PredictionApiDeploymentStageprod/) }, '/']],
      });
      expect(api.accessLogGroup).toBeInstanceOf(logs.LogGroup);
      const { logicalId } = only(template, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 } });
      expect(stageProps(template).AccessLogSetting.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId, 'Arn'] });
    });

    test('the construct\'s defaults: regional, prod stage, traced, errors logged, no bodies logged, 50/100 throttling', () => {
      template.hasResourceProperties('AWS::ApiGateway::RestApi', { Description: 'Abalone age prediction API', EndpointConfiguration: { Types: ['REGIONAL'] } });
      const stage = stageProps(template);
      expect(stage.StageName).toBe('prod');
      expect(stage.TracingEnabled).toBe(true);
      expect(stage.MethodSettings).toEqual([expect.objectContaining({
        LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true, ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100,
      })]);
    });
  });

  test('without a store: no table, no feedback route, no writes, no TTL; cdk-nag clean', () => {
    const { stack, api, template } = build({}, { store: false });
    expect(api.predictionStore).toBeUndefined();
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    const paths = Object.values(template.findResources('AWS::ApiGateway::Resource')).map((r: any) => r.Properties.PathPart);
    expect(paths).toEqual(['predictions']);
    const fn = only(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Answers the prediction API') } });
    expect(Object.keys(fn.resource.Properties.Environment.Variables).sort()).toEqual(['ALLOWED_ORIGINS', 'ENDPOINT_NAME']);
    expect(roleStatements(template, 'PredictionApiPredictFunctionRole').flatMap((s) => [s.Action].flat()))
      .not.toContainEqual(expect.stringMatching(/^dynamodb:/));
    expect(nagFindings(stack)).toEqual([]);
  });

  test('a store\'s retention becomes the predictions\' TTL', () => {
    const stack = new Stack(new App(), 'Test', { env: ENV });
    new PredictionApi(stack, 'PredictionApi', {
      endpoint: EndpointDeployment.fromEndpointArn(stack, 'Endpoint', 'arn:aws:sagemaker:eu-west-1:111111111111:endpoint/abalone'),
      predictionStore: new PredictionStore(stack, 'Predictions', { retention: Duration.days(7) }),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ENDPOINT_NAME: 'abalone', PREDICTION_TTL_SECONDS: String(7 * 24 * 3600) }) },
    });
  });

  test('IAM authorization: grantInvoke allows exactly the two routes of the stage; cdk-nag clean', () => {
    const { stack, template } = build({ authorization: ApiAuthorization.IAM }, {
      extra: (s, api) => {
        const caller = new iam.Role(s, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
        api.grantInvoke(caller);
        acknowledgeNag(caller, [{ id: 'AwsSolutions-IAM5', reason: 'Test caller: feedback is invoked for any prediction id.', appliesTo: [{ regex: '/\\/POST\\/predictions\\/\\*\\/feedback$/' }] }], true);
      },
    });
    const restApi = { Ref: only(template, 'AWS::ApiGateway::RestApi').logicalId };
    const executeApi = (path: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:111111111111:', restApi, path]] });
    expect(roleStatements(template, 'Caller')).toEqual([expect.objectContaining({
      Action: 'execute-api:Invoke',
      Resource: [executeApi('/prod/POST/predictions'), executeApi('/prod/POST/predictions/*/feedback')],
    })]);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('bad props fail naming the prop, under PredictionApi\'s own names', () => {
    expect(errorOf({ throttlingRateLimit: 20, throttlingBurstLimit: 10, allowedOrigins: ['app.example.com'] })).toBe([
      'Invalid PredictionApi props:',
      '- allowedOrigins is "app.example.com"; each origin must be a scheme and host with an optional port and no path or trailing slash, e.g. "https://d1234.cloudfront.net", or "*"',
      '- throttlingBurstLimit is 10; it must be at least throttlingRateLimit (20): a burst below one second of traffic rejects steady load',
    ].join('\n'));
  });
});

describe('PredictionApi restApiProps: the construct\'s defaults ← the user\'s ← what the construct requires', () => {
  test('a user value for a default wins, and the other defaults stay', () => {
    const { template } = build({
      restApiProps: {
        description: 'Abalone ages for the reef survey',
        restApiName: 'reef-abalone',
        endpointConfiguration: { types: [apigateway.EndpointType.EDGE] },
        deployOptions: { stageName: 'v1', tracingEnabled: false, loggingLevel: apigateway.MethodLoggingLevel.INFO, variables: { team: 'reef' } },
      },
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'reef-abalone',
      Description: 'Abalone ages for the reef survey',
      EndpointConfiguration: { Types: ['EDGE'] },
    });
    const stage = stageProps(template);
    expect(stage).toEqual(expect.objectContaining({ StageName: 'v1', TracingEnabled: false, Variables: { team: 'reef' } }));
    // The defaults the user did not override, and the requirements, are still there.
    expect(stage.MethodSettings).toEqual([expect.objectContaining({
      LoggingLevel: 'INFO', MetricsEnabled: true, DataTraceEnabled: false, ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100,
    })]);
    expect(stage.AccessLogSetting.DestinationArn).toEqual({ 'Fn::GetAtt': [only(template, 'AWS::Logs::LogGroup', { Properties: { RetentionInDays: 365 } }).logicalId, 'Arn'] });
  });

  test('the user\'s stage name is the one grantInvoke allows', () => {
    const { template } = build({ authorization: ApiAuthorization.IAM, restApiProps: { deployOptions: { stageName: 'v1' } } }, {
      extra: (s, api) => api.grantInvoke(new iam.Role(s, 'Caller', { assumedBy: new iam.AccountRootPrincipal() })),
    });
    const [statement] = roleStatements(template, 'Caller');
    expect(statement.Resource.map((arn: any) => arn['Fn::Join'][1].at(-1))).toEqual(['/v1/POST/predictions', '/v1/POST/predictions/*/feedback']);
  });

  test('endpointTypes replaces the default endpoint configuration', () => {
    const { template } = build({ restApiProps: { endpointTypes: [apigateway.EndpointType.EDGE] } });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['EDGE'] } });
  });

  test('cloudWatchRole may be given in restApiProps instead of the prop', () => {
    const { template } = build({ restApiProps: { cloudWatchRole: false } });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test.each<[string, apigateway.RestApiProps, string]>([
    ['body logging', { deployOptions: { dataTraceEnabled: true } },
      'restApiProps.deployOptions.dataTraceEnabled is true; request and response bodies hold callers\' data and are never logged'],
    ['body logging of some methods', { deployOptions: { methodOptions: { '/*/*': { dataTraceEnabled: true } } } },
      'restApiProps.deployOptions.methodOptions["/*/*"].dataTraceEnabled is true; request and response bodies hold callers\' data and are never logged'],
    ['execution logging', { deployOptions: { loggingLevel: apigateway.MethodLoggingLevel.OFF } },
      'restApiProps.deployOptions.loggingLevel is "OFF"; execution errors are always logged: ERROR (the default) or INFO'],
    ['access logs elsewhere', { deployOptions: { accessLogDestination: { bind: () => ({ destinationArn: 'arn:aws:logs:eu-west-1:111111111111:log-group:x' }) } } },
      'restApiProps.deployOptions.accessLogDestination is "set"; access logs always go to the construct\'s log group (accessLogGroup)'],
    ['another access log format', { deployOptions: { accessLogFormat: apigateway.AccessLogFormat.clf() } },
      'restApiProps.deployOptions.accessLogFormat is "set"; access logs are always one JSON object per request, in the construct\'s format'],
    ['throttling of the stage', { deployOptions: { throttlingRateLimit: 5000 } },
      'restApiProps.deployOptions.throttlingRateLimit is 5000; the stage\'s throttling is set by throttlingRateLimit, which the usage plan uses too'],
    ['throttling of some methods', { deployOptions: { methodOptions: { '/predictions/POST': { throttlingBurstLimit: 5000 } } } },
      'restApiProps.deployOptions.methodOptions["/predictions/POST"].throttlingBurstLimit is 5000; the stage\'s throttling is set by throttlingBurstLimit, which the usage plan uses too'],
    ['no stage', { deploy: false },
      'restApiProps.deploy is false; the API is always deployed to a stage: throttling, access logs, the usage plan and the web ACL are set on it'],
    ['CORS of its own', { defaultCorsPreflightOptions: { allowOrigins: apigateway.Cors.ALL_ORIGINS } },
      'restApiProps.defaultCorsPreflightOptions is "set"; CORS follows allowedOrigins, which the function and the gateway\'s own error responses use too'],
    ['authorization of its own', { defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.NONE } },
      'restApiProps.defaultMethodOptions is "set"; the methods take their authorization from authorization'],
  ])('a requirement cannot be turned off (%s): the synth fails naming it', (_name, restApiProps, problem) => {
    expect(errorOf({ restApiProps })).toBe(`Invalid PredictionApi props:\n- ${problem}`);
  });

  test('cloudWatchRole in both places fails naming both', () => {
    expect(errorOf({ cloudWatchRole: true, restApiProps: { cloudWatchRole: false } }))
      .toBe('Invalid PredictionApi props:\n- cloudWatchRole and restApiProps.cloudWatchRole were both given; pass one or the other');
  });

  test('what the construct requires is set whatever the user gives (values equal to the requirement are accepted)', () => {
    const { template } = build({
      restApiProps: { deploy: true, deployOptions: { dataTraceEnabled: false, loggingLevel: apigateway.MethodLoggingLevel.ERROR } },
    });
    expect(stageProps(template).MethodSettings).toEqual([expect.objectContaining({ DataTraceEnabled: false, LoggingLevel: 'ERROR' })]);
    template.resourceCountIs('AWS::ApiGateway::Deployment', 1);
  });
});
