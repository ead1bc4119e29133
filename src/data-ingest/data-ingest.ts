import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ManifestFunction } from './manifest-function';
import {
  DATA_FILE_SUFFIXES,
  DATA_MANIFEST_KEY,
  DEFAULT_MAX_FILE_SIZE_BYTES,
  DEFAULT_RAW_PREFIX,
  MANIFEST_FUNCTION_ENV,
  QUARANTINE_PREFIX,
  TRAINING_MANIFEST_PREFIX,
  LATEST_TRAINING_MANIFEST_KEY,
  VALIDATED_PREFIX,
} from '../contracts/data-layout';
import { createAccessLogsBucket, sendAccessLogs } from '../private/buckets';
import { acknowledgeNag, acknowledgeNagOnStackHelper } from '../private/nag';
import { PropsValidator } from '../private/validation';

/** Largest `maxFileSizeBytes`: the function streams a file within its 15-minute limit. */
const MAX_FILE_SIZE_LIMIT_BYTES = 1024 * 1024 * 1024;

/** Prefixes the construct owns in the data bucket; the raw prefix may not overlap them. */
const RESERVED_PREFIXES = [QUARANTINE_PREFIX, VALIDATED_PREFIX, 'manifest/'];

/**
 * Properties of {@link DataIngest}.
 */
export interface DataIngestProps {
  /**
   * A bucket you already have, to use as the data bucket instead of creating one.
   *
   * It must be versioned (the manifest records object versions). Its encryption, logging and
   * policies stay yours. Do not combine with `dataBucketProps`.
   *
   * @default - a new bucket is created
   */
  readonly existingDataBucket?: s3.IBucket;

  /**
   * Overrides for the data bucket the construct creates.
   *
   * Merged over the secure defaults; `versioned`, `enforceSSL` and `eventBridgeEnabled` are always on,
   * and setting any of them to false fails. Do not combine with `existingDataBucket`.
   *
   * @default - versioned, encrypted (S3-managed, or `encryptionKey`), SSL-only, public access blocked,
   * access logs to a log bucket, noncurrent versions expire after 90 days
   */
  readonly dataBucketProps?: s3.BucketProps;

  /**
   * Prefix under which users upload raw data files (`.csv` or `.data`).
   *
   * Must end with `/` and must not overlap the prefixes the construct owns
   * (`quarantine/`, `validated/`, `manifest/`).
   *
   * @default 'raw/'
   */
  readonly rawDataPrefix?: string;

  /**
   * Largest raw file accepted, in bytes; a larger file is quarantined.
   *
   * @default 104857600 (100 MiB)
   */
  readonly maxFileSizeBytes?: number;

  /**
   * Customer managed KMS key for the data bucket, the notification topic and the function's dead-letter queue.
   *
   * @default - S3-managed encryption for the bucket, AWS managed keys for the topic and queue
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the data bucket and its log bucket when the stack is deleted.
   *
   * With `RemovalPolicy.DESTROY` the buckets are emptied and deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Streams files of up to maxFileSizeBytes (100 MiB validates in about 5 s); a batch of 100 fits well within it. */
const FUNCTION_TIMEOUT = Duration.minutes(15);
/** Notifications per invocation: one manifest write for up to this many files. */
const NOTIFICATION_BATCH_SIZE = 100;
/** Deliveries of a notification before it goes to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;

/**
 * The data bucket and its manifest function.
 *
 * S3 sends the raw prefix's notifications to an encrypted, SSL-only queue (with a dead-letter queue and an alarm on
 * it); the function takes them in batches and writes the manifest once per batch. Each upload is validated against the abalone data contract. A bad file is moved to
 * `quarantine/` with an error report and a notification; a good file is copied to an immutable,
 * content-addressed key under `validated/`, and the data manifest (`manifest/data-manifest.json`) is rewritten
 * to list every valid file with its version, size, row count and checksum, plus a SageMaker `ManifestFile`
 * the preprocessing job reads.
 */
export class DataIngest extends Construct {
  /** The data bucket. */
  public readonly dataBucket: s3.IBucket;

  /** The bucket receiving the data bucket's server access logs; undefined with `existingDataBucket`. */
  public readonly accessLogsBucket?: s3.IBucket;

