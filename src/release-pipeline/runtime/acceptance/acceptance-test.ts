/**
 * The acceptance test: replays a model's held-out test split through a prediction API, in human units, one abalone
 * per request as the web app sends them, and judges what it answered against the model's registered metrics.
 * The cloud's AcceptanceTest action and `local promote` run this same code; only the API's URL differs.
 */
import { DATASET_SCALE_DIVISOR, MAX_RINGS, MEASURES, RAW_COLUMNS, SEX_CODES } from '../../../contracts/abalone-data';
import { ACCEPTANCE_DEFAULTS, AcceptanceBounds, AcceptanceClientSettings, acceptanceSettingProblems } from '../../../contracts/acceptance-test';
import { messageOf } from '../../../contracts/error-messages';

/** The test split or the registered metrics cannot be used: the test cannot run (not a fault of the API). */
export class AcceptanceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AcceptanceInputError';
  }
}

/** One abalone of the test split: the request a client sends (human units) and the true ring count. */
export interface TestCase {
  readonly instance: { readonly sex: string; readonly [apiField: string]: string | number };
  readonly rings: number;
}

/** The metrics the model was registered with (evaluation.json on the same test split). */
export interface RegisteredMetrics {
  readonly mse: number;
  readonly mae: number;
}

/** What the test measured. */
export interface AcceptanceFigures {
  readonly requests: number;
  /** 2xx answers with a usable prediction. */
  readonly answered: number;
  /** Answers other than 2xx, timeouts and connection errors. */
  readonly non2xx: number;
  /** 2xx answers without a finite `rings`. */
  readonly invalidAnswers: number;
  /** Failures by kind (`HTTP 502`, `timeout`, `invalid answer`, …), with one example each. */
  readonly failures: readonly { readonly kind: string; readonly count: number; readonly example: string }[];
  /** Over the answered requests; undefined when none was answered. */
  readonly mse?: number;
  readonly mae?: number;
  readonly p50LatencyMs: number;
  readonly p99LatencyMs: number;
  readonly maxLatencyMs: number;
  readonly durationMs: number;
}

/** One bound and how the test fared against it. */
export interface AcceptanceCheck {
  readonly metric: 'MSE' | 'MAE' | 'non-2xx answers' | 'invalid answers' | 'p99 latency';
  readonly measured: number | undefined;
  /** The bound as text, e.g. `4.51 ± 10% (4.06 to 4.96)` or `<= 0`. */
  readonly bound: string;
  readonly passed: boolean;
  /** `MSE 1843.2 is outside 4.51 ± 10% (4.06 to 4.96)`. */
  readonly message: string;
}

export interface AcceptanceResult {
  readonly passed: boolean;
  readonly figures: AcceptanceFigures;
  readonly registered: RegisteredMetrics;
  readonly checks: readonly AcceptanceCheck[];
  /** Every figure next to its bound, for approval messages. */
  readonly summary: string;
  /** Why it failed (the failed checks), or that it passed. */
  readonly message: string;
}

