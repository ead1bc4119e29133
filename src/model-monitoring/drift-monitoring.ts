import * as path from 'path';
import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PublishDriftMetricsFunction } from './publish-drift-metrics-function';
import { RetrainOnDriftFunction } from './retrain-on-drift-function';
import { StartMonitoringFunction } from './start-monitoring-function';
import {
  DRIFT_FUNCTION_CONFIG_ENV, PublishDriftMetricsConfig, RetrainOnDriftConfig, StartMonitoringConfig,
} from '../contracts/drift-monitoring-functions';
import { namePrefixFor } from '../contracts/endpoint-names';
import {
  DATA_CAPTURE_PREFIX, DRIFT_DEFAULTS, DRIFT_REPORT, GROUND_TRUTH_PREFIX, MODEL_QUALITY_DEFAULTS, MODEL_QUALITY_METRICS, MODEL_QUALITY_REPORT,
  MONITORING_METRICS, MONITORING_SCRIPT, TRAINING_PROFILE,
} from '../contracts/monitoring';
import type { IModelRegistry } from '../model-registry/model-registry';
import { lambdaLogGroup, lambdaRole } from '../private/functions';
import { imageRepositoryArns, resolveBuiltInImages, sagemakerContainerStatements } from '../private/image-mapping';
import { acknowledgeNag, NagAcknowledgement } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { generatePhysicalName } from '../private/physical-names';
import { PropsValidator } from '../private/validation';
import { ScriptLocation, buildMonitoringDefinition, monitoringPipelineSpec } from '../training-pipeline/definition';
import { EVALUATION_REPORT, SHARED_PYTHON_MODULES, STEP_NAMES } from '../training-pipeline/definition/names';

/** Properties of {@link DriftMonitoring}. */
export interface DriftMonitoringProps {
  /** The endpoint whose traffic is watched; it must capture its requests to `captureBucket` under `data-capture/`. */
  readonly endpoint: sagemaker.IEndpoint;

  /**
   * The bucket the endpoint's Data Capture writes to (under `data-capture/<endpoint>/AllTraffic/yyyy/mm/dd/hh/`),
   * which also holds the ground truth of its predictions (under `ground-truth/yyyy/mm/dd/hh/`, as `FeedbackExport`
   * writes it). The monitoring reports are written to it too, under `drift-reports/`.
   */
  readonly captureBucket: s3.IBucket;

  /**
   * The bucket holding the training profiles (`<execution>/PreprocessData/profile/training-profile.json`) and the
   * evaluation reports (`<execution>/EvaluateModel/evaluation/evaluation.json`), which the model packages name in
   * `CustomerMetadataProperties.TrainingProfileS3Uri` and `ModelMetrics.ModelQuality.Statistics`.
   *
   * @default - `captureBucket` (the training pipeline's artifact bucket holds all of them)
   */
  readonly trainingProfileBucket?: s3.IBucket;

  /** The registry the endpoint deploys from: the starter reads the serving package's training profile from it. */
  readonly modelRegistry: IModelRegistry;

  /**
   * When monitoring runs. Each run judges the previous full UTC hour of captures, so run at most hourly; a
   * few minutes past the hour leaves time for the last captures to arrive (SageMaker delivers them within minutes).
   *
   * @default - every hour at 10 minutes past (`cron(10 * * * ? *)`, UTC)
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * A feature drifts when its population stability index (PSI) is above this.
   *
   * @default 0.2
   */
  readonly psiThreshold?: number;

  /**
   * A numeric feature drifts when its two-sample Kolmogorov–Smirnov test's p-value is below this.
   *
   * @default 0.05
   */
  readonly ksPValueThreshold?: number;

  /**
   * A window drifts (and the alarm fires) when the share of drifted features is above this.
   *
   * @default 0.3
   */
  readonly driftedShareThreshold?: number;

  /**
   * Windows with fewer captured records are reported as insufficient data rather than judged.
   *
   * @default 200
   */
  readonly minRecords?: number;

  /**
   * Live model quality: the previous UTC day's predictions with ground truth are degraded (and the model-quality
   * alarm fires) when their MSE is above the serving package's registered test MSE × (1 + this).
   *
   * @default 0.25
   */
  readonly modelQualityTolerance?: number;

  /**
   * Live model quality: a day with fewer labelled predictions is reported as insufficient labels, not judged. At
   * least 2 (R² needs two).
   *
   * @default 200
   */
  readonly modelQualityMinLabels?: number;

  /**
   * Instance type of the monitoring job.
   *
   * @default 'ml.t3.medium'
   */
  readonly processingInstanceType?: string;

  /**
   * E-mail addresses subscribed to the monitoring topic (each must confirm the subscription).
   *
   * @default - no subscriptions (subscribe to `monitoringTopic` yourself)
   */
  readonly alarmEmails?: string[];

  /**
   * Whether the drift alarm or the model-quality alarm starts `releasePipeline` (at most once per `retrainCooldown`,
   * whichever fires). Retraining uses the latest data manifest, so it helps once new labelled data has arrived.
   *
   * @default false
   */
  readonly retrainOnDrift?: boolean;

  /**
   * The release pipeline a drift or model-quality alarm starts, with `retrainOnDrift`.
   *
   * @default - none; required with `retrainOnDrift`
   */
  readonly releasePipeline?: codepipeline.IPipeline;

