import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { PredictFunction } from './predict-function';
import type { PredictionStore } from './prediction-store';
import { PropNamer, validateProps } from './validated-props';
import { PREDICT_FUNCTION_ENV } from '../contracts/predict-function';
import { FEEDBACK_REQUEST_SCHEMA, PREDICTION_REQUEST_SCHEMA } from '../contracts/prediction-api';
import { acknowledgeNag } from '../private/nag';
import { PropsValidator } from '../private/validation';

/**
 * Who may call the prediction API.
 */
export class ApiAuthorization {
  /**
   * Anyone who can reach the API. Throttling still applies; see the README before choosing this for
   * a public deployment.
   */
  public static readonly NONE = new ApiAuthorization('NONE');

  /** Callers sign their requests (SigV4) with an identity that was given `grantInvoke`. */
  public static readonly IAM = new ApiAuthorization('IAM');

  /**
   * Callers send the `x-api-key` header with the API key the construct creates; a usage plan applies the
   * throttling limits to the key.
   */
  public static readonly API_KEY = new ApiAuthorization('API_KEY');

  private constructor(
    /** `NONE`, `IAM` or `API_KEY`. */
    public readonly mode: string,
  ) {}
}

/** Properties of {@link PredictionApi}. */
export interface PredictionApiProps {
  /** The SageMaker endpoint the predict function invokes (an `EndpointDeployment`, or one imported by name or ARN). */
  readonly endpoint: sagemaker.IEndpoint;

  /**
   * Where predictions and their feedback are stored. With a store, every prediction is written with its inputs and
   * `POST /predictions/{id}/feedback` accepts the actual rings.
   *
   * @default - no store: no feedback route, and nothing is written per request
   */
  readonly predictionStore?: PredictionStore;

  /**
   * Origins of web pages allowed to call the API from a browser, e.g. `['https://d1234.cloudfront.net']`
   * (scheme and host, no path). `['*']` allows any origin.
   *
   * Every answer echoes the request's `Origin` only when it is in this list.
   *
   * @default - none: no CORS headers, so browsers only reach the API from the same origin (for example
   * through a CloudFront behaviour) and any other caller is unaffected
   */
  readonly allowedOrigins?: string[];

  /**
   * Steady-state requests per second the API accepts before answering 429.
   *
   * @default 50
   */
  readonly throttlingRateLimit?: number;

  /**
   * Requests the API accepts at once (the token bucket's size); at least `throttlingRateLimit`.
   *
   * @default - 100, or throttlingRateLimit rounded up when that is larger
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Who may call the API.
   *
   * @default ApiAuthorization.NONE
   */
  readonly authorization?: ApiAuthorization;

  /**
   * ARN of a regional AWS WAF web ACL to associate with the API stage.
   *
   * @default - no web ACL (throttling limits abuse)
   */
  readonly webAclArn?: string;