  /** The function that validates uploads and maintains the manifest. */
  public readonly manifestFunction: lambda.IFunction;

  /** Ingest notifications: `event` message attribute `quarantined` or `manifest-updated`. */
  public readonly ingestTopic: sns.ITopic;

  /** The queue S3 sends the raw prefix's notifications to; the function takes them from it in batches. */
  public readonly notificationQueue: sqs.IQueue;

  /** Notifications the function failed to process after `maxReceiveCount` deliveries. */
  public readonly deadLetterQueue: sqs.IQueue;

  /** In ALARM while the dead-letter queue holds a notification (it notifies the ingest topic with a customer key). */
  public readonly deadLetterAlarm: cloudwatch.IAlarm;

  /** Prefix of raw uploads. */
  public readonly rawDataPrefix: string;

  /** Key of the data manifest (the change trigger for retraining). */
  public readonly dataManifestKey: string = DATA_MANIFEST_KEY;

  /** Key of the SageMaker ManifestFile listing the current valid files (the training input). */
  public readonly trainingManifestKey: string = LATEST_TRAINING_MANIFEST_KEY;

  /** Prefix of quarantined files and their `.error.json` reports. */
  public readonly quarantinePrefix: string = QUARANTINE_PREFIX;

  /** Prefix of the immutable validated copies that manifests point at. */
  public readonly validatedPrefix: string = VALIDATED_PREFIX;

  constructor(scope: Construct, id: string, props: DataIngestProps = {}) {
    super(scope, id);
    const rawDataPrefix = props.rawDataPrefix ?? DEFAULT_RAW_PREFIX;
    const maxFileSizeBytes = props.maxFileSizeBytes ?? DEFAULT_MAX_FILE_SIZE_BYTES;
    validateProps(props, rawDataPrefix, maxFileSizeBytes);
    this.rawDataPrefix = rawDataPrefix;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    if (props.existingDataBucket) {
      this.dataBucket = props.existingDataBucket;
      this.dataBucket.enableEventBridgeNotification();
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:existingDataBucketVersioning',
        'DataIngest uses existingDataBucket as it is: it must be versioned, encrypted and SSL-only (the manifest records object versions).');
    } else {
      // A user-given serverAccessLogsBucket (in dataBucketProps) replaces the one created here.
      const accessLogsBucket = props.dataBucketProps?.serverAccessLogsBucket
        ? undefined : createAccessLogsBucket(this, 'AccessLogsBucket', removalPolicy);
      this.accessLogsBucket = accessLogsBucket ?? props.dataBucketProps?.serverAccessLogsBucket;
      const dataBucket = new s3.Bucket(this, 'DataBucket', {
        encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
        encryptionKey: props.encryptionKey,
        bucketKeyEnabled: props.encryptionKey ? true : undefined,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
        removalPolicy,
        autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
        ...props.dataBucketProps,
        // Required: the manifest records versions, CodePipeline's S3 source needs versioning, and
        // EventBridge carries the manifest change to the release pipeline.
        versioned: true,
        enforceSSL: true,
        eventBridgeEnabled: true,
      });
      if (accessLogsBucket) sendAccessLogs(dataBucket, accessLogsBucket, 'data-bucket/');
      this.dataBucket = dataBucket;
    }

    const topicKey = props.encryptionKey ?? kms.Alias.fromAliasName(this, 'AwsManagedSnsKey', 'alias/aws/sns');
    this.ingestTopic = new sns.Topic(this, 'IngestTopic', {
      displayName: 'Abalone data ingest',
      masterKey: topicKey,
      enforceSSL: true,
    });

