import * as path from 'path';
import { Annotations, ArnFormat, Duration, PhysicalName, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { TRAINING_EXECUTIONS_PREFIX } from '../contracts/artifact-layout';
import { DATA_MANIFEST_KEY, LATEST_TRAINING_MANIFEST_KEY, VALIDATED_PREFIX } from '../contracts/data-layout';
import type { IModelRegistry } from '../model-registry/model-registry';
import { createAccessLogsBucket, sendAccessLogs } from '../private/buckets';
import { imageRepositoryArns, resolveBuiltInImages, sagemakerContainerStatements } from '../private/image-mapping';
import { NagAcknowledgement, acknowledgeNag } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { generatePhysicalName } from '../private/physical-names';
import { PropsValidator } from '../private/validation';
import { QualityGate } from '../quality-gate/quality-gate';
import { ScriptLocation, abaloneTrainingSpec, buildAbaloneTrainingDefinition } from './definition/abalone-definition';
import { DEFAULT_HYPERPARAMETERS } from './definition/defaults';
import { SHARED_PYTHON_MODULES } from './definition/names';
import { resolveTuning } from './definition/tuning';

/** How a tuning job chooses the hyperparameters of its next training jobs. */
export enum TuningStrategy {
  /** Models the objective from the jobs so far and proposes where it expects improvement. */
  BAYESIAN = 'Bayesian',
  /** Draws every value independently within its range. */
  RANDOM = 'Random',
}

/** How a tuning job walks a range. */
export enum TuningRangeScaling {
  /** SageMaker chooses (local mode: linear). */
  AUTO = 'Auto',
  LINEAR = 'Linear',
  /** Log-uniform; the range must be above 0. */
  LOGARITHMIC = 'Logarithmic',
  /** Dense near the top; continuous ranges within [0, 1) only. */
  REVERSE_LOGARITHMIC = 'ReverseLogarithmic',
}

/** A tuned hyperparameter's range. */
export interface TuningRange {
  /** Smallest value tried. */
  readonly minValue: number;
  /** Largest value tried. */
  readonly maxValue: number;
  /**
   * How values are spread over the range.
   *
   * @default TuningRangeScaling.AUTO
   */
  readonly scaling?: TuningRangeScaling;
}

/**
 * Hyperparameter tuning: a SageMaker tuning job over the built-in XGBoost algorithm, minimising `validation:rmse`
 * (the RMSE on the validation split), replaces the single training job; the best job's model is evaluated, gated
 * and registered, and the model package records the tuning job and the winning values.
 */
export interface HyperparameterTuning {
  /**
   * How the next training jobs' values are chosen.
   *
   * @default TuningStrategy.BAYESIAN
   */
  readonly strategy?: TuningStrategy;

  /**
   * Training jobs in all (MaxNumberOfTrainingJobs).
   *
   * @default 20
   */
  readonly maxJobs?: number;

  /**
   * Training jobs at once (MaxParallelTrainingJobs), at most `maxJobs`.
   *
   * @default 2
   */
  readonly maxParallelJobs?: number;

  /**
   * Range of `eta`, the learning rate.
   *
   * @default 0.01-0.1, logarithmic
   */
  readonly eta?: TuningRange;

  /**
   * Range of `max_depth` (integers).
   *
   * @default 2-6, linear
   */
  readonly maxDepth?: TuningRange;

  /**
   * Range of `min_child_weight`.
   *
   * @default 2-30, logarithmic
   */
  readonly minChildWeight?: TuningRange;

  /**
   * Range of `subsample`, in (0, 1].
   *
   * @default 0.5-0.9, linear
   */
  readonly subsample?: TuningRange;

  /**
   * Range of `gamma`.
   *
   * @default 0-5, linear
   */
  readonly gamma?: TuningRange;

  /**
   * Range of `alpha` (L1 regularisation).
   *
   * @default - not tuned (XGBoost's 0)
   */
  readonly alpha?: TuningRange;

  /**
   * Range of `lambda` (L2 regularisation).
   *
   * @default - not tuned (XGBoost's 1)
   */
  readonly lambda?: TuningRange;

  /**
   * `num_round` of every training job: an upper bound, since early stopping on the validation split ends each job.
   *
   * @default 1000
   */
  readonly numRound?: number;

  /**
   * `early_stopping_rounds` of every training job.
   *
   * @default 20
   */
  readonly earlyStoppingRounds?: number;

  /**
   * Let SageMaker stop training jobs that are unlikely to beat the best so far (TrainingJobEarlyStoppingType `Auto`).
   *
   * @default true
   */
  readonly earlyStopTrainingJobs?: boolean;
}

/** Properties of {@link TrainingPipeline}. */
export interface TrainingPipelineProps {
  /** The data bucket: the jobs read the validated data files and the SageMaker manifests in it. */
  readonly dataBucket: s3.IBucket;

  /** The gate that decides which trained models are registered. */
  readonly qualityGate: QualityGate;

  /** The model registry that receives the models that pass the gate. */
  readonly modelRegistry: IModelRegistry;

  /**
   * Default of the `InputManifestUri` parameter: the SageMaker ManifestFile (`s3://…`) listing the data files.
   *
   * @default - `s3://<dataBucket>/manifest/training-manifest.json`, the latest manifest DataIngest writes
   */
  readonly inputManifestUri?: string;

  /**
   * Instance type of the preprocessing and evaluation jobs (default of `ProcessingInstanceType`).
   *
   * @default 'ml.t3.medium'
   */
  readonly processingInstanceType?: string;

  /**
   * Instance count of the preprocessing and evaluation jobs (default of `ProcessingInstanceCount`).
   *
   * @default 1
   */
  readonly processingInstanceCount?: number;

  /**
   * Instance type of the training job (default of `TrainingInstanceType`).
   *
   * @default 'ml.m4.xlarge'
   */
  readonly trainingInstanceType?: string;

  /**
   * Instance count of the training job (default of `TrainingInstanceCount`).
   *
   * @default 1
   */
  readonly trainingInstanceCount?: number;

  /**
   * XGBoost `max_depth`: the deepest a tree may grow.
   *
   * @default 5
   */
  readonly xgboostMaxDepth?: number;

  /**
   * XGBoost `eta`: the learning rate, in (0, 1].
   *
   * @default 0.2
   */
  readonly xgboostEta?: number;

  /**
   * XGBoost `gamma`: the loss reduction a split must achieve.
   *
   * @default 4
   */
  readonly xgboostGamma?: number;

  /**
   * XGBoost `min_child_weight`: the smallest hessian sum a leaf may have.
   *
   * @default 6
   */
  readonly xgboostMinChildWeight?: number;

  /**
   * XGBoost `subsample`: the fraction of rows each tree sees, in (0, 1].
   *
   * @default 0.7
   */
  readonly xgboostSubsample?: number;

  /**
   * XGBoost `num_round`: the most boosting rounds.
   *
   * @default 50
   */
  readonly xgboostNumRound?: number;

  /**
   * XGBoost `early_stopping_rounds`: training stops when the validation RMSE has not improved for this many
   * rounds, and the best round is kept.
   *
   * @default 10
   */
  readonly xgboostEarlyStoppingRounds?: number;

  /**
   * Seed of the train/validation/test split (default of `SplitSeed`).
   *
   * @default 42
   */
  readonly splitSeed?: number;

  /**
   * Tune the XGBoost hyperparameters: a `TuneModel` tuning step replaces `TrainModel`, and the `xgboost*`
   * hyperparameter props no longer apply.
   *
   * @default - one training job with the `xgboost*` hyperparameters
   */
  readonly tuning?: HyperparameterTuning;

  /**
   * Name of the SageMaker pipeline.
   *
   * @default - a name generated from the construct path, unique in the account and region
   */
  readonly pipelineName?: string;

  /**
   * Customer managed KMS key for the artifact bucket, the jobs' volumes and their outputs.
   *
   * @default - S3-managed encryption for the bucket; SageMaker's default encryption for volumes
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Other AWS accounts whose endpoints deploy this pipeline's models (and test them): the artifact bucket's policy
   * lets each account read the executions' outputs (`pipeline-executions/*`: model artifacts, evaluation reports,
   * held-out test splits), and the key policy of `encryptionKey` lets it decrypt them through S3. SageMaker needs a
   * customer managed key for cross-account deployment ("Deploy a Model Version from a Different Account",
   * SageMaker Developer Guide), so `encryptionKey` is required with it. The model registry's `consumerAccounts`
   * must list the same accounts.
   *
   * @default - the artifacts are only readable in this account
   */
  readonly consumerAccounts?: string[];

  /**
   * Bucket that receives the artifact bucket's server access logs, under `artifact-bucket/`.
   *
   * It must be in the same region and use SSE-S3 encryption; when it belongs to this app, a statement allowing
   * the S3 logging service to deliver the logs is added to its bucket policy.
   *
   * @default - a bucket is created for them
   */
  readonly accessLogsBucket?: s3.IBucket;

  /**
   * What happens to the artifact bucket (and the access log bucket this construct creates) when they are removed
   * from the stack. `DESTROY` also empties them first.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Pipeline name pattern and length of SageMaker. */
const PIPELINE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/;
/** Key prefix of the artifact bucket's access logs in the log bucket. */
const ACCESS_LOGS_PREFIX = 'artifact-bucket/';
/** Far below CloudFormation's and CreatePipeline's limits; the definition does not grow with props. */
const MAX_DEFINITION_CHARS = 200_000;
const ML_DIR = path.join(__dirname, '..', '..', 'ml');

/**
 * The SageMaker pipeline that turns the data manifest into a registered, quality-gated abalone model:
 * PreprocessData → TrainModel (built-in XGBoost) → EvaluateModel → CheckQuality → RegisterModel | Fail.
 * The definition is generated in TypeScript; the ML scripts reach the jobs as assets.
 */
export class TrainingPipeline extends Construct {
  /** The SageMaker pipeline. */
  public readonly pipeline: sagemaker.CfnPipeline;
  /** Name of the pipeline. */
  public readonly pipelineName: string;
  /** ARN of the pipeline. */
  public readonly pipelineArn: string;
  /** The execution role of the pipeline and its jobs. */
  public readonly role: iam.IRole;
  /** Bucket of the jobs' outputs: splits, preprocessor, model artifacts and evaluation reports. */
  public readonly artifactBucket: s3.IBucket;
  /** The gate whose thresholds the pipeline applies. */
  public readonly qualityGate: QualityGate;
  /** The registry the pipeline registers models in. */
  public readonly modelRegistry: IModelRegistry;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    validate(props);
    warn(this, props);

    const stack = Stack.of(this);
    this.qualityGate = props.qualityGate;
    this.modelRegistry = props.modelRegistry;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const images = resolveBuiltInImages(this, 'ImageRegistries');

    const accessLogsBucket = props.accessLogsBucket ?? createAccessLogsBucket(this, 'AccessLogsBucket', removalPolicy);
    const artifactBucket = new s3.Bucket(this, 'ArtifactBucket', {
      // A name only when a stack of another account references the bucket (cross-account endpoints).
      bucketName: PhysicalName.GENERATE_IF_NEEDED,
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: props.encryptionKey ? true : undefined,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      lifecycleRules: [{
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    this.artifactBucket = artifactBucket;
    sendAccessLogs(artifactBucket, accessLogsBucket, ACCESS_LOGS_PREFIX);
    shareArtifacts(artifactBucket, props.encryptionKey, props.consumerAccounts ?? []);

    const scripts = {
      preprocess: new s3assets.Asset(this, 'PreprocessScript', { path: path.join(ML_DIR, 'preprocess.py') }),
      evaluate: new s3assets.Asset(this, 'EvaluateScript', { path: path.join(ML_DIR, 'evaluate.py') }),
      inference: new s3assets.Asset(this, 'InferenceScript', { path: path.join(ML_DIR, 'inference.py') }),
      // A folder asset is uploaded as one zip file (SageMaker copies it as it is): the modules sit at its root, so the
      // jobs import them with the zip on PYTHONPATH (see buildAbaloneTrainingDefinition).
      shared: new s3assets.Asset(this, 'SharedModules', {
        path: ML_DIR,
        exclude: ['*', ...SHARED_PYTHON_MODULES.map((file) => `!${file}`)],
      }),
    };

    const role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Runs the abalone training pipeline and its processing and training jobs',
    });
    this.role = role;

    this.pipelineName = props.pipelineName ?? generatePhysicalName(this, { maxLength: 80, lowerCase: true });
    // SageMaker reports lower-case names in ARNs, and IAM compares ARNs case-sensitively.
    const arnName = Token.isUnresolved(this.pipelineName) ? this.pipelineName : this.pipelineName.toLowerCase();
    this.pipelineArn = stack.formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: arnName });

    const definition = buildAbaloneTrainingDefinition(abaloneTrainingSpec({
      ...props,
      ...props.qualityGate._settings(),
      modelPackageGroupName: props.modelRegistry.modelPackageGroupName,
    }, {
      roleArn: role.roleArn,
      artifactS3Uri: `s3://${artifactBucket.bucketName}/${TRAINING_EXECUTIONS_PREFIX.slice(0, -1)}`,
      inputManifestUri: props.inputManifestUri ?? `s3://${props.dataBucket.bucketName}/${LATEST_TRAINING_MANIFEST_KEY}`,
      sklearnImageUri: images.sklearn.uri,
      xgboostImageUri: images.xgboost.uri,
      preprocessScript: scriptLocation(scripts.preprocess),
      evaluateScript: scriptLocation(scripts.evaluate),
      inferenceScript: scriptLocation(scripts.inference),
      sharedModules: scriptLocation(scripts.shared),
      kmsKeyId: props.encryptionKey?.keyArn,
    }));
    // Token placeholders are about as long as what they resolve to; the check guards future growth.
    const size = JSON.stringify(definition).length;
    if (size > MAX_DEFINITION_CHARS) {
      throw new Error(`The pipeline definition is ${size} characters, more than ${MAX_DEFINITION_CHARS}; move it to PipelineDefinitionS3Location`);
    }

    this.pipeline = new sagemaker.CfnPipeline(this, 'Resource', {
      pipelineName: this.pipelineName,
      pipelineDescription: 'Abalone age model: preprocess, train (XGBoost), evaluate, quality gate, register',
      roleArn: role.roleArn,
      pipelineDefinition: { PipelineDefinitionBody: stack.toJsonString(definition) },
    });
    // Runs started right after deployment need the role's policy in place.
    this.pipeline.node.addDependency(role);
    // Registration needs the group; an imported group already exists.
    this.pipeline.node.addDependency(props.modelRegistry);

    this.grantJobPermissions(role, props, artifactBucket, scripts, images);
    this.acknowledgeNagFindings(role, props, artifactBucket);
  }

  /**
   * Allows starting the pipeline and following its executions (status and steps, including failure reasons).
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    const start = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:StartPipelineExecution'],
      resourceArns: [this.pipelineArn],
    });
    const follow = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribePipelineExecution', 'sagemaker:ListPipelineExecutionSteps'],
      resourceArns: [this.executionArnPattern()],
    });
    return start.combine(follow);
  }

  private executionArnPattern(): string {
    return `${this.pipelineArn}/execution/*`;
  }

  private grantJobPermissions(
    role: iam.Role,
    props: TrainingPipelineProps,
    artifactBucket: s3.Bucket,
    scripts: Record<string, s3assets.Asset>,
    images: ReturnType<typeof resolveBuiltInImages>,
  ): void {
    const stack = Stack.of(this);

    // Data: the validated copies and the manifests, nothing else of the data bucket.
    props.dataBucket.grantRead(role, `${VALIDATED_PREFIX}*`);
    props.dataBucket.grantRead(role, manifestObjects());
    artifactBucket.grantReadWrite(role);

    // ML code: exactly the four asset objects (three scripts, the shared modules' zip). S3Prefix inputs list their
    // prefix, hence ListBucket on the keys.
    const assets = Object.values(scripts);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: assets.map((a) => a.bucket.arnForObjects(a.s3ObjectKey)),
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [assets[0].bucket.bucketArn],
      conditions: { StringEquals: { 's3:prefix': assets.map((a) => a.s3ObjectKey) } },
    }));

    // Images, logs and metrics of the jobs.
    const [pull, login, metrics] = sagemakerContainerStatements(imageRepositoryArns(this, [images.sklearn, images.xgboost]), '/aws/sagemaker/*');
    role.addToPrincipalPolicy(login);
    role.addToPrincipalPolicy(pull);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: jobLogGroupArns(stack),
    }));
    role.addToPrincipalPolicy(metrics);

    // The jobs the pipeline starts (SageMaker names them pipelines-<execution id>-<step>-<suffix>).
    const jobs = jobArnPatterns(stack);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['sagemaker:CreateProcessingJob', 'sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob'],
      resources: [jobs.processing],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
      resources: [jobs.training],
    }));
    if (props.tuning) {
      // The Tuning step creates the tuning job, follows it and stops it when the execution is stopped; the tuning job
      // starts its training jobs itself, with the role the definition passes
      // (https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html#step-type-tuning).
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['sagemaker:CreateHyperParameterTuningJob', 'sagemaker:DescribeHyperParameterTuningJob', 'sagemaker:StopHyperParameterTuningJob'],
        resources: [jobs.tuning],
      }));
    }
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['sagemaker:AddTags'],
      resources: [jobs.processing, jobs.training, ...(props.tuning ? [jobs.tuning] : [])],
      conditions: {
        StringEquals: {
          'sagemaker:TaggingAction': ['CreateProcessingJob', 'CreateTrainingJob', ...(props.tuning ? ['CreateHyperParameterTuningJob'] : [])],
        },
      },
    }));
    props.modelRegistry.grantRegisterModelPackage(role);

    // The pipeline passes this role to the jobs it creates.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));

    if (props.encryptionKey) {
      props.encryptionKey.grantEncryptDecrypt(role);
      // Job volumes are encrypted through grants SageMaker creates on the key.
      props.encryptionKey.grant(role, 'kms:CreateGrant', 'kms:DescribeKey')
        .principalStatements.forEach((s) => s.addCondition('Bool', { 'kms:GrantIsForAWSResource': 'true' }));
    }
  }

  private acknowledgeNagFindings(
    role: iam.Role,
    props: TrainingPipelineProps,
    artifactBucket: s3.Bucket,
  ): void {
    const stack = Stack.of(this);
    const jobs = jobArnPatterns(stack);
    const acknowledgements: NagAcknowledgement[] = [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Bucket grants use CDK\'s read/write action groups (GetObject*, GetBucket*, List*, DeleteObject*, Abort*), '
          + 'limited to the artifact bucket and to the validated/ and manifest/ prefixes of the data bucket.',
        appliesTo: ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The jobs write per-execution outputs under keys SageMaker chooses at run time, in this construct\'s own artifact bucket.',
        appliesTo: [nagResource(this, artifactBucket.arnForObjects('*'))],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The preprocessing job reads the SageMaker manifest and the content-addressed validated data files it lists; '
          + 'their keys are only known at run time.',
        appliesTo: [
          nagResource(this, props.dataBucket.arnForObjects(`${VALIDATED_PREFIX}*`)),
          nagResource(this, props.dataBucket.arnForObjects(manifestObjects())),
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'ecr:GetAuthorizationToken has no resource type, and cloudwatch:PutMetricData none either '
          + '(it is limited to the /aws/sagemaker/* namespaces by condition).',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker names pipeline jobs pipelines-<execution id>-<step>-<suffix> at run time; '
          + 'their log streams are named after the jobs.',
        appliesTo: [
          nagResource(this, jobs.processing),
          nagResource(this, jobs.training),
          ...jobLogGroupArns(stack).map((arn) => nagResource(this, arn)),
        ],
      },
      ...(props.tuning ? [{
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker Pipelines names the tuning job itself (a Tuning step cannot set one, and tuning job names are at most '
          + '32 characters, too short for the pipelines-<execution id>-<step> names of the other jobs).',
        appliesTo: [nagResource(this, jobs.tuning)],
      }] : []),
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Model versions get their number at registration; the grant is limited to the model registry\'s model package group.',
        appliesTo: props.modelRegistry.modelPackageArns().map((arn) => nagResource(this, arn)),
      },
    ];
    if (props.encryptionKey) {
      acknowledgements.push({
        id: 'AwsSolutions-IAM5',
        reason: 'KMS encrypt/decrypt action groups (GenerateDataKey*, ReEncrypt*) on the one customer key of the artifacts.',
        appliesTo: ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'],
      });
    }
    acknowledgeNag(role, acknowledgements, true);
  }
}

/**
 * Read access to the executions' outputs for the consumer accounts (account principals: each account's IAM then
 * decides which of its roles may read). SageMaker's CreateModel in the consumer account downloads the model data
 * with the model role, which needs these grants and its own identity policy
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy.html#model-registry-deploy-xaccount).
 */
function shareArtifacts(bucket: s3.Bucket, key: kms.IKey | undefined, accounts: readonly string[]): void {
  if (accounts.length === 0) return;
  const principals = accounts.map((account) => new iam.AccountPrincipal(account));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'ConsumerAccountsReadExecutionOutputs',
    principals,
    actions: ['s3:GetObject'],
    resources: [bucket.arnForObjects(`${TRAINING_EXECUTIONS_PREFIX}*`)],
  }));
  // Only through S3 (SSE-KMS objects): the accounts cannot use the key for anything else
  // (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
  const added = key!.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'ConsumerAccountsDecryptArtifactsThroughS3',
    principals,
    actions: ['kms:Decrypt'],
    resources: ['*'],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(bucket).region}.amazonaws.com` } },
  }), false);
  if (!added.statementAdded) {
    throw new Error('Invalid TrainingPipeline props:\n- encryptionKey is an imported key: with consumerAccounts the construct writes the '
      + 'key policy statement that lets those accounts decrypt the artifacts, so the key must be a kms.Key of this app');
  }
}

function scriptLocation(asset: s3assets.Asset): ScriptLocation {
  const key = asset.s3ObjectKey;
  return {
    s3Uri: asset.s3ObjectUrl,
    // SageMaker names the downloaded file after the key's last segment.
    fileName: Token.isUnresolved(key) ? key : key.split('/').pop()!,
  };
}

/** `manifest/*`: the data manifest, the content-addressed SageMaker manifests and the latest copy. */
function manifestObjects(): string {
  return `${DATA_MANIFEST_KEY.split('/')[0]}/*`;
}

