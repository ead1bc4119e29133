/**
 * The Train action's state machine over continuation tokens. SageMaker and S3 calls go to moto_server over HTTP;
 * moto has no ListPipelineExecutionSteps and its executions finish at once, so those two answers are scripted on
 * top of the real client. CodePipeline's job and execution APIs (which moto lacks) go through aws-sdk-client-mock.
 */
import {
  ListPipelineExecutionsCommand,
  PipelineExecutionSummary,
  StopPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreatePipelineCommand,
  DescribePipelineExecutionCommand,
  ListPipelineExecutionsCommand as ListSageMakerExecutionsCommand,
  ListPipelineExecutionStepsCommand,
  ListPipelineParametersForExecutionCommand,
  PipelineExecutionStep,
  SageMakerClient,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-sagemaker';
import type { Credentials } from 'aws-lambda';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { fakeCodePipeline, FakeCodePipeline, jobEvent } from './jobs';
import { DataManifest } from '../../src/contracts/data-layout';
import { TrainActionConfig } from '../../src/contracts/release-actions';
import { runJob } from '../../src/release-pipeline/runtime/codepipeline-job';
import { failureMessage, formatMetric, gateSummary, TrainActionClients, trainStep } from '../../src/release-pipeline/runtime/train-action';
import { useMotoServer } from '../support/moto-server';

const moto = useMotoServer();

const TRAINING_PIPELINE = 'abalone-training';
const RELEASE_PIPELINE = 'abalone-release';
const GROUP = 'AbaloneModelPackageGroup';
const ARTIFACT_STORE = 'codepipeline-artifacts';
const TRAINING_ARTIFACTS = 'training-artifacts';
const MANIFEST_ARTIFACT = { bucket: ARTIFACT_STORE, key: 'abalone-release/DataManife/a1b2c3' };
const TRAINING_MANIFEST_URI = 's3://data-bucket/manifest/training/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.json';
const OWN_EXECUTION = '5e0f7c1a-0b7e-4d43-9a55-2b8f3c0d1e11';
const NEWER_EXECUTION = '8d2c4a10-3f0e-4c5b-8e7d-6a5b4c3d2e1f';
const T0 = Date.parse('2026-11-26T12:00:00Z');

const config: TrainActionConfig = {
  trainingPipelineName: TRAINING_PIPELINE,
  releasePipelineName: RELEASE_PIPELINE,
  debounceSeconds: 300,
  mseThreshold: 6,
};

const userParameters = JSON.stringify({ pipelineExecutionId: OWN_EXECUTION, manifestVersionId: 'v-manifest-7' });

function manifest(overrides: Partial<DataManifest> = {}): DataManifest {
  return {
    schemaVersion: 1,
    bucket: 'data-bucket',
    files: [
      { sourceKey: 'raw/a.csv', sourceVersionId: 'va', eTag: 'ea', size: 100, rows: 2000, sha256: 'a'.repeat(64), dataKey: `validated/${'a'.repeat(64)}.csv` },
      { sourceKey: 'raw/b.csv', sourceVersionId: 'vb', eTag: 'eb', size: 100, rows: 2177, sha256: 'b'.repeat(64), dataKey: `validated/${'b'.repeat(64)}.csv` },
    ],
    totalRows: 4177,
    trainingManifestUri: TRAINING_MANIFEST_URI,
    updatedAt: '2026-11-26T11:59:00Z',
    ...overrides,
  };
}

/** What the scripted parts answer. */
interface Script {
  /** CodePipeline ListPipelineExecutions, newest first. */
  executions: PipelineExecutionSummary[];
  /** Overrides moto's (always Succeeded) status. */
  status?: string;
  failureReason?: string;
  /** ListPipelineExecutionSteps (moto lacks it). */
  steps: PipelineExecutionStep[];
  /** Errors DescribePipelineExecution throws before answering. */
  describeErrors: Error[];
}

let script: Script;
let now: number;
let cp: FakeCodePipeline;
let sagemaker: SageMakerClient;
let sagemakerMock: AwsStub<any, any, any>;
let raw: { sagemaker: SageMakerClient; s3: S3Client };
let artifactCredentials: Array<Credentials | undefined>;
let clients: TrainActionClients;

beforeEach(async () => {
  await moto.reset();
  now = T0;
  script = {
    executions: [{ pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 600_000) }],
    steps: [],
    describeErrors: [],
  };
  raw = { sagemaker: new SageMakerClient(moto.clientConfig()), s3: new S3Client(moto.s3ClientConfig()) };
  cp = fakeCodePipeline();
  cp.mock.on(ListPipelineExecutionsCommand).callsFake(async () => ({ pipelineExecutionSummaries: script.executions }));
  cp.mock.on(StopPipelineExecutionCommand).resolves({ pipelineExecutionId: OWN_EXECUTION });

  sagemaker = new SageMakerClient({ ...moto.clientConfig(), maxAttempts: 1 });
  sagemakerMock = mockClient(sagemaker);
  (sagemakerMock.send as unknown as { callThrough(): void }).callThrough();
  sagemakerMock.on(DescribePipelineExecutionCommand).callsFake(async (input) => {
    const error = script.describeErrors.shift();
    if (error) throw error;
    const real = await raw.sagemaker.send(new DescribePipelineExecutionCommand(input));
    return {
      ...real,
      PipelineExecutionStatus: script.status ?? real.PipelineExecutionStatus,
      FailureReason: script.failureReason ?? real.FailureReason,
    };
  });
  sagemakerMock.on(ListPipelineExecutionStepsCommand).callsFake(async () => ({ PipelineExecutionSteps: script.steps }));

  artifactCredentials = [];
  clients = {
    sagemaker,
    codepipeline: cp.client,
    s3: new S3Client(moto.s3ClientConfig()),
    artifactS3: (credentials) => {
      artifactCredentials.push(credentials);
      return new S3Client(moto.s3ClientConfig());
    },
  };

  for (const bucket of [ARTIFACT_STORE, TRAINING_ARTIFACTS]) await raw.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await putManifestArtifact(JSON.stringify(manifest()));
  await raw.sagemaker.send(new CreatePipelineCommand({
    PipelineName: TRAINING_PIPELINE,
    PipelineDefinition: JSON.stringify({ Version: '2020-12-01', Parameters: [{ Name: 'InputManifestUri', Type: 'String' }], Steps: [] }),
    RoleArn: 'arn:aws:iam::123456789012:role/pipeline-role',
  }));
  await raw.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
});
afterEach(() => {
  sagemakerMock.restore();
  cp.restore();
});

