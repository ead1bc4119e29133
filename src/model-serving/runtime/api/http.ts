/**
 * HTTP plumbing shared by the prediction routes: body limits, JSON answers and CORS headers.
 * Independent of API Gateway's event type so a local server can use it too.
 */
import type { ErrorResponse, FieldError } from '../../../contracts/prediction-api';
import { MAX_REQUEST_BODY_BYTES, RETRY_AFTER_SECONDS } from '../../../contracts/prediction-api';

/** The parts of an HTTP request the routes read. */
export interface ApiRequest {
  /** Raw body as received; base64 when `isBase64Encoded`. */
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  /** Request headers; names in any case. */
  readonly headers?: { readonly [name: string]: string | undefined } | null;
}

/** An HTTP answer in API Gateway's proxy-integration shape. */
export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: { [name: string]: string };
  readonly body: string;
}

/** Who may read the answers from a browser: exact origins, or `*` for any. */
export interface CorsPolicy {
  readonly allowedOrigins: readonly string[];
}

/** Largest number of field problems listed in one 400; the rest are counted. */
export const MAX_FIELD_ERRORS = 100;

/** Returns the header's value, matching the name case-insensitively. */
export function headerValue(request: ApiRequest, name: string): string | undefined {
  const headers = request.headers;
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lower) return headers[key];
  return undefined;
}

/** CORS headers for an answer to `origin`: the origin is echoed only when the policy allows it. */
export function corsHeaders(policy: CorsPolicy, origin: string | undefined): { [name: string]: string } {
  const origins = policy.allowedOrigins;
  if (origins.length === 0) return {};
  if (origins.includes('*')) {
    return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Retry-After' };
  }
  // Vary on every answer: a cache must not serve one origin's answer to another.
  if (origin === undefined || !origins.includes(origin)) return { Vary: 'Origin' };
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': 'Retry-After', 'Vary': 'Origin' };
}

const BASE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/** A JSON answer with CORS headers for the request's origin. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  request: ApiRequest,
  cors: CorsPolicy,
  extraHeaders: { [name: string]: string } = {},
): ApiResponse {
  return {
    statusCode,
    headers: { ...BASE_HEADERS, ...corsHeaders(cors, headerValue(request, 'Origin')), ...extraHeaders },
    body: JSON.stringify(body),
  };
}

/** An error answer in the contract's shape. */
export function errorResponse(
  statusCode: number,
  message: string,
  request: ApiRequest,
  cors: CorsPolicy,
  extraHeaders: { [name: string]: string } = {},
): ApiResponse {
  const body: ErrorResponse = { message };
  return jsonResponse(statusCode, body, request, cors, extraHeaders);
}

/** A 400 listing field problems (at most {@link MAX_FIELD_ERRORS}). */
export function badRequest(errors: FieldError[], request: ApiRequest, cors: CorsPolicy): ApiResponse {
  const listed = errors.slice(0, MAX_FIELD_ERRORS);
  const message = errors.length > listed.length
    ? `The request has ${errors.length} invalid fields; the first ${listed.length} are listed.`
    : `The request has ${errors.length === 1 ? 'an invalid field' : `${errors.length} invalid fields`}.`;
  const body: ErrorResponse = { message, errors: listed };
  return jsonResponse(400, body, request, cors);
}

/** The 503 answered while no model is deployed. */
export function unavailable(request: ApiRequest, cors: CorsPolicy): ApiResponse {
  return errorResponse(503, 'No model is deployed yet. Try again later.', request, cors, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}

/** Outcome of reading a JSON body: the parsed value, or the answer to give instead. */
export type BodyResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly response: ApiResponse };

/**
 * Decodes and parses a JSON body: 413 above {@link MAX_REQUEST_BODY_BYTES} (measured on the decoded bytes,
 * checked before decoding so an oversized body costs nothing), 400 when empty or not JSON.
 */
export function readJsonBody(request: ApiRequest, cors: CorsPolicy): BodyResult {
  const raw = request.body ?? '';
  const size = request.isBase64Encoded ? base64DecodedLength(raw) : Buffer.byteLength(raw, 'utf8');
  if (size > MAX_REQUEST_BODY_BYTES) {
    return {
      ok: false,
      response: errorResponse(413, `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`, request, cors),
    };
  }
  const text = request.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (text.trim() === '') {
    return { ok: false, response: badRequest([{ field: 'body', message: 'is required: send a JSON object' }], request, cors) };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, response: badRequest([{ field: 'body', message: 'is not valid JSON' }], request, cors) };
  }
}

function base64DecodedLength(text: string): number {
  const trimmed = text.replace(/\s/g, '');
  const padding = trimmed.endsWith('==') ? 2 : trimmed.endsWith('=') ? 1 : 0;
  return Math.floor((trimmed.length * 3) / 4) - padding;
}
