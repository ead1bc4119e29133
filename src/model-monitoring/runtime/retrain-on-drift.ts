/**
 * Retraining on drift or degradation: start the release pipeline when the drift alarm or the model-quality alarm
 * fires, unless the release pipeline ran recently (one cooldown for both alarms). CodePipeline's own execution
 * history is the memory: every execution (whoever started it) trains on the latest data manifest, so one that
 * started within the cooldown, or one still in progress, already covers this episode. No extra state to keep in
 * step with what really ran.
 */
import {
  CodePipelineClient,
  ListPipelineExecutionsCommand,
  PipelineExecutionSummary,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import type { RetrainOnDriftConfig } from '../../contracts/drift-monitoring-functions';

/** The alarm state change that asks for a retrain. */
export interface RetrainTrigger {
  /** The EventBridge event id: a redelivered event starts no second execution. */
  readonly eventId: string;
  readonly alarmName: string;
}

/** What one invocation did. */
export type RetrainOutcome =
  | { readonly started: true; readonly pipelineExecutionId: string }
  | { readonly started: false; readonly reason: string };

/** Executions looked at: the newest, and any of the recent ones still in progress (the API's maximum is 100). */
const PAGE_SIZE = 25;

/** Starts the release pipeline for a drift or model-quality alarm unless it ran within the cooldown or is running. */
export async function retrainOnDrift(
  codepipeline: CodePipelineClient,
  config: RetrainOnDriftConfig,
  trigger: RetrainTrigger,
  now: number = Date.now(),
): Promise<RetrainOutcome> {
  const cutoff = now - config.cooldownSeconds * 1000;
  const recent = await recentExecution(codepipeline, config.releasePipelineName, cutoff);
  if (recent) {
    const started = recent.startTime ? new Date(recent.startTime).toISOString() : 'an unknown time';
    const why = recent.status === 'InProgress' ? 'is in progress' : `started at ${started}, within the ${config.cooldownSeconds} s cooldown`;
    return {
      started: false,
      reason: `${trigger.alarmName}: release pipeline ${config.releasePipelineName} execution ${recent.pipelineExecutionId} `
        + `(${recent.status}, ${recent.trigger?.triggerType ?? 'unknown trigger'}) ${why}; it trains on the latest data, so no new start`,
    };
  }
  const out = await codepipeline.send(new StartPipelineExecutionCommand({
    name: config.releasePipelineName,
    clientRequestToken: `drift-${trigger.eventId}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 128),
  }));
  return { started: true, pipelineExecutionId: out.pipelineExecutionId ?? '' };
}

/**
 * The newest execution that is in progress or started at or after `cutoff`, if any. Executions come newest first,
 * so the first page decides: if its newest started before the cutoff, every older one did too.
 */
async function recentExecution(
  codepipeline: CodePipelineClient, pipelineName: string, cutoff: number,
): Promise<PipelineExecutionSummary | undefined> {
  const page = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: PAGE_SIZE }));
  return (page.pipelineExecutionSummaries ?? [])
    .find((e) => e.status === 'InProgress' || (e.startTime !== undefined && new Date(e.startTime).getTime() >= cutoff));
}
