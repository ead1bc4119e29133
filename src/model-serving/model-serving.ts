import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { IModelDeploymentTarget } from './deployment-target';
import { EndpointDeployment, EndpointDeploymentProps, EndpointTrafficRouting } from './endpoint-deployment';
import { PredictFunction } from './predict-function';
import { PREDICT_FUNCTION_ENV, PREDICTION_KEY_ATTRIBUTE, PREDICTION_TTL_ATTRIBUTE } from '../contracts/predict-function';
import { FEEDBACK_REQUEST_SCHEMA, PREDICTION_REQUEST_SCHEMA } from '../contracts/prediction-api';
import type { IModelRegistry } from '../model-registry/model-registry';
import { acknowledgeNag } from '../private/nag';
import { PropsValidator } from '../private/validation';

// The endpoint's traffic routing is part of ModelServing's props.
export { EndpointTrafficRouting } from './endpoint-deployment';
export type { CanaryTrafficRoutingOptions } from './endpoint-deployment';

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

/**
 * Properties of {@link ModelServing}.
 */
export interface ModelServingProps {
  /** The model registry whose approved model packages the endpoint serves. */
  readonly modelRegistry: IModelRegistry;

  /** Bucket holding the model artifacts the packages point at (read by the model's execution role). */
  readonly artifactBucket: s3.IBucket;

  /**
   * Name of the SageMaker endpoint, stable across deployments: lower-case letters, digits and hyphens.
   *
   * @default - a unique name derived from the construct path
   */
  readonly endpointName?: string;

  /**
   * Instance type of the endpoint.
   *
   * @default 'ml.m5.large'
   */
  readonly endpointInstanceType?: string;

  /**
   * Instances a new endpoint starts with; two or more spread across Availability Zones.
   *
   * @default 2
   */
  readonly endpointInstanceCount?: number;

  /**
   * Scale the endpoint with target tracking on invocations per instance.
   *
   * @default true
   */
  readonly endpointAutoScaling?: boolean;

  /**
   * Fewest instances auto-scaling keeps.
   *
   * @default - endpointInstanceCount
   */
  readonly endpointMinCapacity?: number;

  /**
   * Most instances auto-scaling adds.
   *
   * @default - 4, or endpointMinCapacity when that is larger
   */
  readonly endpointMaxCapacity?: number;

  /**
   * Invocations per instance per minute that auto-scaling aims at.
   *
   * @default 70
   */
  readonly endpointTargetInvocationsPerInstance?: number;

  /**
   * Bucket that receives the endpoint's captured requests and responses, under `data-capture/`.
   *
   * @default - no data capture
   */
  readonly endpointDataCaptureBucket?: s3.IBucket;

  /**
   * Percentage of requests captured, when `endpointDataCaptureBucket` is set.
   *
   * @default 100
   */
  readonly endpointDataCapturePercent?: number;

  /**
   * Server errors per minute, two minutes in a row, that roll an endpoint update back.
   *
   * @default 1
   */
  readonly endpointRollbackErrorThreshold?: number;

  /**
   * Average model latency, two minutes in a row, that rolls an endpoint update back.
   *
   * @default Duration.seconds(1)
   */
  readonly endpointRollbackLatencyThreshold?: Duration;

  /**
   * The final baking period of a blue/green endpoint update: with all traffic on the new fleet, SageMaker watches
   * the rollback alarms this long and keeps the old fleet to roll back to; then it terminates the old fleet.
   *
   * At least 5 minutes, the time the alarms need to fire (2 one-minute periods plus about 3 minutes for SageMaker's
   * metrics to reach CloudWatch and be evaluated). With a canary, its bake and this one together are at most
   * 20 minutes, so that an update in flight ends in time for the endpoint to be deleted with its stack.
   *
   * @default Duration.minutes(5)
   */
  readonly endpointDeploymentBakeTime?: Duration;

