import { Arn, ArnFormat, Aws, CustomResource, Duration, Resource, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CleanupCompleteFunction } from './cleanup-complete-function';
import { CleanupFunction } from './cleanup-function';
import { DeployFunction } from './deploy-function';
import type { IModelDeploymentTarget } from './deployment-target';
import { PropNamer, validateProps } from './validated-props';
import { TRAINING_EXECUTIONS_PREFIX } from '../contracts/artifact-layout';
import {
  AutoScalingConfig,
  BLUE_GREEN_LIMITS,
  DEPLOY_CONFIG_ENV,
  DeployConfig,
  totalWaitSeconds,
  TrafficRoutingSettings,
} from '../contracts/endpoint-deploy-config';
import { ENDPOINT_NAME, namePrefixFor, SAGEMAKER_NAME, VARIANT_NAME } from '../contracts/endpoint-names';
import { CAPTURE_VARIANT_NAME, DATA_CAPTURE_PREFIX } from '../contracts/monitoring';
import type { IModelRegistry } from '../model-registry/model-registry';
import { lambdaLogGroup, lambdaRole } from '../private/functions';
import { imageRepositoryArns, resolveBuiltInImages, sagemakerContainerStatements } from '../private/image-mapping';
import { acknowledgeNag, NagAcknowledgement } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { generatePhysicalName } from '../private/physical-names';
import { PropsValidator } from '../private/validation';

/** Properties of {@link EndpointDeployment}. */
export interface EndpointDeploymentProps {
  /** The model registry whose approved model packages the endpoint serves. */
  readonly modelRegistry: IModelRegistry;

  /** Bucket holding the model artifacts the packages point at; the model execution role may read it. */
  readonly artifactBucket: s3.IBucket;

  /**
   * Name of the SageMaker endpoint, stable across deployments: lower-case letters, digits and hyphens.
   *
   * Changing it on a deployed stack deletes the endpoint of the old name.
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
   * Instances a new endpoint starts with. Two or more spread across Availability Zones.
   *
   * With auto-scaling, an update keeps the count that auto-scaling set.
   *
   * @default 2
   */
  readonly endpointInstanceCount?: number;

  /**
   * Scale the endpoint with target tracking on invocations per instance.
   *
   * @default true
   */
  readonly autoScaling?: boolean;

  /**
   * Fewest instances auto-scaling keeps.
   *
   * @default - endpointInstanceCount
   */
  readonly minCapacity?: number;

  /**
   * Most instances auto-scaling adds.
   *
   * @default - 4, or minCapacity when that is larger
   */
  readonly maxCapacity?: number;

  /**
   * Invocations per instance per minute that auto-scaling aims at.
   *
   * @default 70
   */
  readonly targetInvocationsPerInstance?: number;

  /**
   * Customer managed key for the endpoint's storage volume, the model artifacts and captured data.
   *
   * @default - AWS managed encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Endpoint Data Capture: SageMaker writes each sampled request and its response to the artifact bucket under
   * `data-capture/<endpoint>/AllTraffic/yyyy/mm/dd/hh/` (UTC hour of the invocation), one JSON line per invocation,
   * CSV bodies as text, with the predict function's `InferenceId`. This is what drift monitoring reads.
   *
   * @default - capture on, 100% of requests, kept 90 days
   */
  readonly dataCapture?: EndpointDataCaptureOptions;

  /**
   * Server errors (Invocation5XXErrors) per minute, two minutes in a row, that roll an update back.
   *
   * @default 1
   */
  readonly rollbackErrorThreshold?: number;

  /**
   * Average model latency, two minutes in a row, that rolls an update back.
   *
   * @default Duration.seconds(1)
   */
  readonly rollbackLatencyThreshold?: Duration;

  /**
   * The final baking period of a blue/green update: with all traffic on the new fleet, SageMaker watches the
   * rollback alarms this long and keeps the old fleet to roll back to; then it terminates the old fleet.
   *
   * At least 5 minutes, the time the alarms need to fire (2 one-minute periods plus about 3 minutes for SageMaker's
   * metrics to reach CloudWatch and be evaluated). With a canary, its bake and this one together are at most
   * 20 minutes, so that an update in flight ends in time for the endpoint to be deleted with its stack.
   *
   * @default Duration.minutes(5)
   */
  readonly deploymentBakeTime?: Duration;

  /**
   * How a blue/green update shifts traffic to the new fleet: all at once, or a canary first.
   *
   * @default EndpointTrafficRouting.allAtOnce()
   */
  readonly trafficRouting?: EndpointTrafficRouting;
}

/** Endpoint Data Capture settings of {@link EndpointDeploymentProps.dataCapture}. */
export interface EndpointDataCaptureOptions {
  /**
   * Capture requests and responses.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Percentage of invocations captured: a whole number from 0 to 100 (`InitialSamplingPercentage`).
   *
   * @default 100
   */
  readonly samplingPercentage?: number;

  /**
   * How long captured objects are kept: a lifecycle rule on the artifact bucket expires them after this, in whole
   * days. Applies when the artifact bucket is an `s3.Bucket` of this app; an imported bucket's owner sets its own
   * lifecycle (giving this prop with an imported bucket fails the synth).
   *
   * @default Duration.days(90)
   */
  readonly expiration?: Duration;
}

/**
 * Where an endpoint's captures are: what a drift monitor reads. SageMaker writes
 * `s3://<bucket>/<endpointKeyPrefix>yyyy/mm/dd/hh/<file>.jsonl`.
 */
export interface DataCaptureLocation {
  /** The bucket the captures are written to (the artifact bucket). */
  readonly bucket: s3.IBucket;

  /** Prefix of every endpoint's captures in the bucket: `data-capture/`. */
  readonly keyPrefix: string;

  /** Prefix of this endpoint's captures: `data-capture/<endpoint name>/AllTraffic/`. */
  readonly endpointKeyPrefix: string;

  /** The key the captures are encrypted with; undefined for S3 managed encryption. */
  readonly encryptionKey?: kms.IKey;
}

/** Options of {@link EndpointTrafficRouting.canary}. */
export interface CanaryTrafficRoutingOptions {
  /**
   * Percentage of the endpoint's capacity that takes traffic first: a whole number from 1 to 50 (SageMaker's
   * `CanarySize` of type `CAPACITY_PERCENT` is at most half the variant).
   *
   * @default 50 - one instance of the default two
   */
  readonly percent?: number;