async function putManifestArtifact(body: string | Buffer): Promise<void> {
  await raw.s3.send(new PutObjectCommand({ Bucket: MANIFEST_ARTIFACT.bucket, Key: MANIFEST_ARTIFACT.key, Body: body }));
}

/** One invocation as CodePipeline makes it: the first with the artifact, later ones with the last token. */
async function invoke(continuationToken?: string, params = userParameters) {
  return runJob(jobEvent({ userParameters: params, artifact: MANIFEST_ARTIFACT, continuationToken }), cp.client,
    (input) => trainStep(clients, config, input, { now: () => now }));
}

function lastToken(): string {
  const token = cp.lastReply().success?.continuationToken;
  if (!token) throw new Error(`the last reply has no continuation token: ${JSON.stringify(cp.lastReply())}`);
  return token;
}

/** The Train state inside the job envelope of the last reply. */
function lastState(): any {
  return JSON.parse(JSON.parse(lastToken()).t);
}

async function sageMakerExecutions() {
  return (await raw.sagemaker.send(new ListSageMakerExecutionsCommand({ PipelineName: TRAINING_PIPELINE }))).PipelineExecutionSummaries ?? [];
}

/** Invokes until the SageMaker execution has started; returns its ARN. */
async function started(): Promise<string> {
  const debounceDone = T0 + 1;
  now = debounceDone;
  await invoke();
  const state = lastState();
  expect(state.phase).toBe('training');
  return state.executionArn;
}