  /**
   * Create the account-level role that lets API Gateway write logs in this Region.
   *
   * API Gateway keeps one such role per account and Region; set `false` when it is already configured
   * (access and execution logging fail to deploy without it). The role is retained when the stack is
   * deleted, because every API in the account and Region relies on it. Give it here or as
   * `restApiProps.cloudWatchRole`, not both.
   *
   * @default true
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Customer managed KMS key for the API's access logs and the predict function's logs.
   *
   * The key policy must allow CloudWatch Logs when the key is imported; a key created in the same app is
   * given that statement. (The store's table has its own `encryptionKey`.)
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the API's access logs when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Settings of the REST API itself, merged as the construct's defaults, then these, then what the construct
   * requires.
   *
   * Defaults you may override here: `description`, `endpointConfiguration` (regional) or `endpointTypes`,
   * `cloudWatchRoleRemovalPolicy` (RETAIN), and in `deployOptions`: `stageName` (`prod`), `tracingEnabled`
   * (true), `loggingLevel` (ERROR; INFO also allowed), `metricsEnabled` (true); any other setting (`restApiName`,
   * `policy`, `domainName`, `binaryMediaTypes`, `disableExecuteApiEndpoint`, stage `variables`, caching, ...) is
   * yours to add.
   *
   * What security or the construct's wiring requires cannot be turned off or replaced here; giving one of these
   * fails the synth naming it: `deploy` (always true: throttling, access logs, the usage plan and the web ACL live
   * on the stage), `defaultCorsPreflightOptions` (CORS follows `allowedOrigins`), `defaultMethodOptions`
   * (methods take their authorization from `authorization`), and in `deployOptions`: `accessLogDestination` and
   * `accessLogFormat` (access logs always go to `accessLogGroup`, one JSON object per request),
   * `dataTraceEnabled: true` (request and response bodies hold callers' data and are never logged),
   * `loggingLevel: OFF` (execution errors are always logged), `throttlingRateLimit` and `throttlingBurstLimit`
   * (use the props of the same names); in `deployOptions.methodOptions`, `dataTraceEnabled: true`,
   * `loggingLevel: OFF` and throttling likewise.
   *
   * @default - the construct's defaults
   */
  readonly restApiProps?: apigateway.RestApiProps;
}

const DEFAULT_RATE_LIMIT = 50;
const DEFAULT_BURST_LIMIT = 100;
const DEFAULT_STAGE_NAME = 'prod';
/** Origin as browsers send it: scheme, host and optional port, nothing else. */
const ORIGIN = /^https?:\/\/[a-zA-Z0-9.-]+(:\d{1,5})?$/;

/**
 * The prediction REST API (`POST /predictions`, and `POST /predictions/{id}/feedback` with a store) and the
 * function behind it.
 *
 * The function validates each body against the prediction contract's JSON schema (a 400 names each field),
 * converts human units to the dataset's scale, invokes the endpoint and answers with the rings, the age and
 * the model version. The API is regional, throttled, access-logged and traced; every answer, including the
 * gateway's own errors, is JSON and carries CORS headers for the allowed origins.
 */
export class PredictionApi extends Construct {
  /**
   * Checks `props` (reported under the names `name` gives them): ModelServing checks its flat API props with
   * these rules, under its own names, so that they are checked once.
   *
   * @internal
   */
  public static _validateProps(
    v: PropsValidator,
    props: Omit<PredictionApiProps, 'endpoint' | 'predictionStore'>,
    name: PropNamer<Omit<PredictionApiProps, 'endpoint' | 'predictionStore'>>,
  ): void {
    const allowedOrigins = props.allowedOrigins ?? [];
    const { rateLimit, burstLimit } = throttlingOf(props);
    for (const origin of allowedOrigins) {
      if (Token.isUnresolved(origin) || origin === '*') continue;
      v.check(ORIGIN.test(origin), name('allowedOrigins'), origin,
        'each origin must be a scheme and host with an optional port and no path or trailing slash, e.g. "https://d1234.cloudfront.net", or "*"');
    }
    v.check(!(allowedOrigins.includes('*') && allowedOrigins.length > 1), name('allowedOrigins'), JSON.stringify(allowedOrigins),
      '"*" already allows every origin; give it alone or list origins without it');
    v.number(name('throttlingRateLimit'), props.throttlingRateLimit, { greaterThan: 0, max: 10_000 });
    v.number(name('throttlingBurstLimit'), props.throttlingBurstLimit, { min: 1, max: 5_000, integer: true });
    v.check(Token.isUnresolved(rateLimit) || Token.isUnresolved(burstLimit) || burstLimit >= rateLimit,
      name('throttlingBurstLimit'), burstLimit,
      `it must be at least ${name('throttlingRateLimit')} (${rateLimit}): a burst below one second of traffic rejects steady load`);
    v.pattern(name('webAclArn'), props.webAclArn, /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+$/,
      'it must be the ARN of a regional WAFv2 web ACL (arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>)');
    validateRestApiProps(v, props, name);
  }