  /**
   * How long the canary alone takes traffic, with the rollback alarms watched, before the rest of the traffic
   * moves: 0 seconds to 1 hour. The alarms need about 5 minutes to fire; a shorter canary bake still rolls back
   * on what they see during the final bake (`deploymentBakeTime`).
   *
   * @default Duration.minutes(5)
   */
  readonly bakeTime?: Duration;
}

/**
 * How a blue/green endpoint update shifts traffic from the old fleet to the new one
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html).
 */
export class EndpointTrafficRouting {
  /**
   * All traffic moves to the new fleet at once; the final bake (`deploymentBakeTime`) then watches the alarms.
   */
  public static allAtOnce(): EndpointTrafficRouting {
    return new EndpointTrafficRouting('ALL_AT_ONCE');
  }

  /**
   * A canary share of the capacity takes traffic first and bakes; then the rest moves, followed by the final bake
   * (`deploymentBakeTime`). The old fleet is billed during both bakes.
   */
  public static canary(options: CanaryTrafficRoutingOptions = {}): EndpointTrafficRouting {
    return new EndpointTrafficRouting('CANARY', options.percent ?? 50, options.bakeTime ?? Duration.minutes(5));
  }

  private constructor(
    /** `ALL_AT_ONCE` or `CANARY`, as SageMaker names the traffic routing type. */
    public readonly type: string,
    /** With a canary: percentage of the capacity that takes traffic first. */
    public readonly canaryPercent?: number,
    /** With a canary: how long it bakes before the rest of the traffic moves. */
    public readonly canaryBakeTime?: Duration,
  ) {}
}

const DEFAULT_INSTANCE_TYPE = 'ml.m5.large';
const DEFAULT_CAPTURE_EXPIRATION = Duration.days(90);

// How long the rollback alarms need to fire. They evaluate 1-minute periods and alarm after 2 breaching ones. SageMaker
// publishes endpoint invocation metrics once a minute
// (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html), so a minute's data point exists
// only after that minute; CloudWatch then ingests it and evaluates the alarm once a minute. METRIC_DELAY_SECONDS
// assumes up to 3 minutes for those steps together (an assumption: no AWS page gives a figure), so a baking period
// must be at least 2 × 60 s + 180 s = 5 minutes for an error that starts as traffic shifts to trip an alarm in time.
const ALARM_PERIOD = Duration.minutes(1);
const ALARM_EVALUATION_PERIODS = 2;
const METRIC_DELAY_SECONDS = 180;
const ALARM_DETECTION_SECONDS = ALARM_EVALUATION_PERIODS * ALARM_PERIOD.toSeconds() + METRIC_DELAY_SECONDS;

// The CDK Provider's totalTimeout is at most 1 hour, and CloudFormation fails a custom resource that has not answered
// within ServiceTimeout, 1-3600 s (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources.Provider.html,
// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_cloudformation.CfnCustomResourceProps.html). The clean-up
// gives up after 50 minutes, so that it reports its own timeout (and the polls' run time still fits in the hour).
const CLEANUP_TIMEOUT = Duration.minutes(50);
const CLEANUP_QUERY_INTERVAL = Duration.seconds(30);
const CLEANUP_SERVICE_TIMEOUT = Duration.hours(1);

// Time budget of an update, so that the endpoint can be deleted with its stack inside CLEANUP_TIMEOUT. SageMaker
// refuses DeleteEndpoint while an update runs and has no API to stop one (see cleanup.ts), so the clean-up waits for
// an update in flight: the new fleet's provisioning and the waits (MaximumExecutionTimeoutInSeconds bounds both: it
// is set to the waits + FLEET_PROVISIONING_SECONDS), then a rollback or the old fleet's termination and DeleteEndpoint
// itself (TEARDOWN_SECONDS), with a margin. That leaves MAX_UPDATE_WAIT_SECONDS = 50 - 15 - 10 - 5 = 20 minutes for
// the bakes. Only what SageMaker itself keeps busy for longer (a create stuck in Creating can take about an hour to
// fail; a deployment that overruns its MaximumExecutionTimeoutInSeconds) outlasts it: a retried stack delete then
// resumes the clean-up (see the README).
const FLEET_PROVISIONING_SECONDS = 900;
const TEARDOWN_SECONDS = 600;
const CLEANUP_MARGIN_SECONDS = 300;
const MAX_UPDATE_WAIT_SECONDS = CLEANUP_TIMEOUT.toSeconds() - FLEET_PROVISIONING_SECONDS - TEARDOWN_SECONDS - CLEANUP_MARGIN_SECONDS;
const SLR_NAME = 'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint';
const SLR_SERVICE = 'sagemaker.application-autoscaling.amazonaws.com';

/**
 * A SageMaker real-time endpoint whose lifecycle is code, because its model only exists after training: the
 * deploy function turns an approved model package into a model, an endpoint config and a created or blue/green
 * updated endpoint (rolled back by the alarms), then registers auto-scaling. A custom resource deletes the
 * endpoint, its configs, models and scalable target when the stack is deleted.
 *
 * It is an `aws_sagemaker.IEndpoint` (name, ARN, `grantInvoke`), with the metrics of its one variant
 * (`AllTraffic`); `EndpointDeployment.fromEndpointName` and `fromEndpointArn` import an endpoint made elsewhere.
 */
