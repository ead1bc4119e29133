/**
 * The local server: the prediction API (the cloud handler's own routes, with a local model backend) and the
 * built web app with a `config.json` pointing at this server, on one origin.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { LocalPredictionStore, capturingBackend } from './local-store';
import { MAX_REQUEST_BODY_BYTES } from '../contracts/prediction-api';
import { ModelBackend, ModelUnavailableError } from '../model-serving/runtime/api/predict';
import { FEEDBACK_PATH, PREDICTIONS_PATH, RouteRequest, route } from '../model-serving/runtime/api/routes';

export interface LocalServerOptions {
  /** Where predictions come from; none answers 503 (no model deployed yet), as the cloud API does. */
  readonly backend?: ModelBackend;
  /**
   * Where each invocation, prediction and feedback is kept.
   * @default - none: nothing is recorded and feedback is turned off (its route answers 404), as in the cloud without
   * a prediction store
   */
  readonly store?: LocalPredictionStore;
  /** The built web app (index.html and assets/). */
  readonly webAppDir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

export interface RunningLocalServer {
  readonly url: string;
  readonly store?: LocalPredictionStore;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The same policy the CloudFront distribution sends, with the API on this origin. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    + "manifest-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
};

const FEEDBACK_ROUTE = /^\/predictions\/([^/]+)\/feedback$/;

const NO_MODEL: ModelBackend = {
  predict: async () => { throw new ModelUnavailableError('no approved model in the local registry'); },
};

export function startLocalServer(options: LocalServerOptions): Promise<RunningLocalServer> {
  const webAppDir = path.resolve(options.webAppDir);
  if (!fs.existsSync(path.join(webAppDir, 'index.html'))) {
    return Promise.reject(new Error(`The web app is not built: ${webAppDir}/index.html is missing`));
  }
  const store = options.store;
  const backend = options.backend && store ? capturingBackend(options.backend, store) : options.backend ?? NO_MODEL;
  const log = options.log ?? (() => undefined);
  let origin = '';

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, headers: Record<string, string>, body: string | Buffer) => {
      res.writeHead(status, headers);
      res.end(body);
      log(`${req.method} ${url.pathname} ${status} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)} ms`);
    };

    const feedback = FEEDBACK_ROUTE.exec(url.pathname);
    if (url.pathname === PREDICTIONS_PATH || feedback) {
      if (req.method !== 'POST') {
        return send(405, { 'Allow': 'POST', 'Content-Type': 'application/json' }, JSON.stringify({ message: 'Use POST.' }));
      }
      readBody(req, MAX_REQUEST_BODY_BYTES, (body, truncated) => {
        const request: RouteRequest = {
          httpMethod: 'POST',
          resource: feedback ? FEEDBACK_PATH : PREDICTIONS_PATH,
          pathParameters: feedback ? { id: decodeURIComponent(feedback[1]) } : null,
          headers: req.headers as Record<string, string>,
          body,
          isBase64Encoded: false,
        };
        void route(request, { backend, cors: { allowedOrigins: [origin] }, store }).then((answer) => {
          // A body too large to drain was not read to its end: close the connection after answering.
          send(answer.statusCode, truncated ? { ...answer.headers, Connection: 'close' } : answer.headers, answer.body);
        });
      });
      return;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(405, { Allow: 'GET, HEAD' }, '');
    }
    if (url.pathname === '/config.json') {
      return send(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...SECURITY_HEADERS },
        JSON.stringify({ apiUrl: `${origin}/`, feedback: store !== undefined }));
    }
    const file = staticFile(webAppDir, url.pathname);
    const content = fs.readFileSync(file);
    const cache = file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
    send(200, { 'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': cache, ...SECURITY_HEADERS }, content);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      origin = `http://${host}:${address.port}`;
      resolve({
        url: origin,
        store,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

/** A file of the app, or index.html for client-side routes; never a path outside the app's folder. */
function staticFile(root: string, pathname: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    decoded = '/';
  }
  const candidate = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  if (candidate.startsWith(`${root}${path.sep}`) && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
    return candidate;
  }
  return path.join(root, 'index.html');
}

/** Most bytes of an oversized body read (and dropped) before answering 413, as API Gateway's 10 MB payload limit. */
const MAX_DRAINED_BYTES = 10 * 1024 * 1024;

/**
 * Keeps just over `limit` bytes, enough for the handler to answer 413 without buffering a huge body, but reads the
 * body to its end: a client still sending when the answer comes and the connection closes sees EPIPE, not the 413.
 * Past {@link MAX_DRAINED_BYTES} it answers at once (`truncated`) and the connection is closed.
 */
function readBody(req: http.IncomingMessage, limit: number, done: (body: string, truncated: boolean) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (truncated: boolean) => {
    if (finished) return;
    finished = true;
    done(Buffer.concat(chunks).toString('utf8'), truncated);
  };
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    if (size <= limit) chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_DRAINED_BYTES) {
      req.pause();
      finish(true);
    }
  });
  req.on('end', () => finish(false));
  req.on('error', () => finish(true));
}