  /** The endpoint the predict function invokes. */
  public readonly endpoint: sagemaker.IEndpoint;

  /** Where predictions and feedback are stored; undefined without a store. */
  public readonly predictionStore?: PredictionStore;

  /** The REST API. */
  public readonly api: apigateway.RestApi;

  /** URL of the API's stage (`prod` unless `restApiProps` names another), ending in `/`; predictions are at `${apiUrl}predictions`. */
  public readonly apiUrl: string;

  /** The function behind the API. */
  public readonly predictFunction: lambda.IFunction;

  /** The API's access logs. */
  public readonly accessLogGroup: logs.ILogGroup;

  /** The API key callers send, with `ApiAuthorization.API_KEY`. */
  public readonly apiKey?: apigateway.IApiKey;

  /** The usage plan of `apiKey`, with `ApiAuthorization.API_KEY`. */
  public readonly usagePlan?: apigateway.UsagePlan;

  private readonly authorization: ApiAuthorization;
  private readonly stageName: string;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    validateProps('PredictionApi', props, PredictionApi._validateProps);
    const authorization = props.authorization ?? ApiAuthorization.NONE;
    const allowedOrigins = props.allowedOrigins ?? [];
    const { rateLimit, burstLimit } = throttlingOf(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const endpoint = props.endpoint;
    const store = props.predictionStore;
    this.authorization = authorization;
    this.endpoint = endpoint;
    this.predictionStore = store;

    const logKey = this.logEncryptionKey(props.encryptionKey);

    // The predict function.
    const role = new iam.Role(this, 'PredictFunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Answers the prediction API from SageMaker endpoint ${endpoint.endpointName}`,
    });
    const functionLogs = new logs.LogGroup(this, 'PredictFunctionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    functionLogs.grantWrite(role);
    const fn = new PredictFunction(this, 'PredictFunction', {
      description: `Answers the prediction API from SageMaker endpoint ${endpoint.endpointName}`,
      role,
      logGroup: functionLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // API Gateway stops waiting after 29 s.
      timeout: Duration.seconds(29),
      environment: {
        [PREDICT_FUNCTION_ENV.ENDPOINT_NAME]: endpoint.endpointName,
        [PREDICT_FUNCTION_ENV.ALLOWED_ORIGINS]: JSON.stringify(allowedOrigins),
        ...(store ? {
          [PREDICT_FUNCTION_ENV.PREDICTION_TTL_SECONDS]: String(store.retention.toSeconds()),
          [PREDICT_FUNCTION_ENV.PREDICTIONS_TABLE_NAME]: store.table.tableName,
        } : {}),
      },
    });
    this.predictFunction = fn;
    endpoint.grantInvoke(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadServingModelVersion',
      actions: ['sagemaker:DescribeEndpoint'],
      resources: [endpoint.endpointArn],
    }));
    store?.grantRecordPredictions(role);

    // The REST API.
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: logKey,
      removalPolicy,
    });
    const restApiProps = mergeRestApiProps(props, {
      accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
      accessLogFormat: accessLogFormat(),
      dataTraceEnabled: false,
      throttlingRateLimit: rateLimit,
      throttlingBurstLimit: burstLimit,
    });
    this.stageName = restApiProps.deployOptions?.stageName ?? DEFAULT_STAGE_NAME;
    const api = new apigateway.RestApi(this, 'Api', restApiProps);
    this.api = api;
    this.apiUrl = api.url;

    // Bodies are validated by the function, against the same schema, so that a 400 names each field as local mode
    // does: API Gateway's body validation answers before the function with one message it cannot put in valid JSON
    // (gateway responses only substitute variables). The gateway still checks request parameters.
    const validator = api.addRequestValidator('ParameterValidator', { validateRequestBody: false, validateRequestParameters: true });
    // The models document the contract in the API's exported definition; the function enforces them.
    const predictionModel = api.addModel('PredictionRequestModel', {
      contentType: 'application/json',
      description: 'One abalone in human units, or { instances: [...] }',
      schema: toApiGatewaySchema(PREDICTION_REQUEST_SCHEMA),
    });
    const integration = new apigateway.LambdaIntegration(fn, { allowTestInvoke: false });
    const methodOptions = (model: apigateway.IModel, requestParameters?: { [param: string]: boolean }): apigateway.MethodOptions => ({
      authorizationType: authorization === ApiAuthorization.IAM ? apigateway.AuthorizationType.IAM : apigateway.AuthorizationType.NONE,
      apiKeyRequired: authorization === ApiAuthorization.API_KEY,
      requestValidator: validator,
      requestModels: { 'application/json': model },
      requestParameters,
    });

    const cors: apigateway.CorsOptions | undefined = allowedOrigins.length > 0 ? {
      allowOrigins: allowedOrigins,
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'X-Api-Key', 'X-Amz-Date', 'X-Amz-Security-Token', 'X-Amz-Content-Sha256'],
      maxAge: Duration.hours(1),
    } : undefined;
    const predictions = api.root.addResource('predictions', { defaultCorsPreflightOptions: cors });
    const predictMethod = predictions.addMethod('POST', integration, methodOptions(predictionModel));
    const methods = [predictMethod];
    if (store) {
      const feedbackModel = api.addModel('FeedbackRequestModel', {
        contentType: 'application/json',
        description: 'The actual rings of a predicted abalone',
        schema: toApiGatewaySchema(FEEDBACK_REQUEST_SCHEMA),
      });
      const feedbackResource = predictions.addResource('{id}').addResource('feedback');
      methods.push(feedbackResource.addMethod('POST', integration, methodOptions(feedbackModel, { 'method.request.path.id': true })));
    }

    this.addGatewayResponses(allowedOrigins);

    if (authorization === ApiAuthorization.API_KEY) {
      this.usagePlan = api.addUsagePlan('UsagePlan', {
        description: 'Callers of the abalone prediction API',
        throttle: { rateLimit, burstLimit },
        apiStages: [{ api, stage: api.deploymentStage }],
      });
      this.apiKey = api.addApiKey('ApiKey', { description: 'Key for the abalone prediction API' });
      this.usagePlan.addApiKey(this.apiKey);
    }

    if (props.webAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: api.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
    }

    this.acknowledgeFindings(api, methods, authorization, props.webAclArn !== undefined);
  }

  /**
   * Lets a principal call the API (`execute-api:Invoke` on its POST methods in the API's stage).
   * Needed with `ApiAuthorization.IAM`; without it, the grant changes nothing.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    if (this.authorization !== ApiAuthorization.IAM) {
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:grantInvokeWithoutIam',
        `grantInvoke has no effect unless authorization is ApiAuthorization.IAM (it is ${this.authorization.mode}).`);
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [
        this.api.arnForExecuteApi('POST', '/predictions', this.stageName),
        this.api.arnForExecuteApi('POST', '/predictions/*/feedback', this.stageName),
      ],
    });
  }

  /**
   * Errors API Gateway answers itself (missing parameters, throttling, denied access, oversized payloads,
   * timeouts) in the contract's shape, with the CORS header: without it, a browser reports a CORS failure instead.
   */
  private addGatewayResponses(allowedOrigins: string[]): void {
    const headers: { [name: string]: string } = {};
    if (allowedOrigins.includes('*')) {
      headers['Access-Control-Allow-Origin'] = "'*'";
    } else if (allowedOrigins.length === 1) {
      headers['Access-Control-Allow-Origin'] = `'${allowedOrigins[0]}'`;
    } else if (allowedOrigins.length > 1) {
      // Gateway responses cannot choose among origins, so they echo the caller's; these bodies carry no data.
      headers['Access-Control-Allow-Origin'] = 'method.request.header.Origin';
      headers.Vary = "'Origin'";
    }
    const responseHeaders = Object.keys(headers).length > 0 ? headers : undefined;
    // Gateway response templates are not run by VTL, only substituted, so nothing can be escaped there. The one
    // variable used is $context.error.messageString, which API Gateway gives already quoted and which therefore
    // stands unquoted (API Gateway Developer Guide, "x-amazon-apigateway-gateway-responses.responseTemplates",
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseTemplates.html).
    // $context.error.validationErrorString is not quoted and holds quotes: it must never appear here.
    const message = '$context.error.messageString';
    // A 400 carries `errors`, like the function's; the parameter validator is the only 400 the gateway makes.
    this.api.addGatewayResponse('BadRequestParameters', {
      type: apigateway.ResponseType.BAD_REQUEST_PARAMETERS,
      statusCode: '400',
      responseHeaders,
      templates: { 'application/json': `{"message":"The request has an invalid field.","errors":[{"field":"parameters","message":${message}}]}` },
    });
    for (const [id, type] of [['Default4xx', apigateway.ResponseType.DEFAULT_4XX], ['Default5xx', apigateway.ResponseType.DEFAULT_5XX]] as const) {
      this.api.addGatewayResponse(id, {
        type,
        responseHeaders,
        templates: { 'application/json': `{"message":${message}}` },
      });
    }
  }

  /** The key for log groups, once CloudWatch Logs may use it; undefined (service encryption) otherwise. */
  private logEncryptionKey(key: kms.IKey | undefined): kms.IKey | undefined {
    if (!key) return undefined;
    const stack = Stack.of(this);
    const { statementAdded } = key.addToResourcePolicy(new iam.PolicyStatement({
      // Named when ModelServing made the API itself; kept, so that existing key policies do not change.
      sid: 'AllowCloudWatchLogsOfModelServing',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
      actions: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }));
    if (!statementAdded) {
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:importedKeyLogs',
        'encryptionKey is imported, so its key policy cannot be extended for CloudWatch Logs: the API and function logs use CloudWatch\'s own encryption.');
      return undefined;
    }
    return key;
  }

  private acknowledgeFindings(api: apigateway.RestApi, methods: apigateway.Method[], authorization: ApiAuthorization, hasWebAcl: boolean): void {
    if (authorization === ApiAuthorization.IAM) {
      for (const method of methods) {
        acknowledgeNag(method, [{
          id: 'AwsSolutions-COG4',
          reason: 'authorization is ApiAuthorization.IAM: callers sign requests (SigV4) with identities given grantInvoke; there is no user pool.',
        }]);
      }
    } else {
      const why = authorization === ApiAuthorization.NONE
        ? 'authorization is ApiAuthorization.NONE, chosen by the user: the API answers anonymous callers within the stage throttling limits, as the README documents (choose IAM or API_KEY to restrict it)'
        : 'authorization is ApiAuthorization.API_KEY: callers are identified by the usage plan\'s API key, which API Gateway checks before the method runs';
      for (const method of methods) {
        acknowledgeNag(method, [
          { id: 'AwsSolutions-APIG4', reason: `The prediction API uses no authorizer because ${why}.` },
          { id: 'AwsSolutions-COG4', reason: `No Cognito user pool authorizer: ${why}.` },
        ]);
      }
    }
    // CORS preflight requests carry no credentials, so their OPTIONS methods cannot require any.
    for (const child of api.root.node.findAll()) {
      if (child instanceof apigateway.Method && child.httpMethod === 'OPTIONS') {
        acknowledgeNag(child, [
          { id: 'AwsSolutions-APIG4', reason: 'CORS preflight (OPTIONS) is answered by a mock integration; browsers send it without credentials.' },
          { id: 'AwsSolutions-COG4', reason: 'CORS preflight (OPTIONS) is answered by a mock integration; browsers send it without credentials.' },
        ]);
      }
    }
    acknowledgeNag(api, [{
      id: 'AwsSolutions-APIG2',
      reason: 'Request parameters are validated by API Gateway; request bodies by the predict function, against the same JSON schema '
        + '(src/contracts/prediction-api.ts), so that a 400 names each field (errors: [{field, message}]) as local mode does. '
        + 'API Gateway\'s body validation would answer first, with one message that gateway responses (substitution only) cannot put into valid JSON.',
    }]);
    if (!hasWebAcl) {
      acknowledgeNag(api.deploymentStage, [{
        id: 'AwsSolutions-APIG3',
        reason: 'No WAF web ACL unless webAclArn is given: the stage throttles every caller (throttlingRateLimit/BurstLimit) and the README explains how to add one.',
      }]);
    }
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      acknowledgeNag(cloudWatchRole, [{
        id: 'AwsSolutions-IAM4',
        reason: 'API Gateway\'s account-level logging role uses AmazonAPIGatewayPushToCloudWatchLogs, the policy AWS documents for it; it lets API Gateway write any API\'s logs in this account and Region.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
      }]);
    }
  }
}

