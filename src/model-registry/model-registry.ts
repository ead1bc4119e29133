import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct, IConstruct } from 'constructs';
import { PropsValidator } from '../private/validation';
import { DEFAULT_MODEL_PACKAGE_GROUP_NAME } from '../training-pipeline/definition/defaults';

/**
 * A SageMaker model package group with its approval topic: where the training pipeline registers models,
 * the release pipeline reads their metrics and the endpoint's deploy logic finds and approves them.
 */
export interface IModelRegistry extends IConstruct {
  /** Name of the model package group. */
  readonly modelPackageGroupName: string;

  /** ARN of the model package group. */
  readonly modelPackageGroupArn: string;

  /**
   * Topic that announces models waiting for approval.
   *
   * @default - none
   */
  readonly approvalTopic?: sns.ITopic;

  /**
   * ARN patterns of the group's model versions (`model-package/<group>/*`), in every spelling IAM may compare:
   * SageMaker writes group names in lower case in model package ARNs.
   */
  modelPackageArns(): string[];

  /** Allows registering new model versions in the group: what the training pipeline's RegisterModel step does. */
  grantRegisterModelPackage(grantee: iam.IGrantable): iam.Grant;

  /** Allows reading the group and its model versions (including their metrics and lineage). */
  grantReadModelPackages(grantee: iam.IGrantable): iam.Grant;

  /** Allows approving or rejecting the group's model versions (and reading them). */
  grantApproveModelPackages(grantee: iam.IGrantable): iam.Grant;
}

/** Properties of {@link ModelRegistry}. */
export interface ModelRegistryProps {
  /**
   * Name of the SageMaker model package group.
   *
   * @default 'AbaloneModelPackageGroup'
   */
  readonly modelPackageGroupName?: string;

  /**
   * E-mail addresses subscribed to the approval topic (each must confirm the subscription).
   *
   * @default - no subscriptions
   */
  readonly approvalEmails?: string[];

  /**
   * Customer managed KMS key for the approval topic.
   *
   * @default - the AWS managed key for SNS (alias/aws/sns)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the model package group when it is removed from the stack. SageMaker refuses to delete a
   * group that still holds model versions.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Other AWS accounts whose endpoints deploy this group's model versions. The group's resource policy lets each
   * account describe the group, and describe, list, approve (`UpdateModelPackage`) and create models from its
   * versions — the policy the SageMaker Developer Guide gives for deploying a model version from a different
   * account. The accounts still need read access to the model artifacts and their KMS key.
   *
   * @default - no resource policy: the group is only usable in its own account
   */
  readonly consumerAccounts?: string[];
}

/** What {@link ModelRegistry.fromModelPackageGroupAttributes} needs to know of an existing group. */
export interface ModelRegistryAttributes {
  /** Name of the model package group (in the scope's Region). */
  readonly modelPackageGroupName: string;

  /**
   * Account that owns the group, for an endpoint in another account that deploys its versions (the group's
   * `consumerAccounts` must list the endpoint's account).
   *
   * @default - the scope's account
   */
  readonly account?: string;

  /**
   * Topic that announces models waiting for approval.
   *
   * @default - none
   */
  readonly approvalTopic?: sns.ITopic;
}

const GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const ACCOUNT = /^\d{12}$/;

/**
 * What another account's deployment calls on the group and its versions ("Deploy a Model Version from a Different
 * Account", SageMaker Developer Guide, model-registry-deploy): the group's own action on the group, the versions'
 * actions on the versions.
 */
const CROSS_ACCOUNT_GROUP_ACTIONS: readonly string[] = ['sagemaker:DescribeModelPackageGroup'];
const CROSS_ACCOUNT_VERSION_ACTIONS: readonly string[] = [
  'sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:UpdateModelPackage', 'sagemaker:CreateModel',
];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The ARNs and grants every registry has, from its group name. */
abstract class ModelRegistryBase extends Construct implements IModelRegistry {
  public abstract readonly modelPackageGroupName: string;
  public abstract readonly modelPackageGroupArn: string;
  public abstract readonly approvalTopic?: sns.ITopic;

  /** The account that owns the group; undefined: the stack's. */
  private readonly ownerAccount?: string;

  constructor(scope: Construct, id: string, ownerAccount?: string) {
    super(scope, id);
    this.ownerAccount = ownerAccount;
  }

  public modelPackageArns(): string[] {
    return this.arns('model-package', (name) => `${name}/*`);
  }

  // Each action only on the resource types the Service Authorization Reference lists for it:
  // CreateModelPackage, DescribeModelPackage, UpdateModelPackage and AddTags on model-package,
  // DescribeModelPackageGroup on model-package-group.
  public grantRegisterModelPackage(grantee: iam.IGrantable): iam.Grant {
    const group = this.grantDescribeGroup(grantee);
    const versions = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage'],
      resourceArns: this.modelPackageArns(),
    });
    const tag = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:AddTags'],
      resourceArns: this.modelPackageArns(),
      conditions: { StringEquals: { 'sagemaker:TaggingAction': 'CreateModelPackage' } },
    });
    return group.combine(versions).combine(tag);
  }

  public grantReadModelPackages(grantee: iam.IGrantable): iam.Grant {
    const group = this.grantDescribeGroup(grantee);
    const versions = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackage'],
      resourceArns: this.modelPackageArns(),
    });
    return group.combine(versions);
  }

  public grantApproveModelPackages(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage'],
      resourceArns: this.modelPackageArns(),
    });
  }

  private grantDescribeGroup(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackageGroup'],
      resourceArns: this.arns('model-package-group', (name) => name),
    });
  }

  private arns(resource: string, resourceName: (groupName: string) => string): string[] {
    return nameVariants(this.modelPackageGroupName).map((name) => Stack.of(this).formatArn({
      service: 'sagemaker',
      resource,
      resourceName: resourceName(name),
      account: this.ownerAccount,
    }));
  }
}

