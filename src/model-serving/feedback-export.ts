import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ExportFunction } from './feedback-export-function';
import type { PredictionStore } from './prediction-store';
import { PropNamer, validateProps } from './validated-props';
import { FEEDBACK_EXPORT_ENV } from '../contracts/feedback-export';
import { GROUND_TRUTH_PREFIX } from '../contracts/monitoring';
import { PREDICTION_ITEM_ATTRIBUTES } from '../contracts/predict-function';
import { lambdaLogGroup, lambdaRole } from '../private/functions';
import { acknowledgeNag } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { PropsValidator } from '../private/validation';

/** Properties of {@link FeedbackExport}. */
export interface FeedbackExportProps {
  /** The predictions table whose stream carries the feedback. */
  readonly predictionStore: PredictionStore;

  /** Bucket the ground-truth records are written to, under `ground-truth/` (the artifact bucket). */
  readonly bucket: s3.IBucket;

  /**
   * Customer managed key for the ground-truth objects (unless the bucket has its own key, which is used instead)
   * and the dead-letter queue.
   *
   * @default - the bucket's default encryption; SQS managed encryption for the queue
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Stream records per invocation: 1 to 1000.
   *
   * @default 100
   */
  readonly batchSize?: number;

  /**
   * Times a failing batch is retried (halved on each error) before its position goes to the dead-letter queue:
   * 0 to 100.
   *
   * @default 5
   */
  readonly retryAttempts?: number;
}

const DEFAULT_BATCH_SIZE = 100;
const DEFAULT_RETRY_ATTEMPTS = 5;

/**
 * Ground truth from feedback: a function on the predictions table's stream writes, for every prediction that has
 * feedback, a `GroundTruthRecord` (JSON) to `ground-truth/yyyy/mm/dd/hh/<predictionId>.json` by the prediction's
 * UTC hour. The key depends only on the prediction, so a redelivered batch changes nothing and a corrected feedback
 * replaces the first. Batches are retried (bisected on error); a batch that still fails is recorded in an
 * encrypted dead-letter queue, whose alarm is `deadLetterAlarm`.
 */
export class FeedbackExport extends Construct {
  /**
   * Checks `props` (reported under the names `name` gives them).
   *
   * @internal
   */
  public static _validateProps(v: PropsValidator, props: FeedbackExportProps, name: PropNamer<FeedbackExportProps>): void {
    v.number(name('batchSize'), props.batchSize, { min: 1, max: 1000, integer: true })
      .number(name('retryAttempts'), props.retryAttempts, { min: 0, max: 100, integer: true })
      .check(props.predictionStore.table.tableStreamArn !== undefined, name('predictionStore'), props.predictionStore.node.path,
        'its table must have a stream');
  }

  /** The function that writes the ground-truth records. */
  public readonly exportFunction: lambda.IFunction;

  /** Where a batch that kept failing is recorded (the stream position, not the records: replay from the table). */
  public readonly deadLetterQueue: sqs.IQueue;

  /** In ALARM while the dead-letter queue holds a failed batch. */
  public readonly deadLetterAlarm: cloudwatch.IAlarm;

  /** The bucket the records are written to. */
  public readonly bucket: s3.IBucket;

  /** Prefix of the records in the bucket: `ground-truth/`. */
  public readonly keyPrefix: string;

  constructor(scope: Construct, id: string, props: FeedbackExportProps) {
    super(scope, id);
    validateProps('FeedbackExport', props, FeedbackExport._validateProps);
    this.bucket = props.bucket;
    this.keyPrefix = GROUND_TRUTH_PREFIX;
    const objectKey = props.bucket.encryptionKey ?? props.encryptionKey;

    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: props.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNag(deadLetterQueue, [{
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the feedback export\'s on-failure destination: it records the stream batches that kept failing.',
    }]);
    this.deadLetterQueue = deadLetterQueue;

    const role = lambdaRole(this, 'Role', 'Writes ground-truth records from the feedback in the predictions table\'s stream');
    const writeObjects = props.bucket.arnForObjects(`${GROUND_TRUTH_PREFIX}*`);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'WriteGroundTruth',
      actions: ['s3:PutObject'],
      resources: [writeObjects],
    }));
    if (objectKey) {
      // An SSE-KMS PutObject needs kms:GenerateDataKey on the key
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'EncryptGroundTruth',
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [objectKey.keyArn],
      }));
    }
    const fn = new ExportFunction(this, 'Function', {
      description: 'Writes ground-truth records from the feedback in the predictions table\'s stream',
      role,
      memorySize: 256,
      timeout: Duration.minutes(1),
      logGroup: lambdaLogGroup(this, 'Logs', role),
      environment: {
        [FEEDBACK_EXPORT_ENV.BUCKET_NAME]: props.bucket.bucketName,
        ...(objectKey ? { [FEEDBACK_EXPORT_ENV.KMS_KEY_ARN]: objectKey.keyArn } : {}),
      },
    });
    this.exportFunction = fn;

    fn.addEventSource(new lambdaEventSources.DynamoEventSource(props.predictionStore.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? DEFAULT_BATCH_SIZE,
      maxBatchingWindow: Duration.seconds(5),
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
      reportBatchItemFailures: true,
      onFailure: new lambdaEventSources.SqsDlq(deadLetterQueue),
      // Only records with feedback invoke the function (a new prediction or a TTL removal has none); the function
      // checks again, so the filter only saves invocations.
      filters: [lambda.FilterCriteria.filter({
        dynamodb: { NewImage: { [PREDICTION_ITEM_ATTRIBUTES.actualRings]: { N: lambda.FilterRule.exists() } } },
      })],
    }));

    this.deadLetterAlarm = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: 'Feedback the ground-truth export could not write; see its dead-letter queue',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });

    acknowledgeNag(role, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Ground-truth objects are named by the prediction\'s hour and id at run time, under the ground-truth prefix only (s3:PutObject only).',
        appliesTo: [nagResource(this, writeObjects)],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'dynamodb:ListStreams has no resource-level permissions; the stream itself is read by ARN (grantStreamRead).',
        appliesTo: ['Resource::*'],
      },
      ...(props.encryptionKey ? [{
        id: 'AwsSolutions-IAM5',
        reason: 'Sending to the dead-letter queue under the one customer managed key needs its data-key variants (grantSendMessages).',
        appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
      }] : []),
    ], true);
  }
}