  /**
   * With `retrainOnDrift`: no new start while the release pipeline is running or started less than this long ago,
   * so that one drift or degradation episode trains once (the two alarms share it).
   *
   * @default Duration.hours(24)
   */
  readonly retrainCooldown?: Duration;

  /**
   * Name of the monitoring SageMaker pipeline.
   *
   * @default - a name generated from the construct path, unique in the account and region
   */
  readonly pipelineName?: string;

  /**
   * Customer managed KMS key for the job's volume and report, and for the monitoring topic. Captures and profiles
   * encrypted with it (or with their bucket's key) are readable by the job.
   *
   * @default - SageMaker's and S3's default encryption for the job; a key with rotation is created for the topic
   * (CloudWatch cannot publish to a topic under the AWS managed SNS key)
   */
  readonly encryptionKey?: kms.IKey;
}

/** Where each monitoring execution writes its report in the capture bucket. */
const REPORTS_PREFIX = 'drift-reports';
const PIPELINE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ML_DIR = path.join(__dirname, '..', '..', 'ml');
const DEFAULT_COOLDOWN = Duration.hours(24);
/** Far below CloudFormation's and CreatePipeline's limits; the definition does not grow with props. */
const MAX_DEFINITION_CHARS = 100_000;

/**
 * Drift and model-quality monitoring of a SageMaker endpoint without SageMaker Model Monitor: a scheduled SageMaker
 * pipeline judges each hour of the endpoint's captured requests against the serving model's own training profile
 * (PSI and KS per feature) and, when ground truth has come in, the previous UTC day's labelled predictions against
 * the package's registered test metrics (MSE, MAE, R²). A function publishes the reports as CloudWatch metrics;
 * an alarm on the share of drifted features and one on the ratio of live to registered MSE notify the monitoring
 * topic and, optionally, start the release pipeline to retrain. Failed monitoring executions and function errors
 * notify the topic too.
 *
 * Nothing runs while no model is deployed: the scheduled starter skips (and logs why) when the endpoint does not
 * exist, is not in service, does not capture, serves a package without a training profile, or had no traffic.
 * Model quality is left out of a run (and the starter logs why) when the day has no ground truth or no captures,
 * or the serving package has no registered test metrics.
 */
export class DriftMonitoring extends Construct {
  /** The monitoring SageMaker pipeline (`MonitorDrift`, then `MonitorModelQuality` when the run has ground truth). */
  public readonly pipeline: sagemaker.CfnPipeline;
  /** Name of the monitoring pipeline. */
  public readonly pipelineName: string;
  /** ARN of the monitoring pipeline (lower case, as SageMaker reports it). */
  public readonly pipelineArn: string;
  /** The role the monitoring jobs run with: read captures, ground truth, profiles, evaluation reports and code, write reports. */
  public readonly jobRole: iam.IRole;
  /** The role of the monitoring pipeline: creates the job and passes it `jobRole`. */
  public readonly pipelineRole: iam.IRole;
  /** `s3://<capture bucket>/drift-reports`: each execution's report is `<id>/MonitorDrift/report/drift-report.json` under it. */
  public readonly reportsS3Uri: string;
  /** Starts the monitoring pipeline on the previous hour's captures (run by `schedule`). */
  public readonly startFunction: lambda.IFunction;
  /** Publishes each successful run's reports (drift, and model quality when judged) as CloudWatch metrics. */
  public readonly metricsFunction: lambda.IFunction;
  /** Starts the release pipeline on a drift or model-quality alarm; undefined without `retrainOnDrift`. */
  public readonly retrainFunction?: lambda.IFunction;
  /** The EventBridge Scheduler schedule that runs `startFunction`. */
  public readonly schedule: scheduler.ISchedule;
  /** The rule that runs `metricsFunction` when a monitoring execution succeeds. */
  public readonly reportRule: events.IRule;
  /** The alarm on the share of drifted features of the endpoint. */
  public readonly driftAlarm: cloudwatch.IAlarm;
  /** The alarm on the ratio of the live MSE to the serving package's registered test MSE (above 1 + tolerance). */
  public readonly modelQualityAlarm: cloudwatch.IAlarm;
  /** In ALARM while one of the construct's functions (starter, metrics, retrain) reports errors. */
  public readonly functionErrorsAlarm: cloudwatch.IAlarm;
  /** The rule that notifies the monitoring topic when a monitoring execution fails or is stopped. */
  public readonly executionFailedRule: events.IRule;
  /**
   * The topic the alarms notify (encrypted, TLS only): drift, model quality, failed executions, function errors.
   * Add other alarms with {@link DriftMonitoring.notifyOnAlarm}.
   */
  public readonly monitoringTopic: sns.ITopic;
  /** The rule that runs `retrainFunction` when the drift or the model-quality alarm fires; undefined without `retrainOnDrift`. */
  public readonly retrainRule?: events.IRule;
  /** Name of the watched endpoint (the `EndpointName` dimension of the metrics). */
  public readonly endpointName: string;
  /** The thresholds the runs judge by (also the monitoring pipeline's parameter defaults). */
  public readonly psiThreshold: number;
  public readonly ksPValueThreshold: number;
  public readonly driftedShareThreshold: number;
  public readonly minRecords: number;
  /** Live MSE above the registered test MSE × (1 + this) is degraded. */
  public readonly modelQualityTolerance: number;
  /** Days with fewer labelled predictions are not judged. */
  public readonly modelQualityMinLabels: number;