/** Client settings beyond the contract's: pacing. */
export interface AcceptanceClientOptions extends Partial<AcceptanceClientSettings> {
  /**
   * Most requests started per second, so the test stays within the API's throttling (API Gateway answers 429 above
   * the stage's rate, 50 per second by default).
   *
   * @default 25
   */
  readonly requestsPerSecond?: number;
  /** Headers sent with every request (e.g. `x-api-key`). */
  readonly headers?: Record<string, string>;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

export interface AcceptanceTestOptions {
  /** Base URL of the API: the test posts to `<apiUrl>/predictions`. */
  readonly apiUrl: string;
  readonly cases: readonly TestCase[];
  readonly registered: RegisteredMetrics;
  readonly bounds?: Partial<AcceptanceBounds>;
  readonly client?: AcceptanceClientOptions;
}

const DEFAULT_REQUESTS_PER_SECOND = 25;
const MEASURE_COUNT = MEASURES.length;

/**
 * Reads the raw held-out test split (`sex,length,…,shell_weight,rings`, the dataset's scale, no header) into requests
 * in human units. Throws naming the source, line and column of the first problem.
 */
export function parseTestSplit(csv: string, source: string): TestCase[] {
  const cases: TestCase[] = [];
  const lines = csv.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${source} line ${i + 1}`;
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== RAW_COLUMNS.length) {
      throw new AcceptanceInputError(`${where}: expected ${RAW_COLUMNS.length} columns (${RAW_COLUMNS.join(',')}), found ${fields.length}`);
    }
    if (!SEX_CODES.includes(fields[0])) throw new AcceptanceInputError(`${where}: sex ${JSON.stringify(fields[0])} is not one of ${SEX_CODES.join('/')}`);
    const instance: Record<string, string | number> = { sex: fields[0] };
    MEASURES.forEach((m, j) => {
      const value = Number(fields[j + 1]);
      if (fields[j + 1] === '' || !Number.isFinite(value) || value < 0 || value > m.maxDatasetValue) {
        throw new AcceptanceInputError(`${where}: ${m.column} ${JSON.stringify(fields[j + 1])} is not a number from 0 to ${m.maxDatasetValue}`);
      }
      // The inverse of the API's conversion; rounding drops binary noise (0.455 * 200 = 91.00000000000001).
      instance[m.apiField] = Math.round(value * DATASET_SCALE_DIVISOR * 1e6) / 1e6;
    });
    const rings = Number(fields[MEASURE_COUNT + 1]);
    if (!Number.isInteger(rings) || rings < 1 || rings > MAX_RINGS) {
      throw new AcceptanceInputError(`${where}: rings ${JSON.stringify(fields[MEASURE_COUNT + 1])} is not a whole number from 1 to ${MAX_RINGS}`);
    }
    cases.push({ instance: instance as TestCase['instance'], rings });
  });
  if (cases.length === 0) throw new AcceptanceInputError(`${source} holds no test rows`);
  return cases;
}

/** MSE and MAE from an evaluation report (`{"regression_metrics": {"mse": {"value"}, "mae": {"value"}}}`). */
export function registeredMetricsOf(evaluation: unknown, source: string): RegisteredMetrics {
  const metrics = (evaluation as { regression_metrics?: Record<string, { value?: unknown }> } | null)?.regression_metrics;
  const value = (name: string) => {
    const v = metrics?.[name]?.value;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new AcceptanceInputError(`${source} has no regression_metrics.${name}.value (a number >= 0)`);
    }
    return v;
  };
  return { mse: value('mse'), mae: value('mae') };
}

/** The bounds and client settings with defaults; throws naming each bad field. */
export function resolveSettings(bounds: Partial<AcceptanceBounds> = {}, client: AcceptanceClientOptions = {}) {
  const settings = {
    mseTolerance: bounds.mseTolerance ?? ACCEPTANCE_DEFAULTS.mseTolerance,
    maeTolerance: bounds.maeTolerance ?? ACCEPTANCE_DEFAULTS.maeTolerance,
    maxNon2xx: bounds.maxNon2xx ?? ACCEPTANCE_DEFAULTS.maxNon2xx,
    p99LatencyMs: bounds.p99LatencyMs ?? ACCEPTANCE_DEFAULTS.p99LatencyMs,
    concurrency: client.concurrency ?? ACCEPTANCE_DEFAULTS.concurrency,
    requestTimeoutMs: client.requestTimeoutMs ?? ACCEPTANCE_DEFAULTS.requestTimeoutMs,
    requestsPerSecond: client.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND,
  };
  const problems = acceptanceSettingProblems(settings);
  if (!(Number.isFinite(settings.requestsPerSecond) && settings.requestsPerSecond > 0)) {
    problems.push(`requestsPerSecond is ${JSON.stringify(settings.requestsPerSecond)}: it must be a number > 0`);
  }
  if (problems.length > 0) throw new Error(`Invalid acceptance test settings: ${problems.join('; ')}`);
  return settings;
}

interface Outcome {
  readonly latencyMs: number;
  readonly rings?: number;
  /** Set when the request failed. */
  readonly failure?: { readonly kind: string; readonly detail: string; readonly non2xx: boolean };
}

/** Runs the test: every case once, at most `concurrency` in flight, paced to `requestsPerSecond`. */
export async function runAcceptanceTest(options: AcceptanceTestOptions): Promise<AcceptanceResult> {
  const settings = resolveSettings(options.bounds, options.client);
  if (options.cases.length === 0) throw new Error('The acceptance test needs at least one test case');
  const url = predictionsUrl(options.apiUrl);
  const doFetch = options.client?.fetch ?? globalThis.fetch;
  const headers = { 'Content-Type': 'application/json', 'Accept': 'application/json', ...options.client?.headers };
  const outcomes: Outcome[] = new Array(options.cases.length);
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < options.cases.length; i = next++) {
      const due = started + (i * 1000) / settings.requestsPerSecond;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      outcomes[i] = await callOnce(doFetch, url, headers, options.cases[i], settings.requestTimeoutMs);
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, options.cases.length) }, worker));
  const figures = summarize(options.cases, outcomes, Date.now() - started);
  return judge(figures, options.registered, settings);
}

function predictionsUrl(apiUrl: string): string {
  let base: URL;
  try {
    base = new URL(apiUrl);
  } catch {
    throw new Error(`apiUrl ${JSON.stringify(apiUrl)} is not a URL`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error(`apiUrl ${apiUrl} must be http(s)`);
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}/predictions`;
}

async function callOnce(
  doFetch: typeof fetch, url: string, headers: Record<string, string>, testCase: TestCase, timeoutMs: number,
): Promise<Outcome> {
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  try {
    const response = await doFetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(testCase.instance),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const latencyMs = elapsed();
    if (response.status < 200 || response.status > 299) {
      return { latencyMs, failure: { kind: `HTTP ${response.status}`, detail: text.slice(0, 200), non2xx: true } };
    }
    let rings: unknown;
    try {
      rings = (JSON.parse(text) as { rings?: unknown }).rings;
    } catch {
      rings = undefined;
    }
    if (typeof rings !== 'number' || !Number.isFinite(rings)) {
      return { latencyMs, failure: { kind: 'invalid answer', detail: `HTTP ${response.status} without a numeric rings: ${text.slice(0, 200)}`, non2xx: false } };
    }
    return { latencyMs, rings };
  } catch (error) {
    const latencyMs = elapsed();
    const name = (error as { name?: string }).name;
    const kind = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'connection error';
    const detail = kind === 'timeout' ? `no answer within ${timeoutMs} ms` : messageOf((error as { cause?: unknown }).cause ?? error);
    return { latencyMs, failure: { kind, detail, non2xx: true } };
  }
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];
}

