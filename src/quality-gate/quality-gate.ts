import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PropsValidator } from '../private/validation';
import { DEFAULT_MODEL_PACKAGE_GROUP_NAME, DEFAULT_MSE_THRESHOLD } from '../training-pipeline/definition/defaults';
import { QualityGateConfig } from '../training-pipeline/definition/quality-gate-steps';

/** The approval status a newly registered model version gets. */
export enum ModelApprovalStatus {
  /** Waits for a person (or the release pipeline's approval stage) to approve it. */
  PENDING_MANUAL_APPROVAL = 'PendingManualApproval',
  /** Approved on registration: every version that passes the gate may be deployed. */
  APPROVED = 'Approved',
}

/** Properties of {@link QualityGate}. */
export interface QualityGateProps {
  /**
   * Largest mean squared error (in rings², on the held-out test split) a model may have to be registered.
   *
   * The default of the pipeline's `MseThreshold` parameter; a run may override it.
   *
   * @default 6.0
   */
  readonly mseThreshold?: number;

  /**
   * Largest mean absolute error (in rings) a model may have to be registered.
   *
   * Adds a `MaeThreshold` parameter and a condition to the gate.
   *
   * @default - MAE is reported but not gated
   */
  readonly maxMae?: number;

  /**
   * Smallest coefficient of determination (R², at most 1) a model must reach to be registered.
   *
   * Adds an `R2Threshold` parameter and a condition to the gate.
   *
   * @default - R² is reported but not gated
   */
  readonly minR2?: number;

  /**
   * Name of the SageMaker model package group that receives the models that pass the gate.
   *
   * @default 'AbaloneModelPackageGroup'
   */
  readonly modelPackageGroupName?: string;

  /**
   * Approval status of a newly registered model version: the default of the `ModelApprovalStatus` parameter.
   *
   * @default ModelApprovalStatus.PENDING_MANUAL_APPROVAL
   */
  readonly modelApprovalStatus?: ModelApprovalStatus;

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
}

const GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The quality gate of the training pipeline: the thresholds a model must meet (MSE, optionally MAE and R²),
 * the model package group that receives the models that meet them, and the topic that announces models
 * waiting for approval. It contributes the CheckQuality → RegisterModel | Fail steps to the pipeline.
 */
export class QualityGate extends Construct {
  /** Default MSE threshold (the `MseThreshold` parameter's default). */
  public readonly mseThreshold: number;
  /** Default MAE bound, when MAE is gated. */
  public readonly maxMae?: number;
  /** Default R² bound, when R² is gated. */
  public readonly minR2?: number;
  /** Approval status given to new model versions by default. */
  public readonly modelApprovalStatus: ModelApprovalStatus;
  /** The model package group. */
  public readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;
  /** Name of the model package group. */
  public readonly modelPackageGroupName: string;
  /** ARN of the model package group. */
  public readonly modelPackageGroupArn: string;
  /** Topic for model approval notifications (encrypted, SSL-only). */
  public readonly approvalTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: QualityGateProps = {}) {
    super(scope, id);

    const v = new PropsValidator('QualityGate');
    v.number('mseThreshold', props.mseThreshold, { min: 0 })
      .number('maxMae', props.maxMae, { min: 0 })
      .number('minR2', props.minR2, { max: 1 })
      .pattern('modelPackageGroupName', props.modelPackageGroupName, GROUP_NAME,
        'it must be 1-63 letters, digits and hyphens, starting and ending with a letter or digit');
    (props.approvalEmails ?? []).forEach((email, i) => {
      v.pattern(`approvalEmails[${i}]`, email, EMAIL, 'it must be an e-mail address');
    });
    v.throwIfInvalid();

    this.mseThreshold = props.mseThreshold ?? DEFAULT_MSE_THRESHOLD;
    this.maxMae = props.maxMae;
    this.minR2 = props.minR2;
    this.modelApprovalStatus = props.modelApprovalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL;
    this.modelPackageGroupName = props.modelPackageGroupName ?? DEFAULT_MODEL_PACKAGE_GROUP_NAME;

    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: 'Abalone age models that passed the quality gate',
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

  /**
   * Allows registering new model versions in the group: what the training pipeline's RegisterModel step does.
   *
   * Each action is granted only on the resource types the Service Authorization Reference lists for it:
   * `CreateModelPackage`, `DescribeModelPackage` and `AddTags` on `model-package` (the versions,
   * `model-package/<group>/*`), `DescribeModelPackageGroup` on `model-package-group`.
   */
  public grantRegisterModelPackage(grantee: iam.IGrantable): iam.Grant {
    const group = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackageGroup'],
      resourceArns: this.groupArns(),
    });
    const versions = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage'],
      resourceArns: this._modelPackageArns(),
    });
    const tag = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:AddTags'],
      resourceArns: this._modelPackageArns(),
      conditions: { StringEquals: { 'sagemaker:TaggingAction': 'CreateModelPackage' } },
    });
    return group.combine(versions).combine(tag);
  }

  /** Allows reading the group and its model versions (including their metrics and lineage). */
  public grantReadModelPackages(grantee: iam.IGrantable): iam.Grant {
    const group = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackageGroup'],
      resourceArns: this.groupArns(),
    });
    const versions = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackage'],
      resourceArns: this._modelPackageArns(),
    });
    return group.combine(versions);
  }

  /** Allows approving or rejecting model versions of the group. */
  public grantApproveModelPackages(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage'],
      resourceArns: this._modelPackageArns(),
    });
  }

  /**
   * The gate's settings as the pipeline definition builder takes them.
   * @internal
   */
  public _definitionConfig(): QualityGateConfig {
    return {
      mseThreshold: this.mseThreshold,
      maxMae: this.maxMae,
      minR2: this.minR2,
      modelPackageGroupName: this.modelPackageGroupName,
      modelApprovalStatus: this.modelApprovalStatus,
    };
  }

  /**
   * ARN patterns of the group's model versions (`model-package/<group>/<version>`).
   * @internal
   */
  public _modelPackageArns(): string[] {
    return this.nameVariants().map((name) => Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${name}/*`,
    }));
  }

  private groupArns(): string[] {
    return this.nameVariants().map((name) => Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package-group',
      resourceName: name,
    }));
  }

  // SageMaker reports lower-case names in ARNs; listing both spellings keeps the grant valid either way.
  private nameVariants(): string[] {
    const name = this.modelPackageGroupName;
    if (Token.isUnresolved(name)) return [name];
    return [...new Set([name.toLowerCase(), name])];
  }
}
