/**
 * `local monitor` end to end: run → approve → serve → predictions through the HTTP API → the monitoring
 * definition over what `local serve` stored, against the served model's training profile; then feedback → live
 * model quality, and `local feedback export` → `local run` on the original data plus the feedback.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { DATA, SLOW, ServeProcess, removeTempDirs, runMain, startServeCli, tempDir, trainAndApprove } from './support';
import { MEASURES } from '../../src/contracts/abalone-data';
import { DriftReport, ModelQualityReport, TRAINING_PROFILE } from '../../src/contracts/monitoring';
import { localProfilePath } from '../../src/local/local-monitor';
import { LocalModelRegistry } from '../../src/local/registry';

jest.setTimeout(SLOW);

const WEIGHTS = ['whole_weight', 'shucked_weight', 'viscera_weight', 'shell_weight'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** The dataset's rows as [sex, ...measures] (dataset scale), rings dropped. */
const ROWS = fs.readFileSync(DATA, 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.split(',').slice(0, 8));

/** `n` rows drawn with a fixed seed (a linear congruential generator: the same rows every run). */
function draw(n: number, seed: number, keep: (row: string[]) => boolean = () => true): string[][] {
  const candidates = ROWS.filter(keep);
  let state = seed;
  return Array.from({ length: n }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return candidates[state % candidates.length];
  });
}

/** A dataset row as the API's request body, in human units. */
function body(row: string[]): string {
  const instance: Record<string, unknown> = { sex: row[0] };
  MEASURES.forEach((m, i) => { instance[m.apiField] = Math.round(Number(row[i + 1]) * 200 * 1000) / 1000; });
  return JSON.stringify(instance);
}

