/**
 * CodePipeline Lambda-action jobs: one step of an action per invocation, continued through continuation tokens,
 * answered with exactly one PutJobSuccessResult or PutJobFailureResult (or none, when the step stopped its own
 * pipeline execution). The action logic returns a {@link JobOutcome}; this module owns the replies and their limits.
 */
import {
  CodePipelineClient,
  FailureType,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import type { Artifact, CodePipelineEvent, Credentials } from 'aws-lambda';
import { messageOf } from '../../contracts/error-messages';

/** API limits of PutJobSuccessResult / PutJobFailureResult. */
export const JOB_LIMITS = {
  continuationToken: 2048,
  summary: 2048,
  failureMessage: 5000,
  externalExecutionId: 1500,
  outputVariablesBytes: 122_880,
} as const;

const OUTPUT_VARIABLE_KEY = /^[A-Za-z0-9@\-_]+$/;

/**
 * Unexpected errors tolerated in a row while an action is being continued: one throttled describe call during
 * a long training run should not fail the release.
 */
export const MAX_CONSECUTIVE_ERRORS = 5;

/** What one invocation of an action sees. */
export interface JobInput {
  readonly jobId: string;
  /** The action's UserParameters, with variables resolved. */
  readonly userParameters: string;
  /** The step's own token from the previous invocation; absent on the first. */
  readonly continuationToken?: string;
  readonly inputArtifacts: Artifact[];
  /** Temporary credentials for the artifact store. */
  readonly artifactCredentials?: Credentials;
}

/** Not finished: CodePipeline invokes the function again with `token`. */
export interface JobInProgress {
  readonly kind: 'in-progress';
  readonly token: string;
  readonly summary: string;
  readonly externalExecutionId?: string;
}

/** Finished; the variables become `#{namespace.key}` for later actions. */
export interface JobSucceeded {
  readonly kind: 'succeeded';
  readonly summary: string;
  readonly outputVariables?: { [key: string]: string };
  readonly externalExecutionId?: string;
}

export interface JobFailed {
  readonly kind: 'failed';
  readonly message: string;
  readonly failureType?: FailureType;
  readonly externalExecutionId?: string;
}

/** The step ended the job itself (it stopped its pipeline execution): no reply is due. */
export interface JobAbandoned {
  readonly kind: 'abandoned';
  readonly summary: string;
}

export type JobOutcome = JobInProgress | JobSucceeded | JobFailed | JobAbandoned;

/** One step of an action over its own token. */
export type JobStep = (input: JobInput) => Promise<JobOutcome>;

/** The envelope around a step's token: counts unexpected errors in a row. */
interface TokenEnvelope {
  readonly t: string;
  readonly e: number;
}

/** Extracts the job from a Lambda invoke event; throws on anything else. */
export function jobOf(event: CodePipelineEvent): CodePipelineEvent['CodePipeline.job'] {
  const job = (event as Partial<CodePipelineEvent> | undefined)?.['CodePipeline.job'];
  if (!job || typeof job.id !== 'string' || !job.data) throw new Error('not a CodePipeline job event');
  return job;
}

/**
 * Runs one step of the job and replies to CodePipeline. Unexpected errors fail the job on its first invocation;
 * on a continuation they keep it alive with the same token up to {@link MAX_CONSECUTIVE_ERRORS} times in a row.
 * Errors of the reply itself are thrown (the asynchronous invocation is then retried).
 */
export async function runJob(event: CodePipelineEvent, codepipeline: CodePipelineClient, step: JobStep): Promise<JobOutcome> {
  const job = jobOf(event);
  const envelope = job.data.continuationToken === undefined ? undefined : openEnvelope(job.data.continuationToken);
  let outcome: JobOutcome;
  let errors = 0;
  if (envelope === null) {
    outcome = { kind: 'failed', message: 'The continuation token is not one this action wrote.', failureType: FailureType.JobFailed };
  } else {
    const input: JobInput = {
      jobId: job.id,
      userParameters: job.data.actionConfiguration?.configuration?.UserParameters ?? '',
      continuationToken: envelope?.t,
      inputArtifacts: job.data.inputArtifacts ?? [],
      artifactCredentials: job.data.artifactCredentials,
    };
    try {
      outcome = checkOutcome(await step(input));
    } catch (error) {
      errors = (envelope?.e ?? 0) + 1;
      outcome = envelope && errors <= MAX_CONSECUTIVE_ERRORS
        ? { kind: 'in-progress', token: envelope.t, summary: `Retrying after an error (${errors} of ${MAX_CONSECUTIVE_ERRORS}): ${messageOf(error)}` }
        : { kind: 'failed', message: `Unexpected error: ${messageOf(error)}`, failureType: FailureType.JobFailed };
    }
  }
  await reply(codepipeline, job.id, outcome, errors);
  return outcome;
}

/** Sends the one reply an outcome calls for. */
export async function reply(codepipeline: CodePipelineClient, jobId: string, outcome: JobOutcome, errors = 0): Promise<void> {
  switch (outcome.kind) {
    case 'in-progress':
      await codepipeline.send(new PutJobSuccessResultCommand({
        jobId,
        continuationToken: sealEnvelope(outcome.token, errors),
        executionDetails: executionDetails(outcome.summary, outcome.externalExecutionId),
      }));
      return;
    case 'succeeded':
      // Output variables are only allowed on the final reply, the one without a continuation token.
      await codepipeline.send(new PutJobSuccessResultCommand({
        jobId,
        executionDetails: executionDetails(outcome.summary, outcome.externalExecutionId),
        ...(outcome.outputVariables ? { outputVariables: outcome.outputVariables } : {}),
      }));
      return;
    case 'failed':
      await codepipeline.send(new PutJobFailureResultCommand({
        jobId,
        failureDetails: {
          type: outcome.failureType ?? FailureType.JobFailed,
          message: truncate(outcome.message || 'failed', JOB_LIMITS.failureMessage),
          ...(outcome.externalExecutionId ? { externalExecutionId: truncate(outcome.externalExecutionId, JOB_LIMITS.externalExecutionId) } : {}),
        },
      }));
      return;
    case 'abandoned':
      return;
  }
}

function executionDetails(summary: string, externalExecutionId?: string) {
  return {
    summary: truncate(summary, JOB_LIMITS.summary),
    ...(externalExecutionId ? { externalExecutionId: truncate(externalExecutionId, JOB_LIMITS.externalExecutionId) } : {}),
  };
}

function sealEnvelope(token: string, errors: number): string {
  const sealed = JSON.stringify({ t: token, e: errors } satisfies TokenEnvelope);
  if (sealed.length > JOB_LIMITS.continuationToken) {
    throw new Error(`continuation token is ${sealed.length} characters; CodePipeline takes ${JOB_LIMITS.continuationToken}`);
  }
  return sealed;
}

/** The envelope, or null when the token is not one of ours. */
function openEnvelope(token: string): TokenEnvelope | null {
  try {
    const value = JSON.parse(token) as Partial<TokenEnvelope>;
    if (typeof value === 'object' && value !== null && typeof value.t === 'string' && Number.isInteger(value.e)) {
      return { t: value.t, e: value.e as number };
    }
  } catch {
    // fall through
  }
  return null;
}

/** A success whose variables CodePipeline would reject becomes a failure that says why. */
function checkOutcome(outcome: JobOutcome): JobOutcome {
  if (outcome.kind !== 'succeeded' || !outcome.outputVariables) return outcome;
  const bad = Object.keys(outcome.outputVariables).filter((key) => !OUTPUT_VARIABLE_KEY.test(key));
  const size = Buffer.byteLength(JSON.stringify(outcome.outputVariables));
  if (bad.length === 0 && size <= JOB_LIMITS.outputVariablesBytes) return outcome;
  const problem = bad.length > 0
    ? `output variable names ${bad.map((k) => JSON.stringify(k)).join(', ')} do not match ${OUTPUT_VARIABLE_KEY}`
    : `output variables take ${size} bytes; CodePipeline takes ${JOB_LIMITS.outputVariablesBytes}`;
  return { kind: 'failed', message: `${outcome.summary} — but ${problem}`, failureType: FailureType.JobFailed, externalExecutionId: outcome.externalExecutionId };
}

/** Cuts text to `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