async function registerPackage(options: { metrics?: boolean; report?: object } = {}): Promise<string> {
  const reportKey = 'pipeline-executions/abc123/EvaluateModel/evaluation/evaluation.json';
  await raw.s3.send(new PutObjectCommand({
    Bucket: TRAINING_ARTIFACTS,
    Key: reportKey,
    Body: JSON.stringify(options.report ?? {
      regression_metrics: { mse: { value: 4.51234, standard_deviation: 2.1 }, mae: { value: 1.52301 }, r2: { value: 0.561149 } },
    }),
  }));
  const out = await raw.sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: GROUP,
    ModelApprovalStatus: 'PendingManualApproval',
    InferenceSpecification: {
      Containers: [{ Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1', ModelDataUrl: 's3://training-artifacts/model.tar.gz' }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ...(options.metrics === false ? {} : {
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `s3://${TRAINING_ARTIFACTS}/${reportKey}` } } },
    }),
  }));
  return out.ModelPackageArn!;
}

const registerStep = (arn: string): PipelineExecutionStep => ({ StepName: 'RegisterModel', StepStatus: 'Succeeded', Metadata: { RegisterModel: { Arn: arn } } });

describe('Train action', () => {
  describe('start', () => {
    test('reads the manifest artifact with the job\'s artifact credentials and starts the SageMaker pipeline on its training manifest', async () => {
      const arn = await started();
      expect(artifactCredentials).toEqual([{ accessKeyId: 'ASIAARTIFACT', secretAccessKey: 'artifact-secret', sessionToken: 'artifact-session' }]);
      const executions = await sageMakerExecutions();
      expect(executions.map((e) => e.PipelineExecutionArn)).toEqual([arn]);
      const parameters = await raw.sagemaker.send(new ListPipelineParametersForExecutionCommand({ PipelineExecutionArn: arn }));
      expect(parameters.PipelineParameters).toEqual([{ Name: 'InputManifestUri', Value: TRAINING_MANIFEST_URI }]);
      expect(executions[0].PipelineExecutionDisplayName).toBe(`release-${OWN_EXECUTION}`);
      expect(executions[0].PipelineExecutionDescription).toBe(
        `Started by CodePipeline ${RELEASE_PIPELINE} execution ${OWN_EXECUTION}: 2 data files, 4177 rows, data manifest version v-manifest-7`);
    });

    test('answers in progress with the execution as external id and no output variables', async () => {
      const arn = await started();
      const success = cp.lastReply().success!;
      expect(success.outputVariables).toBeUndefined();
      expect(success.executionDetails).toEqual({
        summary: `Started SageMaker pipeline execution ${arn} on ${TRAINING_MANIFEST_URI} (2 data files, 4177 rows, data manifest version v-manifest-7).`,
        externalExecutionId: arn,
      });
      expect(lastState()).toEqual({ v: 1, phase: 'training', manifest: { uri: TRAINING_MANIFEST_URI, files: 2, rows: 4177 }, since: now, executionArn: arn });
    });

    test('passes the job id as the idempotency token, so a retried invocation does not start a second run', async () => {
      const event = jobEvent({ userParameters, artifact: MANIFEST_ARTIFACT });
      now = T0 + 1;
      await runJob(event, cp.client, (input) => trainStep(clients, config, input, { now: () => now }));
      const start = sagemakerMock.commandCalls(StartPipelineExecutionCommand)[0].args[0].input;
      expect(start.ClientRequestToken).toBe(event['CodePipeline.job'].id);
    });

    test('fails with a clear message when the manifest lists no data files, and starts nothing', async () => {
      await putManifestArtifact(JSON.stringify(manifest({ files: [], totalRows: 0, trainingManifestUri: undefined })));
      await invoke();
      expect(cp.lastReply().failure!.failureDetails).toEqual({
        type: 'JobFailed',
        message: expect.stringMatching(/^The data manifest lists no valid data files, so there is nothing to train on\. Upload abalone CSV files/),
      });
      expect(await sageMakerExecutions()).toEqual([]);
    });

    test('fails on a zipped artifact: the S3 source passes a single non-zip object as it is', async () => {
      await putManifestArtifact(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from('zip body')]));
      await invoke();
      expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringContaining('is a zip archive') });
    });

    test('fails on an artifact that is not a data manifest', async () => {
      await putManifestArtifact('{"schemaVersion": 2}');
      await invoke();
      expect(cp.lastReply().failure!.failureDetails!.message).toBe('The source artifact is not a valid data manifest: data manifest has schemaVersion 2; this function understands 1');
    });

    test('fails as a configuration error when the execution id variable was not resolved', async () => {
      await invoke(undefined, JSON.stringify({ pipelineExecutionId: '#{codepipeline.PipelineExecutionId}' }));
      expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringContaining('pipelineExecutionId') });
      await invoke(undefined, 'not json');
      expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError', message: expect.stringContaining('UserParameters must be JSON') });
    });
  });

  describe('debounce (latest manifest wins)', () => {
    test('waits until no execution has started for the quiet period, then starts', async () => {
      script.executions = [{ pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 60_000) }];
      await invoke();
      expect(cp.lastReply().success!.executionDetails!.summary)
        .toBe('Waiting for uploads to settle: training starts once no newer execution has started for 300 s (240 s left).');
      expect(lastState()).toMatchObject({ phase: 'settling', manifest: { uri: TRAINING_MANIFEST_URI } });
      expect(await sageMakerExecutions()).toEqual([]);

      now = T0 + 239_000;
      await invoke(lastToken());
      expect(lastState().phase).toBe('settling');

      now = T0 + 240_000;
      await invoke(lastToken());
      expect(lastState().phase).toBe('training');
      expect(await sageMakerExecutions()).toHaveLength(1);
    });

    test('an older execution yields to a newer one that is under way: it stops itself (abandoning this action) and trains nothing', async () => {
      script.executions = [
        { pipelineExecutionId: NEWER_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 5_000) },
        { pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 60_000) },
      ];
      const outcome = await invoke();
      expect(outcome.kind).toBe('abandoned');
      expect(cp.mock.commandCalls(StopPipelineExecutionCommand).map((c) => c.args[0].input)).toEqual([{
        pipelineName: RELEASE_PIPELINE,
        pipelineExecutionId: OWN_EXECUTION,
        abandon: true,
        reason: `Superseded by execution ${NEWER_EXECUTION}, which has newer data or code and trains instead.`,
      }]);
      expect(cp.replies()).toEqual([]);
      expect(await sageMakerExecutions()).toEqual([]);
    });

    test('yields while it is still waiting too, when a newer execution arrives later', async () => {
      script.executions = [{ pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0) }];
      await invoke();
      expect(lastState().phase).toBe('settling');
      script.executions = [{ pipelineExecutionId: NEWER_EXECUTION, status: 'InProgress', startTime: new Date(T0 + 30_000) }, ...script.executions];
      now = T0 + 400_000;
      expect((await invoke(lastToken())).kind).toBe('abandoned');
      expect(await sageMakerExecutions()).toEqual([]);
    });

    test('a newer execution that already ended does not supersede it, but restarts the quiet period', async () => {
      script.executions = [
        { pipelineExecutionId: NEWER_EXECUTION, status: 'Failed', startTime: new Date(T0 - 30_000) },
        { pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 600_000) },
      ];
      await invoke();
      expect(cp.mock.commandCalls(StopPipelineExecutionCommand)).toHaveLength(0);
      expect(cp.lastReply().success!.executionDetails!.summary).toContain('(270 s left)');
    });

    test('looks for its own execution across pages of history', async () => {
      const newer = Array.from({ length: 30 }, (_, i) => ({ pipelineExecutionId: `old-${i}`, status: 'Superseded' as const, startTime: new Date(T0 - 1_000_000) }));
      cp.mock.on(ListPipelineExecutionsCommand)
        .resolvesOnce({ pipelineExecutionSummaries: newer.slice(0, 25), nextToken: 'page-2' })
        .resolvesOnce({ pipelineExecutionSummaries: [...newer.slice(25), { pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 1_000_000) }] });
      await invoke();
      expect(cp.mock.commandCalls(ListPipelineExecutionsCommand).map((c) => c.args[0].input)).toEqual([
        { pipelineName: RELEASE_PIPELINE, maxResults: 25, nextToken: undefined },
        { pipelineName: RELEASE_PIPELINE, maxResults: 25, nextToken: 'page-2' },
      ]);
      expect(lastState().phase).toBe('training');
    });

    test('falls back to its first invocation\'s time when its execution is not in the history', async () => {
      script.executions = [];
      await invoke();
      expect(lastState()).toMatchObject({ phase: 'settling', since: T0 });
      now = T0 + 300_000;
      await invoke(lastToken());
      expect(lastState().phase).toBe('training');
    });

    test('if stopping itself fails, the action fails and says why', async () => {
      script.executions = [
        { pipelineExecutionId: NEWER_EXECUTION, status: 'InProgress', startTime: new Date(T0) },
        { pipelineExecutionId: OWN_EXECUTION, status: 'InProgress', startTime: new Date(T0 - 60_000) },
      ];
      cp.mock.on(StopPipelineExecutionCommand).rejects(Object.assign(new Error('not stoppable'), { name: 'PipelineExecutionNotStoppableException' }));
      await invoke();
      expect(cp.lastReply().failure!.failureDetails!.message).toBe(
        `Superseded by execution ${NEWER_EXECUTION}, which has newer data or code and trains instead. `
        + 'Stopping this execution failed (PipelineExecutionNotStoppableException: not stoppable), so it fails instead.');
    });
  });

  describe('training', () => {
    test('still running: answers in progress with the same state and the running step', async () => {
      await started();
      const token = lastToken();
      script.status = 'Executing';
      script.steps = [
        { StepName: 'TrainModel', StepStatus: 'Executing' },
        { StepName: 'PreprocessData', StepStatus: 'Succeeded' },
      ];
      await invoke(token);
      const success = cp.lastReply().success!;
      expect(JSON.parse(success.continuationToken!).t).toBe(JSON.parse(token).t);
      expect(success.executionDetails!.summary).toMatch(/^SageMaker pipeline execution is Executing \(TrainModel\): arn:aws:sagemaker:/);
      expect(success.outputVariables).toBeUndefined();
      expect(cp.mock.commandCalls(ListPipelineExecutionsCommand)).toHaveLength(1);
    });

    test('succeeded: passes on the registered model package and its metrics as output variables', async () => {
      const arn = await started();
      const packageArn = await registerPackage();
      script.steps = [registerStep(packageArn), { StepName: 'CheckQuality', StepStatus: 'Succeeded', Metadata: { Condition: { Outcome: 'True' } } }];
      await invoke(lastToken());
      const success = cp.lastReply().success!;
      expect(success.continuationToken).toBeUndefined();
      expect(success.outputVariables).toEqual({
        ModelPackageArn: packageArn,
        ModelPackageGroupName: GROUP,
        ModelPackageVersion: '1',
        ModelApprovalStatus: 'PendingManualApproval',
        Mse: '4.512',
        Mae: '1.523',
        R2: '0.5611',
        MseThreshold: '6',
        GateSummary: 'MSE 4.512 (threshold 6), MAE 1.523, R² 0.5611',
        EvaluationReportUri: 's3://training-artifacts/pipeline-executions/abc123/EvaluateModel/evaluation/evaluation.json',
        TrainingExecutionArn: arn,
        TrainingManifestUri: TRAINING_MANIFEST_URI,
        DataFiles: '2',
        DataRows: '4177',
      });
      expect(success.executionDetails).toEqual({ summary: `Registered ${packageArn}: MSE 4.512 (threshold 6), MAE 1.523, R² 0.5611`, externalExecutionId: arn });
    });

    test('failed at the quality gate: the action fails with the Fail step\'s message', async () => {
      const arn = await started();
      script.status = 'Failed';
      script.failureReason = 'Step failure: One or multiple steps failed.';
      script.steps = [
        { StepName: 'FailQualityGate', StepStatus: 'Failed', FailureReason: 'Quality gate failed: MSE 7.31 > threshold 6.0', Metadata: { Fail: { ErrorMessage: 'Quality gate failed: MSE 7.31 > threshold 6.0' } } },
        { StepName: 'CheckQuality', StepStatus: 'Succeeded', Metadata: { Condition: { Outcome: 'False' } } },
        { StepName: 'EvaluateModel', StepStatus: 'Succeeded' },
      ];
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails).toEqual({
        type: 'JobFailed',
        message: `FailQualityGate: Quality gate failed: MSE 7.31 > threshold 6.0 (SageMaker pipeline execution ${arn})`,
        externalExecutionId: arn,
      });
    });

    test('failed in another step: the action fails with that step\'s reason', async () => {
      const arn = await started();
      script.status = 'Failed';
      script.steps = [
        { StepName: 'TrainModel', StepStatus: 'Failed', FailureReason: 'ClientError: Unable to download data from channel train' },
        { StepName: 'PreprocessData', StepStatus: 'Succeeded' },
      ];
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message)
        .toBe(`TrainModel: ClientError: Unable to download data from channel train (SageMaker pipeline execution ${arn})`);
    });

    test('failed without a failed step: the action fails with the execution\'s reason', async () => {
      const arn = await started();
      script.status = 'Failed';
      script.failureReason = 'Pipeline execution timed out';
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message).toBe(`SageMaker pipeline execution ${arn} failed: Pipeline execution timed out`);
    });

    test('stopped: the action fails', async () => {
      const arn = await started();
      script.status = 'Stopped';
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message).toBe(`SageMaker pipeline execution ${arn} was stopped before it finished.`);
    });

    test('succeeded without a registered model package: the action fails', async () => {
      const arn = await started();
      script.steps = [{ StepName: 'EvaluateModel', StepStatus: 'Succeeded' }];
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message).toBe(
        `SageMaker pipeline execution ${arn} succeeded but registered no model package (no RegisterModel step with a model package ARN), so there is nothing to approve or deploy.`);
    });

    test('a model package without metrics: the action fails, since the approver could not decide', async () => {
      await started();
      const packageArn = await registerPackage({ metrics: false });
      script.steps = [registerStep(packageArn)];
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message).toMatch(/has no model quality statistics/);
    });

    test('an evaluation report without MSE: the action fails', async () => {
      await started();
      const packageArn = await registerPackage({ report: { regression_metrics: { mae: { value: 1 } } } });
      script.steps = [registerStep(packageArn)];
      await invoke(lastToken());
      expect(cp.lastReply().failure!.failureDetails!.message).toMatch(/evaluation\.json has no regression_metrics\.mse\.value\.$/);
    });

    test('a transient error while following keeps the action alive, and the next check goes on', async () => {
      await started();
      script.status = 'Executing';
      script.describeErrors = [Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })];
      await invoke(lastToken());
      expect(cp.lastReply().success!.executionDetails!.summary).toBe('Retrying after an error (1 of 5): ThrottlingException: Rate exceeded');
      await invoke(lastToken());
      expect(cp.lastReply().success!.executionDetails!.summary).toMatch(/^SageMaker pipeline execution is Executing/);
      expect(JSON.parse(lastToken()).e).toBe(0);
    });
  });
});

