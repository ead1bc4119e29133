/**
 * The scheduled starter. SageMaker's describe calls and StartPipelineExecution go through aws-sdk-client-mock (moto
 * has no data capture on endpoint configurations); the capture listing goes to a real moto_server over HTTP.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand, DescribeEndpointConfigCommand, DescribeModelPackageCommand, ListTagsCommand, SageMakerClient,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { StartMonitoringConfig, parseStartMonitoringConfig } from '../../src/contracts/drift-monitoring-functions';
import { TAG_MODEL_PACKAGE } from '../../src/contracts/endpoint-names';
import { monitoringWindow, qualityWindow, startMonitoring } from '../../src/model-monitoring/runtime/start-monitoring';
import { useMotoServer } from '../support/moto-server';

const moto = useMotoServer();

const BUCKET = 'artifact-bucket';
const ENDPOINT = 'abalone-endpoint';
const CONFIG_NAME = 'abalone-endpoint-3-0a1b2c3d';
const CONFIG_ARN = `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${CONFIG_NAME}`;
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/abalonemodelpackagegroup/3';
const PROFILE = 's3://artifact-bucket/pipeline-executions/abc123/PreprocessData/profile/training-profile.json';
const SCHEDULED = new Date('2026-11-26T12:10:00Z');
const CAPTURE_KEY = `data-capture/${ENDPOINT}/AllTraffic/2026/11/26/11/10-00-000-uuid.jsonl`;
/** A capture and a label of the quality window (the day before the scheduled time). */
const DAY_CAPTURE_KEY = `data-capture/${ENDPOINT}/AllTraffic/2026/11/25/17/17-03-000-uuid.jsonl`;
const GROUND_TRUTH_KEY = 'ground-truth/2026/11/25/17/pred-1.json';
const EVALUATION = 's3://artifact-bucket/pipeline-executions/abc123/EvaluateModel/evaluation/evaluation.json';

const config: StartMonitoringConfig = {
  endpointName: ENDPOINT,
  captureBucketName: BUCKET,
  pipelineName: 'abalone-monitoring',
  thresholds: { psiThreshold: 0.2, ksPValueThreshold: 0.05, driftedShareThreshold: 0.3, minRecords: 200 },
  modelQuality: { mseTolerance: 0.25, minLabels: 50 },
};

const sagemaker = mockClient(SageMakerClient);
let s3: S3Client;

