/**
 * The acceptance test against real HTTP servers: the local server (the cloud API's own request handling) in front of
 * a real least-squares model fitted to the UCI data, and variants of it that are wrong in one way each.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunningLocalServer, startLocalServer } from '../../src/local/local-server';
import { DatasetRow, ModelBackend, ModelFailureError } from '../../src/model-serving/runtime/api/predict';
import {
  TestCase, judge, parseTestSplit, percentile, registeredMetricsOf, resolveSettings, runAcceptanceTest,
} from '../../src/release-pipeline/runtime/acceptance/acceptance-test';

const ROOT = path.resolve(__dirname, '..', '..');
const DATA = path.join(ROOT, 'data', 'abalone.data');
const FAST = { requestsPerSecond: 5000, concurrency: 8 };

/** Dataset-scale rows of the UCI file: features and rings. */
function readDataset(): { features: number[][]; rings: number[]; lines: string[] } {
  const lines = fs.readFileSync(DATA, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const features = lines.map((l) => encode(l.split(',').slice(0, 8)));
  const rings = lines.map((l) => Number(l.split(',')[8]));
  return { features, rings, lines };
}

/** sex one-hot (F, I; M is the base) and the seven measures, plus an intercept. */
function encode(row: readonly (string | number)[]): number[] {
  return [1, row[0] === 'F' ? 1 : 0, row[0] === 'I' ? 1 : 0, ...row.slice(1).map(Number)];
}

/** Ordinary least squares by the normal equations (Gauss-Jordan with partial pivoting). */
function fit(x: number[][], y: number[]): number[] {
  const n = x[0].length;
  const a = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (__, j) => x.reduce((s, r) => s + r[i] * r[j], 0)),
    x.reduce((s, r, k) => s + r[i] * y[k], 0),
  ]);
  for (let c = 0; c < n; c++) {
    const p = a.slice(c).reduce((best, row, i) => (Math.abs(row[c]) > Math.abs(a[best][c]) ? c + i : best), c);
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; k++) a[r][k] -= f * a[c][k];
    }
  }
  return a.map((row, i) => row[n] / row[i]);
}

const predictRow = (w: number[], row: readonly (string | number)[]) => encode(row).reduce((s, v, i) => s + v * w[i], 0);

let weights: number[];
let testCsv: string;
let cases: TestCase[];
let registered: { mse: number; mae: number };
const servers: RunningLocalServer[] = [];
let webAppDir: string;

beforeAll(() => {
  const { features, rings, lines } = readDataset();
  // Every 7th row is held out; the model is fitted on the rest.
  const held = (i: number) => i % 7 === 0;
  weights = fit(features.filter((_, i) => !held(i)), rings.filter((_, i) => !held(i)));
  const test = lines.filter((_, i) => held(i));
  testCsv = `${test.join('\n')}\n`;
  cases = parseTestSplit(testCsv, 'test.csv');
  // What the evaluation step would register: the model applied to the dataset-scale rows directly.
  const errors = test.map((l) => { const f = l.split(','); return predictRow(weights, f.slice(0, 8)) - Number(f[8]); });
  registered = registeredMetricsOf({
    regression_metrics: {
      mse: { value: errors.reduce((s, e) => s + e * e, 0) / errors.length },
      mae: { value: errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length },
    },
  }, 'evaluation.json');
  webAppDir = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-acceptance-'));
  fs.writeFileSync(path.join(webAppDir, 'index.html'), '<!doctype html><title>test</title>');
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(webAppDir, { recursive: true, force: true });
});

/** The local server (the API's real routes and unit conversion) in front of `predict`. */
async function serve(predict: (rows: readonly DatasetRow[]) => Promise<number[]>): Promise<string> {
  const backend: ModelBackend = { predict: async (rows) => ({ rings: await predict(rows), modelVersion: 'test/1' }) };
  const server = await startLocalServer({ backend, webAppDir });
  servers.push(server);
  return server.url;
}

const correct = async (rows: readonly DatasetRow[]) => rows.map((r) => predictRow(weights, r));