export class EndpointDeployment extends Resource implements sagemaker.IEndpoint, IModelDeploymentTarget {
  /**
   * An existing endpoint, by name, in the stack's partition, Region and account.
   *
   * The ARN carries the name in lower case, as SageMaker writes it in ARNs and IAM compares it.
   */
  public static fromEndpointName(scope: Construct, id: string, endpointName: string): sagemaker.IEndpoint {
    const v = new PropsValidator('EndpointDeployment.fromEndpointName');
    v.pattern('endpointName', endpointName, SAGEMAKER_NAME,
      'it must be a SageMaker endpoint name: 1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    v.throwIfInvalid();
    const endpointArn = Stack.of(scope).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: Token.isUnresolved(endpointName) ? endpointName : endpointName.toLowerCase(),
    });
    return new ImportedEndpoint(scope, id, endpointName, endpointArn);
  }

  /**
   * An existing endpoint, by ARN (`arn:<partition>:sagemaker:<region>:<account>:endpoint/<name>`), in the ARN's
   * account and Region. Its `endpointName` is the ARN's resource name.
   */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): sagemaker.IEndpoint {
    const v = new PropsValidator('EndpointDeployment.fromEndpointArn');
    v.pattern('endpointArn', endpointArn, /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:endpoint\/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/,
      'it must be a SageMaker endpoint ARN: arn:<partition>:sagemaker:<region>:<account>:endpoint/<name>');
    v.throwIfInvalid();
    const endpointName = Arn.split(endpointArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    return new ImportedEndpoint(scope, id, endpointName, endpointArn);
  }

  /**
   * Checks `props` (reported under the names `name` gives them): ModelServing checks its flat endpoint props
   * with these rules, under its own names, so that they are checked once.
   *
   * @internal
   */
  public static _validateProps(v: PropsValidator, props: EndpointDeploymentProps, name: PropNamer<EndpointDeploymentProps>): void {
    const s = settingsOf(props);
    v.check(props.endpointName === undefined || !Token.isUnresolved(props.endpointName), name('endpointName'), props.endpointName,
      'it must be known at synth (not a token): IAM policies and resource names are derived from it')
      .pattern(name('endpointName'), props.endpointName, ENDPOINT_NAME,
        'it must be 1-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit')
      .instanceType(name('endpointInstanceType'), props.endpointInstanceType)
      .check(!(s.autoScaling && /^ml\.t[23]\./.test(s.instanceType)), name('endpointInstanceType'), s.instanceType,
        `burstable ml.t2/ml.t3 instances cannot be auto-scaled; choose another type or set ${name('autoScaling')} to false`)
      .number(name('endpointInstanceCount'), props.endpointInstanceCount, { min: 1, max: 100, integer: true })
      .number(name('minCapacity'), props.minCapacity, { min: 1, max: 100, integer: true })
      .number(name('maxCapacity'), props.maxCapacity, { min: 1, max: 100, integer: true })
      .check(Token.isUnresolved(s.minCapacity) || Token.isUnresolved(s.maxCapacity) || s.minCapacity <= s.maxCapacity, name('maxCapacity'), s.maxCapacity,
        `it must be at least ${name('minCapacity')} (${s.minCapacity})`)
      .number(name('targetInvocationsPerInstance'), props.targetInvocationsPerInstance, { greaterThan: 0 })
      .number(`${name('dataCapture')}.samplingPercentage`, props.dataCapture?.samplingPercentage, { min: 0, max: 100, integer: true })
      .number(`${name('dataCapture')}.expiration`, props.dataCapture?.expiration?.toDays({ integral: false }), { min: 1, integer: true })
      .number(name('rollbackErrorThreshold'), props.rollbackErrorThreshold, { min: 1, integer: true })
      .number(name('rollbackLatencyThreshold'), props.rollbackLatencyThreshold?.toMilliseconds(), { min: 1 })
      .number(name('deploymentBakeTime'), props.deploymentBakeTime?.toSeconds({ integral: false }),
        { min: 0, max: BLUE_GREEN_LIMITS.maxWaitSeconds, integer: true });
    if (!s.capture) {
      for (const option of ['samplingPercentage', 'expiration'] as const) {
        v.check(props.dataCapture?.[option] === undefined, `${name('dataCapture')}.${option}`, describeOption(props.dataCapture?.[option]),
          `it only applies with data capture; remove it or set ${name('dataCapture')}.enabled to true`);
      }
    } else {
      v.check(props.dataCapture?.expiration === undefined || props.artifactBucket instanceof s3.Bucket, `${name('dataCapture')}.expiration`,
        props.dataCapture?.expiration?.toHumanString(),
        `the artifact bucket (${name('artifactBucket')}) is imported, so its lifecycle is its owner's; expire ${DATA_CAPTURE_PREFIX} there and remove this`);
    }
    validateTrafficTiming(v, s, name);
    if (!s.autoScaling) {
      for (const prop of ['minCapacity', 'maxCapacity', 'targetInvocationsPerInstance'] as const) {
        v.check(props[prop] === undefined, name(prop), props[prop], `it only applies with ${name('autoScaling')}`);
      }
    }
  }

  /** The stable endpoint name. */
  public readonly endpointName: string;

  /** ARN of the endpoint (with the lower-case name SageMaker uses in ARNs). */
  public readonly endpointArn: string;

  /** Deploys a model package: see `deploy.lambda.ts` for its input and answer. */
  public readonly deployFunction: lambda.IFunction;

  /** The role SageMaker uses to run the model. */
  public readonly modelRole: iam.IRole;

  /** Alarms that roll an update back (server errors, latency). */
  public readonly rollbackAlarms: cloudwatch.IAlarm[];

  /** Where the endpoint's captured requests and responses are; undefined when data capture is off. */
  public readonly dataCaptureLocation?: DataCaptureLocation;

  constructor(scope: Construct, id: string, props: EndpointDeploymentProps) {
    super(scope, id);
    validateProps('EndpointDeployment', props, EndpointDeployment._validateProps);
    const {
      instanceType, instanceCount, autoScaling, minCapacity, maxCapacity, targetInvocations,
      capture, capturePercent, captureExpiration, errorThreshold, latency, bakeTime, routing,
    } = settingsOf(props);

    const stack = Stack.of(this);
    this.endpointName = props.endpointName ?? defaultEndpointName(this);
    const namePrefix = namePrefixFor(this.endpointName);
    const sagemakerArn = (resource: string, resourceName: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName });
    this.endpointArn = sagemakerArn('endpoint', this.endpointName);
    const modelArns = sagemakerArn('model', `${namePrefix}*`);
    const configArns = sagemakerArn('endpoint-config', `${namePrefix}*`);
    const packageArns = props.modelRegistry.modelPackageArns();
    const scalableTargets = stack.formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*' });
    // Before RegisterScalableTarget, PutScalingPolicy and DeregisterScalableTarget proceed, Application Auto Scaling
    // checks that the caller may use CloudWatch alarms by calling DescribeAlarms (MaxRecords=1) and PutMetricAlarm /
    // DeleteAlarms with an empty alarm name, and fails the request if one is denied
    // (https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html). Those
    // probes name no alarm of ours: DeleteAlarms is authorized against `alarm:` (nothing after the colon; reported in
    // aws-samples/amazon-cloudwatch-auto-alarms#18), DescribeAlarms without names against `alarm:*` (#1 there). No
    // name pattern can match them; the whole alarm namespace of this account and Region does, since `*` also matches
    // zero characters. That is narrower than the `*` of the guide's SageMaker example
    // (https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_id-based-policy-examples.html):
    // no other Region, no other CloudWatch resource type. The target-tracking alarms themselves are created and
    // deleted by Application Auto Scaling's service-linked role, not by the caller.
    const scalingProbeAlarms = stack.formatArn({
      service: 'cloudwatch',
      resource: 'alarm',
      resourceName: '*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const scalingPermissionProbes = () => new iam.PolicyStatement({
      sid: 'ScalingPermissionProbes',
      actions: ['cloudwatch:DeleteAlarms', 'cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm'],
      resources: [scalingProbeAlarms],
    });

    // Rollback alarms: on the variant, so they see the new fleet once traffic shifts to it.
    const errorsAlarm = new cloudwatch.Alarm(this, 'Invocation5XXErrorsAlarm', {
      alarmDescription: `Server errors on SageMaker endpoint ${this.endpointName}; rolls a deployment back`,
      metric: this.metricInvocation5XXErrors({ period: ALARM_PERIOD }),
      threshold: errorThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: ALARM_EVALUATION_PERIODS,
      datapointsToAlarm: ALARM_EVALUATION_PERIODS,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latencyAlarm = new cloudwatch.Alarm(this, 'ModelLatencyAlarm', {
      alarmDescription: `Model latency on SageMaker endpoint ${this.endpointName}; rolls a deployment back`,
      // ModelLatency is in microseconds.
      metric: this.metricModelLatency({ period: ALARM_PERIOD }),
      threshold: latency.toMilliseconds() * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: ALARM_EVALUATION_PERIODS,
      datapointsToAlarm: ALARM_EVALUATION_PERIODS,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.rollbackAlarms = [errorsAlarm, latencyAlarm];
    const alarmArns = [errorsAlarm.alarmArn, latencyAlarm.alarmArn];

    // The role SageMaker runs the model with.
    const modelRole = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Runs the model of SageMaker endpoint ${this.endpointName}`,
    });
    this.modelRole = modelRole;
    // The model package's two images (sklearn 1.2-1 preprocessor, XGBoost 1.7-1) in the stack's Region.
    const images = resolveBuiltInImages(this, 'ImageRegistries');
    const [pullImages, ecrLogin, endpointMetrics] = sagemakerContainerStatements(imageRepositoryArns(this, [images.sklearn, images.xgboost]),
      '/aws/sagemaker/Endpoints*', { pull: 'PullInferenceImages', login: 'EcrLogin', metrics: 'EndpointMetrics' });
    modelRole.addToPrincipalPolicy(pullImages);
    modelRole.addToPrincipalPolicy(ecrLogin);
    const foreignArtifacts = foreignArtifactBucket(this, props.artifactBucket);
    if (foreignArtifacts) {
      // Exactly what the training account shares (TrainingPipeline consumerAccounts): its bucket policy allows
      // s3:GetObject on the execution outputs, its key policy kms:Decrypt through S3. SageMaker reads the model data
      // with this role (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms).
      modelRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'ReadTrainingArtifacts',
        actions: ['s3:GetObject'],
        resources: [props.artifactBucket.arnForObjects(`${TRAINING_EXECUTIONS_PREFIX}*`)],
      }));
      modelRole.addToPrincipalPolicy(foreignArtifacts.decryptStatement);
    } else {
      props.artifactBucket.grantRead(modelRole);
    }
    props.encryptionKey?.grantDecrypt(modelRole);
    const endpointLogGroup = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${this.endpointName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    modelRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'EndpointLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      resources: [endpointLogGroup, `${endpointLogGroup}:log-stream:*`],
    }));
    modelRole.addToPrincipalPolicy(endpointMetrics);
    modelRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRollbackAlarms',
      actions: ['cloudwatch:DescribeAlarms'],
      resources: alarmArns,
    }));

    let dataCapture: DeployConfig['dataCapture'];
    if (capture) {
      const bucket = props.artifactBucket;
      // Another account's key admits this one to decrypt only (TrainingPipeline consumerAccounts).
      const captureKey = (foreignArtifacts ? undefined : bucket.encryptionKey) ?? props.encryptionKey;
      const endpointKeyPrefix = `${DATA_CAPTURE_PREFIX}${this.endpointName}/${CAPTURE_VARIANT_NAME}/`;
      // No AWS page names the role that writes captures; the model's execution role is the only one an endpoint has
      // (CreateModel's ExecutionRoleArn, https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-createmodel-perms;
      // CreateEndpointConfig takes no role), so it gets PutObject under this endpoint's own capture prefix, nothing else.
      modelRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'WriteDataCapture',
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${endpointKeyPrefix}*`)],
      }));
      if (captureKey) {
        // An SSE-KMS PutObject needs kms:GenerateDataKey on the key
        // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms); SageMaker
        // encrypts the captures with DataCaptureConfig.KmsKeyId
        // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html).
        modelRole.addToPrincipalPolicy(new iam.PolicyStatement({
          sid: 'EncryptDataCapture',
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [captureKey.keyArn],
        }));
      }
      if (bucket instanceof s3.Bucket) {
        bucket.addLifecycleRule({ id: 'ExpireDataCapture', prefix: DATA_CAPTURE_PREFIX, expiration: captureExpiration });
      }
      dataCapture = {
        // SageMaker appends <endpoint>/<variant>/yyyy/mm/dd/hh/ to it.
        destinationS3Uri: bucket.s3UrlForObject(DATA_CAPTURE_PREFIX.replace(/\/$/, '')),
        samplingPercentage: capturePercent,
        kmsKeyId: captureKey?.keyArn,
      };
      this.dataCaptureLocation = { bucket, keyPrefix: DATA_CAPTURE_PREFIX, endpointKeyPrefix, encryptionKey: captureKey };
    }

    const scaling: AutoScalingConfig | undefined = autoScaling ? {
      minCapacity,
      maxCapacity,
      targetInvocationsPerInstance: targetInvocations,
      scaleInCooldownSeconds: 300,
      scaleOutCooldownSeconds: 60,
    } : undefined;
    const trafficRouting: TrafficRoutingSettings = routing.type === 'CANARY'
      ? { type: 'CANARY', canaryPercent: routing.canaryPercent!, canaryBakeSeconds: routing.canaryBakeTime!.toSeconds() }
      : { type: 'ALL_AT_ONCE' };
    const timing = { trafficRouting, bakeSeconds: bakeTime.toSeconds() };
    const config: DeployConfig = {
      endpointName: this.endpointName,
      namePrefix,
      modelPackageGroupName: props.modelRegistry.modelPackageGroupName,
      modelRoleArn: modelRole.roleArn,
      instanceType,
      instanceCount,
      autoScaling: scaling,
      volumeKmsKeyId: props.encryptionKey?.keyArn,
      dataCapture,
      rollbackAlarmNames: [errorsAlarm.alarmName, latencyAlarm.alarmName],
      ...timing,
      // SageMaker bounds the update by this (600-28800 s, larger than the waits): room for the new fleet to start,
      // then the waits, and no more, so that the stack's delete can outwait an update in flight.
      maxUpdateSeconds: Math.max(BLUE_GREEN_LIMITS.minExecutionTimeoutSeconds, totalWaitSeconds(timing) + FLEET_PROVISIONING_SECONDS),
    };
    const deployEnvironment = { [DEPLOY_CONFIG_ENV]: stack.toJsonString(config) };

    // Everything the deploy logic calls, on the exact resources.
    const statements = [
      new iam.PolicyStatement({
        sid: 'ListModelPackages',
        actions: ['sagemaker:ListModelPackages'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'ReadModelPackages',
        actions: ['sagemaker:DescribeModelPackage'],
        resources: packageArns,
      }),
      new iam.PolicyStatement({
        sid: 'ApproveModelPackages',
        actions: ['sagemaker:UpdateModelPackage'],
        resources: packageArns,
        conditions: { StringEquals: { 'sagemaker:ModelApprovalStatus': 'Approved' } },
      }),
      new iam.PolicyStatement({
        sid: 'ManageModels',
        actions: ['sagemaker:CreateModel', 'sagemaker:DeleteModel'],
        resources: [modelArns],
      }),
      new iam.PolicyStatement({
        sid: 'ManageEndpointConfigs',
        actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DescribeEndpointConfig'],
        resources: [configArns],
      }),
      new iam.PolicyStatement({
        sid: 'ListOwnResources',
        actions: ['sagemaker:ListEndpointConfigs', 'sagemaker:ListModels'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CreateAndUpdateEndpoint',
        actions: ['sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint'],
        resources: [this.endpointArn, configArns],
      }),
      new iam.PolicyStatement({
        sid: 'OperateEndpoint',
        actions: ['sagemaker:DeleteEndpoint', 'sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'],
        resources: [this.endpointArn],
      }),
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['sagemaker:AddTags'],
        resources: [this.endpointArn, configArns, modelArns],
        conditions: { StringEquals: { 'sagemaker:TaggingAction': ['CreateEndpoint', 'CreateEndpointConfig', 'CreateModel'] } },
      }),
      new iam.PolicyStatement({
        sid: 'PassModelRole',
        actions: ['iam:PassRole'],
        resources: [modelRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
      new iam.PolicyStatement({
        sid: 'ScaleEndpoint',
        actions: [
          'application-autoscaling:DeleteScalingPolicy',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:PutScalingPolicy',
          'application-autoscaling:RegisterScalableTarget',
        ],
        // Application Auto Scaling authorizes these against `scalable-target/*`; the namespace narrows it.
        resources: [scalableTargets],
        conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadScaling',
        actions: ['application-autoscaling:DescribeScalableTargets', 'application-autoscaling:DescribeScalingPolicies'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'CreateScalingServiceRole',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `aws-service-role/${SLR_SERVICE}/${SLR_NAME}` })],
        conditions: { StringLike: { 'iam:AWSServiceName': SLR_SERVICE } },
      }),
      scalingPermissionProbes(),
      new iam.PolicyStatement({
        sid: 'ReadRollbackAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: alarmArns,
      }),
    ];
    const grantKeys = [props.encryptionKey?.keyArn, dataCapture?.kmsKeyId].filter((k): k is string => k !== undefined);
    if (grantKeys.length > 0) {
      // SageMaker creates grants as the caller of CreateEndpoint/UpdateEndpoint to encrypt volumes.
      statements.push(new iam.PolicyStatement({
        sid: 'EncryptEndpointStorage',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [...new Set(grantKeys)],
        conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }));
    }

    const deployRole = lambdaRole(this, 'DeployRole', `Deploys model packages to SageMaker endpoint ${this.endpointName}`);
    for (const statement of statements) deployRole.addToPrincipalPolicy(statement);
    const deployFunction = new DeployFunction(this, 'DeployFunction', {
      description: `Deploys an approved model package to SageMaker endpoint ${this.endpointName}`,
      role: deployRole,
      timeout: Duration.minutes(15),
      memorySize: 256,
      environment: deployEnvironment,
      logGroup: lambdaLogGroup(this, 'DeployLogs', deployRole),
    });
    // The model role's permissions must exist before a deployment can pass it to SageMaker.
    deployFunction.node.addDependency(modelRole);
    this.deployFunction = deployFunction;

    // Clean-up on stack delete: the endpoint is made at run time and would otherwise keep billing.
    const cleanupRole = lambdaRole(this, 'CleanupRole', `Deletes SageMaker endpoint ${this.endpointName} when its stack is deleted`);
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DeleteEndpoint',
      actions: ['sagemaker:DeleteEndpoint', 'sagemaker:DescribeEndpoint'],
      resources: [this.endpointArn],
    }));
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DeleteOwnResources',
      actions: ['sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel'],
      resources: [configArns, modelArns],
    }));
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListOwnResources',
      actions: ['sagemaker:ListEndpointConfigs', 'sagemaker:ListModels'],
      resources: ['*'],
    }));
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DeregisterScaling',
      actions: ['application-autoscaling:DeleteScalingPolicy', 'application-autoscaling:DeregisterScalableTarget'],
      resources: [scalableTargets],
      conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
    }));
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadScaling',
      actions: ['application-autoscaling:DescribeScalableTargets'],
      resources: ['*'],
    }));
    // DeregisterScalableTarget (and DeleteEndpoint, which deregisters a target itself when its caller may) is validated
    // like registration: CloudWatch's probes, and the target service's side, which the guide's SageMaker example grants
    // as DescribeEndpoint, DescribeEndpointConfig and UpdateEndpointWeightsAndCapacities
    // (https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_id-based-policy-examples.html), here on
    // this endpoint and its own configs only, as the deploy role has them.
    cleanupRole.addToPrincipalPolicy(scalingPermissionProbes());
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ScalingChecksEndpointConfigs',
      actions: ['sagemaker:DescribeEndpointConfig'],
      resources: [configArns],
    }));
    cleanupRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ScalingChecksEndpoint',
      actions: ['sagemaker:UpdateEndpointWeightsAndCapacities'],
      resources: [this.endpointArn],
    }));
    const cleanupComplete = new CleanupCompleteFunction(this, 'CleanupCompleteFunction', {
      description: `Deletes SageMaker endpoint ${this.endpointName}, its configs, models and scalable target`,
      role: cleanupRole,
      // One short step per poll; the Provider's budget counts the polls' run time too.
      timeout: Duration.minutes(2),
      memorySize: 256,
      logGroup: lambdaLogGroup(this, 'CleanupCompleteLogs', cleanupRole),
    });
    const cleanupEventRole = lambdaRole(this, 'CleanupEventRole', `Answers lifecycle events of the clean-up of ${this.endpointName}`);
    const cleanupEvent = new CleanupFunction(this, 'CleanupFunction', {
      description: `Names SageMaker endpoint ${this.endpointName} for its clean-up custom resource`,
      role: cleanupEventRole,
      timeout: Duration.minutes(1),
      memorySize: 128,
      logGroup: lambdaLogGroup(this, 'CleanupLogs', cleanupEventRole),
    });
    const provider = new cr.Provider(this, 'CleanupProvider', {
      onEventHandler: cleanupEvent,
      isCompleteHandler: cleanupComplete,
      queryInterval: CLEANUP_QUERY_INTERVAL,
      // An update in flight must end before the endpoint can be deleted: the deploy bounds its length to fit in here.
      totalTimeout: CLEANUP_TIMEOUT,
      logGroup: new logs.LogGroup(this, 'CleanupProviderLogs', { retention: logs.RetentionDays.THREE_MONTHS }),
    });
    const cleanup = new CustomResource(this, 'Cleanup', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SageMakerEndpointCleanup',
      properties: { EndpointName: this.endpointName, NamePrefix: namePrefix },
      // CloudFormation's own limit (1-3600 s), written out; the Provider answers (or times out) before it.
      serviceTimeout: CLEANUP_SERVICE_TIMEOUT,
    });
    // Deleted first on stack delete: an update still in flight may need the model role and the alarms.
    cleanup.node.addDependency(modelRole, errorsAlarm, latencyAlarm);

    this.acknowledgeFindings({
      modelRole,
      deployRole,
      cleanupRole,
      provider,
      handlers: [cleanupEvent, cleanupComplete],
      modelArns,
      configArns,
      packageArns,
      scalableTargets,
      scalingProbeAlarms,
      endpointLogGroup,
      artifactBucket: props.artifactBucket,
      foreignArtifacts,
      dataCaptureLocation: this.dataCaptureLocation,
      encryptionKey: props.encryptionKey,
    });
  }

  /** A reference to this endpoint, by ARN. */
  public get endpointRef(): sagemaker.EndpointReference {
    return { endpointArn: this.endpointArn };
  }

  /** Lets the grantee invoke the endpoint (`sagemaker:InvokeEndpoint` on this endpoint only). */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeEndpoint(grantee, this.endpointArn);
  }

  /**
   * A metric of the endpoint's variant (`AllTraffic`) in the `AWS/SageMaker` namespace, with the `EndpointName`
   * and `VariantName` dimensions
   * (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html#cloudwatch-metrics-endpoint-invocation).
   * Unless `props` say otherwise, the average over 5 minutes.
   *
   * @param metricName e.g. `Invocations`, `ModelLatency`, `Invocation5XXErrors`, `InvocationsPerInstance`
   * @param props statistic, period, label and the like
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: VARIANT_NAME },
      ...props,
    }).attachTo(this);
  }

  /** Requests sent to the variant's model (`Invocations`); unless `props` say otherwise, the sum over 5 minutes. */
  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Requests the model answered with a server error (`Invocation5XXErrors`); unless `props` say otherwise, the sum over 5 minutes. */
  public metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', { statistic: cloudwatch.Stats.SUM, ...props });
  }

  /** Time the model took to answer, in microseconds (`ModelLatency`); unless `props` say otherwise, the average over 5 minutes. */
  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelLatency', { statistic: cloudwatch.Stats.AVERAGE, ...props });
  }

  /** Allows the grantee to invoke the deploy function (what a release pipeline's Deploy action does). */
  public grantInvokeDeploy(grantee: iam.IGrantable): iam.Grant {
    return this.deployFunction.grantInvoke(grantee);
  }

  private acknowledgeFindings(r: {
    modelRole: iam.Role;
    deployRole: iam.Role;
    cleanupRole: iam.Role;
    provider: cr.Provider;
    handlers: lambda.IFunction[];
    modelArns: string;
    configArns: string;
    packageArns: string[];
    scalableTargets: string;
    scalingProbeAlarms: string;
    endpointLogGroup: string;
    artifactBucket: s3.IBucket;
    foreignArtifacts?: ForeignArtifactBucket;
    dataCaptureLocation?: DataCaptureLocation;
    encryptionKey?: kms.IKey;
  }): void {
    const res = (arn: string) => nagResource(this, arn);
    const prefix = namePrefixFor(this.endpointName);
    const runTimeNames: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: `Models and endpoint configs are created at run time, named ${prefix}<package version>-<hash>, so only their prefix is known at synth.`,
      appliesTo: [res(r.modelArns), res(r.configArns)],
    };
    const scalableTargets: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'Application Auto Scaling authorizes these calls against scalable-target/* (target ids are generated); a condition limits them to the sagemaker namespace.',
      appliesTo: [res(r.scalableTargets)],
    };
    const scalingProbes: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'Application Auto Scaling validates the caller of RegisterScalableTarget, PutScalingPolicy and DeregisterScalableTarget with '
        + 'CloudWatch probes that name no alarm (DescribeAlarms on alarm:*, PutMetricAlarm and DeleteAlarms on alarm: with an empty name) '
        + 'and fails the call if they are denied; only the alarm namespace of this account and Region matches them. The target-tracking '
        + 'alarms themselves are managed by its service-linked role.',
      appliesTo: [res(r.scalingProbeAlarms)],
    };

    acknowledgeNag(r.modelRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ecr:GetAuthorizationToken and cloudwatch:PutMetricData have no resource-level permissions; image pulls are limited to the two SageMaker inference repositories and metrics to the SageMaker endpoint namespace by condition.',
        appliesTo: ['Resource::*'],
      },
      r.foreignArtifacts ? {
        id: 'AwsSolutions-IAM5',
        reason: 'The model artifacts are written by the training pipeline of another account under per-execution keys only known at run time; '
          + `the role only reads objects under ${TRAINING_EXECUTIONS_PREFIX}, which that account's bucket policy shares.`,
        appliesTo: [res(r.artifactBucket.arnForObjects(`${TRAINING_EXECUTIONS_PREFIX}*`))],
      } : {
        id: 'AwsSolutions-IAM5',
        reason: 'The model artifacts are written by the training pipeline under keys only known at run time; the role only reads the artifact bucket (grantRead).',
        appliesTo: ['Action::s3:GetBucket*', 'Action::s3:GetObject*', 'Action::s3:List*', `${res(r.artifactBucket.bucketArn)}/*`],
      },
      ...(r.foreignArtifacts?.keyArnUnknown ? [{
        id: 'AwsSolutions-IAM5',
        reason: 'The training account\'s key ARN is unknown in this account at synth: kms:Decrypt names that account\'s keys, only through S3; '
          + 'the training key\'s policy admits this account to that one key. Importing the bucket with its encryptionKey '
          + '(kms.Key.fromKeyArn) names the one key instead.',
        appliesTo: [res(r.foreignArtifacts.keyResource)],
      }] : []),
      {
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker names the log streams of the endpoint at run time, inside the endpoint\'s own log group.',
        appliesTo: [res(`${r.endpointLogGroup}:log-stream:*`)],
      },
      ...(r.encryptionKey ? [{
        id: 'AwsSolutions-IAM5',
        reason: 'The KMS grants (grantDecrypt/grantEncrypt) cover data-key variants of the one customer managed key.',
        appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
      }] : []),
      ...(r.dataCaptureLocation ? [{
        id: 'AwsSolutions-IAM5',
        reason: 'Data capture writes objects that SageMaker names by hour and file under this endpoint\'s own capture prefix (s3:PutObject only).',
        appliesTo: [`${res(r.dataCaptureLocation.bucket.bucketArn)}/${r.dataCaptureLocation.endpointKeyPrefix}*`],
      }] : []),
    ], true);

    acknowledgeNag(r.deployRole, [
      runTimeNames,
      scalableTargets,
      {
        id: 'AwsSolutions-IAM5',
        reason: 'sagemaker:ListModelPackages, ListModels, ListEndpointConfigs and application-autoscaling:Describe* have no resource-level permissions.',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Model package versions are registered in the group at run time; access is limited to that group\'s packages, and approval to setting Approved.',
        appliesTo: r.packageArns.map(res),
      },
      scalingProbes,
    ], true);

    acknowledgeNag(r.cleanupRole, [
      runTimeNames,
      scalableTargets,
      {
        id: 'AwsSolutions-IAM5',
        reason: 'sagemaker:ListModels, ListEndpointConfigs and application-autoscaling:DescribeScalableTargets have no resource-level permissions.',
        appliesTo: ['Resource::*'],
      },
      scalingProbes,
    ], true);

    // The custom resource Provider framework (functions, roles, waiter state machine) is generated by aws-cdk-lib.
    const invoked = [...r.handlers, ...r.provider.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function)];
    acknowledgeNag(r.provider, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'The Provider framework functions use AWSLambdaBasicExecutionRole, which only allows writing their own logs.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The Provider framework and its waiter invoke the clean-up functions and each other by any version or alias (<function arn>:*).',
        appliesTo: invoked.map((fn) => res(`${fn.functionArn}:*`)),
      },
      { id: 'AwsSolutions-L1', reason: 'aws-cdk-lib chooses the runtime of the Provider framework functions.' },
      { id: 'AwsSolutions-SF1', reason: 'The Provider waiter state machine only invokes the isComplete function, whose own log group records every step.' },
      { id: 'AwsSolutions-SF2', reason: 'The Provider waiter state machine (generated by aws-cdk-lib) has no tracing option; its steps are logged by the isComplete function.' },
    ], true);
  }
}


