/** Client of the prediction API: every answer, including failures, becomes a value. */
import type { ErrorResponse, FeedbackResponse, FieldError, Prediction } from '../../src/contracts/prediction-api';
import { RETRY_AFTER_SECONDS } from '../../src/contracts/prediction-api';
import type { PredictionInstance } from './form-model';

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

export type FailureKind =
  | 'invalid' // 400
  | 'not-found' // 404
  | 'too-large' // 413
  | 'throttled' // 429
  | 'endpoint' // 502
  | 'unavailable' // 503
  | 'http' // any other status
  | 'network'
  | 'timeout'
  | 'malformed';

export interface Failure {
  readonly kind: FailureKind;
  readonly message: string;
  readonly status?: number;
  readonly fieldErrors?: readonly FieldError[];
  /** Set on 503: when the service expects a model. */
  readonly retryAfterSeconds?: number;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: Failure };

/** API Gateway gives up after 29 s; waiting longer only hides the failure. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** `apiUrl` may or may not end in '/'. */
export function endpointUrl(apiUrl: string, path: string): string {
  return (apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`) + path;
}

export function predictionsUrl(apiUrl: string): string {
  return endpointUrl(apiUrl, 'predictions');
}

export function feedbackUrl(apiUrl: string, predictionId: string): string {
  return endpointUrl(apiUrl, `predictions/${encodeURIComponent(predictionId)}/feedback`);
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asErrorResponse(body: unknown): Partial<ErrorResponse> {
  if (!isObject(body)) return {};
  const message = typeof body.message === 'string' && body.message.trim() !== '' ? body.message : undefined;
  const errors = Array.isArray(body.errors)
    ? body.errors.filter((e): e is FieldError => isObject(e) && typeof e.field === 'string' && typeof e.message === 'string')
    : undefined;
  return { message, errors };
}

export function asPrediction(body: unknown): Prediction | undefined {
  if (!isObject(body)) return undefined;
  const { predictionId, rings, ageYears, modelVersion } = body;
  if (typeof predictionId !== 'string' || predictionId === '') return undefined;
  if (typeof rings !== 'number' || !Number.isFinite(rings)) return undefined;
  if (typeof ageYears !== 'number' || !Number.isFinite(ageYears)) return undefined;
  if (typeof modelVersion !== 'string') return undefined;
  return { predictionId, rings, ageYears, modelVersion };
}

function asFeedback(body: unknown): FeedbackResponse | undefined {
  if (!isObject(body)) return undefined;
  const { predictionId, actualRings } = body;
  if (typeof predictionId !== 'string' || typeof actualRings !== 'number') return undefined;
  return { predictionId, actualRings };
}

const MALFORMED = 'The prediction service sent an answer this page cannot read. Try again later.';

function failureFor(response: Response, body: unknown): Failure {
  const { message, errors } = asErrorResponse(body);
  const status = response.status;
  switch (status) {
    case 400:
      return { kind: 'invalid', status, message: message ?? 'The service rejected some values.', fieldErrors: errors ?? [] };
    case 404:
      return { kind: 'not-found', status, message: message ?? 'The service does not know this prediction.' };
    case 413:
      return { kind: 'too-large', status, message: message ?? 'The request is too large for the service.' };
    case 429:
      return { kind: 'throttled', status, message: 'The service is busy right now. Wait a few seconds and try again.' };
    case 502:
      return {
        kind: 'endpoint',
        status,
        message: 'The model endpoint failed to answer. Try again in a moment; if it keeps failing, tell the team that runs this service.',
      };
    case 503:
      return {
        kind: 'unavailable',
        status,
        message: 'No model is deployed yet: the pipeline has not trained and approved one.',
        // The header is only readable cross-origin when the API exposes it; the contract's default covers the rest.
        retryAfterSeconds: parseRetryAfter(response.headers.get('Retry-After')) ?? RETRY_AFTER_SECONDS,
      };
    default:
      return { kind: 'http', status, message: `The service answered with an error (HTTP ${status}). Try again later.` };
  }
}

async function postJson<T>(
  fetchFn: FetchFn,
  url: string,
  payload: unknown,
  read: (body: unknown) => T | undefined,
): Promise<Outcome<T>> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, REQUEST_TIMEOUT_MS);
  try {
    let response: Response;
    try {
      response = await fetchFn(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
    } catch {
      return {
        ok: false,
        failure: timedOut
          ? { kind: 'timeout', message: `The service did not answer within ${REQUEST_TIMEOUT_MS / 1000} seconds. Try again.` }
          : { kind: 'network', message: 'Could not reach the prediction service. Check your connection and try again.' },
      };
    }
    let body: unknown;
    let parsed = true;
    try {
      body = JSON.parse(await response.text());
    } catch {
      parsed = false;
    }
    if (response.ok) {
      const value = parsed ? read(body) : undefined;
      return value === undefined ? { ok: false, failure: { kind: 'malformed', status: response.status, message: MALFORMED } } : { ok: true, value };
    }
    return { ok: false, failure: failureFor(response, body) };
  } finally {
    clearTimeout(timer);
  }
}

export function predict(fetchFn: FetchFn, apiUrl: string, instance: PredictionInstance): Promise<Outcome<Prediction>> {
  return postJson(fetchFn, predictionsUrl(apiUrl), instance, asPrediction);
}

export function sendFeedback(
  fetchFn: FetchFn,
  apiUrl: string,
  predictionId: string,
  actualRings: number,
): Promise<Outcome<FeedbackResponse>> {
  return postJson(fetchFn, feedbackUrl(apiUrl, predictionId), { actualRings }, asFeedback);
}