function post(url: string, data: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/predictions`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Sends every row as its own request, 16 at a time; all must be answered 200. */
async function predictAll(url: string, rows: string[][]): Promise<void> {
  const queue = rows.map(body);
  const statuses: number[] = [];
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) statuses.push(await post(url, next));
  }));
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  expect(statuses).toHaveLength(rows.length);
}

type MonitorJson = { code: number | null; report: DriftReport; quality: ModelQualityReport | null };

async function monitorJson(home: string, ...args: string[]): Promise<MonitorJson> {
  const result = await runMain(['local', 'monitor', '--home', home, '--json', ...args]);
  expect(result.stderr).toBe('');
  const printed = JSON.parse(result.stdout);
  return { code: result.code, report: printed.drift, quality: printed.modelQuality };
}

/** POSTs JSON and returns the status and the parsed answer. */
function postJson(url: string, data: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(typeof data === 'string' ? data : JSON.stringify(data));
  });
}

describe('local monitor', () => {
  let home: string;
  let serve: ServeProcess | undefined;
  let driftedUntil: string;

  beforeAll(async () => {
    home = tempDir('monitor');
    await trainAndApprove(home);
    serve = await startServeCli(home);
    // Weights × 1.8, from rows whose heavier weights the API still accepts.
    const heavy = draw(1000, 1, (r) => WEIGHTS.every((_, i) => Number(r[4 + i]) * 1.8 <= [5, 3, 1.5, 2][i]))
      .map((r) => [...r.slice(0, 4), ...r.slice(4).map((v) => String(Math.round(Number(v) * 1.8 * 10000) / 10000))]);
    await predictAll(serve.url, heavy);
    await new Promise((resolve) => setTimeout(resolve, 20));
    driftedUntil = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await predictAll(serve.url, draw(1000, 2));
  });

  afterAll(async () => {
    await serve?.stop();
    removeTempDirs();
  });

  test('local run recorded the training profile on the model version', () => {
    const model = new LocalModelRegistry(path.join(home, 'registry')).get(1);
    expect(model.customerMetadata[TRAINING_PROFILE.metadataKey]).toMatch(/^local:\/\/artifacts\/[^/]+\/PreprocessData\/profile\/training-profile\.json$/);
    const profile = JSON.parse(fs.readFileSync(localProfilePath(home, model), 'utf8'));
    expect(profile.recordCount).toBe(2923);
  });

  test('1,000 requests with weights × 1.8 drift exactly the four weights: exit 3', async () => {
    const { code, report } = await monitorJson(home);
    // Everything stored: the drifted 1,000 and the in-distribution 1,000 after them.
    expect(report.recordCount).toBe(2000);
    expect(code).toBe(3);
    expect(report.status).toBe('drift');
    expect(report.driftedFeatures).toEqual(WEIGHTS);
    const readable = await runMain(['local', 'monitor', '--home', home]);
    expect(readable.code).toBe(3);
    expect(readable.stdout).toContain(`DRIFT: 4 of 8 features drifted (share 0.50) > 0.3: ${WEIGHTS.join(', ')}`);
    expect(readable.stdout).toMatch(/^whole_weight +median [0-9.]+ \([0-9.]+-[0-9.]+\) +median [0-9.]+ .* DRIFT \(psi, ks\)$/m);
    expect(readable.stdout).toMatch(/^sex +M 0\.\d\d F 0\.\d\d I 0\.\d\d .* ok$/m);
  });

  test('the in-distribution 1,000 alone are not drifted: exit 0', async () => {
    const { code, report } = await monitorJson(home, '--since', driftedUntil);
    expect(report.recordCount).toBe(1000);
    expect(report.skippedRecords).toBe(0);
    expect(report.status).toBe('ok');
    expect(report.driftedFeatures).toEqual([]);
    expect(report.windowStart).toBe(driftedUntil);
    expect(code).toBe(0);
  });

  test('without feedback, the quality step is skipped and says so', async () => {
    const { quality } = await monitorJson(home, '--since', driftedUntil);
    expect(quality).toBeNull();
    const readable = await runMain(['local', 'monitor', '--home', home, '--since', driftedUntil]);
    expect(readable.stdout).toContain('Model quality: no feedback stored, nothing to judge');
  });

  test('a window with too few records says so and exits 0', async () => {
    const result = await runMain(['local', 'monitor', '--home', home, '--since', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Insufficient data: 0 record(s) in 0 capture file(s), fewer than the 200 needed to judge drift');
  });

  test('fails clearly for an unknown model version and a bad --since', async () => {
    const unknown = await runMain(['local', 'monitor', '--home', home, '--model', '9']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Model version 9 is not in the registry');
    const since = await runMain(['local', 'monitor', '--home', home, '--since', 'yesterday']);
    expect(since.code).toBe(1);
    expect(since.stderr).toContain('--since must be an ISO 8601 time');
  });
});

describe('local monitor: live model quality from feedback; feedback as training data', () => {
  let home: string;
  let serve: ServeProcess | undefined;
  /** The API's answers (rings, rounded) and the dataset's actual rings of the 300 predictions given feedback. */
  const labelled: Array<{ predicted: number; actual: number }> = [];

  beforeAll(async () => {
    home = tempDir('quality');
    await trainAndApprove(home);
    serve = await startServeCli(home);
    const lines = fs.readFileSync(DATA, 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.split(','));
    let state = 7;
    const rows = Array.from({ length: 500 }, () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return lines[state % lines.length];
    });
    const answers: Array<{ status: number; body: any }> = [];
    for (let i = 0; i < rows.length; i += 16) {
      answers.push(...await Promise.all(rows.slice(i, i + 16).map((r) => postJson(`${serve!.url}/predictions`, body(r)))));
    }
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    for (const [i, answer] of answers.slice(0, 300).entries()) {
      const actual = Number(rows[i][8]);
      const feedback = await postJson(`${serve.url}/predictions/${answer.body.predictionId}/feedback`, { actualRings: actual });
      expect(feedback.status).toBe(200);
      labelled.push({ predicted: answer.body.rings, actual });
    }
  });

  afterAll(async () => {
    await serve?.stop();
    agent.destroy();
    removeTempDirs();
  });

  test('500 predictions, 300 with feedback: MAE, MSE and R² next to the registered test metrics, verdict ok', async () => {
    const { code, report, quality } = await monitorJson(home);
    expect(report.recordCount).toBe(500);
    expect(quality).not.toBeNull();
    expect(quality!.predictionCount).toBe(500);
    expect(quality!.labelledCount).toBe(300);
    expect(quality!.unmatchedLabels).toBe(0);
    // The API rounds its answers to 2 decimals; the captures hold the model's full answer.
    const mse = labelled.reduce((sum, l) => sum + (l.actual - l.predicted) ** 2, 0) / labelled.length;
    const mae = labelled.reduce((sum, l) => sum + Math.abs(l.actual - l.predicted), 0) / labelled.length;
    expect(Math.abs(quality!.live!.mse - mse)).toBeLessThan(0.02);
    expect(Math.abs(quality!.live!.mae - mae)).toBeLessThan(0.006);
    const registered = (new LocalModelRegistry(path.join(home, 'registry')).get(1).metrics as any).regression_metrics;
    expect(quality!.registered).toEqual({ mse: registered.mse.value, mae: registered.mae.value, r2: registered.r2.value });
    expect(quality!.mseRatio).toBeCloseTo(quality!.live!.mse / registered.mse.value, 10);
    expect(quality!.status).toBe('ok');
    expect(code).toBe(0);

    const readable = await runMain(['local', 'monitor', '--home', home]);
    expect(readable.stdout).toContain('Model quality: 300 of 500 predictions have feedback');
    expect(readable.stdout).toContain('Thresholds: degraded when live MSE > registered MSE × (1 + 0.25), at least 200 labelled predictions');
    expect(readable.stdout).toMatch(new RegExp(`^MSE +${quality!.live!.mse.toFixed(3)} +${registered.mse.value.toFixed(3)}$`, 'm'));
    expect(readable.stdout).toMatch(/^R² +-?\d+\.\d{3} +\d\.\d{3}$/m);
    expect(readable.stdout).toMatch(/^Model quality ok: live MSE \d\.\d\d × registered, not above 1\.25$/m);
    const few = await runMain(['local', 'monitor', '--home', home, '--parameter', 'MinLabels=301']);
    expect(few.stdout).toContain('Insufficient labels: 300 labelled prediction(s) of 500, fewer than the 301 needed');
  });

  test('feedback export writes one raw data row per prediction with feedback; a run on both lists it in the lineage', async () => {
    const out = path.join(home, 'export', 'feedback.csv');
    const exported = await runMain(['local', 'feedback', 'export', '--home', home, '--out', out]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain(`Wrote 300 feedback row(s) to ${out}; 0 row(s) outside the data contract dropped.`);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(rows).toHaveLength(300);
    expect(rows.map((r) => Number(r.split(',')[8])).sort()).toEqual(labelled.map((l) => l.actual).sort());

    const run = await runMain(['local', 'run', '--home', home, '--data', DATA, '--data', out, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).modelVersion).toBe(2);
    const models = JSON.parse((await runMain(['local', 'models', '--home', home, '--json'])).stdout);
    const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(models[1].dataFiles).toEqual([
      { name: '000-abalone.data', source: path.resolve(DATA), rows: 4177, sha256: sha256(DATA) },
      { name: '001-feedback.csv', source: out, rows: 300, sha256: sha256(out) },
    ]);
    // The first version was trained on the shipped file alone.
    expect(models[0].dataFiles).toEqual([{ name: 'abalone.data', source: path.resolve(DATA), rows: 4177, sha256: sha256(DATA) }]);
  });

  test('feedback with no store fails clearly; an unknown feedback command is a usage error', async () => {
    const missing = await runMain(['local', 'feedback', 'export', '--home', tempDir('nostore')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No stored feedback:');
    const unknown = await runMain(['local', 'feedback', 'import', '--home', home]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command local feedback import');
  });
});
