/**
 * A stand-in for the prediction API and the site, for browser tests: serves the built app, a
 * config.json pointing at itself, and the prediction contract with the same limits as the real
 * API. Predictions come from a fixed formula so tests can assert the exact age.
 */
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { AGE_OFFSET_YEARS } from '../../src/contracts/abalone-data';
import {
  FEEDBACK_REQUEST_SCHEMA,
  MAX_BATCH_INSTANCES,
  MAX_REQUEST_BODY_BYTES,
  PREDICTION_INSTANCE_SCHEMA,
  RETRY_AFTER_SECONDS,
  type FieldError,
  type Prediction,
} from '../../src/contracts/prediction-api';

export const API_PREFIX = '/prod/';
export const MODEL_VERSION = 'e2e-model-1';

export interface TestServer {
  readonly url: string;
  /** While on, predictions answer 503 with Retry-After, as when no model is deployed. */
  setUnavailable(on: boolean): void;
  close(): Promise<void>;
}

/** The deterministic "model": rings from the shell weight. */
export function fakeRings(instance: Record<string, unknown>): number {
  return Math.round((4 + Number(instance.shellWeightG) * 0.22) * 100) / 100;
}

export function fakeAge(instance: Record<string, unknown>): number {
  return Math.round((fakeRings(instance) + AGE_OFFSET_YEARS) * 100) / 100;
}

type Schema = {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  required?: string[];
  additionalProperties?: boolean;
  properties?: Record<string, Schema>;
};

/** The subset of JSON schema the contract uses, reporting one entry per bad field. */
function check(schema: Schema, value: unknown, path: string): FieldError[] {
  const at = (message: string): FieldError[] => [{ field: path, message }];
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return at('must be an object');
      const record = value as Record<string, unknown>;
      const errors: FieldError[] = [];
      const prefix = path ? `${path}.` : '';
      for (const name of schema.required ?? []) {
        if (!(name in record)) errors.push({ field: prefix + name, message: 'is required' });
      }
      for (const [name, item] of Object.entries(record)) {
        const property = schema.properties?.[name];
        if (property) errors.push(...check(property, item, prefix + name));
        else if (schema.additionalProperties === false) errors.push({ field: prefix + name, message: 'is not allowed' });
      }
      return errors;
    }
    case 'string':
      if (typeof value !== 'string') return at('must be a string');
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || !Number.isFinite(value)) return at('must be a number');
      if (schema.type === 'integer' && !Number.isInteger(value)) return at('must be an integer');
      if (schema.minimum !== undefined && value < schema.minimum) return at(`must be at least ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) return at(`must be at most ${schema.maximum}`);
      break;
  }
  if (schema.enum && !schema.enum.includes(value)) return at(`must be one of ${schema.enum.join(', ')}`);
  return [];
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export async function startTestServer(root: string): Promise<TestServer> {
  let unavailable = false;
  let nextId = 1;
  const predictions = new Map<string, Prediction>();
  let origin = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };

  const readBody = (req: IncomingMessage): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => resolve(size > MAX_REQUEST_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const readJson = async (req: IncomingMessage, res: ServerResponse): Promise<{ ok: true; body: unknown } | { ok: false }> => {
    const text = await readBody(req);
    if (text === undefined) {
      send(res, 413, { message: `Request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes` });
      return { ok: false };
    }
    try {
      return { ok: true, body: JSON.parse(text) };
    } catch {
      send(res, 400, { message: 'Invalid request', errors: [{ field: '', message: 'body must be JSON' }] });
      return { ok: false };
    }
  };

  const predict = (instance: Record<string, unknown>): Prediction => {
    const prediction = { predictionId: `e2e-${nextId++}`, rings: fakeRings(instance), ageYears: fakeAge(instance), modelVersion: MODEL_VERSION };
    predictions.set(prediction.predictionId, prediction);
    return prediction;
  };

  const handlePredictions = async (req: IncomingMessage, res: ServerResponse) => {
    const read = await readJson(req, res);
    if (!read.ok) return;
    const body = read.body as Record<string, unknown>;
    const batch = typeof body === 'object' && body !== null && 'instances' in body;
    const instances = batch ? body.instances : [body];
    let errors: FieldError[];
    if (batch && (!Array.isArray(instances) || instances.length < 1 || instances.length > MAX_BATCH_INSTANCES)) {
      errors = [{ field: 'instances', message: `must hold 1 to ${MAX_BATCH_INSTANCES} instances` }];
    } else {
      errors = (instances as unknown[]).flatMap((item, i) => check(PREDICTION_INSTANCE_SCHEMA as Schema, item, batch ? `instances[${i}]` : ''));
    }
    if (errors.length > 0) return send(res, 400, { message: 'Invalid request', errors });
    if (unavailable) {
      return send(res, 503, { message: 'No model is deployed yet' }, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    const answers = (instances as Record<string, unknown>[]).map(predict);
    send(res, 200, batch ? { predictions: answers } : answers[0]);
  };

  const handleFeedback = async (req: IncomingMessage, res: ServerResponse, id: string) => {
    const read = await readJson(req, res);
    if (!read.ok) return;
    const errors = check(FEEDBACK_REQUEST_SCHEMA as Schema, read.body, '');
    if (errors.length > 0) return send(res, 400, { message: 'Invalid request', errors });
    if (!predictions.has(id)) return send(res, 404, { message: `Unknown prediction ${id}` });
    send(res, 200, { predictionId: id, actualRings: (read.body as { actualRings: number }).actualRings });
  };

  const serveFile = async (res: ServerResponse, pathname: string) => {
    const relative = normalize(decodeURIComponent(pathname === '/' ? '/index.html' : pathname));
    const file = join(root, relative);
    if (!file.startsWith(root + sep)) return send(res, 404, { message: 'Not found' });
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      const content = await readFile(file);
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'X-Content-Type-Options': 'nosniff',
        // The policy the deployed site sends.
        'Content-Security-Policy': `default-src 'self'; connect-src 'self' ${origin}; style-src 'self'; script-src 'self'; img-src 'self' data:`,
      });
      res.end(content);
    } catch {
      send(res, 404, { message: 'Not found' });
    }
  };

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', origin);
    const route = async () => {
      if (req.method === 'GET' && pathname === '/config.json') return send(res, 200, { apiUrl: origin + API_PREFIX, feedback: true });
      if (pathname.startsWith(API_PREFIX)) {
        const path = pathname.slice(API_PREFIX.length);
        if (req.method === 'POST' && path === 'predictions') return handlePredictions(req, res);
        const feedback = /^predictions\/([^/]+)\/feedback$/.exec(path);
        if (req.method === 'POST' && feedback) return handleFeedback(req, res, decodeURIComponent(feedback[1]));
        return send(res, 404, { message: 'Not found' });
      }
      if (req.method === 'GET' || req.method === 'HEAD') return serveFile(res, pathname);
      send(res, 405, { message: 'Method not allowed' });
    };
    route().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { message: String(error) });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/`,
    setUnavailable: (on) => {
      unavailable = on;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
