import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { IModelDeploymentTarget } from './deployment-target';
import { DataCaptureLocation, EndpointDataCaptureOptions, EndpointDeployment, EndpointDeploymentProps, EndpointTrafficRouting } from './endpoint-deployment';
import { FeedbackExport } from './feedback-export';
import { ApiAuthorization, PredictionApi, PredictionApiProps } from './prediction-api';
import { PredictionStore, PredictionStoreProps } from './prediction-store';
import { alreadyValidated, passThrough } from './validated-props';
import type { IModelRegistry } from '../model-registry/model-registry';
import { PropsValidator } from '../private/validation';

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
   * Endpoint Data Capture of requests and responses to the artifact bucket, under `data-capture/` (see
   * `EndpointDeploymentProps.dataCapture`).
   *
   * @default - capture on, 100% of requests, kept 90 days
   */
  readonly endpointDataCapture?: EndpointDataCaptureOptions;

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
   * Store every prediction with its inputs and accept `POST /predictions/{id}/feedback` with the actual rings;
   * the feedback is exported as ground truth to the artifact bucket under `ground-truth/` (`FeedbackExport`).
   *
   * With `false` there is no table, no feedback route, no export, and nothing is written per request.
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
   * deleted, because every API in the account and Region relies on it. Give it here or as
   * `restApiProps.cloudWatchRole`, not both.
   *
   * @default true
   */
  readonly cloudWatchRole?: boolean;

  /**
   * Settings of the REST API itself, merged as PredictionApi's defaults, then these, then what it requires
   * (see `PredictionApiProps.restApiProps`: what security requires cannot be turned off here).
   *
   * @default - PredictionApi's defaults
   */
  readonly restApiProps?: apigateway.RestApiProps;

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


/** ModelServing's prop that carries each EndpointDeployment prop. */
const ENDPOINT_PROPS = {
  modelRegistry: 'modelRegistry',
  artifactBucket: 'artifactBucket',
  endpointName: 'endpointName',
  endpointInstanceType: 'endpointInstanceType',
  endpointInstanceCount: 'endpointInstanceCount',
  autoScaling: 'endpointAutoScaling',
  minCapacity: 'endpointMinCapacity',
  maxCapacity: 'endpointMaxCapacity',
  targetInvocationsPerInstance: 'endpointTargetInvocationsPerInstance',
  encryptionKey: 'encryptionKey',
  dataCapture: 'endpointDataCapture',
  rollbackErrorThreshold: 'endpointRollbackErrorThreshold',
  rollbackLatencyThreshold: 'endpointRollbackLatencyThreshold',
  deploymentBakeTime: 'endpointDeploymentBakeTime',
  trafficRouting: 'endpointTrafficRouting',
} as const satisfies { readonly [P in keyof EndpointDeploymentProps]-?: keyof ModelServingProps };

/** ModelServing's prop that carries each PredictionStore prop. */
const STORE_PROPS = {
  retention: 'predictionRetention',
  encryptionKey: 'encryptionKey',
  removalPolicy: 'removalPolicy',
} as const satisfies { readonly [P in keyof PredictionStoreProps]-?: keyof ModelServingProps };

/** ModelServing's prop that carries each PredictionApi prop (but the endpoint and the store, which it makes). */
const API_PROPS = {
  allowedOrigins: 'allowedOrigins',
  throttlingRateLimit: 'throttlingRateLimit',
  throttlingBurstLimit: 'throttlingBurstLimit',
  authorization: 'authorization',
  webAclArn: 'webAclArn',
  cloudWatchRole: 'cloudWatchRole',
  encryptionKey: 'encryptionKey',
  removalPolicy: 'removalPolicy',
  restApiProps: 'restApiProps',
} as const satisfies { readonly [P in keyof Omit<PredictionApiProps, 'endpoint' | 'predictionStore'>]-?: keyof ModelServingProps };

/**
 * The model in production: a SageMaker real-time endpoint that the deploy function keeps on the latest
 * approved model package (`EndpointDeployment`), behind a REST API (`PredictionApi`: `POST /predictions`,
 * `POST /predictions/{id}/feedback`) that stores predictions and their feedback (`PredictionStore`).
 *
 * It composes the three, each of which also stands alone, from flat props: the `endpoint*` props are
 * EndpointDeployment's, `predictionRetention` is the store's `retention`, the rest are PredictionApi's.
 */
export class ModelServing extends Construct implements IModelDeploymentTarget {
  /** The endpoint, its deploy function, rollback alarms and clean-up. */
  public readonly endpoint: EndpointDeployment;

  /** The REST API and its predict function. */
  public readonly predictionApi: PredictionApi;

  /** Predictions and their feedback; undefined when `feedback` is false. */
  public readonly predictionStore?: PredictionStore;

