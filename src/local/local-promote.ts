/**
 * `local promote`: the cloud's staged promotion on this machine. The version is served as "staging" on a port of
 * its own (the local server with that version's containers), the acceptance test the release pipeline runs replays
 * the version's held-out test split through it, and only a version that passes is approved.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalModelBackend } from './local-model-backend';
import { ML_DIR } from './local-run';
import { startLocalServer } from './local-server';
import { LocalModelRegistry, RegisteredModel } from './registry';
import { AcceptanceBounds, AcceptanceClientSettings, HELD_OUT_TEST_SPLIT } from '../contracts/acceptance-test';
import {
  AcceptanceInputError, AcceptanceResult, parseTestSplit, registeredMetricsOf, resolveSettings, runAcceptanceTest,
} from '../release-pipeline/runtime/acceptance/acceptance-test';

/** A version that cannot be tested as it is (no test split recorded, its run folder gone): exit code 1, no approval. */
export class PromoteSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromoteSetupError';
  }
}

export interface LocalPromoteOptions {
  /** Local mode's folder (registry, runs). */
  readonly home: string;
  readonly python: string;
  readonly version: number;
  readonly bounds?: Partial<AcceptanceBounds>;
  readonly client?: Partial<AcceptanceClientSettings>;
  /** Where staging listens. @default 127.0.0.1 */
  readonly host?: string;
  /** Staging's port. @default 0: a free port, so it never collides with `local serve` */
  readonly port?: number;
  /** The built web app the local server also serves. @default the package's assets/webapp */
  readonly webAppDir?: string;
}

export interface LocalPromoteReport {
  /** The version after the test: Approved when it passed, its status unchanged otherwise. */
  readonly model: RegisteredModel;
  readonly stagingUrl: string;
  readonly testSplitPath: string;
  readonly bounds: AcceptanceBounds;
  readonly result: AcceptanceResult;
  readonly approved: boolean;
}

/** No throttling stands in front of the local server: pacing only keeps the test from queueing in the worker. */
const LOCAL_REQUESTS_PER_SECOND = 2000;

/**
 * A registered version's held-out test split on this machine. Its `TestSplitS3Uri` is
 * `local://artifacts/<execution id>/…`, in the `artifacts` folder of that run (`<home>/runs/<execution id>`).
 */
export function localTestSplitPath(home: string, model: RegisteredModel): string {
  const key = HELD_OUT_TEST_SPLIT.metadataKey;
  const uri = model.customerMetadata?.[key];
  if (!uri) {
    throw new PromoteSetupError(`Model version ${model.version} has no held-out test split (${key}): `
      + 'it was registered before runs recorded one; train it again with `cdk-mlops-abalone local run`');
  }
  const match = /^local:\/\/artifacts\/(([^/]+)\/.+)$/.exec(uri);
  if (!match) throw new PromoteSetupError(`Model version ${model.version}: ${key} ${uri} is not a local run's artifact`);
  const file = path.resolve(home, 'runs', match[2], 'artifacts', ...match[1].split('/'));
  if (!fs.existsSync(file)) {
    throw new PromoteSetupError(`The held-out test split of model version ${model.version} (${uri}) is not at ${file}: `
      + 'its run folder was removed or written elsewhere with --out');
  }
  return file;
}

export async function localPromote(options: LocalPromoteOptions): Promise<LocalPromoteReport> {
  const settings = resolveSettings(options.bounds, { ...options.client, requestsPerSecond: LOCAL_REQUESTS_PER_SECOND });
  const registry = new LocalModelRegistry(path.join(options.home, 'registry'));
  const model = registry.get(options.version);
  const testSplitPath = localTestSplitPath(options.home, model);
  let cases;
  let registered;
  try {
    cases = parseTestSplit(fs.readFileSync(testSplitPath, 'utf8'), testSplitPath);
    registered = registeredMetricsOf(model.metrics, `the registered metrics of model version ${model.version}`);
  } catch (e) {
    if (e instanceof AcceptanceInputError) throw new PromoteSetupError(e.message);
    throw e;
  }
  const bounds: AcceptanceBounds = {
    mseTolerance: settings.mseTolerance, maeTolerance: settings.maeTolerance, maxNon2xx: settings.maxNon2xx, p99LatencyMs: settings.p99LatencyMs,
  };

  const backend = await LocalModelBackend.start(options.python, path.join(ML_DIR, 'local_serve.py'), model);
  let result: AcceptanceResult;
  let stagingUrl: string;
  try {
    // No prediction store: staging traffic is the test's own and is not kept.
    const server = await startLocalServer({
      backend,
      webAppDir: options.webAppDir ?? path.join(__dirname, '..', '..', 'assets', 'webapp'),
      host: options.host,
      port: options.port ?? 0,
    });
    stagingUrl = server.url;
    try {
      result = await runAcceptanceTest({
        apiUrl: server.url,
        cases,
        registered,
        bounds,
        client: { concurrency: settings.concurrency, requestTimeoutMs: settings.requestTimeoutMs, requestsPerSecond: LOCAL_REQUESTS_PER_SECOND },
      });
    } finally {
      await server.close();
    }
  } finally {
    await backend.close();
  }
  const after = result.passed ? registry.setApprovalStatus(model.version, 'Approved') : registry.get(model.version);
  return { model: after, stagingUrl, testSplitPath, bounds, result, approved: result.passed };
}

/** The report as text: the figures next to their bounds and the verdict. */
export function formatPromoteReport(report: LocalPromoteReport): string {
  const r = report.result;
  const f = r.figures;
  const num = (x: number | undefined, digits = 3) => (x === undefined ? '-' : x.toFixed(digits));
  const lines = [
    `Staging: model version ${report.model.version} (${report.model.arn}) at ${report.stagingUrl}/`,
    `Replayed ${f.requests} held-out test rows (${report.testSplitPath}) through POST /predictions in ${(f.durationMs / 1000).toFixed(1)} s`,
    '',
    `${'check'.padEnd(16)} ${'measured'.padStart(10)}  bound`,
  ];
  for (const c of r.checks) {
    const measured = c.metric === 'p99 latency' ? `${num(c.measured, 1)} ms` : (c.metric === 'MSE' || c.metric === 'MAE') ? num(c.measured) : String(c.measured);
    lines.push(`${c.metric.padEnd(16)} ${measured.padStart(10)}  ${c.bound}  ${c.passed ? 'ok' : 'FAILED'}`);
  }
  lines.push(`${'p50 latency'.padEnd(16)} ${`${num(f.p50LatencyMs, 1)} ms`.padStart(10)}`);
  lines.push('', r.passed
    ? `Passed: model version ${report.model.version} is now ${report.model.approvalStatus}.`
    : `${r.message}. Model version ${report.model.version} stays ${report.model.approvalStatus}.`);
  return `${lines.join('\n')}\n`;
}

/** The report as JSON (`local promote --json`). */
export function promoteReportJson(report: LocalPromoteReport) {
  return {
    version: report.model.version,
    modelPackageArn: report.model.arn,
    approvalStatus: report.model.approvalStatus,
    passed: report.result.passed,
    approved: report.approved,
    stagingUrl: report.stagingUrl,
    testSplit: report.testSplitPath,
    registered: report.result.registered,
    bounds: report.bounds,
    figures: report.result.figures,
    checks: report.result.checks,
    message: report.result.message,
  };
}