  constructor(scope: Construct, id: string, props: DriftMonitoringProps) {
    super(scope, id);
    validate(props);
    const stack = Stack.of(this);
    this.psiThreshold = props.psiThreshold ?? DRIFT_DEFAULTS.psiThreshold;
    this.ksPValueThreshold = props.ksPValueThreshold ?? DRIFT_DEFAULTS.ksPValueThreshold;
    this.driftedShareThreshold = props.driftedShareThreshold ?? DRIFT_DEFAULTS.driftedShareThreshold;
    this.minRecords = props.minRecords ?? DRIFT_DEFAULTS.minRecords;
    this.modelQualityTolerance = props.modelQualityTolerance ?? MODEL_QUALITY_DEFAULTS.mseTolerance;
    this.modelQualityMinLabels = props.modelQualityMinLabels ?? MODEL_QUALITY_DEFAULTS.minLabels;
    const profileBucket = props.trainingProfileBucket ?? props.captureBucket;
    const endpointName = props.endpoint.endpointName;
    this.endpointName = endpointName;

    // The monitoring pipeline and its two roles: the pipeline's creates the job; the job's reads and writes data.
    const images = resolveBuiltInImages(this, 'ImageRegistries');
    const scripts = {
      monitor: new s3assets.Asset(this, 'MonitorScript', { path: path.join(ML_DIR, MONITORING_SCRIPT) }),
      // The same zip of shared modules the training jobs get (a folder asset is uploaded as one zip file).
      shared: new s3assets.Asset(this, 'SharedModules', {
        path: ML_DIR,
        exclude: ['*', ...SHARED_PYTHON_MODULES.map((file) => `!${file}`)],
      }),
    };
    const jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Runs the drift monitoring jobs: read captures, ground truth, training profiles, evaluation reports and code, write reports',
    });
    this.jobRole = jobRole;
    const pipelineRole = new iam.Role(this, 'PipelineRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Runs the drift monitoring pipeline: creates its processing job',
    });
    this.pipelineRole = pipelineRole;

    this.pipelineName = props.pipelineName ?? generatePhysicalName(this, { maxLength: 80, lowerCase: true });
    // SageMaker reports lower-case names in ARNs and events, and both IAM and event patterns compare case-sensitively.
    const arnName = Token.isUnresolved(this.pipelineName) ? this.pipelineName : this.pipelineName.toLowerCase();
    this.pipelineArn = stack.formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: arnName });
    this.reportsS3Uri = `s3://${props.captureBucket.bucketName}/${REPORTS_PREFIX}`;

    const definition = buildMonitoringDefinition(monitoringPipelineSpec({
      processingInstanceType: props.processingInstanceType,
      psiThreshold: this.psiThreshold,
      ksPValueThreshold: this.ksPValueThreshold,
      driftedShareThreshold: this.driftedShareThreshold,
      minRecords: this.minRecords,
      mseTolerance: this.modelQualityTolerance,
      minLabels: this.modelQualityMinLabels,
    }, {
      roleArn: jobRole.roleArn,
      outputS3Uri: this.reportsS3Uri,
      sklearnImageUri: images.sklearn.uri,
      monitorScript: scriptLocation(scripts.monitor),
      sharedModules: scriptLocation(scripts.shared),
      kmsKeyId: props.encryptionKey?.keyArn,
    }));
    const size = JSON.stringify(definition).length;
    if (size > MAX_DEFINITION_CHARS) {
      throw new Error(`The monitoring pipeline definition is ${size} characters, more than ${MAX_DEFINITION_CHARS}`);
    }
    this.pipeline = new sagemaker.CfnPipeline(this, 'Resource', {
      pipelineName: this.pipelineName,
      pipelineDescription: 'Abalone monitoring: PSI and KS per feature of an hour of endpoint captures against the training profile; '
        + 'MSE, MAE and R2 of a day of labelled predictions against the registered test metrics',
      roleArn: pipelineRole.roleArn,
      pipelineDefinition: { PipelineDefinitionBody: stack.toJsonString(definition) },
    });
    // Runs started right after deployment need the roles' policies in place.
    this.pipeline.node.addDependency(pipelineRole, jobRole);
    this.grantPipeline(pipelineRole, jobRole, props.encryptionKey);
    this.grantJob(jobRole, props, profileBucket, scripts, images);

    // The scheduled starter.
    const startRole = lambdaRole(this, 'StartFunctionRole', 'Starts the drift monitoring pipeline on the previous hour of endpoint captures');
    const startConfig: StartMonitoringConfig = {
      endpointName,
      captureBucketName: props.captureBucket.bucketName,
      pipelineName: this.pipelineName,
      thresholds: {
        psiThreshold: this.psiThreshold,
        ksPValueThreshold: this.ksPValueThreshold,
        driftedShareThreshold: this.driftedShareThreshold,
        minRecords: this.minRecords,
      },
      modelQuality: { mseTolerance: this.modelQualityTolerance, minLabels: this.modelQualityMinLabels },
    };
    const startFunction = new StartMonitoringFunction(this, 'StartFunction', {
      description: 'Drift monitoring: starts the monitoring pipeline for the endpoint\'s previous hour of captures',
      role: startRole,
      logGroup: lambdaLogGroup(this, 'StartFunctionLogs', startRole, RemovalPolicy.DESTROY),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      environment: { [DRIFT_FUNCTION_CONFIG_ENV]: stack.toJsonString(startConfig) },
    });
    this.startFunction = startFunction;
    this.grantStart(startRole, props);

    // Its own role (not CDK's stack-wide one): the scheduler may invoke the starter and nothing else.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets EventBridge Scheduler invoke the drift monitoring starter',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Starts drift monitoring of endpoint ${Token.isUnresolved(endpointName) ? 'the endpoint' : endpointName}`,
      schedule: props.schedule ?? scheduler.ScheduleExpression.cron({ minute: '10' }),
      target: new schedulerTargets.LambdaInvoke(startFunction, {
        role: scheduleRole,
        // The scheduled (not the actual) time: a retried delivery judges the same window.
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        // A run that cannot start within the hour is overtaken by the next one.
        maxEventAge: Duration.hours(1),
      }),
    });

    // The report → CloudWatch metrics.
    const metricsRole = lambdaRole(this, 'MetricsFunctionRole', 'Publishes drift and model-quality reports as CloudWatch metrics');
    const metricsConfig: PublishDriftMetricsConfig = { outputS3Uri: this.reportsS3Uri };
    const metricsFunction = new PublishDriftMetricsFunction(this, 'MetricsFunction', {
      description: 'Drift monitoring: publishes a successful run\'s drift and model-quality reports as CloudWatch metrics',
      role: metricsRole,
      logGroup: lambdaLogGroup(this, 'MetricsFunctionLogs', metricsRole, RemovalPolicy.DESTROY),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      environment: { [DRIFT_FUNCTION_CONFIG_ENV]: stack.toJsonString(metricsConfig) },
    });
    this.metricsFunction = metricsFunction;
    this.grantMetrics(metricsRole, props);
    this.reportRule = new events.Rule(this, 'ReportRule', {
      description: 'Publishes the reports of each successful drift monitoring execution as CloudWatch metrics',
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Building Pipeline Execution Status Change'],
        detail: { pipelineArn: [this.pipelineArn], currentPipelineExecutionStatus: ['Succeeded'] },
      },
      targets: [new eventTargets.LambdaFunction(metricsFunction, { retryAttempts: 3, maxEventAge: Duration.hours(6) })],
    });

    // The alarm and its topic.
    this.monitoringTopic = this.createTopic(props);
    const alarm = this.metricDriftedFeatureShare().createAlarm(this, 'DriftAlarm', {
      alarmDescription: `More than ${this.driftedShareThreshold * 100}% of the features of the traffic of endpoint `
        + `${Token.isUnresolved(endpointName) ? 'the endpoint' : endpointName} drifted from the serving model's training data in an hour (PSI > ${this.psiThreshold} `
        + `or KS p-value < ${this.ksPValueThreshold}); see the drift report under ${REPORTS_PREFIX}/`,
      threshold: this.driftedShareThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No report in an hour (no traffic, no model, too few records) is no evidence of drift.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.monitoringTopic));
    this.driftAlarm = alarm;

    const qualityAlarm = this.metricMseRatio().createAlarm(this, 'ModelQualityAlarm', {
      alarmDescription: `The model on endpoint ${Token.isUnresolved(endpointName) ? 'the endpoint' : endpointName} predicts worse than `
        + `registered: the MSE of a day of predictions with ground truth is more than ${Math.round(this.modelQualityTolerance * 100)}% above `
        + `the model package's registered test MSE (at least ${this.modelQualityMinLabels} labels); see the model-quality report under ${REPORTS_PREFIX}/`,
      threshold: 1 + this.modelQualityTolerance,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No ratio in an hour (no run, no ground truth, too few labels) is no evidence of degradation.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    qualityAlarm.addAlarmAction(new cloudwatchActions.SnsAction(this.monitoringTopic));
    this.modelQualityAlarm = qualityAlarm;

    if (props.retrainOnDrift) {
      const pipeline = props.releasePipeline!;
      const retrainRole = lambdaRole(this, 'RetrainFunctionRole',
        'Starts the release pipeline when the drift or the model-quality alarm fires, once per cooldown');
      const retrainConfig: RetrainOnDriftConfig = {
        releasePipelineName: pipeline.pipelineName,
        cooldownSeconds: (props.retrainCooldown ?? DEFAULT_COOLDOWN).toSeconds(),
      };
      const retrainFunction = new RetrainOnDriftFunction(this, 'RetrainFunction', {
        description: 'Drift monitoring: starts the release pipeline on a drift or model-quality alarm unless it ran within the cooldown',
        role: retrainRole,
        logGroup: lambdaLogGroup(this, 'RetrainFunctionLogs', retrainRole, RemovalPolicy.DESTROY),
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.minutes(1),
        environment: { [DRIFT_FUNCTION_CONFIG_ENV]: stack.toJsonString(retrainConfig) },
      });
      this.retrainFunction = retrainFunction;
      // ListPipelineExecutions and StartPipelineExecution both take the pipeline resource type (Service Authorization
      // Reference, AWS CodePipeline).
      retrainRole.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'StartReleasePipelineOncePerCooldown',
        actions: ['codepipeline:ListPipelineExecutions', 'codepipeline:StartPipelineExecution'],
        resources: [pipeline.pipelineArn],
      }));
      // One rule on either alarm's own transition to ALARM rather than a composite alarm: a composite in ALARM for
      // drift would not transition again when quality degrades later, and the retrain function's cooldown (the
      // release pipeline's own execution history) already makes the two alarms of one episode start one run.
      this.retrainRule = new events.Rule(this, 'RetrainRule', {
        description: 'Starts the release pipeline when the drift or the model-quality alarm enters ALARM',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: [alarm.alarmArn, qualityAlarm.alarmArn],
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [new eventTargets.LambdaFunction(retrainFunction, { retryAttempts: 3, maxEventAge: Duration.hours(6) })],
      });
    }

    // The monitoring's own failures: a run that fails or is stopped, and a function that errs (after the schedule's
    // and rules' retries each attempt counts), so that silence is never mistaken for health.
    this.executionFailedRule = new events.Rule(this, 'ExecutionFailedRule', {
      description: 'Notifies the monitoring topic when a drift monitoring execution fails or is stopped',
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Building Pipeline Execution Status Change'],
        detail: { pipelineArn: [this.pipelineArn], currentPipelineExecutionStatus: ['Failed', 'Stopped'] },
      },
      targets: [new eventTargets.SnsTopic(this.monitoringTopic, {
        message: events.RuleTargetInput.fromText(`Monitoring execution ${events.EventField.fromPath('$.detail.pipelineExecutionArn')} `
          + `of pipeline ${this.pipelineName} is ${events.EventField.fromPath('$.detail.currentPipelineExecutionStatus')}: `
          + 'see its steps\' failure reasons (ListPipelineExecutionSteps) and the processing job logs.'),
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
      })],
    });
    const functions = [this.startFunction, this.metricsFunction, ...(this.retrainFunction ? [this.retrainFunction] : [])];
    const errors = new cloudwatch.MathExpression({
      expression: functions.map((_, i) => `FILL(e${i}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(functions.map((fn, i) => [`e${i}`, fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })])),
      label: 'Errors of the monitoring functions',
      period: Duration.minutes(5),
    });
    const errorsAlarm = errors.createAlarm(this, 'FunctionErrorsAlarm', {
      alarmDescription: 'A drift monitoring function (starter, metrics or retrain) failed; see its log group',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    errorsAlarm.addAlarmAction(new cloudwatchActions.SnsAction(this.monitoringTopic));
    this.functionErrorsAlarm = errorsAlarm;

    this.acknowledgeNagFindings(props, profileBucket);
  }

  /**
   * Notifies the monitoring topic when `alarm` enters ALARM, e.g. the feedback export's dead-letter alarm.
   *
   * @param alarm an alarm of this app (an alarm created with `new Alarm` or `metric.createAlarm`)
   */
  public notifyOnAlarm(alarm: cloudwatch.IAlarm): void {
    if (!(alarm instanceof cloudwatch.Alarm)) {
      throw new Error(`DriftMonitoring.notifyOnAlarm: ${alarm.node.path} is not an Alarm of this app; add the monitoring topic to its actions yourself`);
    }
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.monitoringTopic));
  }

  /**
   * The ratio of the live MSE (a day of predictions with ground truth) to the serving package's registered test MSE,
   * published by each run that judged model quality (Maximum over `period`).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricMseRatio(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MODEL_QUALITY_METRICS.mseRatio, {}, options);
  }

  /**
   * The predictions of the quality window that have ground truth (published by each run that judged model quality,
   * also when too few to judge).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricLabelledPredictions(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MODEL_QUALITY_METRICS.labelledCount, {}, options);
  }

  /**
   * The live MSE of the quality window's labelled predictions (published when there were enough labels).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricLiveMse(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MODEL_QUALITY_METRICS.liveMse, {}, options);
  }

  /**
   * The live MAE of the quality window's labelled predictions (published when there were enough labels).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricLiveMae(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MODEL_QUALITY_METRICS.liveMae, {}, options);
  }

  /**
   * The live R² of the quality window's labelled predictions (published when there were enough labels).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricLiveR2(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MODEL_QUALITY_METRICS.liveR2, {}, options);
  }

  /**
   * The share of the endpoint's features that drifted in each monitored hour (Maximum over `period`).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricDriftedFeatureShare(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MONITORING_METRICS.driftedShare, {}, options);
  }

  /**
   * The records captured in each monitored hour (published for every run, also when too few to judge).
   *
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricCapturedRecords(options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MONITORING_METRICS.recordCount, {}, options);
  }

  /**
   * One feature's population stability index against the training profile.
   *
   * @param feature a raw feature name, e.g. `whole_weight` or `sex`
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricFeaturePsi(feature: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MONITORING_METRICS.featurePsi, { [MONITORING_METRICS.featureDimension]: feature }, options);
  }

  /**
   * One numeric feature's two-sample Kolmogorov–Smirnov statistic against the training profile's sample.
   *
   * @param feature a raw numeric feature name, e.g. `whole_weight`
   * @param options override the period (default 1 hour), statistic (default Maximum) and so on
   */
  public metricFeatureKs(feature: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.metric(MONITORING_METRICS.featureKs, { [MONITORING_METRICS.featureDimension]: feature }, options);
  }

  private metric(metricName: string, dimensions: Record<string, string>, options: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: MONITORING_METRICS.namespace,
      metricName,
      period: Duration.hours(1),
      statistic: cloudwatch.Stats.MAXIMUM,
      ...options,
      dimensionsMap: { [MONITORING_METRICS.endpointDimension]: this.endpointName, ...dimensions, ...options.dimensionsMap },
    });
  }

  private createTopic(props: DriftMonitoringProps): sns.ITopic {
    const key = props.encryptionKey ?? new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the drift monitoring topic; CloudWatch alarms and EventBridge rules may use it to publish',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const topic = new sns.Topic(this, 'MonitoringTopic', {
      displayName: 'Abalone model monitoring',
      masterKey: key,
      enforceSSL: true,
    });
    // CloudWatch and EventBridge publish to an encrypted topic only when the key's policy allows them (SNS developer
    // guide, "Configure KMS permissions for AWS services"); an imported key's policy cannot be changed from here.
    if (key instanceof kms.Key) {
      for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
        key.grant(new iam.ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
      }
    } else {
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:monitoringKeyPolicy',
        'encryptionKey is an imported key: allow the cloudwatch.amazonaws.com and events.amazonaws.com service principals kms:Decrypt '
        + 'and kms:GenerateDataKey* in its key policy, or the alarms and the failed-execution rule cannot notify the monitoring topic.');
    }
    for (const email of props.alarmEmails ?? []) topic.addSubscription(new subscriptions.EmailSubscription(email));
    return topic;
  }

  /** What SageMaker Pipelines does for the one processing step, as the pipeline's role. */
  private grantPipeline(pipelineRole: iam.Role, jobRole: iam.Role, key?: kms.IKey): void {
    const jobs = processingJobArn(Stack.of(this));
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'RunMonitoringJob',
      actions: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob'],
      resources: [jobs],
    }));
    // Pipelines tag the jobs they create; tag-on-create needs AddTags (AWS-FACTS §8).
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'TagMonitoringJob',
      actions: ['sagemaker:AddTags'],
      resources: [jobs],
      conditions: { StringEquals: { 'sagemaker:TaggingAction': 'CreateProcessingJob' } },
    }));
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PassJobRole',
      actions: ['iam:PassRole'],
      resources: [jobRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    // A job with VolumeKmsKeyId makes SageMaker create a grant on the key for the volume.
    key?.grant(pipelineRole, 'kms:CreateGrant', 'kms:DescribeKey')
      .principalStatements.forEach((s) => s.addCondition('Bool', { 'kms:GrantIsForAWSResource': 'true' }));
  }

  /** The job: its image, logs, inputs (captures, profiles, code) and output (the report prefix). Nothing else. */
  private grantJob(
    jobRole: iam.Role,
    props: DriftMonitoringProps,
    profileBucket: s3.IBucket,
    scripts: Record<string, s3assets.Asset>,
    images: ReturnType<typeof resolveBuiltInImages>,
  ): void {
    const stack = Stack.of(this);
    const [pull, login] = sagemakerContainerStatements(imageRepositoryArns(this, [images.sklearn]), 'unused', {
      pull: 'PullScikitLearnImage', login: 'EcrLogin',
    });
    jobRole.addToPrincipalPolicy(pull);
    jobRole.addToPrincipalPolicy(login);
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'JobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [processingLogGroupArn(stack)],
    }));

    // S3Prefix inputs list their prefix, then get each object.
    const captures = `${DATA_CAPTURE_PREFIX}*`;
    const profiles = profileKeyPattern();
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadCaptures',
      actions: ['s3:GetObject'],
      resources: [props.captureBucket.arnForObjects(captures)],
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListCaptures',
      actions: ['s3:ListBucket'],
      resources: [props.captureBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [captures] } },
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadTrainingProfiles',
      actions: ['s3:GetObject'],
      resources: [profileBucket.arnForObjects(profiles)],
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListTrainingProfiles',
      actions: ['s3:ListBucket'],
      resources: [profileBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [profiles] } },
    }));
    // The quality step: the day's ground truth and the serving package's registered evaluation report.
    const groundTruth = `${GROUND_TRUTH_PREFIX}*`;
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadGroundTruth',
      actions: ['s3:GetObject'],
      resources: [props.captureBucket.arnForObjects(groundTruth)],
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListGroundTruth',
      actions: ['s3:ListBucket'],
      resources: [props.captureBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [groundTruth] } },
    }));
    const evaluations = evaluationKeyPattern();
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadEvaluationReports',
      actions: ['s3:GetObject'],
      resources: [profileBucket.arnForObjects(evaluations)],
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListEvaluationReports',
      actions: ['s3:ListBucket'],
      resources: [profileBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [evaluations] } },
    }));
    const assets = Object.values(scripts);
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadCode',
      actions: ['s3:GetObject'],
      resources: assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListCode',
      actions: ['s3:ListBucket'],
      resources: [assets[0].bucket.bucketArn],
      conditions: { StringEquals: { 's3:prefix': assets.map((a) => a.s3ObjectKey) } },
    }));
    jobRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteReports',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [props.captureBucket.arnForObjects(`${REPORTS_PREFIX}/*`)],
    }));

    // Keys: the buckets' own, and the construct's key (captures, the job's volume and its report).
    const bucketKeys = [props.captureBucket.encryptionKey, profileBucket.encryptionKey].filter((k): k is kms.IKey => k !== undefined);
    for (const key of new Set(bucketKeys)) key.grantDecrypt(jobRole);
    props.captureBucket.encryptionKey?.grant(jobRole, 'kms:GenerateDataKey');
    if (props.encryptionKey) {
      props.encryptionKey.grantEncryptDecrypt(jobRole);
      props.encryptionKey.grant(jobRole, 'kms:CreateGrant', 'kms:DescribeKey')
        .principalStatements.forEach((s) => s.addCondition('Bool', { 'kms:GrantIsForAWSResource': 'true' }));
    }
  }

  /** Exactly what the starter calls. */
  private grantStart(role: iam.Role, props: DriftMonitoringProps): void {
    const stack = Stack.of(this);
    const endpointName = props.endpoint.endpointName;
    // The deploy function names every endpoint configuration `<endpoint prefix><version>-<hash>`.
    const configs = stack.formatArn({
      service: 'sagemaker',
      resource: 'endpoint-config',
      resourceName: Token.isUnresolved(endpointName) ? '*' : `${namePrefixFor(endpointName)}*`,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'DescribeEndpoint',
      actions: ['sagemaker:DescribeEndpoint'],
      resources: [props.endpoint.endpointArn],
    }));
    // ListTags takes the resource type of the resource it lists (Service Authorization Reference, SageMaker).
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadServingConfiguration',
      actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:ListTags'],
      resources: [configs],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadServingPackage',
      actions: ['sagemaker:DescribeModelPackage'],
      resources: props.modelRegistry.modelPackageArns(),
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'FindCaptures',
      actions: ['s3:ListBucket'],
      resources: [props.captureBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${DATA_CAPTURE_PREFIX}*`] } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'FindGroundTruth',
      actions: ['s3:ListBucket'],
      resources: [props.captureBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${GROUND_TRUTH_PREFIX}*`] } },
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'StartMonitoring',
      actions: ['sagemaker:StartPipelineExecution'],
      resources: [this.pipelineArn],
    }));
  }

  /** Read the reports and which steps ran; publish metrics in the library's namespace only. */
  private grantMetrics(role: iam.Role, props: DriftMonitoringProps): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadDriftReports',
      actions: ['s3:GetObject'],
      resources: [props.captureBucket.arnForObjects(reportKeyPattern()), props.captureBucket.arnForObjects(qualityReportKeyPattern())],
    }));
    // ListPipelineExecutionSteps takes the pipeline-execution resource type (Service Authorization Reference,
    // Amazon SageMaker AI): this pipeline's executions only.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ListMonitoringSteps',
      actions: ['sagemaker:ListPipelineExecutionSteps'],
      resources: [this.executionArns()],
    }));
    props.captureBucket.encryptionKey?.grantDecrypt(role);
    props.encryptionKey?.grantDecrypt(role);
    // PutMetricData has no resource type; the cloudwatch:namespace condition key limits it to one namespace
    // (CloudWatch user guide, "Using condition keys to limit access to CloudWatch namespaces").
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'PublishDriftMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': MONITORING_METRICS.namespace } },
    }));
  }

  /** `…:pipeline/<name>/execution/*`: the executions of the monitoring pipeline. */
  private executionArns(): string {
    return `${this.pipelineArn}/execution/*`;
  }

  private acknowledgeNagFindings(
    props: DriftMonitoringProps,
    profileBucket: s3.IBucket,
  ): void {
    const stack = Stack.of(this);
    const kmsGroups: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'KMS action groups (GenerateDataKey*, ReEncrypt*) of CDK\'s key grants, on the one customer key of the captures and reports.',
      appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
    };
    acknowledgeNag(this.jobRole, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker writes captures under keys it names by endpoint, variant and hour; each run reads one hour and one day of them. '
          + 'Ground truth is named by the prediction\'s hour and id; each run reads one day of it. '
          + 'Training profiles and evaluation reports sit under per-execution prefixes of the training pipeline, limited to those files; '
          + 'reports are written under per-execution prefixes of the reports prefix. SageMaker names the job\'s log streams after the job.',
        appliesTo: [
          nagResource(this, props.captureBucket.arnForObjects(`${DATA_CAPTURE_PREFIX}*`)),
          nagResource(this, props.captureBucket.arnForObjects(`${GROUND_TRUTH_PREFIX}*`)),
          nagResource(this, profileBucket.arnForObjects(profileKeyPattern())),
          nagResource(this, profileBucket.arnForObjects(evaluationKeyPattern())),
          nagResource(this, props.captureBucket.arnForObjects(`${REPORTS_PREFIX}/*`)),
          nagResource(this, processingLogGroupArn(stack)),
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ecr:GetAuthorizationToken has no resource type.',
        appliesTo: ['Resource::*'],
      },
      kmsGroups,
    ], true);
    acknowledgeNag(this.pipelineRole, [{
      id: 'AwsSolutions-IAM5',
      reason: 'SageMaker names pipeline jobs pipelines-<execution id>-<step>-<suffix> at run time.',
      appliesTo: [nagResource(this, processingJobArn(stack))],
    }], true);
    acknowledgeNag(this.startFunction.role!, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The deploy function names endpoint configurations <endpoint prefix><version>-<hash> at deploy time, and model '
        + 'versions are numbered at registration (the registry\'s group only).',
      appliesTo: [
        nagResource(this, Stack.of(this).formatArn({
          service: 'sagemaker',
          resource: 'endpoint-config',
          resourceName: Token.isUnresolved(props.endpoint.endpointName) ? '*' : `${namePrefixFor(props.endpoint.endpointName)}*`,
        })),
        ...props.modelRegistry.modelPackageArns().map((arn) => nagResource(this, arn)),
      ],
    }], true);
    const scheduleRole = this.node.findChild('ScheduleRole');
    acknowledgeNag(scheduleRole, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Function.grantInvoke allows the starter function and its versions and aliases (<function ARN>:*); the schedule invokes that one function.',
      appliesTo: [nagResource(this, `${this.startFunction.functionArn}:*`)],
    }], true);
    acknowledgeNag(this.metricsFunction.role!, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Each execution writes its reports under its own id (<id>/MonitorDrift/report/drift-report.json, '
          + '<id>/MonitorModelQuality/quality/model-quality-report.json), and its steps are listed by its ARN (the pipeline\'s executions only); '
          + 'cloudwatch:PutMetricData has no resource type and is limited to the library\'s namespace by condition.',
        appliesTo: [
          nagResource(this, props.captureBucket.arnForObjects(reportKeyPattern())),
          nagResource(this, props.captureBucket.arnForObjects(qualityReportKeyPattern())),
          nagResource(this, this.executionArns()),
          'Resource::*',
        ],
      },
      kmsGroups,
    ], true);
  }
}

