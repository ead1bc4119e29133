import { Aws, Duration, Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { DataIngest } from './data-ingest';
import { DriftMonitoring } from './model-monitoring';
import { ModelRegistry } from './model-registry';
import { ApiAuthorization, EndpointTrafficRouting, FeedbackTrainingExport, ModelServing } from './model-serving';
import { PropsValidator } from './private/validation';
import { QualityGate } from './quality-gate';
import { ReleasePipeline, ReleasePipelineCiCommands, ReleasePipelineCodeSource } from './release-pipeline';
import { HyperparameterTuning, TrainingPipeline } from './training-pipeline';
import { WebFrontend } from './web-frontend';

/**
 * A staging endpoint that each new model is deployed to and tested on before production (see
 * `ReleasePipelineProps.stagingTarget`): its own endpoint and prediction API, one instance, no auto-scaling, no
 * feedback table and no data capture.
 */
export interface MlopsAbaloneStagingOptions {
  /**
   * Instance type of the staging endpoint.
   *
   * @default - the production endpoint's `endpointInstanceType`
   */
  readonly endpointInstanceType?: string;

  /**
   * Instances of the staging endpoint.
   *
   * @default 1
   */
  readonly endpointInstanceCount?: number;

  /**
   * Largest relative difference between the staging API's MSE on the held-out test split and the registered MSE.
   *
   * @default 0.1
   */
  readonly acceptanceMseTolerance?: number;

  /**
   * Largest relative difference between the served and the registered MAE.
   *
   * @default 0.1
   */
  readonly acceptanceMaeTolerance?: number;

  /**
   * Most answers other than 2xx the acceptance test tolerates.
   *
   * @default 0
   */
  readonly acceptanceMaxNon2xx?: number;

  /**
   * Largest 99th percentile latency of the staging API.
   *
   * @default Duration.seconds(1)
   */
  readonly acceptanceP99Latency?: Duration;

  /**
   * Most requests the acceptance test starts per second (below the staging API's throttling rate of 50).
   *
   * @default 25
   */
  readonly acceptanceRequestsPerSecond?: number;
}

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
   * Tune the XGBoost hyperparameters with a SageMaker tuning job in place of the single training job (see
   * {@link HyperparameterTuning}); the `xgboost*` props then no longer apply.
   *
   * @default - one training job with the `xgboost*` hyperparameters
   */
  readonly tuning?: HyperparameterTuning;

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
   * Endpoint Data Capture of every sampled request and response to the artifact bucket, under `data-capture/`:
   * what drift monitoring reads.
   *
   * @default true
   */
  readonly dataCapture?: boolean;

  /**
   * Percentage of endpoint invocations captured: a whole number from 0 to 100.
   *
   * @default 100
   */
  readonly dataCaptureSamplingPercentage?: number;

  /**
   * How long captured requests and responses are kept (an S3 lifecycle rule on `data-capture/`), in whole days.
   *
   * @default Duration.days(90)
   */
  readonly dataCaptureExpiration?: Duration;

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
   * Whether feedback becomes training data: on `feedbackTrainingSchedule`, every prediction with feedback is written
   * as a raw data row (its inputs, the actual rings as the label) to `<rawDataPrefix>feedback/`, where DataIngest
   * validates and manifests it like an upload, so the next training run uses it. Only then does the web app say
   * the ring count helps retrain the model.
   *
   * Off by default because, with `apiAuthorization` NONE, anyone can send feedback, and false labels would then
   * train the model (data poisoning): turn it on when the API's callers are trusted. Needs `feedback`.
   *
   * @default false
   */
  readonly feedbackAsTrainingData?: boolean;

  /**
   * When feedback is written as training data (with `feedbackAsTrainingData`; EventBridge Scheduler, UTC).
   *
   * @default - every day at 03:00 UTC
   */
  readonly feedbackTrainingSchedule?: scheduler.ScheduleExpression;

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
   * A staging endpoint and API: the release pipeline deploys each new model there, runs the acceptance test (the
   * model's held-out test split replayed through the staging API, checked against its registered metrics), and
   * only then asks for approval and deploys that package to production.
   *
   * @default - no staging: Train → Approve → Deploy
   */
  readonly staging?: MlopsAbaloneStagingOptions;

  /**
   * When drift monitoring runs (with `dataCapture`). Each run judges the previous full UTC hour of captured
   * requests against the serving model's training profile.
   *
   * @default - every hour at 10 minutes past (UTC)
   */
  readonly monitoringSchedule?: scheduler.ScheduleExpression;

  /**
   * E-mail addresses notified when the drift alarm fires.
   *
   * @default - no subscriptions (subscribe to `driftMonitoring.monitoringTopic` yourself)
   */
  readonly monitoringEmails?: string[];

  /**
   * Drift monitoring: a feature drifts when its population stability index is above this.
   *
   * @default 0.2
   */
  readonly driftPsiThreshold?: number;

  /**
   * Drift monitoring: a numeric feature drifts when its two-sample Kolmogorov–Smirnov p-value is below this.
   *
   * @default 0.05
   */
  readonly driftKsPValueThreshold?: number;

  /**
   * Drift monitoring: an hour drifts, and the drift alarm fires, when the share of drifted features is above this.
   *
   * @default 0.3
   */
  readonly driftedShareThreshold?: number;

  /**
   * Drift monitoring: an hour with fewer captured records is reported as insufficient data, not judged.
   *
   * @default 200
   */
  readonly driftMinRecords?: number;

  /**
   * Live model quality (with `dataCapture` and `feedback`): a day of predictions with ground truth is degraded, and
   * the model-quality alarm fires, when its MSE is above the serving model's registered test MSE × (1 + this).
   *
   * @default 0.25
   */
  readonly modelQualityTolerance?: number;

  /**
   * Live model quality: a day with fewer predictions with ground truth is reported as insufficient labels, not judged.
   *
   * @default 200
   */
  readonly modelQualityMinLabels?: number;

  /**
   * Whether the drift alarm or the model-quality alarm starts the release pipeline (retraining on the latest data
   * manifest), at most once per `retrainCooldown` whichever fires.
   *
   * @default false
   */
  readonly retrainOnDrift?: boolean;

  /**
   * With `retrainOnDrift`: no new start while the release pipeline runs or started less than this long ago.
   *
   * @default Duration.hours(24)
   */
  readonly retrainCooldown?: Duration;

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

  /** The staging endpoint and API; undefined without `staging`. */
  public readonly stagingServing?: ModelServing;

  /**
   * Drift and live model-quality monitoring of the endpoint's captured traffic: the scheduled monitoring pipeline,
   * its metrics, the drift and model-quality alarms and the monitoring topic (which also hears of failed monitoring
   * runs, monitoring function errors and the feedback export's dead letters). Undefined when `dataCapture` is false.
   */
  public readonly driftMonitoring?: DriftMonitoring;

  /** The export of feedback as training data; undefined unless `feedbackAsTrainingData`. */
  public readonly feedbackTrainingExport?: FeedbackTrainingExport;

  constructor(scope: Construct, id: string, props: MlopsAbalonePipelineProps = {}) {
    super(scope, id);
    const v = new PropsValidator('MlopsAbalonePipeline');
    v.pattern('projectName', props.projectName, /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,29}$/,
      'it must be 1-30 letters, digits and hyphens, starting and ending with a letter or digit');
    v.number('dataCaptureSamplingPercentage', props.dataCaptureSamplingPercentage, { min: 0, max: 100, integer: true })
      .number('dataCaptureExpiration', props.dataCaptureExpiration?.toDays({ integral: false }), { min: 1, integer: true });
    for (const [prop, value] of [['dataCaptureSamplingPercentage', props.dataCaptureSamplingPercentage], ['dataCaptureExpiration', props.dataCaptureExpiration?.toHumanString()]] as const) {
      v.check(props.dataCapture !== false || value === undefined, prop, value, 'it only applies with dataCapture; remove it or set dataCapture to true');
    }
    const monitoringProps = {
      monitoringSchedule: props.monitoringSchedule?.expressionString,
      monitoringEmails: props.monitoringEmails,
      driftPsiThreshold: props.driftPsiThreshold,
      driftKsPValueThreshold: props.driftKsPValueThreshold,
      driftedShareThreshold: props.driftedShareThreshold,
      driftMinRecords: props.driftMinRecords,
      modelQualityTolerance: props.modelQualityTolerance,
      modelQualityMinLabels: props.modelQualityMinLabels,
      retrainOnDrift: props.retrainOnDrift,
      retrainCooldown: props.retrainCooldown?.toHumanString(),
    };
    for (const [prop, value] of Object.entries(monitoringProps)) {
      v.check(props.dataCapture !== false || value === undefined, prop, value,
        'drift monitoring reads the endpoint\'s captures: it only applies with dataCapture; remove it or set dataCapture to true');
    }
    v.check(!props.feedbackAsTrainingData || props.feedback !== false, 'feedbackAsTrainingData', props.feedbackAsTrainingData,
      'it needs the feedback the API stores: remove it or set feedback to true');
    v.check(props.feedbackAsTrainingData === true || props.feedbackTrainingSchedule === undefined, 'feedbackTrainingSchedule',
      props.feedbackTrainingSchedule?.expressionString, 'it only applies with feedbackAsTrainingData; remove it or set feedbackAsTrainingData to true');
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
      tuning: props.tuning,
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
      feedbackRetrainsModel: props.feedbackAsTrainingData ?? false,
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
      endpointDataCapture: {
        enabled: props.dataCapture,
        samplingPercentage: props.dataCaptureSamplingPercentage,
        expiration: props.dataCaptureExpiration,
      },
      allowedOrigins: [this.webFrontend.siteUrl],
      authorization: props.apiAuthorization,
      feedback: props.feedback,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });
    apiUrl = this.modelServing.apiUrl;
    apiOrigin = `https://${this.modelServing.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;

    if (props.feedbackAsTrainingData && this.modelServing.predictionStore) {
      this.feedbackTrainingExport = new FeedbackTrainingExport(this, 'FeedbackTrainingExport', {
        predictionStore: this.modelServing.predictionStore,
        dataBucket: this.dataIngest.dataBucket,
        rawDataPrefix: this.dataIngest.rawDataPrefix,
        schedule: props.feedbackTrainingSchedule,
        encryptionKey: props.encryptionKey,
      });
    }

    if (props.staging) {
      // Staging traffic is the acceptance test's own: nothing to keep, capture or scale.
      this.stagingServing = new ModelServing(this, 'StagingServing', {
        modelRegistry: this.modelRegistry,
        artifactBucket: this.trainingPipeline.artifactBucket,
        endpointName: prefix ? `${prefix}-staging-endpoint`.toLowerCase() : undefined,
        endpointInstanceType: props.staging.endpointInstanceType ?? props.endpointInstanceType,
        endpointInstanceCount: props.staging.endpointInstanceCount ?? 1,
        endpointAutoScaling: false,
        endpointDataCapture: { enabled: false },
        feedback: false,
        encryptionKey: props.encryptionKey,
        removalPolicy: props.removalPolicy,
      });
    }

    this.releasePipeline = new ReleasePipeline(this, 'ReleasePipeline', {
      trainingPipeline: this.trainingPipeline,
      deploymentTarget: this.modelServing,
      ...(this.stagingServing && props.staging ? {
        stagingTarget: this.stagingServing,
        stagingApiUrl: this.stagingServing.apiUrl,
        acceptanceMseTolerance: props.staging.acceptanceMseTolerance,
        acceptanceMaeTolerance: props.staging.acceptanceMaeTolerance,
        acceptanceMaxNon2xx: props.staging.acceptanceMaxNon2xx,
        acceptanceP99Latency: props.staging.acceptanceP99Latency,
        acceptanceRequestsPerSecond: props.staging.acceptanceRequestsPerSecond,
      } : {}),
      dataBucket: this.dataIngest.dataBucket,
      dataManifestKey: this.dataIngest.dataManifestKey,
      pipelineName: prefix ? `${prefix}-release` : undefined,
      codeSource: props.codeSource,
      ciCommands: props.ciCommands,
      requireApproval: props.requireApproval,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy,
    });

    if (props.dataCapture !== false) {
      this.driftMonitoring = new DriftMonitoring(this, 'DriftMonitoring', {
        endpoint: this.modelServing.endpoint,
        captureBucket: this.trainingPipeline.artifactBucket,
        modelRegistry: this.modelRegistry,
        schedule: props.monitoringSchedule,
        alarmEmails: props.monitoringEmails,
        psiThreshold: props.driftPsiThreshold,
        ksPValueThreshold: props.driftKsPValueThreshold,
        driftedShareThreshold: props.driftedShareThreshold,
        minRecords: props.driftMinRecords,
        modelQualityTolerance: props.modelQualityTolerance,
        modelQualityMinLabels: props.modelQualityMinLabels,
        processingInstanceType: props.processingInstanceType,
        retrainOnDrift: props.retrainOnDrift,
        releasePipeline: props.retrainOnDrift ? this.releasePipeline.pipeline : undefined,
        retrainCooldown: props.retrainCooldown,
        pipelineName: prefix ? `${prefix}-monitoring` : undefined,
        encryptionKey: props.encryptionKey,
      });
      // Feedback the ground-truth export could not write never reaches model quality: tell the same people.
      const deadLetters = this.modelServing.feedbackExport?.deadLetterAlarm;
      if (deadLetters) this.driftMonitoring.notifyOnAlarm(deadLetters);
    }
  }
}
