import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The role one of this library's Lambda functions runs with: assumed by Lambda only, no managed policy. */
export function lambdaRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
}

/** A function's own log group (kept three months) that `role` may write to. */
export function lambdaLogGroup(scope: Construct, id: string, role: iam.IRole, removalPolicy: RemovalPolicy = RemovalPolicy.RETAIN): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy });
  group.grantWrite(role);
  return group;
}