  /**
   * How a blue/green endpoint update shifts traffic to the new fleet: all at once, or a canary first
   * (`EndpointTrafficRouting.canary({ percent, bakeTime })`).
   *
   * @default EndpointTrafficRouting.allAtOnce()
   */
  readonly endpointTrafficRouting?: EndpointTrafficRouting;

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
   * Store every prediction with its inputs and accept `POST /predictions/{id}/feedback` with the actual rings.
   *
   * With `false` there is no table, no feedback route, and nothing is written per request.
   *
   * @default true
   */
  readonly feedback?: boolean;

  /**
   * How long a stored prediction accepts feedback before the table's TTL removes it.
   *
   * @default Duration.days(90)
   */
  readonly predictionRetention?: Duration;

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
   * deleted, because every API in the account and Region relies on it.
   *
   * @default true
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Customer managed KMS key for the feedback table, the API's and the function's logs, and the endpoint.
   *
   * The key policy must allow CloudWatch Logs when the key is imported; a key created in the same app is
   * given that statement.
   *
   * @default - AWS managed keys
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the feedback table and the API access logs when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULT_RATE_LIMIT = 50;
const DEFAULT_BURST_LIMIT = 100;
const DEFAULT_RETENTION = Duration.days(90);
const STAGE_NAME = 'prod';
/** Origin as browsers send it: scheme, host and optional port, nothing else. */
const ORIGIN = /^https?:\/\/[a-zA-Z0-9.-]+(:\d{1,5})?$/;

/** EndpointDeployment's prop names as ModelServing calls them, for its error messages. */
const PASS_THROUGH_NAMES: { [deployName: string]: string } = {
  autoScaling: 'endpointAutoScaling',
  minCapacity: 'endpointMinCapacity',
  maxCapacity: 'endpointMaxCapacity',
  targetInvocationsPerInstance: 'endpointTargetInvocationsPerInstance',
  dataCaptureBucket: 'endpointDataCaptureBucket',
  dataCapturePercent: 'endpointDataCapturePercent',
  rollbackErrorThreshold: 'endpointRollbackErrorThreshold',
  rollbackLatencyThreshold: 'endpointRollbackLatencyThreshold',
  deploymentBakeTime: 'endpointDeploymentBakeTime',
  trafficRouting: 'endpointTrafficRouting',
};

/**
 * The model in production: a SageMaker real-time endpoint that the deploy function keeps on the latest
 * approved model package, behind a REST API (`POST /predictions`, `POST /predictions/{id}/feedback`).
 *
 * The function validates each body against the prediction contract's JSON schema (a 400 names each field),
 * converts human units to the dataset's scale, invokes the endpoint and answers with the rings, the age and
 * the model version. It is regional, throttled, access-logged and traced; every answer, including the
 * gateway's own errors, is JSON and carries CORS headers for the allowed origins.
 */
export class ModelServing extends Construct implements IModelDeploymentTarget {
  /** Name of the SageMaker endpoint (stable across deployments). */
  public readonly endpointName: string;

  /** ARN of the SageMaker endpoint. */
  public readonly endpointArn: string;

  /** The REST API. */
  public readonly api: apigateway.RestApi;

  /** URL of the API's `prod` stage, ending in `/`; predictions are at `${apiUrl}predictions`. */
  public readonly apiUrl: string;

  /** The function behind the API. */
  public readonly predictFunction: lambda.IFunction;

  /** Deploys an approved model package to the endpoint. */
  public readonly deployFunction: lambda.IFunction;

  /** The role SageMaker runs the model with. */
  public readonly modelRole: iam.IRole;

  /** Alarms that roll an endpoint update back. */
  public readonly rollbackAlarms: cloudwatch.IAlarm[];

  /** The API's access logs. */
  public readonly accessLogGroup: logs.ILogGroup;

  /** Predictions and their feedback; undefined when `feedback` is false. */
  public readonly feedbackTable?: dynamodb.ITable;

  /** The API key callers send, with `ApiAuthorization.API_KEY`. */
  public readonly apiKey?: apigateway.IApiKey;