describe('metrics formatting', () => {
  test('rounds to four significant digits', () => {
    expect(formatMetric(4.512345)).toBe('4.512');
    expect(formatMetric(12.34567)).toBe('12.35');
    expect(formatMetric(0.000123456)).toBe('0.0001235');
    expect(formatMetric(undefined)).toBe('n/a');
  });

  test('puts every metric next to its configured bound', () => {
    expect(gateSummary({ ...config, maxMae: 2, minR2: 0.5 }, { mse: 4.5, mae: 1.5, r2: 0.55 }))
      .toBe('MSE 4.5 (threshold 6), MAE 1.5 (max 2), R² 0.55 (min 0.5)');
    expect(gateSummary(config, { mse: 4.5 })).toBe('MSE 4.5 (threshold 6), MAE n/a, R² n/a');
  });

  test('lists the gate\'s Fail step before other failed steps', () => {
    expect(failureMessage('arn:x', [
      { StepName: 'Other', StepStatus: 'Failed', FailureReason: 'other reason' },
      { StepName: 'FailQualityGate', StepStatus: 'Failed', Metadata: { Fail: { ErrorMessage: 'MSE 7.31 > threshold 6.0' } } },
    ])).toBe('FailQualityGate: MSE 7.31 > threshold 6.0; Other: other reason (SageMaker pipeline execution arn:x)');
  });
});