    const queueEncryption = {
      encryption: props.encryptionKey ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
    };
    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', { ...queueEncryption, retentionPeriod: Duration.days(14) });
    acknowledgeNag(deadLetterQueue, [{
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the notification queue\'s dead-letter queue; it keeps notifications that failed for inspection and replay.',
    }]);
    this.deadLetterQueue = deadLetterQueue;
    const notificationQueue = new sqs.Queue(this, 'NotificationQueue', {
      ...queueEncryption,
      // Lambda's SQS guidance: at least six times the function's timeout, so that a batch is not delivered again
      // while an invocation still works on it (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    this.notificationQueue = notificationQueue;

    const logGroup = new logs.LogGroup(this, 'ManifestFunctionLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'ManifestFunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Validates abalone data uploads and maintains the data manifest',
    });
    logGroup.grantWrite(role);

    const fn = new ManifestFunction(this, 'ManifestFunction', {
      description: 'Validates abalone data uploads and maintains the data manifest',
      role,
      logGroup,
      memorySize: 1024,
      timeout: FUNCTION_TIMEOUT,
      environment: {
        [MANIFEST_FUNCTION_ENV.RAW_PREFIX]: rawDataPrefix,
        [MANIFEST_FUNCTION_ENV.MAX_FILE_SIZE_BYTES]: String(maxFileSizeBytes),
        [MANIFEST_FUNCTION_ENV.TOPIC_ARN]: this.ingestTopic.topicArn,
        ...(props.encryptionKey ? { [MANIFEST_FUNCTION_ENV.KMS_KEY_ARN]: props.encryptionKey.keyArn } : {}),
      },
    });
    this.manifestFunction = fn;
    this.grantManifestFunction(role, rawDataPrefix, props.encryptionKey);
    // Not grantPublish: on an encrypted topic it adds kms:GenerateDataKey*, while the key grant above is exact.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.ingestTopic.topicArn] }));

    // Batches write the manifest once for many files; two invocations at most keep its conditional writes from
    // contending. A batch larger than 10 needs a batching window (Lambda developer guide, "Batching behavior").
    fn.addEventSource(new lambdaEventSources.SqsEventSource(notificationQueue, {
      batchSize: NOTIFICATION_BATCH_SIZE,
      maxBatchingWindow: Duration.seconds(20),
      maxConcurrency: 2,
      reportBatchItemFailures: true,
    }));
    const destination = new EncryptedQueueDestination(notificationQueue, props.encryptionKey);
    for (const suffix of DATA_FILE_SUFFIXES) {
      const filter = { prefix: rawDataPrefix, suffix };
      this.dataBucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, filter);
      this.dataBucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination, filter);
    }

    const alarm = deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: 'Abalone data notifications the manifest function could not process; see the dead-letter queue',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    // CloudWatch may publish to an encrypted topic only with a customer managed key whose policy allows it; the AWS
    // managed SNS key's policy cannot (SNS developer guide, "Configure KMS permissions for AWS services").
    if (props.encryptionKey instanceof kms.Key) {
      props.encryptionKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.ingestTopic));
    }
    this.deadLetterAlarm = alarm;

    acknowledgeNagOnStackHelper(this, 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834', [
      { id: 'AwsSolutions-IAM4', reason: 'CDK\'s bucket-notifications helper function uses AWSLambdaBasicExecutionRole for its own logs; it only runs at deploy time.', appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
      { id: 'AwsSolutions-IAM5', reason: 'CDK\'s bucket-notifications helper must call PutBucketNotification on buckets it cannot name in advance.', appliesTo: ['Resource::*'] },
    ]);
  }

  /** Lets a grantee read the data manifest, the training manifests and the validated copies they point at. */
  public grantReadManifests(grantee: iam.IGrantable): iam.Grant {
    return this.dataBucket.grantRead(grantee, 'manifest/*')
      .combine(this.dataBucket.grantRead(grantee, `${VALIDATED_PREFIX}*`));
  }

  /** Lets a grantee upload raw data files. */
  public grantUpload(grantee: iam.IGrantable): iam.Grant {
    return this.dataBucket.grantPut(grantee, `${this.rawDataPrefix}*`);
  }

  private grantManifestFunction(role: iam.Role, rawDataPrefix: string, key?: kms.IKey): void {
    const bucket = this.dataBucket;
    const raw = bucket.arnForObjects(`${rawDataPrefix}*`);
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadAndRemoveRawVersions',
      actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObjectVersion'],
      resources: [raw],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadAndWriteManifestsAndValidatedCopies',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [bucket.arnForObjects(`${VALIDATED_PREFIX}*`), bucket.arnForObjects(DATA_MANIFEST_KEY)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteQuarantineAndTrainingManifests',
      actions: ['s3:PutObject'],
      resources: [
        bucket.arnForObjects(`${QUARANTINE_PREFIX}*`),
        bucket.arnForObjects(`${TRAINING_MANIFEST_PREFIX}*`),
        bucket.arnForObjects(LATEST_TRAINING_MANIFEST_KEY),
      ],
    }));
    // The latest training manifest is removed when no valid file is left.
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RemoveLatestTrainingManifest',
      actions: ['s3:DeleteObject'],
      resources: [bucket.arnForObjects(LATEST_TRAINING_MANIFEST_KEY)],
    }));
    // Without ListBucket, HeadObject of a deleted key answers 403 instead of 404.
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'TellMissingFromForbidden',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    }));
    // Exact actions rather than grantEncryptDecrypt's wildcards: S3 and SNS need only these two.
    key?.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledgeNag(role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The function works on any object under the prefixes it owns (raw uploads, quarantine, validated copies, content-addressed training manifests); each statement is limited to one prefix of the data bucket.',
      appliesTo: [{ regex: '/^Resource::.*\\/\\*$/' }],
    }], true);
  }
}