  /** The usage plan of `apiKey`, with `ApiAuthorization.API_KEY`. */
  public readonly usagePlan?: apigateway.UsagePlan;

  private readonly authorization: ApiAuthorization;
  private readonly deployment: EndpointDeployment;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const authorization = props.authorization ?? ApiAuthorization.NONE;
    const allowedOrigins = props.allowedOrigins ?? [];
    const rateLimit = props.throttlingRateLimit ?? DEFAULT_RATE_LIMIT;
    const burstLimit = props.throttlingBurstLimit
      ?? (Token.isUnresolved(rateLimit) ? DEFAULT_BURST_LIMIT : Math.max(DEFAULT_BURST_LIMIT, Math.ceil(rateLimit)));
    const retention = props.predictionRetention ?? DEFAULT_RETENTION;
    const feedback = props.feedback ?? true;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    validateProps(props, allowedOrigins, rateLimit, burstLimit, feedback);
    this.authorization = authorization;
    const stack = Stack.of(this);

    const deployment = newEndpointDeployment(this, {
      modelRegistry: props.modelRegistry,
      artifactBucket: props.artifactBucket,
      endpointName: props.endpointName,
      endpointInstanceType: props.endpointInstanceType,
      endpointInstanceCount: props.endpointInstanceCount,
      autoScaling: props.endpointAutoScaling,
      minCapacity: props.endpointMinCapacity,
      maxCapacity: props.endpointMaxCapacity,
      targetInvocationsPerInstance: props.endpointTargetInvocationsPerInstance,
      dataCaptureBucket: props.endpointDataCaptureBucket,
      dataCapturePercent: props.endpointDataCapturePercent,
      rollbackErrorThreshold: props.endpointRollbackErrorThreshold,
      rollbackLatencyThreshold: props.endpointRollbackLatencyThreshold,
      deploymentBakeTime: props.endpointDeploymentBakeTime,
      trafficRouting: props.endpointTrafficRouting,
      encryptionKey: props.encryptionKey,
    });
    this.endpointName = deployment.endpointName;
    this.endpointArn = deployment.endpointArn;
    this.deployFunction = deployment.deployFunction;
    this.modelRole = deployment.modelRole;
    this.rollbackAlarms = deployment.rollbackAlarms;
    this.deployment = deployment;

    const logKey = this.logEncryptionKey(props.encryptionKey);

