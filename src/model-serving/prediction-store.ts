import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PropNamer, validateProps } from './validated-props';
import { PREDICTION_KEY_ATTRIBUTE, PREDICTION_TTL_ATTRIBUTE } from '../contracts/predict-function';
import { PropsValidator } from '../private/validation';

/** Properties of {@link PredictionStore}. */
export interface PredictionStoreProps {
  /**
   * How long a stored prediction accepts feedback before the table's TTL removes it: 1 day to 10 years.
   *
   * @default Duration.days(90)
   */
  readonly retention?: Duration;

  /**
   * Customer managed KMS key that encrypts the table.
   *
   * @default - an AWS managed key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the table when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULT_RETENTION = Duration.days(90);

/**
 * The predictions and their feedback: one DynamoDB table keyed by prediction id (on demand, point-in-time
 * recovery, encrypted, with a TTL that removes a prediction when its `retention` ends, and a stream of new images).
 * The predict function writes each prediction with its inputs, model version and `inferenceId`/`row` (its line in
 * the endpoint's capture), and the actual rings when feedback arrives.
 */
export class PredictionStore extends Construct {
  /**
   * Checks `props` (reported under the names `name` gives them): ModelServing checks its flat store props with
   * these rules, under its own names, so that they are checked once.
   *
   * @internal
   */
  public static _validateProps(v: PropsValidator, props: PredictionStoreProps, name: PropNamer<PredictionStoreProps>): void {
    v.number(name('retention'), props.retention?.toDays({ integral: false }), { min: 1, max: 3650 });
  }

  /** The predictions table. */
  public readonly table: dynamodb.ITable;

  /** How long a stored prediction accepts feedback. */
  public readonly retention: Duration;

  /** The key that encrypts the table; undefined with an AWS managed key. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: PredictionStoreProps = {}) {
    super(scope, id);
    validateProps('PredictionStore', props, PredictionStore._validateProps);
    this.retention = props.retention ?? DEFAULT_RETENTION;
    this.encryptionKey = props.encryptionKey;

    // All of the table's settings, in one place. The stream (new images) carries feedback to the ground-truth export.
    const tableProps: dynamodb.TableProps = {
      partitionKey: { name: PREDICTION_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: props.encryptionKey ? dynamodb.TableEncryption.CUSTOMER_MANAGED : dynamodb.TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: PREDICTION_TTL_ATTRIBUTE,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    // The store's one table is its default child: its logical id is the store's own (and, inside ModelServing,
    // that of the table ModelServing made itself before the store existed).
    this.table = new dynamodb.Table(this, 'Default', tableProps);
  }

  /**
   * Lets the grantee record predictions and their feedback (`dynamodb:BatchWriteItem` and `dynamodb:UpdateItem`
   * on the table), and, with a customer managed key, use the key through DynamoDB only.
   */
  public grantRecordPredictions(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(grantee, 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem');
    if (!this.encryptionKey) return grant;
    const stack = Stack.of(this);
    const keyGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'],
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.${stack.urlSuffix}` } },
    });
    for (const statement of keyGrant.principalStatements) statement.sid = 'UseTableKeyThroughDynamoDb';
    return grant.combine(keyGrant);
  }

  /**
   * Lets the grantee scan the table (`dynamodb:Scan` only), and, with a customer managed key, decrypt with it
   * through DynamoDB only.
   */
  public grantScanPredictions(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grant(grantee, 'dynamodb:Scan');
    if (!this.encryptionKey) return grant;
    const stack = Stack.of(this);
    // Reading an item of a table under a customer managed key needs kms:Decrypt
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html).
    const keyGrant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt', 'kms:DescribeKey'],
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.${stack.urlSuffix}` } },
    });
    for (const statement of keyGrant.principalStatements) statement.sid = 'ReadTableKeyThroughDynamoDb';
    return grant.combine(keyGrant);
  }

  /** Lets the grantee read the stored predictions and their feedback (and decrypt them with the table's key). */
  public grantReadPredictions(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }
}
