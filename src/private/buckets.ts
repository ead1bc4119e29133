import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from './nag';

/**
 * A private, SSL-only bucket for S3 server access logs. Log delivery is granted by bucket policy
 * (not the legacy LogDeliveryWrite ACL, which CDK uses unless an app-wide feature flag is set).
 */
export function createAccessLogsBucket(
  scope: Construct, id: string, removalPolicy: RemovalPolicy,
  objectOwnership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership,
    versioned: true,
    lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    removalPolicy,
    autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
  });
  acknowledgeNag(bucket, [{
    id: 'AwsSolutions-S1',
    reason: 'This bucket is the destination of server access logs; logging it into itself would loop.',
  }]);
  return bucket;
}

/**
 * Sends the source bucket's server access logs to `logsBucket` under `prefix`, granted by the log bucket's policy
 * (whatever the app's feature flags: ACL-based delivery would need ACLs enabled on the log bucket).
 */
export function sendAccessLogs(source: s3.Bucket, logsBucket: s3.IBucket, prefix: string): void {
  (source.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
    destinationBucketName: logsBucket.bucketName,
    logFilePrefix: prefix,
  };
  // A log bucket of another stack would need a reference back to the source, making the two stacks depend on each other.
  const sameStack = Stack.of(source) === Stack.of(logsBucket);
  logsBucket.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
    actions: ['s3:PutObject'],
    resources: [logsBucket.arnForObjects(`${prefix}*`)],
    conditions: {
      ...(sameStack ? { ArnLike: { 'aws:SourceArn': source.bucketArn } } : {}),
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    },
  }));
}