function serving(overrides: {
  capture?: object | null; tags?: Array<{ Key: string; Value: string }>; metadata?: Record<string, string>; evaluation?: string | null;
} = {}) {
  sagemaker.on(DescribeEndpointCommand, { EndpointName: ENDPOINT }).resolves({ EndpointStatus: 'InService', EndpointConfigName: CONFIG_NAME });
  sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: CONFIG_NAME }).resolves({
    EndpointConfigArn: CONFIG_ARN,
    DataCaptureConfig: overrides.capture === null ? undefined : (overrides.capture as any) ?? {
      EnableCapture: true,
      InitialSamplingPercentage: 100,
      DestinationS3Uri: `s3://${BUCKET}/data-capture`,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
    },
  });
  sagemaker.on(ListTagsCommand, { ResourceArn: CONFIG_ARN }).resolves({ Tags: overrides.tags ?? [{ Key: TAG_MODEL_PACKAGE, Value: PACKAGE }] });
  sagemaker.on(DescribeModelPackageCommand, { ModelPackageName: PACKAGE }).resolves({
    ModelPackageArn: PACKAGE,
    CustomerMetadataProperties: overrides.metadata ?? { TrainingProfileS3Uri: PROFILE },
    ModelMetrics: overrides.evaluation === null ? undefined
      : { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: overrides.evaluation ?? EVALUATION } } },
  });
  sagemaker.on(StartPipelineExecutionCommand).resolves({ PipelineExecutionArn: 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone-monitoring/execution/x1y2z3' });
}

beforeAll(async () => {
  s3 = new S3Client(moto.s3ClientConfig());
});

beforeEach(async () => {
  sagemaker.reset();
  await moto.reset();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(() => sagemaker.restore());

const clients = () => ({ sagemaker: new SageMakerClient({ region: 'us-east-1' }), s3 });

test('the window is the previous full UTC hour of the scheduled time', () => {
  expect(monitoringWindow(new Date('2026-11-26T12:10:00Z')).toISOString()).toBe('2026-11-26T11:00:00.000Z');
  expect(monitoringWindow(new Date('2026-11-27T00:00:00Z')).toISOString()).toBe('2026-11-26T23:00:00.000Z');
  expect(() => monitoringWindow(new Date('nonsense'))).toThrow(/not a valid date/);
});

test('the quality window is the previous full UTC day of the scheduled time', () => {
  expect(qualityWindow(new Date('2026-11-26T12:10:00Z')).toISOString()).toBe('2026-11-25T00:00:00.000Z');
  expect(qualityWindow(new Date('2026-11-27T00:10:00Z')).toISOString()).toBe('2026-11-26T00:00:00.000Z');
  expect(qualityWindow(new Date('2026-03-01T00:00:00Z')).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  expect(() => qualityWindow(new Date('nonsense'))).toThrow(/not a valid date/);
});

test('no endpoint: nothing starts, and the reason says no model is deployed', async () => {
  const notFound = Object.assign(new Error(`Could not find endpoint "${ENDPOINT}".`), { name: 'ValidationException' });
  sagemaker.on(DescribeEndpointCommand).rejects(notFound);
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome).toEqual({ started: false, reason: `endpoint ${ENDPOINT} does not exist: no model is deployed` });
  expect(sagemaker.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test('an endpoint that is not InService: nothing starts', async () => {
  sagemaker.on(DescribeEndpointCommand).resolves({ EndpointStatus: 'Creating', EndpointConfigName: CONFIG_NAME });
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome).toEqual({ started: false, reason: `endpoint ${ENDPOINT} is Creating, not InService` });
  expect(sagemaker.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test('a served package without a training profile is skipped, naming the package', async () => {
  serving({ metadata: { InputManifestUri: 's3://data/manifest.json' } });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CAPTURE_KEY, Body: '{}' }));
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome.started).toBe(false);
  expect((outcome as any).reason).toMatch(new RegExp(`^model package ${PACKAGE} has no TrainingProfileS3Uri`));
  expect(sagemaker.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test.each([
  ['no data capture', { capture: null }, /does not capture data/],
  ['capture elsewhere', { capture: { EnableCapture: true, DestinationS3Uri: 's3://other/x', CaptureOptions: [{ CaptureMode: 'Input' }] } }, /captures to s3:\/\/other\/x, not s3:\/\/artifact-bucket\/data-capture/],
  ['responses only', { capture: { EnableCapture: true, DestinationS3Uri: `s3://${BUCKET}/data-capture`, CaptureOptions: [{ CaptureMode: 'Output' }] } }, /does not capture requests/],
  ['no package tag', { tags: [] }, /has no cdk-mlops-abalone:model-package tag/],
])('%s: skipped with a message', async (_name, overrides, reason) => {
  serving(overrides as any);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CAPTURE_KEY, Body: '{}' }));
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome.started).toBe(false);
  expect((outcome as any).reason).toMatch(reason);
  expect(sagemaker.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test('an hour without captures is skipped', async () => {
  serving();
  // A capture of the current hour does not count for the previous one.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CAPTURE_KEY.replace('/11/', '/12/'), Body: '{}' }));
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome).toEqual({ started: false, reason: expect.stringMatching(/^no captures of abalone-endpoint in the hour from 2026-11-26T11:00:00.000Z/) });
});

test('a deployed model with a profile and captures starts the pipeline on the previous hour with the thresholds', async () => {
  serving();
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: CAPTURE_KEY, Body: '{}' }));
  const outcome = await startMonitoring(clients(), config, SCHEDULED);
  expect(outcome.started).toBe(true);
  const calls = sagemaker.commandCalls(StartPipelineExecutionCommand);
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input;
  expect(input.PipelineName).toBe('abalone-monitoring');
  expect(input.PipelineExecutionDisplayName).toBe('drift-20261126T11');
  expect(Object.fromEntries(input.PipelineParameters!.map((p) => [p.Name, p.Value]))).toEqual({
    EndpointName: ENDPOINT,
    ModelPackageArn: PACKAGE,
    TrainingProfileS3Uri: PROFILE,
    CaptureS3Prefix: `s3://${BUCKET}/data-capture/${ENDPOINT}/AllTraffic/2026/11/26/11`,
    WindowStart: '2026-11-26T11:00:00.000Z',
    PsiThreshold: '0.2',
    KsPValueThreshold: '0.05',
    DriftedShareThreshold: '0.3',
    MinRecords: '200',
    // No ground truth for 2026-11-25: the quality step is skipped, its S3 parameters are still valid URIs.
    HasGroundTruth: '0',
    QualityCaptureS3Prefix: `s3://${BUCKET}/data-capture/${ENDPOINT}/AllTraffic/2026/11/25`,
    GroundTruthS3Prefix: `s3://${BUCKET}/ground-truth/2026/11/25`,
    QualityWindowStart: '2026-11-25T00:00:00.000Z',
    RegisteredMetricsS3Uri: EVALUATION,
    MseTolerance: '0.25',
    MinLabels: '50',
  });
  expect(outcome).toMatchObject({ modelQuality: { evaluated: false, reason: `no ground truth for predictions of 2026-11-25 (s3://${BUCKET}/ground-truth/2026/11/25/)` } });
  expect(input.ClientRequestToken).toMatch(/^[0-9a-f]{64}$/);
  // A repeated delivery for the same window asks SageMaker with the same token (one execution).
  await startMonitoring(clients(), config, new Date('2026-11-26T12:40:00Z'));
  expect(sagemaker.commandCalls(StartPipelineExecutionCommand)[1].args[0].input.ClientRequestToken).toBe(input.ClientRequestToken);
});

describe('model quality', () => {
  const parametersOf = () => Object.fromEntries(
    sagemaker.commandCalls(StartPipelineExecutionCommand)[0].args[0].input.PipelineParameters!.map((p) => [p.Name, p.Value]));
  const put = (Key: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: '{}' }));

  test('ground truth and captures for the previous day and registered metrics: the run judges quality', async () => {
    serving();
    await Promise.all([put(CAPTURE_KEY), put(DAY_CAPTURE_KEY), put(GROUND_TRUTH_KEY)]);
    const outcome = await startMonitoring(clients(), { ...config, modelQuality: { mseTolerance: 0.4, minLabels: 80 } }, SCHEDULED);
    expect(outcome).toMatchObject({ started: true, modelQuality: { evaluated: true } });
    expect(parametersOf()).toMatchObject({
      HasGroundTruth: '1',
      QualityCaptureS3Prefix: `s3://${BUCKET}/data-capture/${ENDPOINT}/AllTraffic/2026/11/25`,
      GroundTruthS3Prefix: `s3://${BUCKET}/ground-truth/2026/11/25`,
      QualityWindowStart: '2026-11-25T00:00:00.000Z',
      RegisteredMetricsS3Uri: EVALUATION,
      MseTolerance: '0.4',
      MinLabels: '80',
    });
    expect(sagemaker.commandCalls(StartPipelineExecutionCommand)[0].args[0].input.PipelineExecutionDescription).toMatch(/model quality on 2026-11-25$/);
  });

  test('a label of another day does not count', async () => {
    serving();
    await Promise.all([put(CAPTURE_KEY), put(DAY_CAPTURE_KEY), put('ground-truth/2026/11/24/23/pred-0.json'), put('ground-truth/2026/11/26/01/pred-2.json')]);
    const outcome = await startMonitoring(clients(), config, SCHEDULED);
    expect(outcome).toMatchObject({ started: true, modelQuality: { evaluated: false } });
    expect(parametersOf().HasGroundTruth).toBe('0');
  });

  test('a package without registered metrics: drift runs, quality is off, and the reason names the package', async () => {
    serving({ evaluation: null });
    await Promise.all([put(CAPTURE_KEY), put(DAY_CAPTURE_KEY), put(GROUND_TRUTH_KEY)]);
    const outcome = await startMonitoring(clients(), config, SCHEDULED);
    expect(outcome).toMatchObject({
      started: true,
      modelQuality: { evaluated: false, reason: expect.stringMatching(new RegExp(`^model package ${PACKAGE} has no ModelMetrics.ModelQuality.Statistics`)) },
    });
    const parameters = parametersOf();
    expect(parameters.HasGroundTruth).toBe('0');
    // Left to its default (a valid S3 URI) rather than passed empty.
    expect(parameters).not.toHaveProperty('RegisteredMetricsS3Uri');
  });

  test('ground truth without captures of the day (e.g. sampled out): quality is off, since the job would refuse the empty prefix', async () => {
    serving();
    await Promise.all([put(CAPTURE_KEY), put(GROUND_TRUTH_KEY)]);
    const outcome = await startMonitoring(clients(), config, SCHEDULED);
    expect(outcome).toMatchObject({ started: true, modelQuality: { evaluated: false, reason: expect.stringMatching(/^ground truth but no captures for 2026-11-25/) } });
    expect(parametersOf().HasGroundTruth).toBe('0');
  });
});