function summarize(cases: readonly TestCase[], outcomes: readonly Outcome[], durationMs: number): AcceptanceFigures {
  let squared = 0;
  let absolute = 0;
  let answered = 0;
  let non2xx = 0;
  let invalidAnswers = 0;
  const failures = new Map<string, { kind: string; count: number; example: string }>();
  outcomes.forEach((o, i) => {
    if (o.failure) {
      if (o.failure.non2xx) non2xx++;
      else invalidAnswers++;
      const entry = failures.get(o.failure.kind) ?? { kind: o.failure.kind, count: 0, example: o.failure.detail };
      entry.count++;
      failures.set(o.failure.kind, entry);
      return;
    }
    const error = o.rings! - cases[i].rings;
    squared += error * error;
    absolute += Math.abs(error);
    answered++;
  });
  const latencies = outcomes.map((o) => o.latencyMs).sort((a, b) => a - b);
  return {
    requests: outcomes.length,
    answered,
    non2xx,
    invalidAnswers,
    failures: [...failures.values()].sort((a, b) => b.count - a.count),
    ...(answered > 0 ? { mse: squared / answered, mae: absolute / answered } : {}),
    p50LatencyMs: percentile(latencies, 0.5),
    p99LatencyMs: percentile(latencies, 0.99),
    maxLatencyMs: latencies[latencies.length - 1] ?? 0,
    durationMs,
  };
}