describe('parseTestSplit', () => {
  test('turns dataset-scale rows into requests in human units, the inverse of the API\'s conversion', () => {
    const [first] = parseTestSplit('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n', 'x.csv');
    expect(first).toEqual({
      instance: { sex: 'M', lengthMm: 91, diameterMm: 73, heightMm: 19, wholeWeightG: 102.8, shuckedWeightG: 44.9, visceraWeightG: 20.2, shellWeightG: 30 },
      rings: 15,
    });
  });

  test.each([
    ['M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', 'x.csv line 1: expected 9 columns'],
    ['X,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n', 'x.csv line 1: sex "X" is not one of M/F/I'],
    ['M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\nM,91,0.365,0.095,0.514,0.2245,0.101,0.15,15\n', 'x.csv line 2: length "91" is not a number from 0 to 1.25'],
    ['M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,1.5\n', 'x.csv line 1: rings "1.5" is not a whole number'],
    ['\n', 'x.csv holds no test rows'],
  ])('rejects %j naming the line and column', (csv, message) => {
    expect(() => parseTestSplit(csv, 'x.csv')).toThrow(message);
  });
});

describe('settings', () => {
  test('a bad bound fails naming the field, the value and what is allowed', () => {
    expect(() => resolveSettings({ mseTolerance: -1, maxNon2xx: 0.5 }, { concurrency: 0 })).toThrow(
      'Invalid acceptance test settings: mseTolerance is -1: it must be a number >= 0 (a fraction of the registered MSE); '
      + 'maxNon2xx is 0.5: it must be a whole number >= 0; concurrency is 0: it must be a whole number from 1 to 64');
  });

  test('registered metrics must be in the evaluation report', () => {
    expect(() => registeredMetricsOf({ regression_metrics: { mse: { value: 4 } } }, 's3://b/evaluation.json'))
      .toThrow('s3://b/evaluation.json has no regression_metrics.mae.value (a number >= 0)');
  });

  test('percentile is nearest-rank', () => {
    const values = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(values, 0.99)).toBe(198);
    expect(percentile(values, 0.5)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
  });
});

describe('against local servers', () => {
  test('a server that answers with the registered model passes, with the figures of its test split', async () => {
    const url = await serve(correct);
    const result = await runAcceptanceTest({ apiUrl: `${url}/`, cases, registered, client: FAST });
    expect(result.message).toMatch(/^Acceptance test passed: 597 requests: MSE /);
    expect(result.passed).toBe(true);
    expect(result.figures).toMatchObject({ requests: cases.length, answered: cases.length, non2xx: 0, invalidAnswers: 0, failures: [] });
    // Only the API's rounding of rings to 2 decimals separates the served metrics from the registered ones.
    expect(Math.abs(result.figures.mse! - registered.mse) / registered.mse).toBeLessThan(0.005);
    expect(Math.abs(result.figures.mae! - registered.mae) / registered.mae).toBeLessThan(0.005);
    expect(result.checks.map((c) => [c.metric, c.passed])).toEqual([
      ['MSE', true], ['MAE', true], ['non-2xx answers', true], ['invalid answers', true], ['p99 latency', true],
    ]);
  });

  test('a server off by ×200 on the inputs (it divides by 200 twice) fails on MSE and MAE, naming value and bound', async () => {
    const url = await serve(async (rows) => rows.map((r) => predictRow(weights, [r[0], ...r.slice(1).map((v) => (v as number) / 200)])));
    const result = await runAcceptanceTest({ apiUrl: url, cases, registered, client: FAST });
    expect(result.passed).toBe(false);
    expect(result.figures.non2xx).toBe(0);
    const mse = result.checks.find((c) => c.metric === 'MSE')!;
    expect(mse.passed).toBe(false);
    expect(mse.measured!).toBeGreaterThan(registered.mse * 2);
    expect(result.message).toMatch(new RegExp(`^Acceptance test failed: MSE [0-9.]+ is outside ${registered.mse.toFixed(3).replace(/0+$/, '')} ± 10% \\(`));
    expect(result.message).toMatch(/; MAE [0-9.]+ is outside /);
  });

  test('a server that errors on 1% of requests fails on non-2xx answers', async () => {
    let calls = 0;
    const url = await serve(async (rows) => {
      calls++;
      if (calls % 100 === 0) throw new ModelFailureError('the endpoint failed');
      return correct(rows);
    });
    const result = await runAcceptanceTest({ apiUrl: url, cases, registered, client: FAST });
    const failures = Math.floor(cases.length / 100);
    expect(result.passed).toBe(false);
    expect(result.figures).toMatchObject({ non2xx: failures, answered: cases.length - failures });
    expect(result.figures.failures).toEqual([expect.objectContaining({ kind: 'HTTP 502', count: failures })]);
    expect(result.message).toBe(`Acceptance test failed: non-2xx answers ${failures} of ${cases.length} > 0 (HTTP 502 × ${failures}, e.g. `
      + `${result.figures.failures[0].example})`);
    // The answered ones are still right.
    expect(result.checks.find((c) => c.metric === 'MSE')!.passed).toBe(true);
  });

  test('a slow server fails on p99 latency, naming the measured value and the bound', async () => {
    const url = await serve(async (rows) => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return correct(rows);
    });
    const subset = cases.slice(0, 60);
    const bounds = { mseTolerance: 1, maeTolerance: 1, p99LatencyMs: 40 };
    const result = await runAcceptanceTest({ apiUrl: url, cases: subset, registered, bounds, client: FAST });
    expect(result.passed).toBe(false);
    expect(result.figures.p99LatencyMs).toBeGreaterThanOrEqual(60);
    expect(result.message).toMatch(/^Acceptance test failed: p99 latency [0-9.]+ ms > 40 ms$/);
  });
});