/**
 * The model registry: a SageMaker model package group that receives the models that pass the quality gate, and
 * an encrypted, SSL-only topic that announces models waiting for approval.
 */
export class ModelRegistry extends ModelRegistryBase {
  /** An existing model package group in the scope's account and Region. */
  public static fromModelPackageGroupAttributes(scope: Construct, id: string, attrs: ModelRegistryAttributes): IModelRegistry {
    new PropsValidator('ModelRegistry.fromModelPackageGroupAttributes')
      .pattern('modelPackageGroupName', attrs.modelPackageGroupName, GROUP_NAME,
        'it must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit')
      .throwIfInvalid();
    new PropsValidator('ModelRegistry.fromModelPackageGroupAttributes')
      .check(attrs.account === undefined || Token.isUnresolved(attrs.account) || ACCOUNT.test(attrs.account), 'account', attrs.account,
        'it must be a 12-digit AWS account id')
      .throwIfInvalid();
    return new ImportedModelRegistry(scope, id, attrs);
  }

  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;
  /** The encrypted, SSL-only topic that announces models waiting for approval (always created). */
  public readonly approvalTopic?: sns.ITopic;
  /** The model package group. */
  public readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;

  constructor(scope: Construct, id: string, props: ModelRegistryProps = {}) {
    super(scope, id);
    const v = new PropsValidator('ModelRegistry');
    v.pattern('modelPackageGroupName', props.modelPackageGroupName, GROUP_NAME,
      'it must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    (props.approvalEmails ?? []).forEach((email, i) => {
      v.pattern(`approvalEmails[${i}]`, email, EMAIL, 'it must be an e-mail address');
    });
    const consumers = props.consumerAccounts ?? [];
    const ownAccount = Stack.of(this).account;
    consumers.forEach((account, i) => {
      if (Token.isUnresolved(account)) return;
      v.pattern(`consumerAccounts[${i}]`, account, ACCOUNT, 'it must be a 12-digit AWS account id');
      v.check(account !== ownAccount, `consumerAccounts[${i}]`, account, 'it is the group\'s own account, which needs no resource policy');
      v.check(consumers.indexOf(account) === i, `consumerAccounts[${i}]`, account, 'it is listed twice');
    });
    v.throwIfInvalid();

    this.modelPackageGroupName = props.modelPackageGroupName ?? DEFAULT_MODEL_PACKAGE_GROUP_NAME;
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: 'Abalone age models that passed the quality gate',
      ...(consumers.length > 0 ? { modelPackageGroupPolicy: crossAccountPolicy(this, this.modelPackageGroupName, consumers) } : {}),
    });
    this.modelPackageGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.modelPackageGroupArn = this.modelPackageGroup.attrModelPackageGroupArn;

    const topic = new sns.Topic(this, 'ApprovalTopic', {
      displayName: 'Abalone model approval',
      masterKey: props.encryptionKey ?? kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    for (const email of props.approvalEmails ?? []) {
      topic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    this.approvalTopic = topic;
  }
}

class ImportedModelRegistry extends ModelRegistryBase {
  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;
  public readonly approvalTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, attrs: ModelRegistryAttributes) {
    super(scope, id, attrs.account);
    this.modelPackageGroupName = attrs.modelPackageGroupName;
    this.approvalTopic = attrs.approvalTopic;
    this.modelPackageGroupArn = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package-group',
      account: attrs.account,
      resourceName: Token.isUnresolved(attrs.modelPackageGroupName) ? attrs.modelPackageGroupName : attrs.modelPackageGroupName.toLowerCase(),
    });
  }
}

/** The group's resource policy for deployments from other accounts. */
function crossAccountPolicy(scope: Construct, groupName: string, accounts: readonly string[]): unknown {
  const principals = accounts.map((account) => new iam.AccountPrincipal(account));
  const stack = Stack.of(scope);
  const arn = (resource: string, resourceName: string) => stack.formatArn({ service: 'sagemaker', resource, resourceName });
  const names = nameVariants(groupName);
  // Account (root) principals, not roles: SageMaker can only promote a policy share to AWS RAM with account principals.
  const document = new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'DescribeGroupFromConsumerAccounts',
        principals,
        actions: [...CROSS_ACCOUNT_GROUP_ACTIONS],
        resources: names.map((n) => arn('model-package-group', n)),
      }),
      new iam.PolicyStatement({
        sid: 'DeployVersionsFromConsumerAccounts',
        principals,
        actions: [...CROSS_ACCOUNT_VERSION_ACTIONS],
        resources: names.map((n) => arn('model-package', `${n}/*`)),
      }),
    ],
  });
  return document.toJSON();
}

// SageMaker reports lower-case names in ARNs; listing both spellings keeps a grant valid either way.
function nameVariants(name: string): string[] {
  if (Token.isUnresolved(name)) return [name];
  return [...new Set([name.toLowerCase(), name])];
}
