/**
 * After a monitoring run succeeds: read its drift report (at the path the monitoring definition writes it, from the
 * execution id) and, when the run judged model quality, its model-quality report, and publish them as CloudWatch
 * metrics. The job itself is network-isolated and has no CloudWatch permission, so the metrics are published here.
 */
import { CloudWatchClient, MetricDatum, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListPipelineExecutionStepsCommand, ListPipelineExecutionStepsCommandOutput, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { PublishDriftMetricsConfig } from '../../contracts/drift-monitoring-functions';
import {
  DRIFT_STATUS, DriftReport, MODEL_QUALITY_METRICS as QM, MODEL_QUALITY_REPORT, MODEL_QUALITY_STATUS, MONITORING_METRICS as M,
  ModelQualityReport, driftReportS3Uri, modelQualityReportS3Uri,
} from '../../contracts/monitoring';

/** The AWS clients of the metrics function; tests point them at moto_server or stub them. */
export interface DriftMetricsClients {
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
  /** Lists the execution's steps: the quality step runs only when the starter found ground truth. */
  readonly sagemaker: SageMakerClient;
}

/** What the model-quality part of one invocation published. */
export interface ModelQualityMetricsOutcome {
  readonly reportS3Uri: string;
  readonly status: ModelQualityReport['status'];
  readonly labelledCount: number;
  readonly metricCount: number;
}

/** What one invocation published. */
export interface DriftMetricsOutcome {
  readonly reportS3Uri: string;
  readonly status: DriftReport['status'];
  readonly endpointName: string;
  /** Drift and model-quality metrics together. */
  readonly metricCount: number;
  /** Absent when the run did not judge model quality (no ground truth or no registered metrics for its day). */
  readonly modelQuality?: ModelQualityMetricsOutcome;
}

/** Metrics per PutMetricData call: CloudWatch's limit was 20 before it became 1,000; 20 works everywhere. */
const METRICS_PER_CALL = 20;

/** SageMaker pipeline execution ARNs: `arn:<partition>:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>`. */
const EXECUTION_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline\/[^/]+\/execution\/([A-Za-z0-9]+)$/;

/** Reads the drift report of a succeeded monitoring execution and publishes its metrics. */
export async function publishDriftMetrics(
  clients: DriftMetricsClients,
  config: PublishDriftMetricsConfig,
  pipelineExecutionArn: string,
): Promise<DriftMetricsOutcome> {
  const match = EXECUTION_ARN.exec(pipelineExecutionArn);
  if (!match) throw new Error(`${pipelineExecutionArn} is not a SageMaker pipeline execution ARN`);
  const reportS3Uri = driftReportS3Uri(config.outputS3Uri, match[1]);
  const report = parseDriftReport(await readObject(clients.s3, reportS3Uri), reportS3Uri);
  const data = driftMetricData(report);

  let modelQuality: ModelQualityMetricsOutcome | undefined;
  if (await ranQualityStep(clients.sagemaker, pipelineExecutionArn)) {
    const qualityS3Uri = modelQualityReportS3Uri(config.outputS3Uri, match[1]);
    const quality = parseModelQualityReport(await readObject(clients.s3, qualityS3Uri), qualityS3Uri);
    const qualityData = modelQualityMetricData(quality);
    data.push(...qualityData);
    modelQuality = { reportS3Uri: qualityS3Uri, status: quality.status, labelledCount: quality.labelledCount, metricCount: qualityData.length };
  }

  for (let i = 0; i < data.length; i += METRICS_PER_CALL) {
    await clients.cloudwatch.send(new PutMetricDataCommand({ Namespace: M.namespace, MetricData: data.slice(i, i + METRICS_PER_CALL) }));
  }
  return {
    reportS3Uri, status: report.status, endpointName: report.endpointName, metricCount: data.length, ...(modelQuality ? { modelQuality } : {}),
  };
}

/** Whether the execution's quality step ran and succeeded (a false `HasGroundTruth` condition skips it). */
async function ranQualityStep(sagemaker: SageMakerClient, pipelineExecutionArn: string): Promise<boolean> {
  let nextToken: string | undefined;
  do {
    const page: ListPipelineExecutionStepsCommandOutput = await sagemaker.send(new ListPipelineExecutionStepsCommand({
      PipelineExecutionArn: pipelineExecutionArn, NextToken: nextToken,
    }));
    const step = (page.PipelineExecutionSteps ?? []).find((s) => s.StepName === MODEL_QUALITY_REPORT.stepName);
    if (step) return step.StepStatus === 'Succeeded';
    nextToken = page.NextToken;
  } while (nextToken);
  return false;
}

async function readObject(s3: S3Client, uri: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`${uri} is not an s3://bucket/key URI`);
  const object = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
  if (!object.Body) throw new Error(`${uri} has no body`);
  return object.Body.transformToString('utf-8');
}

