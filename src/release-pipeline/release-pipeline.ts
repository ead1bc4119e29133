import { Annotations, ArnFormat, Aws, Duration, PhysicalName, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';
import { AcceptanceActionFunction } from './acceptance-action-function';
import { DeployActionFunction } from './deploy-action-function';
import { TrainActionFunction } from './train-action-function';
import {
  ACCEPTANCE_ACTION_ENV, ACCEPTANCE_DEFAULTS, ACCEPTANCE_OUTPUT_VARIABLES, AcceptanceActionConfig, AcceptanceActionParameters,
  acceptanceSettingProblems, HELD_OUT_TEST_SPLIT, PROMOTION_NAMESPACES,
} from '../contracts/acceptance-test';
import { DATA_MANIFEST_KEY } from '../contracts/data-layout';
import { ACTION_NAMESPACES, DEPLOY_ACTION_ENV, DEPLOY_OUTPUT_VARIABLES, TRAIN_ACTION_CONFIG_ENV, TRAIN_OUTPUT_VARIABLES, TrainActionConfig, TrainActionParameters } from '../contracts/release-actions';
import type { IModelRegistry } from '../model-registry/model-registry';
import type { IModelDeploymentTarget } from '../model-serving/deployment-target';
import { createAccessLogsBucket, sendAccessLogs } from '../private/buckets';
import { lambdaLogGroup, lambdaRole } from '../private/functions';
import { acknowledgeNag, NagAcknowledgement } from '../private/nag';
import { nagResource } from '../private/nag-format';
import { generatePhysicalName } from '../private/physical-names';
import { PropsValidator } from '../private/validation';
import { EVALUATION_REPORT, PROCESSING_OUTPUTS, STEP_NAMES } from '../training-pipeline/definition/names';
import { TrainingPipeline } from '../training-pipeline/training-pipeline';

/** A Git repository reached through an AWS CodeConnections (CodeStar) connection: GitHub, GitLab or Bitbucket. */
export interface ReleasePipelineCodeSource {
  /** ARN of the connection (`arn:<partition>:codeconnections:…` or `arn:<partition>:codestar-connections:…`). */
  readonly connectionArn: string;

  /** Owner of the repository: the user, organization or workspace. */
  readonly owner: string;

  /** Name of the repository. */
  readonly repository: string;

  /**
   * Branch whose pushes start the pipeline.
   *
   * @default 'main'
   */
  readonly branch?: string;
}

/**
 * Commands of the CI stage, run in the root of the code repository. An empty list skips that part.
 */
export interface ReleasePipelineCiCommands {
  /**
   * Installs the dependencies.
   *
   * @default ['npm ci']
   */
  readonly install?: string[];

  /**
   * Runs the unit tests.
   *
   * @default ['npx projen test']
   */
  readonly test?: string[];

  /**
   * Runs the linters.
   *
   * @default ['npx projen eslint']
   */
  readonly lint?: string[];

  /**
   * Synthesizes the CDK app (without AWS credentials: commit `cdk.context.json` if the app uses lookups).
   *
   * @default ['npx cdk synth']
   */
  readonly synth?: string[];

  /**
   * Node.js major version of the build (a `runtime-versions` value of the CodeBuild standard 7.0 image).
   *
   * @default '22'
   */
  readonly nodejsVersion?: string;
}

/** Properties of {@link ReleasePipeline}. */
export interface ReleasePipelineProps {
  /** The SageMaker pipeline the Train stage runs. */
  readonly trainingPipeline: TrainingPipeline;

  /**
   * The registry the training pipeline registers models in: the Train action reads their metrics, the approval
   * notification goes to its topic.
   *
   * @default - the training pipeline's `modelRegistry`
   */
  readonly modelRegistry?: IModelRegistry;

  /** The endpoint the Deploy stage deploys the approved model package to (ModelServing's endpoint). */
  readonly deploymentTarget: IModelDeploymentTarget;

  /**
   * A staging endpoint (a second `ModelServing`, e.g. with one instance and no auto-scaling). With it the pipeline
   * is Source → [CI] → Train → DeployStaging → AcceptanceTest → Approve → DeployProduction: the new package is
   * deployed to staging (which approves it in the model registry, as SageMaker deploys only Approved versions), the
   * acceptance test replays its held-out test split through `stagingApiUrl`, and production gets exactly the package
   * that passed. Give `stagingApiUrl` with it.
   *
   * @default - no staging: Train → Approve → Deploy
   */
  readonly stagingTarget?: IModelDeploymentTarget;

  /**
   * Base URL of the staging endpoint's prediction API (`ModelServing.apiUrl`), which the acceptance test calls
   * without credentials, as the web app does: its authorization must be `ApiAuthorization.NONE`.
   *
   * @default - required with `stagingTarget`
   */
  readonly stagingApiUrl?: string;

  /**
   * Largest relative difference between the MSE the staging API's answers give on the held-out test split and
   * the package's registered MSE (0.1 = 10%).
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
   * Most answers other than 2xx (timeouts and connection errors included) the acceptance test tolerates.
   *
   * @default 0
   */
  readonly acceptanceMaxNon2xx?: number;

  /**
   * Largest 99th percentile latency of the staging API, as the test's client measures it.
   *
   * @default Duration.seconds(1)
   */
  readonly acceptanceP99Latency?: Duration;

  /**
   * Most requests the acceptance test starts per second: keep it below the staging API's throttling rate
   * (50 per second by default), or the 429 answers fail the test.
   *
   * @default 25
   */
  readonly acceptanceRequestsPerSecond?: number;

  /**
   * The versioned data bucket holding the data manifest. S3 must send its events to EventBridge (the construct
   * turns that on).
   */
  readonly dataBucket: s3.IBucket;

  /**
   * Key of the data manifest in `dataBucket`: each new version of it starts the pipeline.
   *
   * @default 'manifest/data-manifest.json'
   */
  readonly dataManifestKey?: string;

  /**
   * Topic of the approval notification; it must be in the pipeline's region.
   *
   * @default - the model registry's approval topic
   */
  readonly approvalTopic?: sns.ITopic;

  /**
   * E-mail addresses subscribed to the approval topic (each must confirm the subscription).
   *
   * @default - no subscriptions besides the topic's own
   */
  readonly approvalEmails?: string[];

  /**
   * Whether a person approves each model before it is deployed.
   *
   * Turning it off deploys every model that passes the quality gate: for non-production stacks only (a warning
   * says so at synth).
   *
   * @default true
   */
  readonly requireApproval?: boolean;

  /**
   * How long an approval request waits before the execution fails (5 minutes to 60 days).
   *
   * @default Duration.days(7)
   */
  readonly approvalTimeout?: Duration;

  /**
   * Quiet period before training: the Train stage waits until no newer pipeline execution has started for this
   * long, so that a burst of uploads trains once, on the latest data manifest. Zero starts at once.
   *
   * @default Duration.minutes(5)
   */
  readonly trainingDebounce?: Duration;

  /**
   * A code repository whose pushes also start the pipeline and whose tests, lint and `cdk synth` run in a CI stage.
   *
   * @default - no code source and no CI stage: data changes only
   */
  readonly codeSource?: ReleasePipelineCodeSource;

  /**
   * Commands of the CI stage (only with `codeSource`).
   *
   * @default - a projen/npm project: `npm ci`, `npx projen test`, `npx projen eslint`, `npx cdk synth`
   */
  readonly ciCommands?: ReleasePipelineCiCommands;

  /**
   * Name of the CodePipeline pipeline.
   *
   * @default - a name generated from the construct path, unique in the account and region
   */
  readonly pipelineName?: string;

  /**
   * Customer managed KMS key for the pipeline's artifacts.
   *
   * @default - a key with rotation is created
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What happens to the artifact bucket, its access log bucket and the key created for them when they are
   * removed from the stack. `DESTROY` also empties the buckets.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What CDK's bucket and key grants use (artifact access of CodePipeline's and CodeBuild's generated roles). */
const BUCKET_ACTION_GROUPS = [
  'Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*',
  'Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*',
];

/** Stage names, in order. */
const STAGES = {
  source: 'Source',
  ci: 'CI',
  train: 'Train',
  approve: 'Approve',
  deploy: 'Deploy',
  deployStaging: 'DeployStaging',
  acceptance: 'AcceptanceTest',
  deployProduction: 'DeployProduction',
} as const;

/** The acceptance action's Lambda timeout, and the part of it the test itself may take. */
const ACCEPTANCE_TIMEOUT = Duration.minutes(15);
const ACCEPTANCE_TIME_BUDGET = Duration.minutes(14);

const DEFAULT_CI: Required<ReleasePipelineCiCommands> = {
  install: ['npm ci'],
  test: ['npx projen test'],
  lint: ['npx projen eslint'],
  synth: ['npx cdk synth'],
  nodejsVersion: '22',
};

const PIPELINE_NAME = /^[A-Za-z0-9.@_-]{1,100}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONNECTION_ARN = /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/;
const MAX_DEBOUNCE = Duration.hours(1);
/** Artifacts are only read at the start of an execution; 90 days covers a retry after a long approval. */
const ARTIFACT_EXPIRATION = Duration.days(90);

/**
 * The CodePipeline (type V2) that takes a data upload to a live endpoint:
 * Source (data manifest [+ code]) → CI (tests, lint, synth; with a code source) → Train (SageMaker pipeline)
 * → Approve (manual, with the model's metrics) → Deploy (blue/green endpoint update).
 *
 * Each new version of the data manifest starts it through S3's own EventBridge events (no polling, no CloudTrail).
 * The pipeline runs in SUPERSEDED mode and the Train stage waits for a quiet period, so a burst of uploads trains
 * once, on the latest manifest. The Train and Deploy actions are Lambda functions answered with continuation tokens:
 * no function runs longer than one short step.
 */
export class ReleasePipeline extends Construct {
  /** The pipeline. */
  public readonly pipeline: codepipeline.Pipeline;

  /** Name of the pipeline. */
  public readonly pipelineName: string;

  /** Starts the SageMaker pipeline on the data manifest and follows it (the Train action). */
  public readonly trainActionFunction: lambda.IFunction;

  /** Deploys the approved model package to the endpoint (the Deploy action). */
  public readonly deployActionFunction: lambda.IFunction;

  /** Deploys the trained package to the staging endpoint; undefined without `stagingTarget`. */
  public readonly stagingDeployActionFunction?: lambda.IFunction;

  /** Replays the package's held-out test split through the staging API; undefined without `stagingTarget`. */
  public readonly acceptanceActionFunction?: lambda.IFunction;

  /** The pipeline's artifact bucket (KMS-encrypted, SSL-only, access-logged). */
  public readonly artifactBucket: s3.IBucket;

  /** The key of the pipeline's artifacts. */
  public readonly encryptionKey: kms.IKey;

  /** The rule that starts the pipeline when the data manifest changes. */
  public readonly manifestTrigger: events.IRule;

  /** The CI project; undefined without a code source. */
  public readonly ciProject?: codebuild.IProject;

  /** Targets in other accounts, where their action functions and the action role live. */
  private readonly crossAccountHomes: ActionHome[] = [];
  private generatedPipelineRole?: iam.Role;

  constructor(scope: Construct, id: string, props: ReleasePipelineProps) {
    super(scope, id);
    validate(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const requireApproval = props.requireApproval ?? true;
    const manifestKey = props.dataManifestKey ?? DATA_MANIFEST_KEY;
    const stack = Stack.of(this);

    // A literal name: the Train function's policy names the pipeline without a reference (which would be a cycle).
    this.pipelineName = props.pipelineName ?? generatePhysicalName(this, { maxLength: 100 });
    const pipelineArn = stack.formatArn({ service: 'codepipeline', resource: this.pipelineName });

    // Artifacts.
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'ArtifactKey', {
      description: 'Encrypts the abalone release pipeline\'s artifacts',
      enableKeyRotation: true,
      removalPolicy,
    });
    const accessLogsBucket = createAccessLogsBucket(this, 'AccessLogsBucket', removalPolicy);
    const artifactBucket = new s3.Bucket(this, 'ArtifactBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: ARTIFACT_EXPIRATION, abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    sendAccessLogs(artifactBucket, accessLogsBucket, 'artifact-bucket/');
    this.artifactBucket = artifactBucket;

    // The action functions.
    const trainRole = lambdaRole(this, 'TrainActionRole', 'Runs the release pipeline\'s Train action: starts and follows the SageMaker pipeline');
    const gate = props.trainingPipeline.qualityGate;
    const trainConfig: TrainActionConfig = {
      trainingPipelineName: props.trainingPipeline.pipelineName,
      releasePipelineName: this.pipelineName,
      debounceSeconds: (props.trainingDebounce ?? Duration.minutes(5)).toSeconds(),
      mseThreshold: gate.mseThreshold,
      ...(gate.maxMae !== undefined ? { maxMae: gate.maxMae } : {}),
      ...(gate.minR2 !== undefined ? { minR2: gate.minR2 } : {}),
    };
    const trainFunction = new TrainActionFunction(this, 'TrainActionFunction', {
      description: 'Release pipeline Train action: starts the SageMaker pipeline on the data manifest and follows it',
      role: trainRole,
      logGroup: lambdaLogGroup(this, 'TrainActionLogs', trainRole, RemovalPolicy.DESTROY),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One short step per invocation; far below CodePipeline's 20-minute reply limit.
      timeout: Duration.minutes(2),
      environment: { [TRAIN_ACTION_CONFIG_ENV]: stack.toJsonString(trainConfig) },
    });
    this.trainActionFunction = trainFunction;
    this.grantTrainAction(trainRole, props, pipelineArn);

    const production = this.actionHome(props.deploymentTarget, 'deploymentTarget');
    const deployRole = lambdaRole(production.scope, 'DeployActionRole', 'Runs the release pipeline\'s Deploy action: deploys the approved model package');
    props.deploymentTarget.grantInvokeDeploy(deployRole);
    const deployFunction = new DeployActionFunction(production.scope, 'DeployActionFunction', {
      description: 'Release pipeline Deploy action: has the endpoint\'s deploy function deploy the approved model package',
      role: deployRole,
      logGroup: lambdaLogGroup(production.scope, 'DeployActionLogs', deployRole, RemovalPolicy.DESTROY),
      ...(production.crossAccount ? { functionName: PhysicalName.GENERATE_IF_NEEDED } : {}),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One start or check of the deployment per invocation.
      timeout: Duration.minutes(2),
      environment: { [DEPLOY_ACTION_ENV.DEPLOY_FUNCTION]: props.deploymentTarget.deployFunction.functionArn },
    });
    this.deployActionFunction = deployFunction;

    const staging = props.stagingTarget ? this.createStagingFunctions(props, props.stagingTarget) : undefined;
    this.stagingDeployActionFunction = staging?.deployFunction;
    this.acceptanceActionFunction = staging?.acceptanceFunction;

    // The pipeline.
    const pipeline = new codepipeline.Pipeline(this, 'Resource', {
      pipelineName: this.pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      // A newer execution overtakes older ones waiting between stages; with the Train action's quiet period the
      // latest manifest wins. QUEUED would train once per upload; PARALLEL would train them all at once.
      executionMode: codepipeline.ExecutionMode.SUPERSEDED,
      artifactBucket,
      restartExecutionOnUpdate: false,
      // The artifact bucket has a customer managed key, which cross-account actions need; they use no artifacts.
      ...(this.crossAccountHomes.length > 0 ? { role: this.pipelineRole() } : {}),
    });
    this.pipeline = pipeline;

    const data = new codepipeline.Artifact('DataManifest');
    const sourceActions: codepipeline.IAction[] = [new actions.S3SourceAction({
      actionName: 'DataManifest',
      bucket: props.dataBucket,
      bucketKey: manifestKey,
      output: data,
      // The rule below starts the pipeline; EVENTS would need a CloudTrail trail with S3 data events.
      trigger: actions.S3Trigger.NONE,
      variablesNamespace: ACTION_NAMESPACES.dataSource,
    })];
    let code: codepipeline.Artifact | undefined;
    if (props.codeSource) {
      code = new codepipeline.Artifact('Code');
      sourceActions.push(new actions.CodeStarConnectionsSourceAction({
        actionName: 'Code',
        connectionArn: props.codeSource.connectionArn,
        owner: props.codeSource.owner,
        repo: props.codeSource.repository,
        branch: props.codeSource.branch ?? 'main',
        output: code,
        triggerOnPush: true,
        variablesNamespace: ACTION_NAMESPACES.codeSource,
      }));
    }
    pipeline.addStage({ stageName: STAGES.source, actions: sourceActions });

    if (code) {
      const project = this.createCiProject(props.ciCommands);
      this.ciProject = project;
      pipeline.addStage({
        stageName: STAGES.ci,
        actions: [new actions.CodeBuildAction({ actionName: 'TestLintSynth', project, input: code })],
      });
    }

    const parameters: TrainActionParameters = {
      pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
      manifestVersionId: `#{${ACTION_NAMESPACES.dataSource}.VersionId}`,
    };
    const train = new actions.LambdaInvokeAction({
      actionName: 'RunTrainingPipeline',
      lambda: trainFunction,
      inputs: [data],
      userParameters: parameters,
      variablesNamespace: ACTION_NAMESPACES.train,
    });
    pipeline.addStage({ stageName: STAGES.train, actions: [train] });

    const v = (name: string) => train.variable(name);
    const out = TRAIN_OUTPUT_VARIABLES;

    // With staging, production gets the package that passed the acceptance test, which is the one staging served.
    let productionPackage = v(out.modelPackageArn);
    let acceptanceNote = '';
    if (staging && props.stagingTarget) {
      const stagingDeploy = new actions.LambdaInvokeAction({
        actionName: 'DeployModel',
        lambda: staging.deployFunction,
        role: staging.home.actionRole,
        // SageMaker deploys only Approved versions: deploying to staging approves the package in the registry;
        // the Approve stage below still gates production.
        userParameters: { modelPackageArn: v(out.modelPackageArn), approve: true },
        variablesNamespace: PROMOTION_NAMESPACES.stagingDeploy,
      });
      pipeline.addStage({ stageName: STAGES.deployStaging, actions: [stagingDeploy] });
      const testParameters: AcceptanceActionParameters = { modelPackageArn: stagingDeploy.variable(DEPLOY_OUTPUT_VARIABLES.modelPackageArn) };
      const acceptance = new actions.LambdaInvokeAction({
        actionName: 'ReplayTestSplit',
        lambda: staging.acceptanceFunction,
        role: staging.home.actionRole,
        userParameters: testParameters,
        variablesNamespace: PROMOTION_NAMESPACES.acceptance,
      });
      pipeline.addStage({ stageName: STAGES.acceptance, actions: [acceptance] });
      productionPackage = acceptance.variable(ACCEPTANCE_OUTPUT_VARIABLES.modelPackageArn);
      acceptanceNote = `Staging endpoint ${props.stagingTarget.endpointName} served it and passed the acceptance test: `
        + `${acceptance.variable(ACCEPTANCE_OUTPUT_VARIABLES.summary)}. `;
    }

    if (requireApproval) {
      pipeline.addStage({
        stageName: STAGES.approve,
        actions: [new actions.ManualApprovalAction({
          actionName: 'ApproveModel',
          notificationTopic: props.approvalTopic ?? registry(props).approvalTopic,
          notifyEmails: props.approvalEmails,
          additionalInformation: `Model ${v(out.modelPackageGroupName)} version ${v(out.modelPackageVersion)} passed the quality gate: `
            + `${v(out.gateSummary)}. Trained on ${v(out.dataRows)} rows from ${v(out.dataFiles)} data files. `
            + `Package: ${v(out.modelPackageArn)}. ${acceptanceNote}Approve to deploy exactly this package to endpoint `
            + `${props.deploymentTarget.endpointName}; reject to keep the model it serves now.`,
          timeout: props.approvalTimeout,
        })],
      });
    } else {
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:releaseWithoutApproval',
        'requireApproval is false: every model that passes the quality gate is deployed without a person approving it. Use this for non-production stacks only.');
    }

    pipeline.addStage({
      stageName: staging ? STAGES.deployProduction : STAGES.deploy,
      actions: [new actions.LambdaInvokeAction({
        actionName: 'DeployModel',
        lambda: deployFunction,
        role: production.actionRole,
        // Exactly the package the Train action registered (and the approver saw; with staging, the one that passed
        // the acceptance test); approving it in the registry is part of the deployment.
        userParameters: { modelPackageArn: productionPackage, approve: true },
        variablesNamespace: ACTION_NAMESPACES.deploy,
      })],
    });

    // The trigger: S3's own "Object Created" event for the manifest key.
    props.dataBucket.enableEventBridgeNotification();
    this.manifestTrigger = new events.Rule(this, 'ManifestTrigger', {
      description: 'Starts the abalone release pipeline when the data manifest changes',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.dataBucket.bucketName] },
          object: { key: [manifestKey] },
        },
      },
      targets: [new targets.CodePipeline(pipeline)],
    });

    this.acknowledgeNagFindings(props, trainRole, deployRole);
    for (const home of this.crossAccountHomes) acknowledgeActionRole(home);
    const artifactAccess: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'CodePipeline\'s role reads and writes artifacts under keys CodePipeline chooses per execution, in this pipeline\'s '
        + 'artifact bucket only, with CDK\'s S3 and KMS action groups.',
      appliesTo: [...BUCKET_ACTION_GROUPS, nagResource(this, artifactBucket.arnForObjects('*'))],
    };
    if (this.generatedPipelineRole) acknowledgeNag(this.generatedPipelineRole, [artifactAccess], true);
    acknowledgeNag(pipeline, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'CodePipeline\'s own roles (the pipeline role and one role per action, generated by aws-cdk-lib) read and write artifacts '
          + 'under keys CodePipeline chooses per execution, in this pipeline\'s artifact bucket only, with CDK\'s S3 and KMS action groups; '
          + 'the source action reads only the data manifest object with the read group.',
        appliesTo: [
          ...BUCKET_ACTION_GROUPS,
          nagResource(this, artifactBucket.arnForObjects('*')),
        ],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The Lambda invoke actions\' roles invoke their one function by any version or alias (<function arn>:*), and '
          + 'lambda:ListFunctions, which CodePipeline calls before invoking, has no resource-level permissions.',
        appliesTo: [
          'Resource::*',
          nagResource(this, `${trainFunction.functionArn}:*`),
          ...(production.crossAccount ? [] : [nagResource(this, `${deployFunction.functionArn}:*`)]),
          ...(staging && !staging.home.crossAccount ? [
            nagResource(this, `${staging.deployFunction.functionArn}:*`),
            nagResource(this, `${staging.acceptanceFunction.functionArn}:*`),
          ] : []),
        ],
      },
    ], true);
  }

  /** The staging deploy action and the acceptance test action, with their roles. */
  private createStagingFunctions(props: ReleasePipelineProps, target: IModelDeploymentTarget) {
    const home = this.actionHome(target, 'stagingTarget');
    const scope = home.scope;
    const stack = Stack.of(scope);
    const physicalName = home.crossAccount ? { functionName: PhysicalName.GENERATE_IF_NEEDED } : {};
    const deployRole = lambdaRole(scope, 'StagingDeployActionRole', 'Runs the release pipeline\'s DeployStaging action: deploys the trained model package to staging');
    target.grantInvokeDeploy(deployRole);
    const deployFunction = new DeployActionFunction(scope, 'StagingDeployActionFunction', {
      description: 'Release pipeline DeployStaging action: has the staging endpoint\'s deploy function deploy the trained model package',
      role: deployRole,
      logGroup: lambdaLogGroup(scope, 'StagingDeployActionLogs', deployRole, RemovalPolicy.DESTROY),
      ...physicalName,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: { [DEPLOY_ACTION_ENV.DEPLOY_FUNCTION]: target.deployFunction.functionArn },
    });

    const testRole = lambdaRole(scope, 'AcceptanceActionRole', 'Runs the release pipeline\'s AcceptanceTest action: replays the held-out test split through the staging API');
    const reg = registry(props);
    testRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRegisteredModelPackages',
      actions: ['sagemaker:DescribeModelPackage'],
      resources: reg.modelPackageArns(),
    }));
    testRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadTestSplitsAndEvaluationReports',
      actions: ['s3:GetObject'],
      resources: [evaluationReports(props.trainingPipeline), heldOutTestSplits(props.trainingPipeline)],
    }));
    const artifactKey = props.trainingPipeline.artifactBucket.encryptionKey;
    if (home.crossAccount) {
      testRole.addToPrincipalPolicy(crossAccountDecrypt(artifactKey));
    } else {
      artifactKey?.grant(testRole, 'kms:Decrypt');
    }
    const config: AcceptanceActionConfig = {
      apiUrl: props.stagingApiUrl!,
      mseTolerance: props.acceptanceMseTolerance ?? ACCEPTANCE_DEFAULTS.mseTolerance,
      maeTolerance: props.acceptanceMaeTolerance ?? ACCEPTANCE_DEFAULTS.maeTolerance,
      maxNon2xx: props.acceptanceMaxNon2xx ?? ACCEPTANCE_DEFAULTS.maxNon2xx,
      p99LatencyMs: props.acceptanceP99Latency?.toMilliseconds() ?? ACCEPTANCE_DEFAULTS.p99LatencyMs,
      concurrency: ACCEPTANCE_DEFAULTS.concurrency,
      requestTimeoutMs: ACCEPTANCE_DEFAULTS.requestTimeoutMs,
      requestsPerSecond: props.acceptanceRequestsPerSecond ?? 25,
      timeBudgetSeconds: ACCEPTANCE_TIME_BUDGET.toSeconds(),
    };
    const acceptanceFunction = new AcceptanceActionFunction(scope, 'AcceptanceActionFunction', {
      description: 'Release pipeline AcceptanceTest action: replays the staged model\'s held-out test split through the staging API',
      role: testRole,
      logGroup: lambdaLogGroup(scope, 'AcceptanceActionLogs', testRole, RemovalPolicy.DESTROY),
      ...physicalName,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // The whole test runs in one invocation, within CodePipeline's 20-minute reply limit.
      timeout: ACCEPTANCE_TIMEOUT,
      environment: { [ACCEPTANCE_ACTION_ENV.CONFIG]: stack.toJsonString(config) },
    });

    const putJobResults: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'codepipeline:PutJobSuccessResult and PutJobFailureResult only accept Resource "*" (they name a job, not a pipeline); '
        + 'the Lambda invoke action adds exactly these two actions.',
      appliesTo: ['Resource::*'],
    };
    acknowledgeNag(deployRole, [putJobResults, {
      id: 'AwsSolutions-IAM5',
      reason: 'Function.grantInvoke allows the staging endpoint\'s deploy function and its versions and aliases (<function ARN>:*); '
        + 'the action invokes that one function and holds no deploy permissions of its own.',
      appliesTo: [nagResource(scope, `${target.deployFunction.functionArn}:*`)],
    }], true);
    const keyArnUnknown = home.crossAccount && Token.isUnresolved(artifactKey?.keyArn);
    acknowledgeNag(testRole, [putJobResults, ...(keyArnUnknown ? [crossAccountDecryptNag(scope, artifactKey)] : []), {
      id: 'AwsSolutions-IAM5',
      reason: 'Model versions are numbered at registration, within the quality gate\'s group only. Evaluation reports and held-out '
        + 'test splits sit under per-execution prefixes of the training artifact bucket, limited to those two files.',
      appliesTo: [
        ...reg.modelPackageArns().map((arn) => nagResource(scope, arn)),
        nagResource(scope, evaluationReports(props.trainingPipeline)),
        nagResource(scope, heldOutTestSplits(props.trainingPipeline)),
      ],
    }], true);
    return { deployFunction, acceptanceFunction, home };
  }

  /**
   * Where a target's action functions live. In the pipeline's account: here. In another account: beside the target,
   * in its stack, with a role there that CodePipeline assumes for the action (a CodePipeline cross-account action:
   * CodePipeline invokes the function by name in the role's account).
   */
  private actionHome(target: IModelDeploymentTarget, prop: string): ActionHome {
    const pipelineStack = Stack.of(this);
    const targetScope = target as unknown as IConstruct;
    if (!Construct.isConstruct(targetScope) || Stack.of(targetScope).account === pipelineStack.account) {
      return { scope: this, crossAccount: false };
    }
    const targetStack = Stack.of(targetScope);
    const existing = this.crossAccountHomes.find((h) => h.scope.node.scope === targetScope);
    if (existing) return existing;
    new PropsValidator('ReleasePipeline')
      .check(!Token.isUnresolved(targetStack.account) && !Token.isUnresolved(targetStack.region), prop, targetScope.node.path,
        'its stack is in another account than the pipeline\'s, so both stacks need a concrete env (account and region)')
      .check(!Token.isUnresolved(pipelineStack.account) && !Token.isUnresolved(pipelineStack.region), prop, targetScope.node.path,
        'it is in another stack than the pipeline, which needs a concrete env (account and region) for cross-account actions')
      .check(targetStack.region === pipelineStack.region, prop, targetScope.node.path,
        `its stack is in region ${targetStack.region}, the pipeline in ${pipelineStack.region}: give the target the pipeline's region`)
      .throwIfInvalid();
    const scope = new Construct(targetScope, `ReleaseActions${this.node.addr.slice(0, 8)}`);
    // The pipeline's role, and only it, may assume the action role. The condition, not a role principal, so that the
    // target stack deploys before the pipeline's role exists (IAM checks role principals when the policy is written).
    const actionRole = new iam.Role(scope, 'ActionRole', {
      roleName: PhysicalName.GENERATE_IF_NEEDED,
      description: `CodePipeline assumes it for the actions of release pipeline ${this.pipelineName} in this account`,
      assumedBy: new iam.AccountPrincipal(pipelineStack.account).withConditions({
        ArnEquals: { 'aws:PrincipalArn': this.pipelineRoleArn(pipelineStack) },
      }),
    });
    const home: ActionHome = { scope, crossAccount: true, actionRole };
    this.crossAccountHomes.push(home);
    return home;
  }

  /** The name of the pipeline's role, known at synth so that the target accounts' action roles can trust it. */
  private pipelineRoleName(): string {
    return `${this.pipelineName.slice(0, 50)}-pipeline-role`.replace(/[^\w+=,.@-]/g, '-');
  }

  private pipelineRoleArn(stack: Stack): string {
    return `arn:${Aws.PARTITION}:iam::${stack.account}:role/${this.pipelineRoleName()}`;
  }

  private pipelineRole(): iam.Role {
    this.generatedPipelineRole ??= new iam.Role(this, 'PipelineRole', {
      roleName: this.pipelineRoleName(),
      description: `Role of release pipeline ${this.pipelineName}`,
      assumedBy: new iam.ServicePrincipal('codepipeline.amazonaws.com'),
    });
    return this.generatedPipelineRole;
  }

  /** Exactly what the Train action calls (PutJob*Result is added by the Lambda invoke action). */
  private grantTrainAction(role: iam.Role, props: ReleasePipelineProps, pipelineArn: string): void {
    props.trainingPipeline.grantStartExecution(role);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadRegisteredModelPackages',
      actions: ['sagemaker:DescribeModelPackage'],
      resources: registry(props).modelPackageArns(),
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ReadEvaluationReports',
      actions: ['s3:GetObject'],
      resources: [evaluationReports(props.trainingPipeline)],
    }));
    props.trainingPipeline.artifactBucket.encryptionKey?.grant(role, 'kms:Decrypt');
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'SupersedeOwnExecutions',
      actions: ['codepipeline:ListPipelineExecutions', 'codepipeline:StopPipelineExecution'],
      resources: [pipelineArn],
    }));
  }

  private createCiProject(commands: ReleasePipelineCiCommands = {}): codebuild.PipelineProject {
    const c = { ...DEFAULT_CI, ...commands };
    const build = [...c.test, ...c.lint, ...c.synth];
    const logGroup = new logs.LogGroup(this, 'CiLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    const project = new codebuild.PipelineProject(this, 'CiProject', {
      description: 'Unit tests, lint and cdk synth of the code repository',
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.SMALL,
        privileged: false,
      },
      encryptionKey: this.encryptionKey,
      timeout: Duration.minutes(30),
      logging: { cloudWatch: { logGroup } },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { variables: { CI: 'true' } },
        phases: {
          install: {
            'runtime-versions': { nodejs: c.nodejsVersion },
            ...(c.install.length > 0 ? { commands: c.install } : {}),
          },
          ...(build.length > 0 ? { build: { commands: build } } : {}),
        },
      }),
    });
    acknowledgeNag(project, [{
      id: 'AwsSolutions-IAM5',
      reason: 'CodeBuild\'s generated role writes the build\'s log streams (/aws/codebuild/<project>:*) and test reports '
        + '(report-group/<project>-*), both named per build, and reads the source artifact under CodePipeline\'s per-execution keys '
        + 'in this pipeline\'s artifact bucket, with CDK\'s S3 and KMS action groups.',
      appliesTo: [
        ...BUCKET_ACTION_GROUPS,
        nagResource(this, this.artifactBucket.arnForObjects('*')),
        nagResource(this, Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: `/aws/codebuild/${project.projectName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        nagResource(this, Stack.of(this).formatArn({ service: 'codebuild', resource: 'report-group', resourceName: `${project.projectName}-*` })),
      ],
    }], true);
    return project;
  }

  private acknowledgeNagFindings(props: ReleasePipelineProps, trainRole: iam.Role, deployRole: iam.Role): void {
    const putJobResults: NagAcknowledgement = {
      id: 'AwsSolutions-IAM5',
      reason: 'codepipeline:PutJobSuccessResult and PutJobFailureResult only accept Resource "*" (they name a job, not a pipeline); '
        + 'the Lambda invoke action adds exactly these two actions.',
      appliesTo: ['Resource::*'],
    };
    acknowledgeNag(trainRole, [
      putJobResults,
      {
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker names pipeline executions at run time; the action follows only executions of the one training pipeline '
          + '(pipeline/<name>/execution/*). Model versions are numbered at registration, within the quality gate\'s group only. '
          + 'Evaluation reports sit under per-execution prefixes of the training artifact bucket, limited to the evaluation step\'s report file.',
        appliesTo: [
          nagResource(this, `${props.trainingPipeline.pipelineArn}/execution/*`),
          ...registry(props).modelPackageArns().map((arn) => nagResource(this, arn)),
          nagResource(this, evaluationReports(props.trainingPipeline)),
        ],
      },
    ], true);
    acknowledgeNag(deployRole, [
      putJobResults,
      {
        id: 'AwsSolutions-IAM5',
        reason: 'Function.grantInvoke allows the endpoint\'s deploy function and its versions and aliases (<function ARN>:*); '
          + 'the action invokes that one function and holds no deploy permissions of its own.',
        appliesTo: [nagResource(deployRole, `${props.deploymentTarget.deployFunction.functionArn}:*`)],
      },
    ], true);
  }
}

/** Where a target's action functions are created, and the role CodePipeline uses for its actions there. */
interface ActionHome {
  readonly scope: Construct;
  readonly crossAccount: boolean;
  /** The action role in the target account; undefined in the pipeline's account (CDK generates one). */
  readonly actionRole?: iam.Role;
}

/**
 * Decrypting the training artifacts from another account, through S3 only. A key created in the training stack has
 * no name, so its ARN is not known in that account at synth: the statement then names the training account's keys,
 * and the key policy TrainingPipeline writes for its `consumerAccounts` is what admits this account, to that one key
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html). An imported key
 * (`kms.Key.fromKeyArn`) is named exactly.
 */
function crossAccountDecrypt(key: kms.IKey | undefined): iam.PolicyStatement {
  if (!key) {
    throw new Error('Invalid ReleasePipeline props:\n- trainingPipeline has no encryptionKey; a target in another account '
      + 'reads the training artifacts only with a customer managed key (give TrainingPipeline encryptionKey and consumerAccounts)');
  }
  const stack = Stack.of(key);
  return new iam.PolicyStatement({
    sid: 'DecryptTrainingArtifactsThroughS3',
    actions: ['kms:Decrypt'],
    resources: [trainingKeys(key)],
    conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
  });
}

function trainingKeys(key: kms.IKey): string {
  if (!Token.isUnresolved(key.keyArn)) return key.keyArn;
  const stack = Stack.of(key);
  return `arn:${Aws.PARTITION}:kms:${stack.region}:${stack.account}:key/*`;
}

function crossAccountDecryptNag(scope: IConstruct, key: kms.IKey | undefined): NagAcknowledgement {
  return {
    id: 'AwsSolutions-IAM5',
    reason: 'The training account\'s key ARN is unknown in this account at synth: kms:Decrypt names that account\'s keys, only through S3; '
      + 'the training key\'s policy admits this account to that one key.',
    appliesTo: [nagResource(scope, trainingKeys(key!))],
  };
}

/** The action role of a cross-account target: ListFunctions needs "*", the invoke grant covers versions and aliases. */
function acknowledgeActionRole(home: ActionHome): void {
  acknowledgeNag(home.actionRole!, [{
    id: 'AwsSolutions-IAM5',
    reason: 'The Lambda invoke action adds lambda:ListFunctions, which has no resource-level permissions, and invokes its functions '
      + 'in this account by any version or alias (<function arn>:*).',
    appliesTo: [
      'Resource::*',
      ...home.scope.node.children
        .filter((c): c is lambda.Function => c instanceof lambda.Function)
        .map((f) => nagResource(home.scope, `${f.functionArn}:*`)),
    ],
  }], true);
}

function registry(props: ReleasePipelineProps): IModelRegistry {
  return props.modelRegistry ?? props.trainingPipeline.modelRegistry;
}

/** The evaluation report of any execution of the training pipeline (`<execution id>/EvaluateModel/evaluation/evaluation.json`), nothing else. */
function evaluationReports(trainingPipeline: TrainingPipeline): string {
  return trainingPipeline.artifactBucket.arnForObjects(`*/${STEP_NAMES.evaluate}/${PROCESSING_OUTPUTS.evaluation}/${EVALUATION_REPORT.filePath}`);
}

/** The held-out test split of any execution (`<execution id>/PreprocessData/heldout/test.csv`), nothing else. */
function heldOutTestSplits(trainingPipeline: TrainingPipeline): string {
  return trainingPipeline.artifactBucket.arnForObjects(`*/${STEP_NAMES.preprocess}/${HELD_OUT_TEST_SPLIT.outputName}/${HELD_OUT_TEST_SPLIT.fileName}`);
}

function validate(props: ReleasePipelineProps): void {
  const v = new PropsValidator('ReleasePipeline');
  const requireApproval = props.requireApproval ?? true;
  v.pattern('pipelineName', props.pipelineName, PIPELINE_NAME, 'it must be 1-100 letters, digits and . @ _ -');
  v.check(props.pipelineName === undefined || !Token.isUnresolved(props.pipelineName), 'pipelineName', props.pipelineName,
    'it must be known at synth (not a token): the Train action\'s policy names the pipeline');
  v.pattern('dataManifestKey', props.dataManifestKey, /^[^/].*[^/]$|^[^/]$/, 'it must be an S3 object key, not starting or ending with "/"');
  (props.approvalEmails ?? []).forEach((email, i) => v.pattern(`approvalEmails[${i}]`, email, EMAIL, 'it must be an e-mail address'));
  v.check(requireApproval || props.approvalEmails === undefined, 'approvalEmails', props.approvalEmails,
    'it only applies with requireApproval true; remove it or require approval');
  v.check(requireApproval || props.approvalTopic === undefined, 'approvalTopic', props.approvalTopic?.node.path,
    'it only applies with requireApproval true; remove it or require approval');
  v.check(requireApproval || props.approvalTimeout === undefined, 'approvalTimeout', props.approvalTimeout?.toHumanString(),
    'it only applies with requireApproval true; remove it or require approval');
  if (props.approvalTimeout) {
    const minutes = props.approvalTimeout.toMinutes({ integral: false });
    v.check(minutes >= 5 && minutes <= 86_400, 'approvalTimeout', props.approvalTimeout.toHumanString(), 'it must be between 5 minutes and 60 days');
  }
  if (props.trainingDebounce) {
    const seconds = props.trainingDebounce.toSeconds({ integral: false });
    v.check(Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_DEBOUNCE.toSeconds(), 'trainingDebounce',
      props.trainingDebounce.toHumanString(), 'it must be whole seconds from 0 to 1 hour');
  }
  const source = props.codeSource;
  if (source) {
    v.pattern('codeSource.connectionArn', source.connectionArn, CONNECTION_ARN,
      'it must be a CodeConnections connection ARN (arn:<partition>:codeconnections:<region>:<account>:connection/<id>)');
    v.pattern('codeSource.owner', source.owner, /^[^\s/]+$/, 'it must be a non-empty owner name without spaces or "/"');
    v.pattern('codeSource.repository', source.repository, /^[^\s/]+$/, 'it must be a non-empty repository name without spaces or "/"');
    v.pattern('codeSource.branch', source.branch, /^[^\s]+$/, 'it must be a non-empty branch name without spaces');
  }
  v.check(props.ciCommands === undefined || source !== undefined, 'ciCommands', JSON.stringify(props.ciCommands),
    'it only applies with codeSource (the CI stage builds the code repository)');
  if (props.ciCommands) {
    const c = { ...DEFAULT_CI, ...props.ciCommands };
    v.check([c.install, c.test, c.lint, c.synth].some((list) => list.length > 0), 'ciCommands', JSON.stringify(props.ciCommands),
      'at least one command must remain, or the CI stage checks nothing');
    v.pattern('ciCommands.nodejsVersion', props.ciCommands.nodejsVersion, /^(\d+(\.x)?|latest)$/, 'it must be a Node.js major version such as "22"');
  }
  validateStaging(v, props);
  v.throwIfInvalid();
}

function validateStaging(v: PropsValidator, props: ReleasePipelineProps): void {
  const staged = props.stagingTarget !== undefined;
  v.check(!staged || props.stagingApiUrl !== undefined, 'stagingApiUrl', props.stagingApiUrl,
    'it is required with stagingTarget: the acceptance test calls the staging API (ModelServing.apiUrl)');
  v.check(staged || props.stagingApiUrl === undefined, 'stagingApiUrl', props.stagingApiUrl, 'it only applies with stagingTarget');
  v.check(!staged || props.stagingTarget !== props.deploymentTarget, 'stagingTarget', props.stagingTarget?.endpointName,
    'it must be another endpoint than deploymentTarget');
  if (props.stagingApiUrl !== undefined && !Token.isUnresolved(props.stagingApiUrl)) {
    v.pattern('stagingApiUrl', props.stagingApiUrl, /^https?:\/\/[^\s/]+(\/\S*)?$/, 'it must be an http(s) URL');
  }
  const settingProps = {
    acceptanceMseTolerance: 'mseTolerance', acceptanceMaeTolerance: 'maeTolerance', acceptanceMaxNon2xx: 'maxNon2xx',
  } as const;
  for (const [prop, field] of Object.entries(settingProps)) {
    const value = props[prop as keyof typeof settingProps];
    v.check(staged || value === undefined, prop, value, 'it only applies with stagingTarget');
    const problem = acceptanceSettingProblems({ [field]: value })[0];
    v.check(problem === undefined, prop, value, problem?.replace(/^\w+ is \S+: /, '') ?? '');
  }
  if (props.acceptanceP99Latency) {
    v.check(staged, 'acceptanceP99Latency', props.acceptanceP99Latency.toHumanString(), 'it only applies with stagingTarget');
    const ms = props.acceptanceP99Latency.toMilliseconds({ integral: false });
    v.check(ms >= 1 && ms <= 60_000, 'acceptanceP99Latency', props.acceptanceP99Latency.toHumanString(), 'it must be between 1 millisecond and 1 minute');
  }
  const rps = props.acceptanceRequestsPerSecond;
  v.check(staged || rps === undefined, 'acceptanceRequestsPerSecond', rps, 'it only applies with stagingTarget');
  v.check(rps === undefined || (Number.isFinite(rps) && rps > 0 && rps <= 1000), 'acceptanceRequestsPerSecond', rps, 'it must be a number above 0, at most 1000');
}
