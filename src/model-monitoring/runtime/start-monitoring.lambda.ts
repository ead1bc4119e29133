/**
 * Run by EventBridge Scheduler: starts the monitoring pipeline on the previous hour's captures. Thin on purpose: the
 * logic is in `start-monitoring.ts`.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { StartMonitoringClients, startMonitoring } from './start-monitoring';
import { DRIFT_FUNCTION_CONFIG_ENV, parseStartMonitoringConfig } from '../../contracts/drift-monitoring-functions';

const clients: StartMonitoringClients = { sagemaker: new SageMakerClient({}), s3: new S3Client({}) };

/** The schedule's input: `<aws.scheduler.scheduled-time>`, so a retried delivery judges the same window. */
export interface ScheduledEvent {
  readonly scheduledTime?: string;
}

export async function handler(event: ScheduledEvent): Promise<void> {
  const config = parseStartMonitoringConfig(process.env[DRIFT_FUNCTION_CONFIG_ENV]);
  const scheduledTime = event?.scheduledTime ? new Date(event.scheduledTime) : new Date();
  const outcome = await startMonitoring(clients, config, scheduledTime);
  console.log(JSON.stringify({ endpointName: config.endpointName, scheduledTime: scheduledTime.toISOString(), ...outcome }));
}