function jobArnPatterns(stack: Stack) {
  return {
    processing: stack.formatArn({ service: 'sagemaker', resource: 'processing-job', resourceName: 'pipelines-*' }),
    training: stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: 'pipelines-*' }),
    tuning: stack.formatArn({ service: 'sagemaker', resource: 'hyper-parameter-tuning-job', resourceName: '*' }),
  };
}

function jobLogGroupArns(stack: Stack): string[] {
  return ['ProcessingJobs', 'TrainingJobs'].map((kind) => stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: `/aws/sagemaker/${kind}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  }));
}

function validate(props: TrainingPipelineProps): void {
  const v = new PropsValidator('TrainingPipeline');
  v.instanceType('processingInstanceType', props.processingInstanceType)
    .instanceType('trainingInstanceType', props.trainingInstanceType)
    .number('processingInstanceCount', props.processingInstanceCount, { integer: true, min: 1 })
    .number('trainingInstanceCount', props.trainingInstanceCount, { integer: true, min: 1 })
    .number('xgboostMaxDepth', props.xgboostMaxDepth, { integer: true, min: 1 })
    .number('xgboostEta', props.xgboostEta, { greaterThan: 0, max: 1 })
    .number('xgboostGamma', props.xgboostGamma, { min: 0 })
    .number('xgboostMinChildWeight', props.xgboostMinChildWeight, { min: 0 })
    .number('xgboostSubsample', props.xgboostSubsample, { greaterThan: 0, max: 1 })
    .number('xgboostNumRound', props.xgboostNumRound, { integer: true, min: 1 })
    .number('xgboostEarlyStoppingRounds', props.xgboostEarlyStoppingRounds, { integer: true, min: 1 })
    // numpy's default_rng takes non-negative seeds; SageMaker Integer parameters are 32-bit.
    .number('splitSeed', props.splitSeed, { integer: true, min: 0, max: 2_147_483_647 })
    .pattern('pipelineName', props.pipelineName, PIPELINE_NAME,
      'it must be 1-256 letters, digits and hyphens, starting and ending with a letter or digit')
    .pattern('inputManifestUri', props.inputManifestUri, S3_URI, 'it must be an s3://bucket/key URI of a SageMaker manifest file');
  const consumers = props.consumerAccounts ?? [];
  v.check(consumers.length === 0 || props.encryptionKey !== undefined, 'encryptionKey', undefined,
    'it is required with consumerAccounts: SageMaker deploys a model version in another account only from artifacts '
    + 'encrypted with a customer managed KMS key (SageMaker Developer Guide, model-registry-deploy)');
  consumers.forEach((account, i) => {
    if (Token.isUnresolved(account)) return;
    v.pattern(`consumerAccounts[${i}]`, account, /^\d{12}$/, 'it must be a 12-digit AWS account id');
    v.check(consumers.indexOf(account) === i, `consumerAccounts[${i}]`, account, 'it is listed twice');
  });
  v.throwIfInvalid();
  if (props.tuning) {
    try {
      resolveTuning(props.tuning);
    } catch (e) {
      throw new Error((e as Error).message.replace(/^Invalid tuning settings:/, 'Invalid TrainingPipeline props:'));
    }
  }
}

function warn(scope: Construct, props: TrainingPipelineProps): void {
  const rounds = props.xgboostNumRound ?? DEFAULT_HYPERPARAMETERS.numRound;
  const patience = props.xgboostEarlyStoppingRounds ?? DEFAULT_HYPERPARAMETERS.earlyStoppingRounds;
  if (!Token.isUnresolved(patience) && !Token.isUnresolved(rounds) && patience >= rounds) {
    Annotations.of(scope).addWarningV2('cdk-mlops-abalone-pipeline:earlyStoppingNeverTriggers',
      `xgboostEarlyStoppingRounds (${patience}) is not below xgboostNumRound (${rounds}), so early stopping can never stop training early.`);
  }
  if ((props.processingInstanceCount ?? 1) > 1 || (props.trainingInstanceCount ?? 1) > 1) {
    Annotations.of(scope).addWarningV2('cdk-mlops-abalone-pipeline:unshardedInstances',
      'The abalone jobs do not shard their data: extra processing or training instances repeat the same work and add cost.');
  }
}