/** An artifact bucket of another account, and the statement that decrypts its objects here. */
interface ForeignArtifactBucket {
  readonly decryptStatement: iam.PolicyStatement;
  /** The key ARN the statement names, or the owner account's keys (`key/*`) when the ARN is unknown here. */
  readonly keyResource: string;
  readonly keyArnUnknown: boolean;
}

/**
 * The artifact bucket when it belongs to another account than the endpoint's stack; undefined otherwise.
 *
 * The model data is SSE-KMS encrypted with that account's key, so the model role needs `kms:Decrypt` on it, which the
 * role's own policy must grant too (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
 * CDK's key grants across environments put `Resource: "*"` in the grantee's policy (aws-kms `KeyGrants`), so the
 * statement is written here: the bucket's `encryptionKey` when its ARN resolves in this stack (a key imported with
 * `kms.Key.fromKeyArn`), otherwise the owner account's keys in its Region, and through S3 only either way.
 */
function foreignArtifactBucket(scope: Construct, bucket: s3.IBucket): ForeignArtifactBucket | undefined {
  const stack = Stack.of(scope);
  const account = bucket.env.account;
  if (Token.isUnresolved(account) || Token.isUnresolved(stack.account) || account === stack.account) return undefined;
  const region = Token.isUnresolved(bucket.env.region) ? stack.region : bucket.env.region;
  const key = bucket.encryptionKey;
  const keyArnKnown = key !== undefined && (!Token.isUnresolved(key.keyArn) || Stack.of(key) === stack);
  const keyResource = keyArnKnown ? key.keyArn : `arn:${Aws.PARTITION}:kms:${region}:${account}:key/*`;
  return {
    keyResource,
    keyArnUnknown: !keyArnKnown,
    decryptStatement: new iam.PolicyStatement({
      sid: 'DecryptTrainingArtifactsThroughS3',
      actions: ['kms:Decrypt'],
      resources: [keyResource],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
    }),
  };
}

