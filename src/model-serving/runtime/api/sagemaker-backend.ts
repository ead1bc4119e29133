/**
 * The cloud {@link ModelBackend}: the SageMaker real-time endpoint the deploy function manages.
 */
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { DatasetRow, InvocationContext, ModelBackend, ModelFailureError, ModelOutput, ModelUnavailableError, parseModelCsv, toCsv } from './predict';

/** How long the serving model version is remembered, in milliseconds. */
export const MODEL_VERSION_CACHE_MILLIS = 30_000;

/** Model version answered when the endpoint's configuration does not name one. */
export const UNKNOWN_MODEL_VERSION = 'unknown';

/** Endpoint states in which no model can answer yet or any more. */
const NOT_SERVING = new Set(['Creating', 'Failed', 'Deleting', 'OutOfService']);

/** Options of {@link SageMakerBackend}. */
export interface SageMakerBackendOptions {
  readonly endpointName: string;
  readonly runtime: Pick<SageMakerRuntimeClient, 'send'>;
  readonly sagemaker: Pick<SageMakerClient, 'send'>;
  /** Reads the model package version from the name of the endpoint configuration in service. */
  readonly modelVersionOf: (endpointConfigName: string) => string | undefined;
  readonly cacheMillis?: number;
  readonly now?: () => number;
  readonly log?: (message: string, detail: Record<string, unknown>) => void;
}

type EndpointState = { readonly serving: false; readonly reason: string } | { readonly serving: true; readonly modelVersion: string };

/**
 * Invokes the endpoint with `text/csv` rows. Before invoking, it learns from DescribeEndpoint (at most once per
 * cache period) whether a model is in service and which version it is, so that requests made before the first
 * deployment answer 503 without a failed call, and every answer names its model version.
 */
export class SageMakerBackend implements ModelBackend {
  private cached?: { readonly state: EndpointState; readonly until: number };
  private readonly cacheMillis: number;
  private readonly now: () => number;

  constructor(private readonly options: SageMakerBackendOptions) {
    this.cacheMillis = options.cacheMillis ?? MODEL_VERSION_CACHE_MILLIS;
    this.now = options.now ?? Date.now;
  }

  public async predict(rows: readonly DatasetRow[], context: InvocationContext): Promise<ModelOutput> {
    const state = await this.endpointState();
    if (!state.serving) throw new ModelUnavailableError(state.reason);
    let body: string;
    try {
      const answer = await this.options.runtime.send(new InvokeEndpointCommand({
        EndpointName: this.options.endpointName,
        ContentType: 'text/csv',
        Accept: 'text/csv',
        // Joins the capture record with the stored predictions and their feedback.
        InferenceId: context.inferenceId,
        Body: new TextEncoder().encode(toCsv(rows)),
      }));
      body = answer.Body ? new TextDecoder().decode(answer.Body) : '';
    } catch (e) {
      const name = (e as Error).name;
      if (isMissingEndpoint(e) || name === 'ModelNotReadyException') {
        this.cached = undefined;
        throw new ModelUnavailableError(`${name}: ${(e as Error).message}`);
      }
      throw new ModelFailureError(`${name}: ${(e as Error).message}`);
    }
    return { rings: parseModelCsv(body, rows.length), modelVersion: state.modelVersion };
  }

  private async endpointState(): Promise<EndpointState> {
    const now = this.now();
    if (this.cached && this.cached.until > now) return this.cached.state;
    let state: EndpointState;
    try {
      const endpoint = await this.options.sagemaker.send(new DescribeEndpointCommand({ EndpointName: this.options.endpointName }));
      const status = endpoint.EndpointStatus ?? 'Unknown';
      const configName = endpoint.EndpointConfigName;
      state = NOT_SERVING.has(status) || !configName
        ? { serving: false, reason: `Endpoint status ${status}` }
        : { serving: true, modelVersion: this.options.modelVersionOf(configName) ?? UNKNOWN_MODEL_VERSION };
    } catch (e) {
      if (isMissingEndpoint(e)) {
        state = { serving: false, reason: 'The endpoint does not exist' };
      } else {
        // A throttled or failed describe must not stop predictions: keep the last known version.
        this.options.log?.('DescribeEndpoint failed', { error: `${(e as Error).name}: ${(e as Error).message}` });
        const last = this.cached?.state;
        state = last?.serving ? last : { serving: true, modelVersion: UNKNOWN_MODEL_VERSION };
      }
    }
    this.cached = { state, until: now + this.cacheMillis };
    return state;
  }
}

/** SageMaker's answer for an endpoint that does not exist (DescribeEndpoint and InvokeEndpoint word it differently). */
export function isMissingEndpoint(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return (e.name === 'ValidationException' || e.name === 'ValidationError')
    && /could not find endpoint|endpoint .* not found/i.test(e.message);
}