describe('the client', () => {
  let raw: http.Server | undefined;
  afterEach(async () => {
    raw?.closeAllConnections();
    await new Promise((resolve) => (raw ? raw.close(resolve) : resolve(undefined)));
    raw = undefined;
  });

  async function rawServer(handler: http.RequestListener): Promise<string> {
    raw = http.createServer(handler);
    await new Promise<void>((resolve) => raw!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
  }

  test('posts one instance per request to <api>/predictions, at most `concurrency` at once', async () => {
    let inFlight = 0;
    let most = 0;
    const bodies: unknown[] = [];
    const url = await rawServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => setTimeout(() => {
        inFlight--;
        expect([req.method, req.url, req.headers['content-type']]).toEqual(['POST', '/prod/predictions', 'application/json']);
        const instance = JSON.parse(body);
        bodies.push(instance);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ rings: 9, ageYears: 10.5 }));
      }, 5));
    });
    const subset = cases.slice(0, 30);
    const result = await runAcceptanceTest({ apiUrl: `${url}/prod/`, cases: subset, registered, bounds: { mseTolerance: 100, maeTolerance: 100 }, client: { ...FAST, concurrency: 3 } });
    expect(result.figures.answered).toBe(30);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
    expect(bodies).toHaveLength(30);
    expect(bodies).toEqual(expect.arrayContaining(subset.map((c) => c.instance)));
  });

  test('paces requests to requestsPerSecond', async () => {
    const url = await rawServer((_req, res) => res.writeHead(200).end('{"rings": 9}'));
    const started = Date.now();
    await runAcceptanceTest({ apiUrl: url, cases: cases.slice(0, 11), registered, client: { concurrency: 4, requestsPerSecond: 20 } });
    // The 11th request is due 10 / 20 s after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
  });

  test('a request without an answer within the timeout counts as a failed request; a 200 without rings as invalid', async () => {
    let calls = 0;
    const url = await rawServer((_req, res) => {
      calls++;
      if (calls === 1) return; // never answers
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(calls === 2 ? '{"message":"ok"}' : '{"rings": 9}');
    });
    const result = await runAcceptanceTest({
      apiUrl: url,
      cases: cases.slice(0, 4),
      registered,
      bounds: { mseTolerance: 100, maeTolerance: 100 },
      client: { concurrency: 1, requestTimeoutMs: 300, requestsPerSecond: 1000 },
    });
    expect(result.figures).toMatchObject({ requests: 4, answered: 2, non2xx: 1, invalidAnswers: 1 });
    expect(result.message).toContain('non-2xx answers 1 of 4 > 0 (timeout × 1, e.g. no answer within 300 ms)');
    expect(result.message).toContain('invalid answers 1 of 4 > 0 (invalid answer × 1, e.g. HTTP 200 without a numeric rings: {"message":"ok"})');
  });

  test('no answer at all fails MSE and MAE as not measurable', () => {
    const result = judge({
      requests: 3,
      answered: 0,
      non2xx: 3,
      invalidAnswers: 0,
      failures: [{ kind: 'connection error', count: 3, example: 'ECONNREFUSED' }],
      p50LatencyMs: 1,
      p99LatencyMs: 1,
      maxLatencyMs: 1,
      durationMs: 3,
    }, { mse: 4.5, mae: 1.5 }, { mseTolerance: 0.1, maeTolerance: 0.1, maxNon2xx: 0, p99LatencyMs: 1000 });
    expect(result.message).toBe('Acceptance test failed: MSE cannot be measured: no request was answered (bound 4.5 ± 10% (4.05 to 4.95)); '
      + 'MAE cannot be measured: no request was answered (bound 1.5 ± 10% (1.35 to 1.65)); '
      + 'non-2xx answers 3 of 3 > 0 (connection error × 3, e.g. ECONNREFUSED)');
  });
});