test('the configuration is checked, naming the bad field', () => {
  expect(parseStartMonitoringConfig(JSON.stringify(config))).toEqual(config);
  expect(() => parseStartMonitoringConfig(undefined)).toThrow(/DRIFT_MONITORING_CONFIG is not set/);
  expect(() => parseStartMonitoringConfig(JSON.stringify({ ...config, thresholds: { ...config.thresholds, minRecords: 0 } })))
    .toThrow(/DRIFT_MONITORING_CONFIG.thresholds.minRecords is missing or invalid/);
  expect(() => parseStartMonitoringConfig(JSON.stringify({ ...config, modelQuality: undefined }))).toThrow(/DRIFT_MONITORING_CONFIG.modelQuality is missing/);
  expect(() => parseStartMonitoringConfig(JSON.stringify({ ...config, modelQuality: { mseTolerance: 0, minLabels: 50 } })))
    .toThrow(/DRIFT_MONITORING_CONFIG.modelQuality.mseTolerance is missing or invalid/);
  expect(() => parseStartMonitoringConfig(JSON.stringify({ ...config, modelQuality: { mseTolerance: 0.25, minLabels: 1 } })))
    .toThrow(/DRIFT_MONITORING_CONFIG.modelQuality.minLabels is missing or invalid/);
});