    // Predictions and feedback.
    let table: dynamodb.Table | undefined;
    if (feedback) {
      table = new dynamodb.Table(this, 'FeedbackTable', {
        partitionKey: { name: PREDICTION_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
        encryptionKey: props.encryptionKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: PREDICTION_TTL_ATTRIBUTE,
        removalPolicy,
      });
      this.feedbackTable = table;
    }

    // The predict function.
    const role = new iam.Role(this, 'PredictFunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Answers the prediction API from SageMaker endpoint ${this.endpointName}`,
    });
    const functionLogs = new logs.LogGroup(this, 'PredictFunctionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    functionLogs.grantWrite(role);
    const fn = new PredictFunction(this, 'PredictFunction', {
      description: `Answers the prediction API from SageMaker endpoint ${this.endpointName}`,
      role,
      logGroup: functionLogs,
      loggingFormat: lambda.LoggingFormat.JSON,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // API Gateway stops waiting after 29 s.
      timeout: Duration.seconds(29),
      environment: {
        [PREDICT_FUNCTION_ENV.ENDPOINT_NAME]: this.endpointName,
        [PREDICT_FUNCTION_ENV.ALLOWED_ORIGINS]: JSON.stringify(allowedOrigins),
        [PREDICT_FUNCTION_ENV.PREDICTION_TTL_SECONDS]: String(retention.toSeconds()),
        ...(table ? { [PREDICT_FUNCTION_ENV.PREDICTIONS_TABLE_NAME]: table.tableName } : {}),
      },
    });
    this.predictFunction = fn;
    deployment.grantInvokeEndpoint(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadServingModelVersion',
      actions: ['sagemaker:DescribeEndpoint'],
      resources: [this.endpointArn],
    }));
    if (table) {
      table.grant(role, 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem');
      if (props.encryptionKey) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'UseTableKeyThroughDynamoDb',
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
          resources: [props.encryptionKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.${stack.urlSuffix}` } },
        }));
      }
    }

    // The REST API.
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: logKey,
      removalPolicy,
    });
    const api = new apigateway.RestApi(this, 'Api', {
      description: 'Abalone age prediction API',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: props.cloudWatchRole ?? true,
      // Every API in the account and Region logs through this role: deleting the stack must not remove it.
      cloudWatchRoleRemovalPolicy: (props.cloudWatchRole ?? true) ? RemovalPolicy.RETAIN : undefined,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
      },
    });
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
    if (table) {
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

  /** Allows the grantee to invoke the deploy function (what a release pipeline's Deploy action does). */
  public grantInvokeDeploy(grantee: iam.IGrantable): iam.Grant {
    return this.deployment.grantInvokeDeploy(grantee);
  }

  /**
   * Lets a principal call the API (`execute-api:Invoke` on its methods in the `prod` stage).
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
      resourceArns: [this.api.arnForExecuteApi('POST', '/predictions', STAGE_NAME), this.api.arnForExecuteApi('POST', '/predictions/*/feedback', STAGE_NAME)],
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

/** Creates the endpoint deployment; its prop errors are reported under ModelServing's prop names. */
function newEndpointDeployment(scope: Construct, props: EndpointDeploymentProps): EndpointDeployment {
  try {
    return new EndpointDeployment(scope, 'Endpoint', props);
  } catch (e) {
    if (!(e instanceof Error) || !e.message.startsWith('Invalid EndpointDeployment props')) throw e;
    const names = new RegExp(`\\b(${Object.keys(PASS_THROUGH_NAMES).join('|')})\\b`, 'g');
    throw new Error(e.message.replace('Invalid EndpointDeployment props', 'Invalid ModelServing props').replace(names, (n) => PASS_THROUGH_NAMES[n]));
  }
}

function validateProps(props: ModelServingProps, allowedOrigins: string[], rateLimit: number, burstLimit: number, feedback: boolean): void {
  const v = new PropsValidator('ModelServing');
  for (const origin of allowedOrigins) {
    if (Token.isUnresolved(origin) || origin === '*') continue;
    v.check(ORIGIN.test(origin), 'allowedOrigins', origin,
      'each origin must be a scheme and host with an optional port and no path or trailing slash, e.g. "https://d1234.cloudfront.net", or "*"');
  }
  v.check(!(allowedOrigins.includes('*') && allowedOrigins.length > 1), 'allowedOrigins', JSON.stringify(allowedOrigins),
    '"*" already allows every origin; give it alone or list origins without it');
  v.number('throttlingRateLimit', props.throttlingRateLimit, { greaterThan: 0, max: 10_000 });
  v.number('throttlingBurstLimit', props.throttlingBurstLimit, { min: 1, max: 5_000, integer: true });
  v.check(Token.isUnresolved(rateLimit) || Token.isUnresolved(burstLimit) || burstLimit >= rateLimit,
    'throttlingBurstLimit', burstLimit, `it must be at least throttlingRateLimit (${rateLimit}): a burst below one second of traffic rejects steady load`);
  v.number('predictionRetention', props.predictionRetention?.toDays({ integral: false }), { min: 1, max: 3650 });
  v.check(feedback || props.predictionRetention === undefined, 'predictionRetention', props.predictionRetention?.toHumanString(),
    'it only applies with feedback; remove it or set feedback to true');
  v.pattern('webAclArn', props.webAclArn, /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+$/,
    'it must be the ARN of a regional WAFv2 web ACL (arn:<partition>:wafv2:<region>:<account>:regional/webacl/<name>/<id>)');
  v.throwIfInvalid();
}