function scriptLocation(asset: s3assets.Asset): ScriptLocation {
  const key = asset.s3ObjectKey;
  return { s3Uri: asset.s3ObjectUrl, fileName: Token.isUnresolved(key) ? key : key.split('/').pop()! };
}

/** `*\/PreprocessData/profile/training-profile.json`: the training profile of any training execution. */
function profileKeyPattern(): string {
  return `*/${STEP_NAMES.preprocess}/${TRAINING_PROFILE.outputName}/${TRAINING_PROFILE.fileName}`;
}

/** The report of any monitoring execution, nothing else of the reports prefix. */
function reportKeyPattern(): string {
  return `${REPORTS_PREFIX}/*/${DRIFT_REPORT.stepName}/${DRIFT_REPORT.outputName}/${DRIFT_REPORT.fileName}`;
}

/** The registered evaluation report of any training execution (`*\/EvaluateModel/evaluation/evaluation.json`). */
function evaluationKeyPattern(): string {
  return `*/${STEP_NAMES.evaluate}/${EVALUATION_REPORT.outputName}/${EVALUATION_REPORT.filePath}`;
}

/** The model-quality report of any monitoring execution. */
function qualityReportKeyPattern(): string {
  return `${REPORTS_PREFIX}/*/${MODEL_QUALITY_REPORT.stepName}/${MODEL_QUALITY_REPORT.outputName}/${MODEL_QUALITY_REPORT.fileName}`;
}