/** What PredictionApi's rules check: its props without the endpoint and the store (a composing construct checks them first). */
type PredictionApiSettings = Omit<PredictionApiProps, 'endpoint' | 'predictionStore'>;

function throttlingOf(props: PredictionApiSettings): { rateLimit: number; burstLimit: number } {
  const rateLimit = props.throttlingRateLimit ?? DEFAULT_RATE_LIMIT;
  const burstLimit = props.throttlingBurstLimit
    ?? (Token.isUnresolved(rateLimit) ? DEFAULT_BURST_LIMIT : Math.max(DEFAULT_BURST_LIMIT, Math.ceil(rateLimit)));
  return { rateLimit, burstLimit };
}

/** The stage settings the construct requires: access logs into its log group, no body logging, its throttling. */
type RequiredStageOptions = Required<Pick<apigateway.StageOptions,
'accessLogDestination' | 'accessLogFormat' | 'dataTraceEnabled' | 'throttlingRateLimit' | 'throttlingBurstLimit'>>;

/** The construct's defaults ← the user's `restApiProps` ← what the construct requires (see `restApiProps`). */
function mergeRestApiProps(props: PredictionApiProps, requiredStage: RequiredStageOptions): apigateway.RestApiProps {
  const user = props.restApiProps ?? {};
  const cloudWatchRole = props.cloudWatchRole ?? user.cloudWatchRole ?? true;
  const defaults: apigateway.RestApiProps = {
    description: 'Abalone age prediction API',
    // One of the two ways to say it: a user's endpointTypes replaces this default.
    endpointConfiguration: user.endpointTypes ? undefined : { types: [apigateway.EndpointType.REGIONAL] },
    // Every API in the account and Region logs through this role: deleting the stack must not remove it.
    cloudWatchRoleRemovalPolicy: cloudWatchRole ? RemovalPolicy.RETAIN : undefined,
  };
  const defaultStage: apigateway.StageOptions = {
    stageName: DEFAULT_STAGE_NAME,
    tracingEnabled: true,
    loggingLevel: apigateway.MethodLoggingLevel.ERROR,
    metricsEnabled: true,
  };
  return {
    ...defaults,
    ...user,
    cloudWatchRole,
    deploy: true,
    defaultCorsPreflightOptions: undefined,
    defaultMethodOptions: undefined,
    deployOptions: { ...defaultStage, ...user.deployOptions, ...requiredStage },
  };
}