/** Parses a drift report and checks the fields the metrics come from; throws naming the first bad one. */
export function parseDriftReport(text: string, source: string): DriftReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`the drift report ${source} is not JSON: ${(error as Error).message}`);
  }
  const bad = (field: string) => new Error(`the drift report ${source} has a missing or invalid ${field}`);
  const r = value as Record<string, any>;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('document');
  if (!(Object.values(DRIFT_STATUS) as unknown[]).includes(r.status)) throw bad('status');
  if (typeof r.endpointName !== 'string' || r.endpointName.length === 0) throw bad('endpointName');
  if (!Number.isInteger(r.recordCount) || r.recordCount < 0) throw bad('recordCount');
  if (typeof r.features !== 'object' || r.features === null || Array.isArray(r.features)) throw bad('features');
  if (r.status !== DRIFT_STATUS.insufficientData) {
    if (!isFiniteNumber(r.driftedShare) || r.driftedShare < 0 || r.driftedShare > 1) throw bad('driftedShare');
    for (const [name, f] of Object.entries<any>(r.features)) {
      if (typeof f !== 'object' || f === null) throw bad(`features.${name}`);
      if (!isFiniteNumber(f.psi)) throw bad(`features.${name}.psi`);
      if (f.kind === 'numeric' && !isFiniteNumber(f.ks)) throw bad(`features.${name}.ks`);
    }
  }
  return r as DriftReport;
}

/**
 * The report as CloudWatch metrics: per endpoint the captured records, and unless the window had too few records
 * to judge, the drifted feature share and each feature's PSI (and KS statistic for numeric features).
 */
export function driftMetricData(report: DriftReport): MetricDatum[] {
  const endpoint = { Name: M.endpointDimension, Value: report.endpointName };
  const data: MetricDatum[] = [
    { MetricName: M.recordCount, Dimensions: [endpoint], Value: report.recordCount, Unit: StandardUnit.Count },
  ];
  if (report.status === DRIFT_STATUS.insufficientData) return data;
  data.push({ MetricName: M.driftedShare, Dimensions: [endpoint], Value: report.driftedShare, Unit: StandardUnit.None });
  for (const [feature, drift] of Object.entries(report.features)) {
    const dimensions = [endpoint, { Name: M.featureDimension, Value: feature }];
    data.push({ MetricName: M.featurePsi, Dimensions: dimensions, Value: drift.psi, Unit: StandardUnit.None });
    if (drift.ks !== undefined) data.push({ MetricName: M.featureKs, Dimensions: dimensions, Value: drift.ks, Unit: StandardUnit.None });
  }
  return data;
}

/** Parses a model-quality report and checks the fields the metrics come from; throws naming the first bad one. */
export function parseModelQualityReport(text: string, source: string): ModelQualityReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`the model-quality report ${source} is not JSON: ${(error as Error).message}`);
  }
  const bad = (field: string) => new Error(`the model-quality report ${source} has a missing or invalid ${field}`);
  const r = value as Record<string, any>;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw bad('document');
  if (!(Object.values(MODEL_QUALITY_STATUS) as unknown[]).includes(r.status)) throw bad('status');
  if (typeof r.endpointName !== 'string' || r.endpointName.length === 0) throw bad('endpointName');
  if (!Number.isInteger(r.labelledCount) || r.labelledCount < 0) throw bad('labelledCount');
  if (r.status !== MODEL_QUALITY_STATUS.insufficientLabels) {
    if (typeof r.live !== 'object' || r.live === null) throw bad('live');
    for (const name of ['mse', 'mae', 'r2']) if (!isFiniteNumber(r.live[name])) throw bad(`live.${name}`);
    if (!isFiniteNumber(r.mseRatio) || r.mseRatio < 0) throw bad('mseRatio');
  }
  return r as ModelQualityReport;
}

/**
 * The model-quality report as CloudWatch metrics: the labelled predictions of the day always; the live MSE, MAE,
 * R² and the ratio of live to registered MSE when there were enough labels to judge.
 */
export function modelQualityMetricData(report: ModelQualityReport): MetricDatum[] {
  const endpoint = [{ Name: M.endpointDimension, Value: report.endpointName }];
  const data: MetricDatum[] = [
    { MetricName: QM.labelledCount, Dimensions: endpoint, Value: report.labelledCount, Unit: StandardUnit.Count },
  ];
  if (report.status === MODEL_QUALITY_STATUS.insufficientLabels || !report.live || report.mseRatio === undefined) return data;
  data.push(
    { MetricName: QM.liveMse, Dimensions: endpoint, Value: report.live.mse, Unit: StandardUnit.None },
    { MetricName: QM.liveMae, Dimensions: endpoint, Value: report.live.mae, Unit: StandardUnit.None },
    { MetricName: QM.liveR2, Dimensions: endpoint, Value: report.live.r2, Unit: StandardUnit.None },
    { MetricName: QM.mseRatio, Dimensions: endpoint, Value: report.mseRatio, Unit: StandardUnit.None },
  );
  return data;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