/** EndpointDeployment's props with their defaults applied. */
interface EndpointSettings {
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly autoScaling: boolean;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetInvocations: number;
  readonly capture: boolean;
  readonly capturePercent: number;
  readonly captureExpiration: Duration;
  readonly errorThreshold: number;
  readonly latency: Duration;
  readonly bakeTime: Duration;
  readonly routing: EndpointTrafficRouting;
}

function settingsOf(props: EndpointDeploymentProps): EndpointSettings {
  const instanceCount = props.endpointInstanceCount ?? 2;
  const minCapacity = props.minCapacity ?? instanceCount;
  return {
    instanceType: props.endpointInstanceType ?? DEFAULT_INSTANCE_TYPE,
    instanceCount,
    autoScaling: props.autoScaling ?? true,
    minCapacity,
    maxCapacity: props.maxCapacity ?? Math.max(4, minCapacity),
    targetInvocations: props.targetInvocationsPerInstance ?? 70,
    capture: props.dataCapture?.enabled ?? true,
    capturePercent: props.dataCapture?.samplingPercentage ?? 100,
    captureExpiration: props.dataCapture?.expiration ?? DEFAULT_CAPTURE_EXPIRATION,
    errorThreshold: props.rollbackErrorThreshold ?? 1,
    latency: props.rollbackLatencyThreshold ?? Duration.seconds(1),
    bakeTime: props.deploymentBakeTime ?? Duration.minutes(5),
    routing: props.trafficRouting ?? EndpointTrafficRouting.allAtOnce(),
  };
}