function validateProps(props: DataIngestProps, rawDataPrefix: string, maxFileSizeBytes: number): void {
  const v = new PropsValidator('DataIngest');
  v.notBoth('existingDataBucket', props.existingDataBucket, 'dataBucketProps', props.dataBucketProps);
  v.pattern('rawDataPrefix', rawDataPrefix, /^[A-Za-z0-9!_.*'()/-]+\/$/,
    'it must be a non-empty S3 key prefix of safe characters ending with "/", e.g. "raw/"');
  v.check(!rawDataPrefix.startsWith('/'), 'rawDataPrefix', rawDataPrefix, 'it must not start with "/"');
  const overlapping = RESERVED_PREFIXES.find((p) => p.startsWith(rawDataPrefix) || rawDataPrefix.startsWith(p));
  v.check(overlapping === undefined, 'rawDataPrefix', rawDataPrefix,
    `it must not overlap the prefixes DataIngest owns (${RESERVED_PREFIXES.join(', ')})`);
  v.number('maxFileSizeBytes', maxFileSizeBytes, { min: 1, max: MAX_FILE_SIZE_LIMIT_BYTES, integer: true });
  const bucketProps = props.dataBucketProps;
  if (bucketProps) {
    for (const required of ['versioned', 'enforceSSL', 'eventBridgeEnabled'] as const) {
      v.check(bucketProps[required] !== false, `dataBucketProps.${required}`, bucketProps[required],
        'it must stay true: DataIngest relies on it');
    }
    v.check(bucketProps.publicReadAccess !== true, 'dataBucketProps.publicReadAccess', bucketProps.publicReadAccess,
      'the data bucket must not be public');
  }
  v.throwIfInvalid();
}

/**
 * S3 notifications to a queue that may be encrypted with the customer key. CDK's SqsDestination grants the key to S3
 * with a condition on the bucket's ARN, which makes the key policy depend on a bucket that the same key encrypts (a
 * cycle); S3 only needs to generate and decrypt data keys for the queue, as AWS's walkthrough grants it (S3 user
 * guide, "Walkthrough: Configuring a bucket for notifications",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html).
 */
class EncryptedQueueDestination implements s3.IBucketNotificationDestination {
  constructor(private readonly queue: sqs.Queue, private readonly key?: kms.IKey) {}

  public bind(_scope: Construct, bucket: s3.IBucket): s3.BucketNotificationDestinationConfig {
    const policy = this.queue.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
      actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [this.queue.queueArn],
      conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketArn } },
    }));
    if (this.key) {
      const added = this.key.addToResourcePolicy(new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }), true);
      if (!added.statementAdded) {
        Annotations.of(this.queue).addWarningV2('cdk-mlops-abalone-pipeline:importedKeyNotifications',
          'encryptionKey is imported, so its key policy cannot be extended: allow s3.amazonaws.com kms:GenerateDataKey* and kms:Decrypt, or S3 cannot send notifications to the queue.');
      }
    }
    return {
      arn: this.queue.queueArn,
      type: s3.BucketNotificationDestinationType.QUEUE,
      dependencies: policy.policyDependable ? [policy.policyDependable] : [],
    };
  }
}
