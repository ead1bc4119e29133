import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** A reasoned acknowledgement of one cdk-nag rule. */
export interface NagAcknowledgement {
  /** Rule id, e.g. `AwsSolutions-IAM5`. */
  readonly id: string;
  /** Why the finding is acceptable here: specific, so that it cannot go stale unnoticed. */
  readonly reason: string;
  /** Only these findings (e.g. `Resource::<Bucket.Arn>/raw/*`, or `{ regex: '/^Resource::.*\\/\\*$/' }`); all findings of the rule when absent. */
  readonly appliesTo?: Array<string | { regex: string }>;
}

/**
 * Records acknowledgements in the CloudFormation metadata that cdk-nag reads (`cdk_nag.rules_to_suppress`),
 * so the library needs no runtime dependency on cdk-nag. Applies to the construct's CfnResources
 * (itself, its default child, or all CfnResource children when `withChildren`).
 */
export function acknowledgeNag(scope: IConstruct, acknowledgements: NagAcknowledgement[], withChildren = false): void {
  const targets = withChildren
    ? scope.node.findAll().filter((c): c is CfnResource => c instanceof CfnResource)
    : [scope instanceof CfnResource ? scope : scope.node.defaultChild].filter((c): c is CfnResource => c instanceof CfnResource);
  if (targets.length === 0) {
    throw new Error(`No CloudFormation resource to acknowledge nag rules on at ${scope.node.path}`);
  }
  for (const resource of targets) {
    const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as object[];
    resource.addMetadata('cdk_nag', {
      rules_to_suppress: [
        ...existing,
        ...acknowledgements.map((a) => ({ id: a.id, reason: a.reason, ...(a.appliesTo ? { applies_to: a.appliesTo } : {}) })),
      ],
    });
  }
}

/**
 * Acknowledges rules on constructs that CDK itself adds at stack level (singleton helper functions such as
 * BucketNotificationsHandler), found by id prefix under the stack (CDK may append a variant, e.g. `256MiB`).
 */
export function acknowledgeNagOnStackHelper(scope: IConstruct, helperIdPrefix: string, acknowledgements: NagAcknowledgement[]): void {
  for (const helper of Stack.of(scope).node.children.filter((c) => c.node.id.startsWith(helperIdPrefix))) {
    acknowledgeNag(helper, acknowledgements, true);
  }
}