/**
 * The waits of a blue/green update: the final bake must outlast the alarms' detection time (or SageMaker would
 * terminate the old fleet before an alarm can roll back to it), the canary must be one SageMaker accepts, and all
 * waits together must fit the clean-up's budget.
 */
function validateTrafficTiming(v: PropsValidator, s: EndpointSettings, name: PropNamer<EndpointDeploymentProps>): void {
  const { routing, instanceCount } = s;
  const bake = s.bakeTime.toSeconds({ integral: false });
  if (Token.isUnresolved(bake)) return;
  v.check(bake >= ALARM_DETECTION_SECONDS, name('deploymentBakeTime'), bake,
    `it must be at least ${ALARM_DETECTION_SECONDS} seconds: the rollback alarms need ${ALARM_EVALUATION_PERIODS} periods of `
    + `${ALARM_PERIOD.toSeconds()} s plus about ${METRIC_DELAY_SECONDS} s for the endpoint's metrics to reach CloudWatch before they `
    + 'fire, and SageMaker keeps the old fleet to roll back to only this long');
  let canaryBake = 0;
  if (routing.type === 'CANARY') {
    const percent = routing.canaryPercent!;
    canaryBake = routing.canaryBakeTime!.toSeconds({ integral: false });
    const described = `canary ${percent}% for ${canaryBake} s`;
    v.check(Number.isInteger(percent) && percent >= BLUE_GREEN_LIMITS.minCanaryPercent && percent <= BLUE_GREEN_LIMITS.maxCanaryPercent,
      name('trafficRouting'), described,
      `its percent must be a whole number from ${BLUE_GREEN_LIMITS.minCanaryPercent} to ${BLUE_GREEN_LIMITS.maxCanaryPercent} `
      + '(SageMaker\'s canary is at most half the variant\'s capacity)')
      .check(Number.isInteger(canaryBake) && canaryBake >= 0 && canaryBake <= BLUE_GREEN_LIMITS.maxWaitSeconds, name('trafficRouting'), described,
        `its bakeTime must be whole seconds from 0 to ${BLUE_GREEN_LIMITS.maxWaitSeconds}`)
      .check(Token.isUnresolved(instanceCount) || instanceCount >= 2, name('trafficRouting'), described,
        `a canary needs at least 2 instances (${name('endpointInstanceCount')}), so that it is at least one instance and at most half of them`);
  }
  const waits = canaryBake + bake;
  v.check(waits <= MAX_UPDATE_WAIT_SECONDS, name('deploymentBakeTime'), bake,
    `${routing.type === 'CANARY' ? `with the canary's bake of ${canaryBake} s, ` : ''}an update would wait ${waits} s in all; `
    + `at most ${MAX_UPDATE_WAIT_SECONDS} s are allowed, so that an update in flight ends in time for the endpoint to be deleted `
    + 'with its stack (SageMaker refuses to delete an endpoint while it updates, and a custom resource waits at most an hour)');
}

