/**
 * Run by the EventBridge rule on the monitoring pipeline's "Succeeded" status change: publishes the run's drift
 * report, and its model-quality report when it judged quality, as CloudWatch metrics. Thin on purpose: the logic is
 * in `publish-drift-metrics.ts`.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { EventBridgeEvent } from 'aws-lambda';
import { DriftMetricsClients, publishDriftMetrics } from './publish-drift-metrics';
import { DRIFT_FUNCTION_CONFIG_ENV, parsePublishDriftMetricsConfig } from '../../contracts/drift-monitoring-functions';

const clients: DriftMetricsClients = { s3: new S3Client({}), cloudwatch: new CloudWatchClient({}), sagemaker: new SageMakerClient({}) };

/** The part of SageMaker's "Model Building Pipeline Execution Status Change" event this function reads. */
export interface PipelineExecutionStatusChange {
  readonly pipelineExecutionArn?: string;
  readonly currentPipelineExecutionStatus?: string;
}

export async function handler(event: EventBridgeEvent<string, PipelineExecutionStatusChange>): Promise<void> {
  const config = parsePublishDriftMetricsConfig(process.env[DRIFT_FUNCTION_CONFIG_ENV]);
  const arn = event.detail?.pipelineExecutionArn;
  if (!arn) throw new Error('the event has no detail.pipelineExecutionArn');
  const outcome = await publishDriftMetrics(clients, config, arn);
  console.log(JSON.stringify({ pipelineExecutionArn: arn, ...outcome }));
}
