/**
 * The metrics function against a real moto_server (S3 and CloudWatch over HTTP). Which steps an execution ran
 * (ListPipelineExecutionSteps) goes through aws-sdk-client-mock: moto does not run pipeline definitions.
 */
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListPipelineExecutionStepsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { parsePublishDriftMetricsConfig } from '../../src/contracts/drift-monitoring-functions';
import { DriftReport, FeatureDrift, ModelQualityReport } from '../../src/contracts/monitoring';
import {
  driftMetricData, modelQualityMetricData, parseDriftReport, parseModelQualityReport, publishDriftMetrics,
} from '../../src/model-monitoring/runtime/publish-drift-metrics';
import { useMotoServer } from '../support/moto-server';

const moto = useMotoServer();
const BUCKET = 'artifact-bucket';
const config = { outputS3Uri: `s3://${BUCKET}/drift-reports` };
const executionArn = (id: string) => `arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone-monitoring/execution/${id}`;

const summary = { mean: 0.5, p25: 0.4, median: 0.5, p75: 0.6 };
function numeric(psi: number, ks: number, pValue: number, drifted: boolean): FeatureDrift {
  return { kind: 'numeric', psi, ks, ksPValue: pValue, drifted, driftedBy: drifted ? ['psi', 'ks'] : [], baseline: summary, served: summary };
}
const NUMERIC = ['length', 'diameter', 'height', 'whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight'];

function report(status: DriftReport['status'], overrides: Partial<DriftReport> = {}): DriftReport {
  const drift = status === 'drift';
  const features: Record<string, FeatureDrift> = status === 'insufficient_data' ? {} : Object.fromEntries([
    ...NUMERIC.map((f, i) => [f, drift && i >= 3 ? numeric(0.9, 0.4, 1e-30, true) : numeric(0.01, 0.03, 0.6, false)]),
    ['sex', { kind: 'categorical', psi: drift ? 0.5 : 0.002, drifted: drift, driftedBy: drift ? ['psi'] : [], baseline: { frequencies: { M: 0.36, F: 0.31, I: 0.33 } }, served: { frequencies: { M: 0.36, F: 0.31, I: 0.33 } } }],
  ]);
  const drifted = Object.entries(features).filter(([, f]) => f.drifted).map(([n]) => n);
  return {
    status,
    endpointName: 'abalone-endpoint',
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3',
    windowStart: '2026-11-26T11:00:00.000Z',
    recordCount: status === 'insufficient_data' ? 37 : 1000,
    skippedRecords: 0,
    skippedReasons: {},
    profileRecordCount: 2923,
    thresholds: { psi: 0.2, ksPValue: 0.05, driftedShare: 0.3, minRecords: 200 },
    features,
    driftedShare: drifted.length / 8,
    driftedFeatures: drifted,
    generatedAt: '2026-11-26T12:14:00Z',
    ...overrides,
  };
}

function qualityReport(status: ModelQualityReport['status'], overrides: Partial<ModelQualityReport> = {}): ModelQualityReport {
  const judged = status !== 'insufficient_labels';
  return {
    status,
    endpointName: 'abalone-endpoint',
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3',
    windowStart: '2026-11-25T00:00:00.000Z',
    predictionCount: 500,
    labelledCount: judged ? 300 : 12,
    unmatchedLabels: 0,
    skippedRecords: 0,
    skippedReasons: {},
    ...(judged ? { live: { mse: status === 'degraded' ? 7.2 : 4.6, mae: 1.6, r2: 0.52 }, mseRatio: status === 'degraded' ? 1.6 : 1.02 } : {}),
    registered: { mse: 4.5, mae: 1.5, r2: 0.55 },
    thresholds: { mseTolerance: 0.25, minLabels: 50 },
    generatedAt: '2026-11-26T12:14:00Z',
    ...overrides,
  };
}

const sagemakerMock = mockClient(SageMakerClient);
/** The steps ListPipelineExecutionSteps reports: the quality step only when the condition was true. */
function steps(qualityStatus?: string): void {
  sagemakerMock.on(ListPipelineExecutionStepsCommand).resolves({
    PipelineExecutionSteps: [
      ...(qualityStatus ? [{ StepName: 'MonitorModelQuality', StepStatus: qualityStatus as any }] : []),
      { StepName: 'HasGroundTruth', StepStatus: 'Succeeded' },
      { StepName: 'MonitorDrift', StepStatus: 'Succeeded' },
    ],
  });
}