/** Judges the figures against the bounds. */
export function judge(figures: AcceptanceFigures, registered: RegisteredMetrics, bounds: AcceptanceBounds): AcceptanceResult {
  const checks: AcceptanceCheck[] = [
    relativeCheck('MSE', figures.mse, registered.mse, bounds.mseTolerance),
    relativeCheck('MAE', figures.mae, registered.mae, bounds.maeTolerance),
    countCheck('non-2xx answers', figures.non2xx, bounds.maxNon2xx, figures),
    countCheck('invalid answers', figures.invalidAnswers, 0, figures),
    {
      metric: 'p99 latency',
      measured: figures.p99LatencyMs,
      bound: `<= ${bounds.p99LatencyMs} ms`,
      passed: figures.p99LatencyMs <= bounds.p99LatencyMs,
      message: `p99 latency ${fmt(figures.p99LatencyMs, 1)} ms ${figures.p99LatencyMs <= bounds.p99LatencyMs ? '<=' : '>'} ${bounds.p99LatencyMs} ms`,
    },
  ];
  const failed = checks.filter((c) => !c.passed);
  const summary = `${figures.requests} requests: MSE ${fmt(figures.mse)} (registered ${fmt(registered.mse)} ± ${pct(bounds.mseTolerance)}), `
    + `MAE ${fmt(figures.mae)} (registered ${fmt(registered.mae)} ± ${pct(bounds.maeTolerance)}), `
    + `${figures.non2xx} non-2xx (max ${bounds.maxNon2xx}), p50 ${fmt(figures.p50LatencyMs, 1)} ms, `
    + `p99 ${fmt(figures.p99LatencyMs, 1)} ms (max ${bounds.p99LatencyMs} ms)`;
  const message = failed.length === 0
    ? `Acceptance test passed: ${summary}`
    : `Acceptance test failed: ${failed.map((c) => c.message).join('; ')}`;
  return { passed: failed.length === 0, figures, registered, checks, summary, message };
}

function relativeCheck(metric: 'MSE' | 'MAE', measured: number | undefined, registered: number, tolerance: number): AcceptanceCheck {
  const low = registered * (1 - tolerance);
  const high = registered * (1 + tolerance);
  const bound = `${fmt(registered)} ± ${pct(tolerance)} (${fmt(Math.max(0, low))} to ${fmt(high)})`;
  if (measured === undefined) {
    return { metric, measured, bound, passed: false, message: `${metric} cannot be measured: no request was answered (bound ${bound})` };
  }
  const passed = measured >= low && measured <= high;
  return { metric, measured, bound, passed, message: `${metric} ${fmt(measured)} is ${passed ? 'within' : 'outside'} ${bound}` };
}

function countCheck(metric: 'non-2xx answers' | 'invalid answers', measured: number, max: number, figures: AcceptanceFigures): AcceptanceCheck {
  const passed = measured <= max;
  const kinds = figures.failures.filter((f) => (metric === 'invalid answers') === (f.kind === 'invalid answer'));
  const detail = !passed && kinds.length > 0 ? ` (${kinds.map((k) => `${k.kind} × ${k.count}, e.g. ${k.example}`).join('; ')})` : '';
  return {
    metric,
    measured,
    bound: `<= ${max}`,
    passed,
    message: `${metric} ${measured} of ${figures.requests} ${passed ? '<=' : '>'} ${max}${detail}`,
  };
}

function fmt(value: number | undefined, digits = 3): string {
  return value === undefined ? '-' : String(Number(value.toFixed(digits)));
}

function pct(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}