/** The required parts of `restApiProps`: giving one fails, naming it, rather than being silently replaced. */
function validateRestApiProps(v: PropsValidator, props: PredictionApiSettings, name: PropNamer<PredictionApiSettings>): void {
  const user = props.restApiProps;
  if (!user) return;
  const prop = (path: string) => `${name('restApiProps')}.${path}`;
  v.notBoth(name('cloudWatchRole'), props.cloudWatchRole, prop('cloudWatchRole'), user.cloudWatchRole);
  v.check(user.deploy !== false, prop('deploy'), user.deploy,
    'the API is always deployed to a stage: throttling, access logs, the usage plan and the web ACL are set on it');
  v.check(user.defaultCorsPreflightOptions === undefined, prop('defaultCorsPreflightOptions'), 'set',
    `CORS follows ${name('allowedOrigins')}, which the function and the gateway's own error responses use too`);
  v.check(user.defaultMethodOptions === undefined, prop('defaultMethodOptions'), 'set',
    `the methods take their authorization from ${name('authorization')}`);
  const stage = user.deployOptions ?? {};
  v.check(stage.accessLogDestination === undefined, prop('deployOptions.accessLogDestination'), 'set',
    'access logs always go to the construct\'s log group (accessLogGroup)');
  v.check(stage.accessLogFormat === undefined, prop('deployOptions.accessLogFormat'), 'set',
    'access logs are always one JSON object per request, in the construct\'s format');
  const checkMethodSettings = (path: string, settings: apigateway.MethodDeploymentOptions) => {
    v.check(settings.dataTraceEnabled !== true, prop(`${path}dataTraceEnabled`), settings.dataTraceEnabled,
      'request and response bodies hold callers\' data and are never logged');
    v.check(settings.loggingLevel !== apigateway.MethodLoggingLevel.OFF, prop(`${path}loggingLevel`), settings.loggingLevel,
      'execution errors are always logged: ERROR (the default) or INFO');
    for (const limit of ['throttlingRateLimit', 'throttlingBurstLimit'] as const) {
      v.check(settings[limit] === undefined, prop(`${path}${limit}`), settings[limit],
        `the stage's throttling is set by ${name(limit)}, which the usage plan uses too`);
    }
  };
  checkMethodSettings('deployOptions.', stage);
  for (const [path, settings] of Object.entries(stage.methodOptions ?? {})) {
    checkMethodSettings(`deployOptions.methodOptions[${JSON.stringify(path)}].`, settings);
  }
}