function describeOption(value: number | Duration | undefined): unknown {
  return value instanceof Duration ? value.toHumanString() : value;
}

/** `sagemaker:InvokeEndpoint` on exactly one endpoint. */
function grantInvokeEndpoint(grantee: iam.IGrantable, endpointArn: string): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:InvokeEndpoint'], resourceArns: [endpointArn] });
}

/** An endpoint made elsewhere, by name and ARN. */
class ImportedEndpoint extends Resource implements sagemaker.IEndpoint {
  constructor(scope: Construct, id: string, public readonly endpointName: string, public readonly endpointArn: string) {
    super(scope, id, { environmentFromArn: endpointArn });
  }

  public get endpointRef(): sagemaker.EndpointReference {
    return { endpointArn: this.endpointArn };
  }

  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeEndpoint(grantee, this.endpointArn);
  }
}

/**
 * A unique lower-case endpoint name of whole words from the stack name and construct path, short enough that
 * {@link namePrefixFor} keeps it whole: its length leaves room for the suffix the deploy logic adds to model and
 * endpoint config names.
 */
function defaultEndpointName(scope: Construct): string {
  // The longest name that namePrefixFor keeps whole, given SageMaker's longest name (63 characters).
  const maxLength = namePrefixFor('x'.repeat(63)).length - 1;
  return generatePhysicalName(scope, { maxLength, lowerCase: true });
}

