import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { TrainingExportFunction } from './feedback-training-export-function';
import type { PredictionStore } from './prediction-store';
import { DEFAULT_RAW_PREFIX } from '../contracts/data-layout';
import { FEEDBACK_TRAINING_EXPORT_ENV as ENV, FEEDBACK_TRAINING_FOLDER } from '../contracts/feedback-training-export';
import { lambdaLogGroup, lambdaRole } from '../private/functions';
import { acknowledgeNag } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { PropsValidator } from '../private/validation';

/** Properties of {@link FeedbackTrainingExport}. */
export interface FeedbackTrainingExportProps {
  /** The predictions table with the feedback. */
  readonly predictionStore: PredictionStore;

  /** DataIngest's data bucket: the files are written under its raw data prefix, as uploads are. */
  readonly dataBucket: s3.IBucket;

  /**
   * DataIngest's raw data prefix (`DataIngest.rawDataPrefix`); the files go to `<prefix>feedback/`.
   *
   * @default "raw/"
   */
  readonly rawDataPrefix?: string;

  /**
   * When the export runs (EventBridge Scheduler, UTC).
   *
   * @default - every day at 03:00 UTC
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * Customer managed key for the files (unless the bucket has its own key, which is used instead).
   *
   * @default - the bucket's default encryption
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Feedback as training data: on a schedule, a function writes every prediction that has feedback as one raw data
 * row (its inputs on the dataset's scale, the actual rings as the label) to `<raw prefix>feedback/yyyy-mm-dd.csv`
 * by the prediction's UTC day, so that DataIngest validates, quarantines and manifests it like any upload and the
 * next training run uses it. A day's file is rewritten only when its content changed, with all of the day's current
 * rows: a prediction is in one file once, with its latest feedback. Rows outside the raw data contract are dropped
 * and counted in the function's log.
 *
 * Anyone who can call the prediction API can send feedback: turn this on only when the API's callers are trusted.
 */
export class FeedbackTrainingExport extends Construct {
  /** The function that writes the files. */
  public readonly exportFunction: lambda.IFunction;

  /** The schedule that runs it. */
  public readonly schedule: scheduler.ISchedule;

  /** Prefix of the files in the data bucket, e.g. `raw/feedback/`. */
  public readonly keyPrefix: string;

  constructor(scope: Construct, id: string, props: FeedbackTrainingExportProps) {
    super(scope, id);
    const rawDataPrefix = props.rawDataPrefix ?? DEFAULT_RAW_PREFIX;
    new PropsValidator('FeedbackTrainingExport')
      .pattern('rawDataPrefix', rawDataPrefix, /^[A-Za-z0-9!_.*'()/-]+\/$/, 'it must be DataIngest\'s raw data prefix: safe characters ending with "/", e.g. "raw/"')
      .throwIfInvalid();
    this.keyPrefix = `${rawDataPrefix}${FEEDBACK_TRAINING_FOLDER}`;
    const objectKey = props.dataBucket.encryptionKey ?? props.encryptionKey;

    const role = lambdaRole(this, 'Role', 'Writes the predictions with feedback as raw training data');
    const files = props.dataBucket.arnForObjects(`${this.keyPrefix}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteFeedbackFiles',
      // GetObject for HeadObject (the current file's content hash): "To use HEAD, you must have the s3:GetObject
      // permission" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [files],
    }));
    if (objectKey) {
      // An SSE-KMS PutObject needs kms:GenerateDataKey on the key
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'EncryptFeedbackFiles',
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [objectKey.keyArn],
      }));
    }
    props.predictionStore.grantScanPredictions(role);

    const fn = new TrainingExportFunction(this, 'Function', {
      description: 'Writes the predictions with feedback as raw training data under the data bucket\'s raw prefix',
      role,
      memorySize: 512,
      timeout: Duration.minutes(5),
      logGroup: lambdaLogGroup(this, 'Logs', role),
      environment: {
        [ENV.TABLE_NAME]: props.predictionStore.table.tableName,
        [ENV.BUCKET_NAME]: props.dataBucket.bucketName,
        [ENV.RAW_PREFIX]: rawDataPrefix,
        [ENV.RETENTION_SECONDS]: String(props.predictionStore.retention.toSeconds()),
        ...(objectKey ? { [ENV.KMS_KEY_ARN]: objectKey.keyArn } : {}),
      },
    });
    this.exportFunction = fn;

    // Its own role: the scheduler may invoke this function and nothing else.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Lets EventBridge Scheduler invoke the feedback training export',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Writes the predictions with feedback as raw training data',
      schedule: props.schedule ?? scheduler.ScheduleExpression.cron({ hour: '3', minute: '0' }),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role: scheduleRole,
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
      }),
    });

    acknowledgeNag(scheduleRole, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Function.grantInvoke allows the function and its versions and aliases (<function ARN>:*); the schedule invokes that one function.',
      appliesTo: [nagResource(this, `${fn.functionArn}:*`)],
    }], true);
    acknowledgeNag(role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The files are named by the prediction day at run time, under the feedback folder of the raw prefix only (s3:GetObject for HeadObject, s3:PutObject).',
      appliesTo: [nagResource(this, files)],
    }], true);
  }
}
