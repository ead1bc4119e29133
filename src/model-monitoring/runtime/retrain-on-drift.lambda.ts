/**
 * Run by the EventBridge rule on the drift or the model-quality alarm entering ALARM: starts the release pipeline
 * unless it ran within the cooldown. Thin on purpose: the logic is in `retrain-on-drift.ts`.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { EventBridgeEvent } from 'aws-lambda';
import { retrainOnDrift } from './retrain-on-drift';
import { DRIFT_FUNCTION_CONFIG_ENV, parseRetrainOnDriftConfig } from '../../contracts/drift-monitoring-functions';

const codepipeline = new CodePipelineClient({});

/** The part of CloudWatch's "Alarm State Change" event this function reads. */
export interface AlarmStateChange {
  readonly alarmName?: string;
  readonly state?: { readonly value?: string };
}

export async function handler(event: EventBridgeEvent<string, AlarmStateChange>): Promise<void> {
  const config = parseRetrainOnDriftConfig(process.env[DRIFT_FUNCTION_CONFIG_ENV]);
  const outcome = await retrainOnDrift(codepipeline, config, {
    eventId: event.id,
    alarmName: event.detail?.alarmName ?? 'unknown alarm',
  });
  console.log(JSON.stringify({ alarmName: event.detail?.alarmName, ...outcome }));
}