function processingJobArn(stack: Stack): string {
  return stack.formatArn({ service: 'sagemaker', resource: 'processing-job', resourceName: 'pipelines-*' });
}

function processingLogGroupArn(stack: Stack): string {
  return stack.formatArn({
    service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/ProcessingJobs:*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

function validate(props: DriftMonitoringProps): void {
  const v = new PropsValidator('DriftMonitoring');
  v.number('psiThreshold', props.psiThreshold, { greaterThan: 0 })
    .number('ksPValueThreshold', props.ksPValueThreshold, { greaterThan: 0, max: 1 })
    .check(props.ksPValueThreshold === undefined || Token.isUnresolved(props.ksPValueThreshold) || props.ksPValueThreshold < 1,
      'ksPValueThreshold', props.ksPValueThreshold, 'it must be below 1')
    .number('driftedShareThreshold', props.driftedShareThreshold, { min: 0, max: 1 })
    .check(props.driftedShareThreshold === undefined || Token.isUnresolved(props.driftedShareThreshold) || props.driftedShareThreshold < 1,
      'driftedShareThreshold', props.driftedShareThreshold, 'it must be below 1 (above 1 of the features can never drift)')
    .number('minRecords', props.minRecords, { integer: true, min: 1 })
    .number('modelQualityTolerance', props.modelQualityTolerance, { greaterThan: 0 })
    .number('modelQualityMinLabels', props.modelQualityMinLabels, { integer: true, min: 2 })
    .instanceType('processingInstanceType', props.processingInstanceType)
    .pattern('pipelineName', props.pipelineName, PIPELINE_NAME,
      'it must be 1-256 letters, digits and hyphens, starting and ending with a letter or digit');
  (props.alarmEmails ?? []).forEach((email, i) => v.pattern(`alarmEmails[${i}]`, email, EMAIL, 'it must be an e-mail address'));
  v.check(!props.retrainOnDrift || props.releasePipeline !== undefined, 'releasePipeline', props.releasePipeline,
    'it is required with retrainOnDrift: true (the pipeline a drift alarm starts)');
  v.check(props.retrainCooldown === undefined || props.retrainOnDrift === true, 'retrainCooldown', props.retrainCooldown?.toHumanString(),
    'it only applies with retrainOnDrift: true');
  if (props.retrainCooldown) {
    const seconds = props.retrainCooldown.toSeconds({ integral: false });
    v.check(Number.isInteger(seconds) && seconds >= 0, 'retrainCooldown', props.retrainCooldown.toHumanString(), 'it must be whole seconds, 0 or more');
  }
  v.throwIfInvalid();
}