  /** The export of feedback to ground-truth records; undefined when `feedback` is false. */
  public readonly feedbackExport?: FeedbackExport;

  /** Name of the SageMaker endpoint (stable across deployments). */
  public readonly endpointName: string;

  /** ARN of the SageMaker endpoint. */
  public readonly endpointArn: string;

  /** The REST API. */
  public readonly api: apigateway.RestApi;

  /** URL of the API's stage (`prod` by default), ending in `/`; predictions are at `${apiUrl}predictions`. */
  public readonly apiUrl: string;

  /** The function behind the API. */
  public readonly predictFunction: lambda.IFunction;

  /** Deploys an approved model package to the endpoint. */
  public readonly deployFunction: lambda.IFunction;

  /** The role SageMaker runs the model with. */
  public readonly modelRole: iam.IRole;

  /** Alarms that roll an endpoint update back. */
  public readonly rollbackAlarms: cloudwatch.IAlarm[];

  /** Where the endpoint's captured requests and responses are; undefined when data capture is off. */
  public readonly dataCaptureLocation?: DataCaptureLocation;

  /** The API's access logs. */
  public readonly accessLogGroup: logs.ILogGroup;

  /** Predictions and their feedback; undefined when `feedback` is false. */
  public readonly feedbackTable?: dynamodb.ITable;

  /** The API key callers send, with `ApiAuthorization.API_KEY`. */
  public readonly apiKey?: apigateway.IApiKey;

  /** The usage plan of `apiKey`, with `ApiAuthorization.API_KEY`. */
  public readonly usagePlan?: apigateway.UsagePlan;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const feedback = props.feedback ?? true;
    const endpointProps = passThrough<EndpointDeploymentProps, ModelServingProps>(props, ENDPOINT_PROPS);
    const storeProps = passThrough<PredictionStoreProps, ModelServingProps>(props, STORE_PROPS);
    const apiProps = passThrough<Omit<PredictionApiProps, 'endpoint' | 'predictionStore'>, ModelServingProps>(props, API_PROPS);

    // Every prop is checked once, by its sub-construct's rules under the name given here, and all problems are
    // reported together.
    const v = new PropsValidator('ModelServing');
    PredictionApi._validateProps(v, apiProps.props, apiProps.name);
    if (feedback) {
      PredictionStore._validateProps(v, storeProps.props, storeProps.name);
    } else {
      v.check(props.predictionRetention === undefined, 'predictionRetention', props.predictionRetention?.toHumanString(),
        'it only applies with feedback; remove it or set feedback to true');
    }
    EndpointDeployment._validateProps(v, endpointProps.props, endpointProps.name);
    v.throwIfInvalid();

    // The ids keep the logical ids of the resources ModelServing made itself before it composed these: the
    // store's table is its default child, and the API is ModelServing's, so neither adds a path segment.
    this.endpoint = new EndpointDeployment(this, 'Endpoint', alreadyValidated(endpointProps.props));
    this.predictionStore = feedback ? new PredictionStore(this, 'FeedbackTable', alreadyValidated(storeProps.props)) : undefined;
    if (this.predictionStore) {
      this.feedbackExport = new FeedbackExport(this, 'FeedbackExport', {
        predictionStore: this.predictionStore,
        bucket: props.artifactBucket,
        encryptionKey: props.encryptionKey,
      });
    }
    this.predictionApi = new PredictionApi(this, 'Default', alreadyValidated({
      ...apiProps.props,
      endpoint: this.endpoint,
      predictionStore: this.predictionStore,
    }));

    this.endpointName = this.endpoint.endpointName;
    this.endpointArn = this.endpoint.endpointArn;
    this.deployFunction = this.endpoint.deployFunction;
    this.modelRole = this.endpoint.modelRole;
    this.rollbackAlarms = this.endpoint.rollbackAlarms;
    this.dataCaptureLocation = this.endpoint.dataCaptureLocation;
    this.feedbackTable = this.predictionStore?.table;
    this.api = this.predictionApi.api;
    this.apiUrl = this.predictionApi.apiUrl;
    this.predictFunction = this.predictionApi.predictFunction;
    this.accessLogGroup = this.predictionApi.accessLogGroup;
    this.apiKey = this.predictionApi.apiKey;
    this.usagePlan = this.predictionApi.usagePlan;
  }

  /** Allows the grantee to invoke the deploy function (what a release pipeline's Deploy action does). */
  public grantInvokeDeploy(grantee: iam.IGrantable): iam.Grant {
    return this.endpoint.grantInvokeDeploy(grantee);
  }

  /**
   * Lets a principal call the API (`execute-api:Invoke` on its POST methods in the API's stage).
   * Needed with `ApiAuthorization.IAM`; without it, the grant changes nothing.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.predictionApi.grantInvoke(grantee);
  }
}
