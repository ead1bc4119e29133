import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
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
import { Construct } from 'constructs';
import { DeployActionFunction } from './deploy-action-function';
import { TrainActionFunction } from './train-action-function';
import { DATA_MANIFEST_KEY } from '../contracts/data-layout';
import { ACTION_NAMESPACES, DEPLOY_ACTION_ENV, TRAIN_ACTION_CONFIG_ENV, TRAIN_OUTPUT_VARIABLES, TrainActionConfig, TrainActionParameters } from '../contracts/release-actions';
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
const STAGES = { source: 'Source', ci: 'CI', train: 'Train', approve: 'Approve', deploy: 'Deploy' } as const;

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

  /** The pipeline's artifact bucket (KMS-encrypted, SSL-only, access-logged). */
  public readonly artifactBucket: s3.IBucket;

  /** The key of the pipeline's artifacts. */
  public readonly encryptionKey: kms.IKey;

  /** The rule that starts the pipeline when the data manifest changes. */
  public readonly manifestTrigger: events.IRule;

  /** The CI project; undefined without a code source. */
  public readonly ciProject?: codebuild.IProject;

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

    const deployRole = lambdaRole(this, 'DeployActionRole', 'Runs the release pipeline\'s Deploy action: deploys the approved model package');
    props.deploymentTarget.grantInvokeDeploy(deployRole);
    const deployFunction = new DeployActionFunction(this, 'DeployActionFunction', {
      description: 'Release pipeline Deploy action: has the endpoint\'s deploy function deploy the approved model package',
      role: deployRole,
      logGroup: lambdaLogGroup(this, 'DeployActionLogs', deployRole, RemovalPolicy.DESTROY),
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One start or check of the deployment per invocation.
      timeout: Duration.minutes(2),
      environment: { [DEPLOY_ACTION_ENV.DEPLOY_FUNCTION]: props.deploymentTarget.deployFunction.functionArn },
    });
    this.deployActionFunction = deployFunction;

    // The pipeline.
    const pipeline = new codepipeline.Pipeline(this, 'Resource', {
      pipelineName: this.pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      // A newer execution overtakes older ones waiting between stages; with the Train action's quiet period the
      // latest manifest wins. QUEUED would train once per upload; PARALLEL would train them all at once.
      executionMode: codepipeline.ExecutionMode.SUPERSEDED,
      artifactBucket,
      restartExecutionOnUpdate: false,
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
    if (requireApproval) {
      pipeline.addStage({
        stageName: STAGES.approve,
        actions: [new actions.ManualApprovalAction({
          actionName: 'ApproveModel',
          notificationTopic: props.approvalTopic ?? registry(props).approvalTopic,
          notifyEmails: props.approvalEmails,
          additionalInformation: `Model ${v(out.modelPackageGroupName)} version ${v(out.modelPackageVersion)} passed the quality gate: `
            + `${v(out.gateSummary)}. Trained on ${v(out.dataRows)} rows from ${v(out.dataFiles)} data files. `
            + `Package: ${v(out.modelPackageArn)}. Approve to deploy exactly this package to endpoint `
            + `${props.deploymentTarget.endpointName}; reject to keep the model it serves now.`,
          timeout: props.approvalTimeout,
        })],
      });
    } else {
      Annotations.of(this).addWarningV2('cdk-mlops-abalone-pipeline:releaseWithoutApproval',
        'requireApproval is false: every model that passes the quality gate is deployed without a person approving it. Use this for non-production stacks only.');
    }

    pipeline.addStage({
      stageName: STAGES.deploy,
      actions: [new actions.LambdaInvokeAction({
        actionName: 'DeployModel',
        lambda: deployFunction,
        // Exactly the package the Train action registered (and the approver saw); approving it in the registry
        // is part of the deployment.
        userParameters: { modelPackageArn: v(out.modelPackageArn), approve: true },
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
          nagResource(this, `${deployFunction.functionArn}:*`),
        ],
      },
    ], true);
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
        appliesTo: [nagResource(this, `${props.deploymentTarget.deployFunction.functionArn}:*`)],
      },
    ], true);
  }
}

function registry(props: ReleasePipelineProps): IModelRegistry {
  return props.modelRegistry ?? props.trainingPipeline.modelRegistry;
}

/** The evaluation report of any execution of the training pipeline (`<execution id>/EvaluateModel/evaluation/evaluation.json`), nothing else. */
function evaluationReports(trainingPipeline: TrainingPipeline): string {
  return trainingPipeline.artifactBucket.arnForObjects(`*/${STEP_NAMES.evaluate}/${PROCESSING_OUTPUTS.evaluation}/${EVALUATION_REPORT.filePath}`);
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
  v.throwIfInvalid();
}
