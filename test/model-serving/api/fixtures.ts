import { MEASURES } from '../../../src/contracts/abalone-data';
import { humanMaximum } from '../../../src/contracts/prediction-api';
import type { ApiRequest } from '../../../src/model-serving/runtime/api/http';
import type { RouteRequest } from '../../../src/model-serving/runtime/api/routes';

/** A plausible adult abalone in human units (first UCI row ×200). */
export const INSTANCE = {
  sex: 'M',
  lengthMm: 91,
  diameterMm: 73,
  heightMm: 19,
  wholeWeightG: 102.8,
  shuckedWeightG: 44.9,
  visceraWeightG: 20.2,
  shellWeightG: 30,
};

export const MEASURE_FIELDS = MEASURES.map((m) => m.apiField);

export const ALLOWED_ORIGIN = 'https://app.example.com';

/** A proxy event for `POST /predictions`. */
export function predictEvent(body: unknown, extra: Partial<RouteRequest> = {}): RouteRequest {
  return {
    resource: '/predictions',
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json', 'Origin': ALLOWED_ORIGIN },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    ...extra,
  };
}

/** A proxy event for `POST /predictions/{id}/feedback`. */
export function feedbackEvent(id: string, body: unknown, extra: Partial<RouteRequest> = {}): RouteRequest {
  return {
    resource: '/predictions/{id}/feedback',
    httpMethod: 'POST',
    pathParameters: { id },
    headers: { 'content-type': 'application/json', 'origin': ALLOWED_ORIGIN },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  };
}

export function parseBody(response: { body: string }): any {
  return JSON.parse(response.body);
}

/** A deterministic pseudo-random generator (Park-Miller), values in [0, 1). */
export function prng(seed: number): () => number {
  let state = (Math.abs(Math.floor(seed)) % 2147483646) + 1;
  return () => {
    state = (state * 16807) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

/** A random valid instance. */
export function randomInstance(random: () => number): Record<string, unknown> {
  const instance: Record<string, unknown> = { sex: ['M', 'F', 'I'][Math.floor(random() * 3)] };
  for (const m of MEASURES) instance[m.apiField] = Math.round(random() * humanMaximum(m.column) * 100) / 100;
  return instance;
}

export type { ApiRequest };
