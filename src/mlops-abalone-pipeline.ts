import { Aws, Duration, Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DataIngest } from './data-ingest';
import { ModelRegistry } from './model-registry';
import { ApiAuthorization, EndpointTrafficRouting, ModelServing } from './model-serving';
import { PropsValidator } from './private/validation';
import { QualityGate } from './quality-gate';
import { ReleasePipeline, ReleasePipelineCiCommands, ReleasePipelineCodeSource } from './release-pipeline';
import { TrainingPipeline } from './training-pipeline';
import { WebFrontend } from './web-frontend';

/**
 * Properties of {@link MlopsAbalonePipeline}.
 *
 * The most used settings of each sub-construct, flat; each sub-construct documents its own defaults.
 */
export interface MlopsAbalonePipelineProps {
  /**
   * Prefix of the physical names the system needs (SageMaker pipeline, model package group, endpoint), so that
   * several systems can share an account and Region.
   *
   * @default - each sub-construct's default: a generated pipeline name, the group `AbaloneModelPackageGroup`,
   * a generated endpoint name
   */
  readonly projectName?: string;

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
   * Quality gate: a model is registered only when its MSE on the held-out test split is at most this.
   *
   * @default 6.0
   */
  readonly mseThreshold?: number;

  /**
   * Quality gate: also require MAE on the test split to be at most this.
   *
   * @default - no MAE bound
   */
  readonly maxMae?: number;

  /**
   * Quality gate: also require R² on the test split to be at least this (at most 1).
   *
   * @default - no R² bound
   */
  readonly minR2?: number;

  /**
   * E-mail addresses notified when a registered model waits for approval.
   *
   * @default - no subscriptions (subscribe to `modelRegistry.approvalTopic` yourself)
   */
  readonly approvalEmails?: string[];

  /**
   * Instance type of the preprocessing and evaluation jobs.
   *
   * @default 'ml.t3.medium'
   */
  readonly processingInstanceType?: string;

  /**
   * Instance type of the training job.
   *
   * @default 'ml.m4.xlarge'
   */
  readonly trainingInstanceType?: string;

  /**
   * XGBoost `max_depth`.
   *
   * @default 5
   */
  readonly xgboostMaxDepth?: number;

  /**
   * XGBoost `eta` (learning rate).
   *
   * @default 0.2
   */
  readonly xgboostEta?: number;

  /**
   * XGBoost `gamma`.
   *
   * @default 4
   */
  readonly xgboostGamma?: number;

  /**
   * XGBoost `min_child_weight`.
   *
   * @default 6
   */
  readonly xgboostMinChildWeight?: number;

  /**
   * XGBoost `subsample`.
   *
   * @default 0.7
   */
  readonly xgboostSubsample?: number;

  /**
   * XGBoost `num_round` (an upper bound: early stopping on the validation channel ends training sooner).
   *
   * @default 50
   */
  readonly xgboostNumRound?: number;

  /**
   * Instance type of the prediction endpoint.
   *
   * @default 'ml.m5.large'
   */
  readonly endpointInstanceType?: string;

  /**
   * Instances the endpoint starts with; two or more spread across Availability Zones.
   *
   * @default 2
   */
  readonly endpointInstanceCount?: number;

  /**
   * Most instances auto-scaling may add up to.
   *
   * @default 4
   */
  readonly endpointMaxCapacity?: number;

  /**
   * The final baking period of a blue/green endpoint update: with all traffic on the new fleet, the rollback
   * alarms are watched this long and the old fleet is kept to roll back to. At least 5 minutes (the alarms' detection
   * time); with a canary, both bakes together at most 20 minutes.
   *
   * @default Duration.minutes(5)
   */
  readonly endpointDeploymentBakeTime?: Duration;

  /**
   * How a blue/green endpoint update shifts traffic to the new fleet: all at once, or a canary first.
   *
   * @default EndpointTrafficRouting.allAtOnce()
   */
  readonly endpointTrafficRouting?: EndpointTrafficRouting;

  /**
   * Who may call the prediction API.
   *
   * @default ApiAuthorization.NONE - open to anyone who can reach it (throttled), so the web app works;
   * see the README
   */
  readonly apiAuthorization?: ApiAuthorization;

  /**
   * Whether the API accepts feedback (the actual rings of a prediction) and stores predictions for it.
   *
   * @default true
   */
  readonly feedback?: boolean;

  /**
   * A Git repository (GitHub, GitLab or Bitbucket through an AWS CodeConnections connection) whose changes also
   * run the release pipeline, with a CI stage before training.
   *
   * @default - only data changes run the release pipeline, and there is no CI stage
   */
  readonly codeSource?: ReleasePipelineCodeSource;

  /**
   * Commands of the CI stage (with `codeSource`).
   *
   * @default - `npm ci`, `npx projen test`, `npx projen eslint`, `npx cdk synth`
   */
  readonly ciCommands?: ReleasePipelineCiCommands;

  /**
   * Whether a person approves each model before it is deployed. Turn it off only for non-production stacks.
   *
   * @default true
   */
  readonly requireApproval?: boolean;