/** The contract's draft-4 schema as an API Gateway model schema (same keywords, same values). */
function toApiGatewaySchema(schema: { readonly $schema?: string; readonly [keyword: string]: unknown }): apigateway.JsonSchema {
  const { $schema, ...rest } = schema;
  if ($schema !== apigateway.JsonSchemaVersion.DRAFT4) {
    throw new Error(`API Gateway models must be JSON schema draft 4; the contract schema declares ${String($schema)}`);
  }
  return { schema: apigateway.JsonSchemaVersion.DRAFT4, ...rest } as apigateway.JsonSchema;
}

/** One JSON object per request; error text goes in through its JSON-quoted variable so quotes cannot break the line. */
function accessLogFormat(): apigateway.AccessLogFormat {
  const f = apigateway.AccessLogField;
  const fields: Array<[string, string]> = [
    ['requestId', f.contextRequestId()],
    ['requestTime', f.contextRequestTime()],
    ['ip', f.contextIdentitySourceIp()],
    ['caller', f.contextIdentityCaller()],
    ['user', f.contextIdentityUser()],
    ['apiKeyId', f.contextIdentityApiKeyId()],
    ['httpMethod', f.contextHttpMethod()],
    ['resourcePath', f.contextResourcePath()],
    ['protocol', f.contextProtocol()],
    ['status', f.contextStatus()],
    ['responseLength', f.contextResponseLength()],
    ['responseLatency', f.contextResponseLatency()],
    ['integrationStatus', f.contextIntegrationStatus()],
    ['integrationLatency', f.contextIntegrationLatency()],
    ['errorType', f.contextErrorResponseType()],
    ['xrayTraceId', f.contextXrayTraceId()],
  ];
  return apigateway.AccessLogFormat.custom(
    `{${fields.map(([name, value]) => `"${name}":"${value}"`).join(',')},"errorMessage":${f.contextErrorMessageString()}}`,
  );
}
