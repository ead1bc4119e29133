import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DataIngest } from './data-ingest';

/**
 * Properties of {@link MlopsAbalonePipeline}.
 */
export interface MlopsAbalonePipelineProps {
  /**
   * A bucket you already have, to use as the data bucket. It must be versioned. Do not combine with `dataBucketProps`.
   *
   * @default - a new, secure data bucket is created
   */
  readonly existingDataBucket?: s3.IBucket;

  /**
   * Overrides for the data bucket the construct creates. Do not combine with `existingDataBucket`.
   *
   * @default - see `DataIngestProps.dataBucketProps`
   */
  readonly dataBucketProps?: s3.BucketProps;

  /**
   * Prefix under which raw data files are uploaded.
   *
   * @default 'raw/'
   */
  readonly rawDataPrefix?: string;

  /**
   * Largest raw data file accepted, in bytes.
   *
   * @default 104857600 (100 MiB)
   */
  readonly maxDataFileSizeBytes?: number;

  /**
   * Customer managed KMS key used for data at rest across the system.
   *
   * @default - AWS managed or S3-managed encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to stateful resources (buckets) when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The complete MLOps system for the UCI Abalone age model.
 *
 * Composes the sub-constructs, each of which can also be used on its own.
 */
export class MlopsAbalonePipeline extends Construct {
  /** The data bucket, its validation and its manifest. */
  public readonly dataIngest: DataIngest;

  constructor(scope: Construct, id: string, props: MlopsAbalonePipelineProps = {}) {
    super(scope, id);
    this.dataIngest = new DataIngest(this, 'DataIngest', {
      existingDataBucket: props.existingDataBucket,
      dataBucketProps: props.dataBucketProps,
      rawDataPrefix: props.rawDataPrefix,
      maxFileSizeBytes: props.maxDataFileSizeBytes,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
  }
}
