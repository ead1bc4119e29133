/**
 * `local serve`: the prediction API and the web app against a registered model, compared with the model loaded
 * directly in Python and with the cloud handler's answers to the same bad requests.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EXAMPLE, EXAMPLE_CSV, SLOW, WEBAPP_DIR, childPids, pythonReference, removeTempDirs, round2, runCli, startServeCli, tempDir, trainAndApprove,
} from './support';
import { MAX_BATCH_INSTANCES, MAX_REQUEST_BODY_BYTES, RETRY_AFTER_SECONDS } from '../../src/contracts/prediction-api';
import { LocalModelBackend } from '../../src/local/local-model-backend';
import { ML_DIR } from '../../src/local/local-run';
import { RunningLocalServer, startLocalServer } from '../../src/local/local-server';
import { LocalPredictionStore, STORE_FILE, STORE_SCRIPT } from '../../src/local/local-store';
import { checkPython } from '../../src/local/python';
import { LocalModelRegistry, RegisteredModel } from '../../src/local/registry';
import { ModelBackend, ModelUnavailableError } from '../../src/model-serving/runtime/api/predict';
import { PREDICTIONS_PATH, route } from '../../src/model-serving/runtime/api/routes';

jest.setTimeout(SLOW);

const SERVE_SCRIPT = path.join(ML_DIR, 'local_serve.py');

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly json: () => any;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request over a keep-alive agent. */
function request(url: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', agent: keepAlive, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * POSTs `size` bytes the way an uploading client does, pausing after the first 1 MB; returns the raw answer, and
 * an error when the connection failed or closed before the whole body was sent.
 */
function slowUpload(base: string, size: number): Promise<{ response: string; error?: string }> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let response = '';
    let sent = 0;
    let error: string | undefined;
    socket.on('data', (d) => { response += d; });
    socket.on('error', (e: NodeJS.ErrnoException) => { error ??= e.code ?? e.message; });
    socket.on('close', () => resolve({ response, error: error ?? (sent < size ? `closed after ${sent} of ${size} bytes` : undefined) }));
    const send = (bytes: number) => {
      const chunk = Buffer.alloc(bytes, 'x');
      if (!socket.destroyed) socket.write(chunk, (e) => { if (!e) sent += bytes; });
    };
    socket.write(`POST ${PREDICTIONS_PATH} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
    const first = 1024 * 1024;
    send(first);
    setTimeout(() => send(size - first), 500);
  });
}

function predict(base: string, body: unknown): Promise<Answer> {
  return request(`${base}${PREDICTIONS_PATH}`, {
    method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
  });
}

/** Scales an instance in human units to a dataset CSV row, the way abalone.names describes. */
function csvRow(instance: typeof EXAMPLE): string {
  const { sex, ...measures } = instance;
  return [sex, ...Object.values(measures).map((v) => String(Math.round((v / 200) * 1e12) / 1e12))].join(',');
}

/** How many requests the backend has sent its worker (one per batch). */
function workerCalls(backend: LocalModelBackend): number {
  return (backend as unknown as { nextId: number }).nextId - 1;
}

const ANOTHER = [
  { sex: 'F', lengthMm: 106, diameterMm: 84, heightMm: 27, wholeWeightG: 135.4, shuckedWeightG: 51.3, visceraWeightG: 28.3, shellWeightG: 42 },
  { sex: 'I', lengthMm: 66, diameterMm: 50, heightMm: 16, wholeWeightG: 29.5, shuckedWeightG: 11.5, visceraWeightG: 7.1, shellWeightG: 9.5 },
  { sex: 'M', lengthMm: 142, diameterMm: 112, heightMm: 40, wholeWeightG: 390.2, shuckedWeightG: 150.5, visceraWeightG: 80.4, shellWeightG: 120 },
  { sex: 'F', lengthMm: 0, diameterMm: 0, heightMm: 0, wholeWeightG: 0, shuckedWeightG: 0, visceraWeightG: 0, shellWeightG: 0 },
];

let home: string;
let model: RegisteredModel;
let python: string;

beforeAll(async () => {
  home = tempDir('serve');
  python = await checkPython();
  await trainAndApprove(home);
  model = new LocalModelRegistry(path.join(home, 'registry')).latestApproved()!;
});

afterAll(() => {
  keepAlive.destroy();
  removeTempDirs();
});

/** What the store holds, through its exports: the ground truth (by prediction id) and the captured invocations. */
function exported(db: string): { truth: Map<string, any>; captures: any[] } {
  const out = tempDir('export');
  const run = (...args: string[]) => JSON.parse(execFileSync(python, [STORE_SCRIPT, ...args, '--db', db], { encoding: 'utf8' }));
  const truth = run('export-ground-truth', '--out', path.join(out, 'truth')).files
    .map((f: string) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const captures = run('export-captures', '--out', path.join(out, 'captures')).files
    .flatMap((f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((line) => JSON.parse(line)));
  return { truth: new Map(truth.map((t: any) => [t.predictionId, t])), captures };
}

function feedback(base: string, predictionId: string, actualRings: number): Promise<Answer> {
  return request(`${base}/predictions/${predictionId}/feedback`, {
    method: 'POST', body: JSON.stringify({ actualRings }), headers: { 'Content-Type': 'application/json' },
  });
}

describe('with an approved model', () => {
  let backend: LocalModelBackend;
  let store: LocalPredictionStore;
  let server: RunningLocalServer;

  beforeAll(async () => {
    backend = await LocalModelBackend.start(python, SERVE_SCRIPT, model);
    store = await LocalPredictionStore.open(python, STORE_SCRIPT, path.join(tempDir('store'), STORE_FILE));
    server = await startLocalServer({ backend, store, webAppDir: WEBAPP_DIR });
  });

  afterAll(async () => {
    await server?.close();
    await backend?.close();
    await store?.close();
  });

  test('the UCI example abalone: the API answers what the registered model computes in Python', async () => {
    expect(csvRow(EXAMPLE)).toBe(EXAMPLE_CSV);
    const [expected] = await pythonReference(home, model.version, [EXAMPLE_CSV]);
    const answer = await predict(server.url, EXAMPLE);
    expect(answer.status).toBe(200);
    const prediction = answer.json();
    expect(prediction).toEqual({
      predictionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      rings: round2(expected),
      ageYears: round2(round2(expected) + 1.5),
      modelVersion: 'AbaloneModelPackageGroup/1',
    });
    expect(prediction.rings).toBeCloseTo(expected, 2);
    expect(prediction.ageYears).toBeGreaterThan(2);
    expect(prediction.ageYears).toBeLessThan(30);
    // Recorded for feedback, which the local server accepts: stored, with the invocation the model saw.
    expect((await feedback(server.url, prediction.predictionId, 15)).status).toBe(200);
    const { truth, captures } = exported(store.file);
    expect(truth.get(prediction.predictionId)).toMatchObject({
      inferenceId: prediction.predictionId, row: 0, actualRings: 15, predictedRings: prediction.rings, modelVersion: 'AbaloneModelPackageGroup/1',
    });
    const capture = captures.find((c) => c.eventMetadata.inferenceId === prediction.predictionId);
    expect(capture.captureData.endpointInput.data).toBe(`${EXAMPLE_CSV}\n`);
    expect(Number(capture.captureData.endpointOutput.data)).toBeCloseTo(expected, 5);
  });

  test('a batch is answered in order, each as Python computes it', async () => {
    const instances = [EXAMPLE, ...ANOTHER];
    const expected = await pythonReference(home, model.version, instances.map(csvRow));
    const answer = await predict(server.url, { instances });
    expect(answer.status).toBe(200);
    const { predictions } = answer.json();
    expect(predictions).toHaveLength(instances.length);
    predictions.forEach((p: any, i: number) => expect(p.rings).toBeCloseTo(expected[i], 2));
    expect(new Set(predictions.map((p: any) => p.predictionId)).size).toBe(instances.length);
  });

  test('50 concurrent requests are all answered, each with its own prediction', async () => {
    const instances = Array.from({ length: 50 }, (_, i) => ({ ...EXAMPLE, shellWeightG: 5 + i * 2, wholeWeightG: 40 + i * 4 }));
    const expected = await pythonReference(home, model.version, instances.map(csvRow));
    const callsBefore = workerCalls(backend);
    const answers = await Promise.all(instances.map((instance) => predict(server.url, instance)));
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.json().rings).toBeCloseTo(expected[i], 2);
    });
    // Shell weight drives age: the answers differ, so they were not mixed up between requests.
    expect(new Set(answers.map((a) => a.json().rings)).size).toBeGreaterThan(10);
    // Requests that arrived while the worker was busy went to it together.
    expect(workerCalls(backend) - callsBefore).toBeLessThan(instances.length);
  });

  test('predictions asked for while the worker is busy go to it as one batch, and each gets its own rows back', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => csvRow({ ...EXAMPLE, shellWeightG: 3 + i * 5 }));
    const expected = await pythonReference(home, model.version, rows);
    const toRow = (csv: string) => { const [sex, ...measures] = csv.split(','); return [sex, ...measures.map(Number)] as [string, ...number[]]; };
    const callsBefore = workerCalls(backend);
    // One call with a single row, one with three rows, then single rows: all in the same tick.
    const outputs = await Promise.all([
      backend.predict([toRow(rows[0])]),
      backend.predict(rows.slice(1, 4).map(toRow)),
      ...rows.slice(4).map((r) => backend.predict([toRow(r)])),
    ]);
    expect(workerCalls(backend) - callsBefore).toBe(2);
    const rings = outputs.flatMap((o) => o.rings);
    rings.forEach((r, i) => expect(r).toBeCloseTo(expected[i], 4));
    expect(outputs.map((o) => o.rings.length)).toEqual([1, 3, ...rows.slice(4).map(() => 1)]);
    expect(new Set(outputs.map((o) => o.modelVersion))).toEqual(new Set(['AbaloneModelPackageGroup/1']));
  });

  test('field errors answer 400 naming each field', async () => {
    const answer = await predict(server.url, { ...EXAMPLE, sex: 'X', lengthMm: -1, heightMm: 'tall', extra: 1 });
    expect(answer.status).toBe(400);
    const body = answer.json();
    expect(body.message).toMatch(/invalid fields/);
    const fields = body.errors.map((e: any) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['sex', 'lengthMm', 'heightMm']));
    expect(body.errors.find((e: any) => e.field === 'lengthMm').message).toMatch(/0/);

    const batch = await predict(server.url, { instances: [EXAMPLE, { ...EXAMPLE, shellWeightG: 9999 }] });
    expect(batch.status).toBe(400);
    expect(batch.json().errors).toEqual([{ field: 'instances[1].shellWeightG', message: expect.stringContaining('400') }]);

    const tooMany = await predict(server.url, { instances: Array.from({ length: MAX_BATCH_INSTANCES + 1 }, () => EXAMPLE) });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(tooMany.json().errors)).toContain('instances');
  });

  test('invalid JSON and an empty body answer 400', async () => {
    const invalid = await predict(server.url, '{"sex": "M",');
    expect(invalid.status).toBe(400);
    expect(invalid.json()).toEqual({ message: 'The request has an invalid field.', errors: [{ field: 'body', message: 'is not valid JSON' }] });
    const empty = await predict(server.url, '');
    expect(empty.status).toBe(400);
    expect(empty.json().errors).toEqual([{ field: 'body', message: 'is required: send a JSON object' }]);
  });

  test.each([
    ['just over the limit', MAX_REQUEST_BODY_BYTES + 1],
    ['several megabytes', 5 * 1024 * 1024],
    ['beyond the 10 MB drained', 12 * 1024 * 1024],
  ])('an oversized body (%s) answers 413, and the server keeps answering', async (_, size) => {
    const answer = await predict(server.url, `{"sex":"${'M'.repeat(size)}"}`);
    expect(answer.status).toBe(413);
    expect(answer.json()).toEqual({ message: `The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.` });
    expect((await predict(server.url, EXAMPLE)).status).toBe(200);
  });

  test('other methods answer 405', async () => {
    const answer = await request(`${server.url}${PREDICTIONS_PATH}`);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    expect((await request(`${server.url}/`, { method: 'DELETE' })).status).toBe(405);
  });

  test('GET /config.json points the web app at this server', async () => {
    const answer = await request(`${server.url}/config.json`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.json()).toEqual({ apiUrl: `${server.url}/`, feedback: true });
  });

  test('serves the built app with its security headers, and index.html for client-side routes', async () => {
    const index = fs.readFileSync(path.join(WEBAPP_DIR, 'index.html'), 'utf8');
    const root = await request(`${server.url}/`);
    expect(root.status).toBe(200);
    expect(root.body).toBe(index);
    expect(root.headers['content-security-policy']).toContain("default-src 'none'");
    expect(root.headers['x-frame-options']).toBe('DENY');
    for (const clientRoute of ['/some/client/route', '/predict?x=1', '/../../etc/passwd', '/%2e%2e/%2e%2e/package.json', '/%E0%A4%A']) {
      const fallback = await request(`${server.url}${clientRoute}`);
      expect(fallback.status).toBe(200);
      expect(fallback.body).toBe(index);
    }
    const asset = fs.readdirSync(path.join(WEBAPP_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    const js = await request(`${server.url}/assets/${asset}`);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
  });
});

describe('the same answers to bad requests as the cloud handler', () => {
  /** The cloud handler's answer: the routes behind API Gateway's proxy integration, with a CORS origin. */
  async function cloudAnswer(backend: ModelBackend, body: string) {
    return route({ httpMethod: 'POST', resource: PREDICTIONS_PATH, body, isBase64Encoded: false, headers: { 'Content-Type': 'application/json' } },
      { backend, cors: { allowedOrigins: ['https://example.com'] } });
  }

  const cases: Array<[string, string]> = [
    ['invalid JSON', '{"sex":'],
    ['empty body', ''],
    ['a bad field', JSON.stringify({ ...EXAMPLE, sex: 'Q' })],
    ['missing fields', JSON.stringify({ sex: 'M' })],
    ['an empty batch', JSON.stringify({ instances: [] })],
    ['an oversized body', 'x'.repeat(MAX_REQUEST_BODY_BYTES + 10)],
  ];

  test('with a model', async () => {
    const backend = await LocalModelBackend.start(python, SERVE_SCRIPT, model);
    const server = await startLocalServer({ backend, webAppDir: WEBAPP_DIR });
    try {
      for (const [name, body] of cases) {
        const local = await predict(server.url, body);
        const cloud = await cloudAnswer(backend, body);
        expect({ name, status: local.status, body: local.json() }).toEqual({ name, status: cloud.statusCode, body: JSON.parse(cloud.body) });
        expect(local.headers['content-type']).toBe(cloud.headers['Content-Type']);
      }
    } finally {
      await server.close();
      await backend.close();
    }
  });

  test('without a model: 503 with Retry-After, and the 400s still come first', async () => {
    const server = await startLocalServer({ webAppDir: WEBAPP_DIR });
    const noModel: ModelBackend = { predict: async () => { throw new ModelUnavailableError('none'); } };
    try {
      const local = await predict(server.url, EXAMPLE);
      const cloud = await cloudAnswer(noModel, JSON.stringify(EXAMPLE));
      expect(local.status).toBe(503);
      expect(cloud.statusCode).toBe(503);
      expect(local.json()).toEqual(JSON.parse(cloud.body));
      expect(local.json()).toEqual({ message: 'No model is deployed yet. Try again later.' });
      expect(local.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
      for (const [name, body] of cases) {
        const answer = await predict(server.url, body);
        const expected = await cloudAnswer(noModel, body);
        expect({ name, status: answer.status, body: answer.json() }).toEqual({ name, status: expected.statusCode, body: JSON.parse(expected.body) });
      }
      // The web app is served all the same; with no store it is told feedback is off, and the route is not there.
      expect((await request(`${server.url}/`)).status).toBe(200);
      expect((await request(`${server.url}/config.json`)).json().feedback).toBe(false);
      expect((await feedback(server.url, '00000000-0000-4000-8000-000000000000', 6)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('the model worker', () => {
  test('dies while serving: requests answer 503 instead of hanging', async () => {
    const workDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('abalone-serve-')));
    const before = workDirs();
    const backend = await LocalModelBackend.start(python, SERVE_SCRIPT, model);
    const server = await startLocalServer({ backend, webAppDir: WEBAPP_DIR });
    try {
      expect((await predict(server.url, EXAMPLE)).status).toBe(200);
      const worker = (backend as any).worker as import('node:child_process').ChildProcess;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
      const answer = await predict(server.url, EXAMPLE);
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    } finally {
      await server.close();
      await backend.close();
      // A killed worker leaves its extracted model behind.
      for (const dir of workDirs()) if (!before.has(dir)) fs.rmSync(path.join(os.tmpdir(), dir), { recursive: true, force: true });
    }
  });
});

describe('the preprocessor serves from its own archive, as in the container', () => {
  test('without the contract packed beside its handler it cannot be served, though ml/ has one', async () => {
    const copy = tempDir('no-contract');
    fs.cpSync(home, copy, { recursive: true });
    const archive = path.join(copy, 'registry', '1', 'containers', '0', 'model.tar.gz');
    execFileSync(python, ['-c', [
      'import io, sys, tarfile',
      'with tarfile.open(sys.argv[1]) as src: members = [(m, src.extractfile(m).read()) for m in src.getmembers()]',
      'with tarfile.open(sys.argv[1], "w:gz") as dst:',
      '    for m, data in members:',
      '        if m.name != "code/abalone_contract.py": dst.addfile(m, io.BytesIO(data))',
    ].join('\n'), archive]);
    const stripped = new LocalModelRegistry(path.join(copy, 'registry')).get(1);
    await expect(LocalModelBackend.start(python, SERVE_SCRIPT, stripped))
      .rejects.toThrow("The model cannot be served: the handler code/inference.py cannot be imported: No module named 'abalone_contract'");
  });
});

describe('a corrupt model', () => {
  let corruptHome: string;

  beforeAll(() => {
    corruptHome = tempDir('corrupt');
    fs.cpSync(home, corruptHome, { recursive: true });
  });

  test('a garbage XGBoost archive: the backend refuses to start, naming the archive', async () => {
    const archive = path.join(corruptHome, 'registry', '1', 'containers', '1', 'model.tar.gz');
    fs.writeFileSync(archive, 'this is not a model');
    const corrupt = new LocalModelRegistry(path.join(corruptHome, 'registry')).get(1);
    await expect(LocalModelBackend.start(python, SERVE_SCRIPT, corrupt))
      .rejects.toThrow(`The model cannot be served: model archive ${archive} is not a readable tar.gz`);
  });

  test('`local serve` exits 1 with a clear message', async () => {
    const result = await runCli(['local', 'serve', '--home', corruptHome, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: The model cannot be served: model archive \S+containers\/1\/model\.tar\.gz is not a readable tar\.gz/);
    expect(result.stdout).toBe('');
  });

  test('a truncated preprocessor archive fails the same way', async () => {
    const archive = path.join(corruptHome, 'registry', '1', 'containers', '0', 'model.tar.gz');
    const bytes = fs.readFileSync(path.join(home, 'registry', '1', 'containers', '0', 'model.tar.gz'));
    fs.writeFileSync(archive, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const corrupt = new LocalModelRegistry(path.join(corruptHome, 'registry')).get(1);
    await expect(LocalModelBackend.start(python, SERVE_SCRIPT, corrupt)).rejects.toThrow(/The model cannot be served: .*containers\/0\/model\.tar\.gz/);
  });

  test('an unknown version asked for with --model', async () => {
    const result = await runCli(['local', 'serve', '--home', home, '--port', '0', '--model', '7']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Model version 7 is not in the registry');
  });
});

describe('`local serve` as a command', () => {
  test('with no approved model it serves the app and answers 503 with Retry-After', async () => {
    const serve = await startServeCli(tempDir('nomodel'));
    try {
      expect(serve.output()).toContain('No approved model in');
      const answer = await predict(serve.url, EXAMPLE);
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
      expect((await request(`${serve.url}/`)).status).toBe(200);
      // A client still sending a large body when the server has seen enough must get to read the 413, not EPIPE.
      const slow = await slowUpload(serve.url, 5 * 1024 * 1024);
      expect(slow.error).toBeUndefined();
      expect(slow.response).toMatch(/^HTTP\/1\.1 413 /);
      expect(slow.response).toContain(`The request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes.`);
      expect((await predict(serve.url, EXAMPLE)).status).toBe(503);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  test('with the approved model it answers the example, and stops cleanly with its worker', async () => {
    const serve = await startServeCli(home);
    try {
      expect(serve.output()).toContain('Serving model version 1 (Approved)');
      const [expected] = await pythonReference(home, model.version, [EXAMPLE_CSV]);
      const answer = await predict(serve.url, EXAMPLE);
      expect(answer.status).toBe(200);
      expect(answer.json().rings).toBe(round2(expected));
    } finally {
      const workers = childPids(serve.pid);
      expect(workers).toHaveLength(2); // the model worker and the prediction store
      expect(await serve.stop()).toBe(0);
      expect(workers.filter((pid) => fs.existsSync(`/proc/${pid}`))).toEqual([]);
    }
  });
});

describe('`local serve` keeps what it was asked and told', () => {
  test('a file in the way of the database: the store refuses to open, naming it', async () => {
    const file = path.join(tempDir('not-a-db'), STORE_FILE);
    fs.writeFileSync(file, 'not a database '.repeat(300));
    await expect(LocalPredictionStore.open(python, STORE_SCRIPT, file))
      .rejects.toThrow(`The prediction store cannot be opened: ${file} is not a usable prediction store: file is not a database`);
  });

  test('writes asked for while one is in flight go to the store together, and each is answered', async () => {
    const store = await LocalPredictionStore.open(python, STORE_SCRIPT, path.join(tempDir('burst'), STORE_FILE));
    try {
      const ids = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
      await Promise.all(ids.map((id) => {
        store.capture(id, { receivedAt: new Date().toISOString(), modelVersion: 'G/1', inputCsv: `${EXAMPLE_CSV}\n`, outputCsv: '9.4\n' });
        return store.record([{ prediction: { predictionId: id, rings: 9.4, ageYears: 10.9, modelVersion: 'G/1' }, instance: EXAMPLE, inferenceId: id, row: 0 }]);
      }));
      expect((store as unknown as { nextId: number }).nextId - 1).toBeLessThan(ids.length);
      const found = await Promise.all([store.attachFeedback(ids[3], 7, new Date()), store.attachFeedback('ffffffff-0000-4000-8000-000000000000', 7, new Date())]);
      expect(found).toEqual([true, false]);
      await expect(store.record([{ prediction: { predictionId: 'x', rings: 1, ageYears: 2.5, modelVersion: 'G/1' }, instance: EXAMPLE, inferenceId: 'never-captured', row: 0 }]))
        .rejects.toThrow('No captured invocation for inference id never-captured');
    } finally {
      await store.close();
    }
    expect(exported(store.file).captures).toHaveLength(30);
  });

  test('predictions and feedback survive a restart, in the home\'s SQLite store', async () => {
    const served = tempDir('restart');
    fs.cpSync(path.join(home, 'registry'), path.join(served, 'registry'), { recursive: true });
    let serve = await startServeCli(served);
    let single: any;
    let batch: any[];
    try {
      single = (await predict(serve.url, EXAMPLE)).json();
      batch = (await predict(serve.url, { instances: ANOTHER.slice(0, 2) })).json().predictions;
      expect((await feedback(serve.url, single.predictionId, 15)).status).toBe(200);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    serve = await startServeCli(served);
    try {
      // Feedback on predictions made before the restart is found, and a second one replaces the first.
      expect((await feedback(serve.url, batch[1].predictionId, 6)).status).toBe(200);
      expect((await feedback(serve.url, single.predictionId, 16)).status).toBe(200);
      expect((await feedback(serve.url, '00000000-0000-4000-8000-000000000000', 6)).status).toBe(404);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    const { truth, captures } = exported(path.join(served, STORE_FILE));
    expect([...truth.values()].map((t) => [t.predictionId, t.inferenceId, t.row, t.actualRings]).sort()).toEqual([
      [single.predictionId, single.predictionId, 0, 16],
      [batch[1].predictionId, batch[0].predictionId, 1, 6],
    ].sort());
    expect(captures.map((c) => c.eventMetadata.inferenceId)).toEqual([single.predictionId, batch[0].predictionId]);
    expect(captures[1].captureData.endpointInput.data).toBe(`${csvRow(ANOTHER[0] as typeof EXAMPLE)}\n${csvRow(ANOTHER[1] as typeof EXAMPLE)}\n`);
  });
});
