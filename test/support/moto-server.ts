/**
 * A real moto_server (moto 5.x) on a free local port, for tests that exercise AWS calls over HTTP.
 *
 *   const moto = useMotoServer();                    // in a describe(): starts in beforeAll, stops in afterAll
 *   const s3 = new S3Client(moto.s3ClientConfig());
 *
 * Set MOTO_SERVER_BIN to use another executable. If moto_server is not installed the test fails with
 * a message saying so (it is not skipped: these tests are the evidence that the AWS calls work).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** Credentials moto accepts (any are fine); never real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** The Region the helpers use. */
export const MOTO_REGION = 'us-east-1';

/** A running moto_server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Client config for any AWS SDK v3 client. */
  clientConfig(): { endpoint: string; region: string; credentials: typeof MOTO_CREDENTIALS };
  /** Client config for S3Client (adds path-style addressing). */
  s3ClientConfig(): { endpoint: string; region: string; credentials: typeof MOTO_CREDENTIALS; forcePathStyle: boolean };
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Messages published to an SNS topic, oldest first (from moto's model API). */
  publishedMessages(topicArn: string): Promise<PublishedSnsMessage[]>;
  /** Stops the server. */
  stop(): Promise<void>;
}

/** One message moto recorded as published to a topic. */
export interface PublishedSnsMessage {
  readonly messageId: string;
  readonly message: string;
  readonly subject?: string;
  /** Message attributes by name: `{ Type, Value }`. */
  readonly attributes: Record<string, { Type: string; Value: string }>;
}

/** Options of {@link startMotoServer}. */
export interface MotoServerOptions {
  /** How long to wait for the server to answer. @default 30000 */
  readonly startupTimeoutMs?: number;
}

/** Starts moto_server on a free port and waits until it answers. */
export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  const bin = process.env.MOTO_SERVER_BIN ?? 'moto_server';
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (data: Buffer) => {
    output.push(data.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const notInstalled = (detail: string) => new Error(
    `moto_server is not installed or did not start (${detail}). These tests need moto 5.x: ` +
    '`pip install "moto[server]>=5.2"` so that `moto_server` is on PATH, or set MOTO_SERVER_BIN to its path.' +
    (output.length > 0 ? `\nmoto_server output:\n${output.join('').slice(-2000)}` : ''),
  );

  const exited = new Promise<Error>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => resolve(notInstalled(e.code === 'ENOENT' ? `"${bin}" not found on PATH` : e.message)));
    child.once('exit', (code, signal) => resolve(notInstalled(`"${bin}" exited with ${signal ?? `code ${code}`}`)));
  });
  const deadline = Date.now() + (options.startupTimeoutMs ?? 30_000);
  let ready = false;
  while (!ready) {
    const outcome = await Promise.race([exited, answers(endpoint).then((ok) => ok)]);
    if (outcome instanceof Error) {
      process.removeListener('exit', killOnExit);
      throw outcome;
    }
    ready = outcome;
    if (!ready) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        process.removeListener('exit', killOnExit);
        throw notInstalled(`no answer on ${endpoint} within ${options.startupTimeoutMs ?? 30_000} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return {
    endpoint,
    port,
    clientConfig: () => ({ endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS }),
    s3ClientConfig: () => ({ endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, forcePathStyle: true }),
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    publishedMessages: async (topicArn: string) => publishedMessages(endpoint, topicArn),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/**
 * Registers beforeAll/afterAll hooks that start and stop one moto_server for the enclosing describe block.
 * The returned object forwards to the running server (use it inside tests and hooks only).
 */
export function useMotoServer(options: MotoServerOptions = {}): MotoServer {
  let server: MotoServer | undefined;
  const running = (): MotoServer => {
    if (!server) throw new Error('moto_server is not running (did beforeAll fail? see the first error)');
    return server;
  };
  beforeAll(async () => {
    server = await startMotoServer(options);
  }, (options.startupTimeoutMs ?? 30_000) + 5_000);
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return {
    get endpoint() { return running().endpoint; },
    get port() { return running().port; },
    clientConfig: () => running().clientConfig(),
    s3ClientConfig: () => running().s3ClientConfig(),
    reset: () => running().reset(),
    publishedMessages: (topicArn: string) => running().publishedMessages(topicArn),
    stop: () => running().stop(),
  };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

async function publishedMessages(endpoint: string, topicArn: string): Promise<PublishedSnsMessage[]> {
  const response = await fetch(`${endpoint}/moto-api/data.json`);
  if (!response.ok) throw new Error(`moto data.json failed: HTTP ${response.status}`);
  const data: unknown = await response.json();
  const topics = dig(data, 'sns', 'Topic');
  if (!Array.isArray(topics)) return [];
  const topic: unknown = topics.find((t: unknown) => dig(t, 'arn') === topicArn);
  const sent = dig(topic, 'sent_notifications');
  if (!Array.isArray(sent)) return [];
  // moto records each publish as [message_id, message, subject, message_attributes, group_id].
  return sent.map((entry: unknown): PublishedSnsMessage => {
    const [messageId, message, subject, attributes] = Array.isArray(entry) ? entry : [];
    return {
      messageId: String(messageId),
      message: String(message),
      subject: typeof subject === 'string' ? subject : undefined,
      attributes: typeof attributes === 'object' && attributes !== null ? attributes as Record<string, { Type: string; Value: string }> : {},
    };
  });
}

function dig(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof current !== 'object' || current === null || !(step in current)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