let s3: S3Client;
let cloudwatch: CloudWatchClient;
let sagemaker: SageMakerClient;
beforeAll(() => {
  s3 = new S3Client(moto.s3ClientConfig());
  cloudwatch = new CloudWatchClient(moto.clientConfig());
  sagemaker = new SageMakerClient({ region: 'us-east-1' });
});
beforeEach(async () => {
  sagemakerMock.reset();
  steps();
  await moto.reset();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(() => sagemakerMock.restore());

async function putQuality(id: string, body: unknown): Promise<void> {
  await s3.send(new PutObjectCommand({
    Bucket: BUCKET,
    Key: `drift-reports/${id}/MonitorModelQuality/quality/model-quality-report.json`,
    Body: typeof body === 'string' ? body : JSON.stringify(body),
  }));
}

async function put(id: string, body: unknown): Promise<void> {
  await s3.send(new PutObjectCommand({
    Bucket: BUCKET, Key: `drift-reports/${id}/MonitorDrift/report/drift-report.json`, Body: typeof body === 'string' ? body : JSON.stringify(body),
  }));
}

async function maximum(metricName: string, dimensions: Record<string, string>): Promise<number | undefined> {
  const out = await cloudwatch.send(new GetMetricStatisticsCommand({
    Namespace: 'MlopsAbalone/Monitoring',
    MetricName: metricName,
    Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
    StartTime: new Date(Date.now() - 3_600_000),
    EndTime: new Date(Date.now() + 3_600_000),
    Period: 3600,
    Statistics: ['Maximum'],
  }));
  return out.Datapoints?.[0]?.Maximum;
}

test('a drifted window publishes the drifted share, each feature\'s PSI and KS and the record count', async () => {
  await put('exec1drift', report('drift'));
  const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec1drift'));
  expect(outcome).toEqual({
    reportS3Uri: `s3://${BUCKET}/drift-reports/exec1drift/MonitorDrift/report/drift-report.json`,
    status: 'drift',
    endpointName: 'abalone-endpoint',
    metricCount: 2 + 8 + 7,
  });
  const endpoint = { EndpointName: 'abalone-endpoint' };
  expect(await maximum('DriftedFeatureShare', endpoint)).toBe(5 / 8);
  expect(await maximum('CapturedRecords', endpoint)).toBe(1000);
  expect(await maximum('FeaturePSI', { ...endpoint, Feature: 'whole_weight' })).toBe(0.9);
  expect(await maximum('FeatureKS', { ...endpoint, Feature: 'whole_weight' })).toBe(0.4);
  expect(await maximum('FeaturePSI', { ...endpoint, Feature: 'sex' })).toBe(0.5);
  const ks = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MlopsAbalone/Monitoring', MetricName: 'FeatureKS' }));
  expect(ks.Metrics!.map((m) => m.Dimensions!.find((d) => d.Name === 'Feature')!.Value).sort()).toEqual([...NUMERIC].sort());
});

test('an in-distribution window publishes a drifted share of 0', async () => {
  await put('exec2ok', report('ok'));
  const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec2ok'));
  expect(outcome.status).toBe('ok');
  expect(await maximum('DriftedFeatureShare', { EndpointName: 'abalone-endpoint' })).toBe(0);
});

test('an insufficient-data window publishes the record count only', async () => {
  await put('exec3few', report('insufficient_data', { message: '37 records, fewer than 200' }));
  const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec3few'));
  expect(outcome.metricCount).toBe(1);
  expect(await maximum('CapturedRecords', { EndpointName: 'abalone-endpoint' })).toBe(37);
  const all = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MlopsAbalone/Monitoring' }));
  expect(all.Metrics!.map((m) => m.MetricName)).toEqual(['CapturedRecords']);
});

test('a missing or malformed report fails naming what is wrong', async () => {
  await expect(publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('nothere'))).rejects.toThrow(/NoSuchKey|does not exist/);
  await put('bad1', 'not json');
  await expect(publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('bad1'))).rejects.toThrow(/is not JSON/);
  await expect(publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/x')).rejects.toThrow(/not a SageMaker pipeline execution ARN/);
});

describe('model quality', () => {
  test('a run whose quality step ran publishes the labelled count, live MSE, MAE, R² and the MSE ratio beside the drift metrics', async () => {
    steps('Succeeded');
    await put('exec5q', report('ok'));
    await putQuality('exec5q', qualityReport('degraded'));
    const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec5q'));
    expect(outcome.modelQuality).toEqual({
      reportS3Uri: `s3://${BUCKET}/drift-reports/exec5q/MonitorModelQuality/quality/model-quality-report.json`,
      status: 'degraded',
      labelledCount: 300,
      metricCount: 5,
    });
    expect(outcome.metricCount).toBe(2 + 8 + 7 + 5);
    const endpoint = { EndpointName: 'abalone-endpoint' };
    expect(await maximum('LabelledPredictions', endpoint)).toBe(300);
    expect(await maximum('LiveMSE', endpoint)).toBe(7.2);
    expect(await maximum('LiveMAE', endpoint)).toBe(1.6);
    expect(await maximum('LiveR2', endpoint)).toBe(0.52);
    expect(await maximum('MseRatio', endpoint)).toBe(1.6);
    expect(await maximum('DriftedFeatureShare', endpoint)).toBe(0);
    expect(sagemakerMock.commandCalls(ListPipelineExecutionStepsCommand)[0].args[0].input.PipelineExecutionArn).toBe(executionArn('exec5q'));
  });

  test('too few labels: only the labelled count, no ratio to alarm on', async () => {
    steps('Succeeded');
    await put('exec6few', report('ok'));
    await putQuality('exec6few', qualityReport('insufficient_labels', { message: '12 labelled predictions, fewer than 50' }));
    const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec6few'));
    expect(outcome.modelQuality).toMatchObject({ status: 'insufficient_labels', labelledCount: 12, metricCount: 1 });
    const names = (await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MlopsAbalone/Monitoring' }))).Metrics!.map((m) => m.MetricName);
    expect(names).toContain('LabelledPredictions');
    expect(names).not.toContain('MseRatio');
    expect(names).not.toContain('LiveMSE');
  });

  test('a run that skipped the quality step publishes drift metrics only and reads no quality report', async () => {
    await put('exec7skip', report('ok'));
    // A stale report under the same id must not be read when the step did not run.
    await putQuality('exec7skip', qualityReport('degraded'));
    const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec7skip'));
    expect(outcome.modelQuality).toBeUndefined();
    const names = (await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MlopsAbalone/Monitoring' }))).Metrics!.map((m) => m.MetricName);
    expect(names).not.toContain('LabelledPredictions');
  });

  test('the steps are read across pages', async () => {
    sagemakerMock.on(ListPipelineExecutionStepsCommand)
      .resolvesOnce({ PipelineExecutionSteps: [{ StepName: 'MonitorDrift', StepStatus: 'Succeeded' }], NextToken: 'page2' })
      .resolvesOnce({ PipelineExecutionSteps: [{ StepName: 'MonitorModelQuality', StepStatus: 'Succeeded' }] });
    await put('exec8pages', report('ok'));
    await putQuality('exec8pages', qualityReport('ok'));
    const outcome = await publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec8pages'));
    expect(outcome.modelQuality?.status).toBe('ok');
    expect(sagemakerMock.commandCalls(ListPipelineExecutionStepsCommand)[1].args[0].input.NextToken).toBe('page2');
  });

  test('a quality step that ran without leaving a readable report fails the invocation, naming it', async () => {
    steps('Succeeded');
    await put('exec9bad', report('ok'));
    await expect(publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec9bad'))).rejects.toThrow(/NoSuchKey|does not exist/);
    await putQuality('exec9bad', 'not json');
    await expect(publishDriftMetrics({ s3, cloudwatch, sagemaker }, config, executionArn('exec9bad'))).rejects.toThrow(/model-quality report .* is not JSON/);
  });

  test('the quality report is checked field by field', () => {
    const text = (r: object) => JSON.stringify(r);
    expect(() => parseModelQualityReport(text({ ...qualityReport('ok'), status: 'fine' }), 'r')).toThrow(/invalid status/);
    expect(() => parseModelQualityReport(text({ ...qualityReport('ok'), labelledCount: -1 }), 'r')).toThrow(/invalid labelledCount/);
    expect(() => parseModelQualityReport(text({ ...qualityReport('ok'), mseRatio: undefined }), 'r')).toThrow(/invalid mseRatio/);
    expect(() => parseModelQualityReport(text({ ...qualityReport('degraded'), live: { mse: 1, mae: 1 } }), 'r')).toThrow(/invalid live.r2/);
    expect(parseModelQualityReport(text(qualityReport('insufficient_labels')), 'r').status).toBe('insufficient_labels');
    expect(modelQualityMetricData(qualityReport('ok')).map((d) => d.MetricName)).toEqual(['LabelledPredictions', 'LiveMSE', 'LiveMAE', 'LiveR2', 'MseRatio']);
  });
});

test('the report is checked field by field', () => {
  expect(() => parseDriftReport(JSON.stringify({ ...report('ok'), status: 'fine' }), 'r')).toThrow(/invalid status/);
  expect(() => parseDriftReport(JSON.stringify({ ...report('ok'), driftedShare: 2 }), 'r')).toThrow(/invalid driftedShare/);
  const noKs = report('ok');
  (noKs.features.length as any).ks = undefined;
  expect(() => parseDriftReport(JSON.stringify(noKs), 'r')).toThrow(/features.length.ks/);
  expect(driftMetricData(report('ok')).every((d) => d.Dimensions![0].Value === 'abalone-endpoint')).toBe(true);
  expect(() => parsePublishDriftMetricsConfig('{"outputS3Uri":"bucket/x"}')).toThrow(/outputS3Uri is missing or invalid/);
});