  /**
   * Customer managed KMS key used for data at rest across the system.
   *
   * @default - AWS managed or S3-managed encryption
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to stateful resources (buckets, the model package group, the feedback table) when the stack
   * is deleted. The endpoint is always deleted with the stack, so nothing keeps billing.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The complete MLOps system for the UCI Abalone age model: validated data ingest, a SageMaker training pipeline
 * with a quality gate, an auto-scaling endpoint behind a REST API, and a web app.
 *
 * It only wires the sub-constructs together; each of them can also be used on its own.
 */
export class MlopsAbalonePipeline extends Construct {
  /** The data bucket, its validation and its manifest. */
  public readonly dataIngest: DataIngest;

  /** The thresholds a model must meet to be registered. */
  public readonly qualityGate: QualityGate;

  /** The model package group and its approval topic. */
  public readonly modelRegistry: ModelRegistry;

  /** The SageMaker pipeline that turns the manifest into a registered model. */
  public readonly trainingPipeline: TrainingPipeline;

  /** The endpoint's lifecycle and the prediction REST API. */
  public readonly modelServing: ModelServing;

  /** The web app on CloudFront. */
  public readonly webFrontend: WebFrontend;

  /** The CodePipeline that takes a data (or code) change to a live endpoint. */
  public readonly releasePipeline: ReleasePipeline;

  constructor(scope: Construct, id: string, props: MlopsAbalonePipelineProps = {}) {
    super(scope, id);
    const v = new PropsValidator('MlopsAbalonePipeline');
    v.pattern('projectName', props.projectName, /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,29}$/,
      'it must be 1-30 letters, digits and hyphens, starting and ending with a letter or digit');
    v.throwIfInvalid();
    const prefix = props.projectName;

    this.dataIngest = new DataIngest(this, 'DataIngest', {
      existingDataBucket: props.existingDataBucket,
      dataBucketProps: props.dataBucketProps,
      rawDataPrefix: props.rawDataPrefix,
      maxFileSizeBytes: props.maxDataFileSizeBytes,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });

    this.qualityGate = new QualityGate(this, 'QualityGate', {
      mseThreshold: props.mseThreshold,
      maxMae: props.maxMae,
      minR2: props.minR2,
    });

    this.modelRegistry = new ModelRegistry(this, 'ModelRegistry', {
      modelPackageGroupName: prefix ? `${prefix}-models` : undefined,
      approvalEmails: props.approvalEmails,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });

    this.trainingPipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      dataBucket: this.dataIngest.dataBucket,
      qualityGate: this.qualityGate,
      modelRegistry: this.modelRegistry,
      pipelineName: prefix ? `${prefix}-training` : undefined,
      processingInstanceType: props.processingInstanceType,
      trainingInstanceType: props.trainingInstanceType,
      xgboostMaxDepth: props.xgboostMaxDepth,
      xgboostEta: props.xgboostEta,
      xgboostGamma: props.xgboostGamma,
      xgboostMinChildWeight: props.xgboostMinChildWeight,
      xgboostSubsample: props.xgboostSubsample,
      xgboostNumRound: props.xgboostNumRound,
      encryptionKey: props.encryptionKey,
      accessLogsBucket: this.dataIngest.accessLogsBucket,
      removalPolicy: props.removalPolicy,
    });

    // The web app and the API name each other (CSP and config.json; CORS): the app reads the API URL lazily.
    let apiUrl: string | undefined;
    let apiOrigin: string | undefined;
    this.webFrontend = new WebFrontend(this, 'WebFrontend', {
      apiUrl: Lazy.string({ produce: () => apiUrl }),
      apiOrigin: Lazy.string({ produce: () => apiOrigin }),
      feedbackEnabled: props.feedback ?? true,
      removalPolicy: props.removalPolicy,
    });

    this.modelServing = new ModelServing(this, 'ModelServing', {
      modelRegistry: this.modelRegistry,
      artifactBucket: this.trainingPipeline.artifactBucket,
      endpointName: prefix ? `${prefix}-endpoint`.toLowerCase() : undefined,
      endpointInstanceType: props.endpointInstanceType,
      endpointInstanceCount: props.endpointInstanceCount,
      endpointMaxCapacity: props.endpointMaxCapacity,
      endpointDeploymentBakeTime: props.endpointDeploymentBakeTime,
      endpointTrafficRouting: props.endpointTrafficRouting,
      allowedOrigins: [this.webFrontend.siteUrl],
      authorization: props.apiAuthorization,
      feedback: props.feedback,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    apiUrl = this.modelServing.apiUrl;
    apiOrigin = `https://${this.modelServing.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;

    this.releasePipeline = new ReleasePipeline(this, 'ReleasePipeline', {
      trainingPipeline: this.trainingPipeline,
      deploymentTarget: this.modelServing,
      dataBucket: this.dataIngest.dataBucket,
      dataManifestKey: this.dataIngest.dataManifestKey,
      pipelineName: prefix ? `${prefix}-release` : undefined,
      codeSource: props.codeSource,
      ciCommands: props.ciCommands,
      requireApproval: props.requireApproval,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
  }
}
