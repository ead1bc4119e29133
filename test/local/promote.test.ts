/**
 * `local promote` end to end: a real local run registers a version (with its held-out test split), promote serves it
 * as staging, replays the split through the API and approves it only when it passes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATA, SLOW, WEBAPP_DIR, removeTempDirs, runMain, tempDir } from './support';
import { HELD_OUT_TEST_SPLIT } from '../../src/contracts/acceptance-test';
import { LocalModelBackend } from '../../src/local/local-model-backend';
import { localTestSplitPath } from '../../src/local/local-promote';
import { ML_DIR, localRun } from '../../src/local/local-run';
import { startLocalServer } from '../../src/local/local-server';
import { checkPython } from '../../src/local/python';
import { LocalModelRegistry } from '../../src/local/registry';
import { DatasetRow, ModelBackend } from '../../src/model-serving/runtime/api/predict';
import { parseTestSplit, registeredMetricsOf, runAcceptanceTest } from '../../src/release-pipeline/runtime/acceptance/acceptance-test';

jest.setTimeout(SLOW);

let home: string;
let registry: LocalModelRegistry;
let version: number;

beforeAll(async () => {
  home = tempDir('promote');
  const report = await localRun({ data: DATA, home, python: await checkPython() });
  if (report.status !== 'Succeeded' || !report.registeredModel) throw new Error(`the run failed: ${report.failureReason}`);
  version = report.registeredModel.version;
  registry = new LocalModelRegistry(path.join(home, 'registry'));
});

afterAll(() => removeTempDirs());

test('the run records the raw held-out test split on the version: the rows EvaluateModel scored, in raw form', () => {
  const model = registry.get(version);
  expect(model.customerMetadata[HELD_OUT_TEST_SPLIT.metadataKey]).toMatch(/^local:\/\/artifacts\/[^/]+\/PreprocessData\/heldout\/test\.csv$/);
  const rows = fs.readFileSync(localTestSplitPath(home, model), 'utf8').trim().split('\n');
  // 15% of the 4,177 UCI rows, as many as the processed test split.
  const processed = fs.readFileSync(path.join(path.dirname(path.dirname(localTestSplitPath(home, model))), 'test', 'test.csv'), 'utf8').trim().split('\n');
  expect(rows).toHaveLength(processed.length);
  expect(rows.length).toBe(4177 - Math.floor(4177 * 0.7) - (Math.floor(4177 * 0.85) - Math.floor(4177 * 0.7)));
  // Same order and labels: the processed split is label-first.
  expect(rows.map((r) => r.split(',')[8])).toEqual(processed.map((r) => r.split(',')[0]));
  expect(rows[0]).toMatch(/^[MFI](,[0-9.]+){7},\d+$/);
});

test('a version whose registered metrics its served predictions reproduce passes and is approved', async () => {
  expect(registry.get(version).approvalStatus).toBe('PendingManualApproval');
  const { code, stdout, stderr } = await runMain(['local', 'promote', String(version), '--home', home, '--json']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const report = JSON.parse(stdout);
  const metrics = (registry.get(version).metrics as any).regression_metrics;
  expect(report).toMatchObject({
    version,
    passed: true,
    approved: true,
    approvalStatus: 'Approved',
    registered: { mse: metrics.mse.value, mae: metrics.mae.value },
    bounds: { mseTolerance: 0.1, maeTolerance: 0.1, maxNon2xx: 0, p99LatencyMs: 1000 },
    figures: { requests: 627, answered: 627, non2xx: 0, invalidAnswers: 0 },
  });
  expect(report.stagingUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(report.stagingUrl).not.toBe('http://127.0.0.1:8080');
  // Served through the API in human units and rounded to 2 decimals, the split gives the registered metrics.
  expect(Math.abs(report.figures.mse - metrics.mse.value) / metrics.mse.value).toBeLessThan(0.005);
  expect(Math.abs(report.figures.mae - metrics.mae.value) / metrics.mae.value).toBeLessThan(0.005);
  expect(report.message).toMatch(/^Acceptance test passed: 627 requests: MSE /);
  expect(registry.get(version).approvalStatus).toBe('Approved');
});

test('the registered model behind a server with the unit bug (inputs divided by 200 twice) fails on MSE and MAE', async () => {
  const model = registry.get(version);
  const backend = await LocalModelBackend.start(await checkPython(), path.join(ML_DIR, 'local_serve.py'), model);
  const divideAgain = (r: DatasetRow) => [r[0], ...r.slice(1).map((x) => (x as number) / 200)] as DatasetRow;
  const buggy: ModelBackend = { predict: (rows) => backend.predict(rows.map(divideAgain)) };
  const server = await startLocalServer({ backend: buggy, webAppDir: WEBAPP_DIR });
  try {
    const cases = parseTestSplit(fs.readFileSync(localTestSplitPath(home, model), 'utf8'), 'test.csv');
    const registered = registeredMetricsOf(model.metrics, 'registry');
    const result = await runAcceptanceTest({ apiUrl: server.url, cases, registered, client: { requestsPerSecond: 2000 } });
    expect(result.passed).toBe(false);
    expect(result.figures.non2xx).toBe(0);
    expect(result.figures.mse!).toBeGreaterThan(registered.mse * 1.5);
    expect(result.message).toMatch(/^Acceptance test failed: MSE [0-9.]+ is outside [0-9.]+ ± 10% \([0-9.]+ to [0-9.]+\); MAE [0-9.]+ is outside /);
  } finally {
    await server.close();
    await backend.close();
  }
});

test('a version whose registered metrics its served predictions contradict fails and is not approved', async () => {
  // The registered MSE and MAE disagree with what the model serves (as they did with the unit bug).
  const file = path.join(home, 'registry', String(version), 'model-package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  pkg.approvalStatus = 'PendingManualApproval';
  pkg.metrics.regression_metrics.mse.value /= 3;
  fs.writeFileSync(file, JSON.stringify(pkg));
  const { code, stdout } = await runMain(['local', 'promote', String(version), '--home', home]);
  expect(code).toBe(1);
  expect(stdout).toMatch(new RegExp(`Acceptance test failed: MSE [0-9.]+ is outside ${String(Number(pkg.metrics.regression_metrics.mse.value.toFixed(3))).replace('.', '\\.')} ± 10% `));
  expect(stdout).toContain(`Model version ${version} stays PendingManualApproval.`);
  expect(stdout).toMatch(/MSE\s+[0-9.]+\s+[0-9.]+ ± 10% \([0-9.]+ to [0-9.]+\)\s+FAILED/);
  expect(stdout).toMatch(/non-2xx answers\s+0\s+<= 0\s+ok/);
  expect(registry.get(version).approvalStatus).toBe('PendingManualApproval');
});

test('a version without a recorded test split cannot be promoted, and says why', async () => {
  const file = path.join(home, 'registry', String(version), 'model-package.json');
  const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  delete pkg.customerMetadata[HELD_OUT_TEST_SPLIT.metadataKey];
  fs.writeFileSync(file, JSON.stringify(pkg));
  const { code, stderr } = await runMain(['local', 'promote', String(version), '--home', home]);
  expect(code).toBe(1);
  expect(stderr).toBe(`Model version ${version} has no held-out test split (TestSplitS3Uri): it was registered before runs recorded one; `
    + 'train it again with `cdk-mlops-abalone local run`\n');
});

test('bad options fail with usage, naming the option', async () => {
  const { code, stderr } = await runMain(['local', 'promote', String(version), '--home', home, '--mse-tolerance', 'x']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/^--mse-tolerance must be a number, got x/);
  const negative = await runMain(['local', 'promote', String(version), '--home', home, '--mse-tolerance=-1']);
  expect(negative.code).toBe(1);
  expect(negative.stderr).toContain('mseTolerance is -1: it must be a number >= 0');
});
