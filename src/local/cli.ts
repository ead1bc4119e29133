#!/usr/bin/env node
/**
 * cdk-mlops-abalone: run the abalone MLOps system on this machine, with no AWS account.
 *
 *   cdk-mlops-abalone local run [--data FILE|DIR|URL]… [--seed N] [--mse-threshold X] [--json] …
 *   cdk-mlops-abalone local serve [--model VERSION] [--port N]
 *   cdk-mlops-abalone local models [--json]
 *   cdk-mlops-abalone local approve VERSION
 *   cdk-mlops-abalone local monitor [--model VERSION] [--since ISO] [--json]
 *   cdk-mlops-abalone local feedback export [--out FILE] [--since ISO]
 *   cdk-mlops-abalone local promote VERSION [--json] …
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { FeedbackExportError, exportFeedback } from './local-feedback';
import { LocalModelBackend } from './local-model-backend';
import { LocalMonitorReport, MonitorSetupError, localMonitor } from './local-monitor';
import { PromoteSetupError, formatPromoteReport, localPromote, promoteReportJson } from './local-promote';
import { DataRejectedError, ML_DIR, localRun } from './local-run';
import { startLocalServer } from './local-server';
import { LocalPredictionStore, STORE_FILE, STORE_SCRIPT } from './local-store';
import { checkPython, PythonSetupError } from './python';
import { LocalModelRegistry, RegisteredModel } from './registry';
import { DRIFT_STATUS, DriftReport, MODEL_QUALITY_STATUS, ModelQualityReport } from '../contracts/monitoring';
import { PARAMETER_NAMES } from '../training-pipeline/definition';

const USAGE = `Usage: cdk-mlops-abalone local <command> [options]

Commands:
  run       Run the training pipeline (preprocess, train, evaluate, quality gate, register) on local data
  serve     Serve the prediction API and the web app against a registered model
  models    List the registered model versions with their metrics
  approve   Approve a model version for serving (reject with --reject)
  monitor   Judge what local serve answered: data drift against the model's training data, and live model
            quality (predictions with feedback) against its registered test metrics
  feedback  export: write the predictions with feedback as a raw data file (features + actual rings) to train on
  promote   Serve a version as staging, replay its held-out test split through the API, approve it if it passes

Common options:
  --home DIR          Local mode's folder (registry, runs)            [default: ./.abalone-local]
  --python PATH       Python with scikit-learn 1.2, xgboost 1.7, pandas 1.5
                      [default: $ABALONE_PYTHON, else /usr/bin/python3 or python3, whichever has them]

run:
  --data SOURCE       A data file, a folder of .csv/.data files, or an http(s) URL; repeat it to train on
                      several (e.g. the original data and a feedback export)
                      [default: the UCI Abalone data shipped in the package, data/abalone.data]
  --out DIR           This run's folder                                [default: <home>/runs/<execution id>]
  --seed N            Split seed (pipeline parameter SplitSeed)
  --mse-threshold X   Quality gate: largest MSE accepted (MseThreshold) [default: 6]
  --max-mae X         Quality gate: also require MAE <= X
  --min-r2 X          Quality gate: also require R² >= X
  --parameter K=V     Any pipeline parameter, e.g. ModelApprovalStatus=Approved (repeatable)
  --tune              Tune the XGBoost hyperparameters: a Tuning step replaces TrainModel
  --tuning-strategy S Bayesian (Optuna's TPE here) or Random            [default: Bayesian]
  --tuning-jobs N     Trials (MaxNumberOfTrainingJobs)                  [default: 20]
  --tuning-parallel N Trials at once (MaxParallelTrainingJobs; at most the cores here) [default: 2]
  --tuning-seed N     Seed of the local tuning strategy                 [default: 0]
  --json              Print {steps, metrics, gate, modelVersion, trials} as JSON

serve:
  --model VERSION     Serve this version                              [default: the newest approved]
  --host HOST         [default: 127.0.0.1]
  --port N            [default: 8080; 0 picks a free port]

monitor:              exit code 0: no drift and no degradation (or too few records/labels to judge),
                      3: drift or degraded model quality, 1: error
  --model VERSION     Judge this version's predictions                [default: the newest approved]
  --since ISO         Only predictions from this time on, e.g. 2026-05-01T10:00:00Z [default: all stored]
  --parameter K=V     A monitoring pipeline parameter, e.g. MinRecords=50, PsiThreshold=0.1, MinLabels=100 or
                      MseTolerance=0.5 (repeatable)
  --json              Print {drift, modelQuality} (the two reports; modelQuality null without feedback) as JSON

feedback export:      exit code 0: written, 1: error
  --out FILE          The CSV to write (headerless, the raw data's columns) [default: <home>/feedback/feedback-<time>.csv]
  --since ISO         Only feedback collected from this time on        [default: all stored]

promote VERSION:      exit code 0: passed and approved, 1: failed (the version keeps its status) or error
  --mse-tolerance X   Served MSE within X (a fraction) of registered  [default: 0.1]
  --mae-tolerance X   Served MAE within X of the registered MAE       [default: 0.1]
  --max-non-2xx N     Most answers other than 2xx, timeouts included  [default: 0]
  --max-p99-ms X      Largest 99th percentile latency in milliseconds [default: 1000]
  --concurrency N     Requests in flight at once                      [default: 4]
  --host HOST         Staging's address                               [default: 127.0.0.1]
  --port N            Staging's port                                  [default: 0, a free port]
  --json              Print {version, passed, approved, registered, bounds, figures, checks, message} as JSON
`;

/** `local monitor`'s exit code when the window drifted or the model's live quality degraded. */
export const DRIFT_EXIT_CODE = 3;

/** Thrown for wrong usage: printed with the usage text, exit code 2. */
class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [scope, command, ...rest] = argv;
  if (scope === '--help' || scope === '-h' || scope === undefined) {
    process.stdout.write(USAGE);
    return scope === undefined ? 2 : 0;
  }
  try {
    if (scope !== 'local') throw new UsageError(`Unknown command ${scope}`);
    switch (command) {
      case 'run': return await runCommand(rest);
      case 'serve': return await serveCommand(rest);
      case 'models': return modelsCommand(rest);
      case 'approve': return approveCommand(rest);
      case 'monitor': return await monitorCommand(rest);
      case 'feedback': return await feedbackCommand(rest);
      case 'promote': return await promoteCommand(rest);
      default: throw new UsageError(command ? `Unknown command local ${command}` : 'Missing command');
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof DataRejectedError || e instanceof PythonSetupError || e instanceof MonitorSetupError || e instanceof FeedbackExportError
      || e instanceof PromoteSetupError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    return 1;
  }
}

const COMMON = {
  home: { type: 'string', default: '.abalone-local' },
  python: { type: 'string' },
} as const;

async function runCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      'data': { type: 'string', multiple: true },
      'out': { type: 'string' },
      'seed': { type: 'string' },
      'mse-threshold': { type: 'string' },
      'max-mae': { type: 'string' },
      'min-r2': { type: 'string' },
      'parameter': { type: 'string', multiple: true },
      'tune': { type: 'boolean', default: false },
      'tuning-strategy': { type: 'string' },
      'tuning-jobs': { type: 'string' },
      'tuning-parallel': { type: 'string' },
      'tuning-seed': { type: 'string' },
      'json': { type: 'boolean', default: false },
    },
  });
  const tuningOptions = ['tuning-strategy', 'tuning-jobs', 'tuning-parallel', 'tuning-seed'] as const;
  const strayTuning = tuningOptions.find((o) => values[o] !== undefined);
  if (!values.tune && strayTuning) throw new UsageError(`--${strayTuning} needs --tune`);
  const tuning = values.tune ? {
    strategy: values['tuning-strategy'],
    maxJobs: values['tuning-jobs'] !== undefined ? integerOption('--tuning-jobs', values['tuning-jobs']) : undefined,
    maxParallelJobs: values['tuning-parallel'] !== undefined ? integerOption('--tuning-parallel', values['tuning-parallel']) : undefined,
  } : undefined;
  const tuningSeed = values['tuning-seed'] !== undefined ? integerOption('--tuning-seed', values['tuning-seed']) : undefined;
  const parameters: Record<string, string | number> = {};
  for (const pair of values.parameter ?? []) {
    const match = /^([A-Za-z0-9-]+)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--parameter takes NAME=VALUE, got ${pair}`);
    parameters[match[1]] = match[2];
  }
  if (values.seed !== undefined) parameters[PARAMETER_NAMES.splitSeed] = integerOption('--seed', values.seed);
  const mseThreshold = numberOption('--mse-threshold', values['mse-threshold']);
  const python = await checkPython(values.python);
  const json = values.json;
  const started = Date.now();
  const report = await localRun({
    data: values.data,
    home: values.home,
    outDir: values.out,
    python,
    mseThreshold,
    maxMae: numberOption('--max-mae', values['max-mae']),
    minR2: numberOption('--min-r2', values['min-r2']),
    parameters,
    tuning,
    tuningSeed,
    onTrial: json ? undefined : (t) => {
      const tuned = Object.entries(t.hyperparameters).map(([k, v]) => `${k}=${Number(Number(v).toPrecision(3))}`).join(' ');
      const outcome = t.status === 'Completed' ? `${t.objective!.toFixed(4)}` : `FAILED ${t.failureReason ?? ''}`;
      process.stdout.write(`     trial ${String(t.number).padStart(3)}  ${`${(t.durationMs / 1000).toFixed(2)} s`.padStart(8)}  validation:rmse ${outcome}  ${tuned}\n`);
    },
    onProgress: json ? undefined : (e) => {
      if (e.status === 'Executing') return;
      const duration = e.durationMs !== undefined ? `${(e.durationMs / 1000).toFixed(2)} s` : '';
      process.stdout.write(`${e.status === 'Succeeded' ? 'ok  ' : 'FAIL'} ${e.step.padEnd(16)} ${duration.padStart(8)}${e.message ? `  ${e.message}` : ''}\n`);
    },
  });
  const summary = {
    steps: report.steps.map((s) => ({ name: s.step, type: s.type, status: s.status, durationMs: s.durationMs })),
    metrics: report.metrics ?? null,
    gate: report.gate,
    modelVersion: report.registeredModel?.version ?? null,
    ...(report.failureReason ? { failureReason: report.failureReason } : {}),
    ...(Object.keys(report.trials).length > 0 ? {
      trials: Object.values(report.trials).flat().map((t) => ({
        step: t.step,
        number: t.number,
        trainingJobName: t.trainingJobName,
        status: t.status,
        hyperparameters: t.hyperparameters,
        objective: t.objective ?? null,
        durationMs: t.durationMs,
        ...(t.failureReason ? { failureReason: t.failureReason } : {}),
      })),
    } : {}),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    if (report.metrics) {
      const m = report.metrics;
      process.stdout.write(`\nMSE ${m.mse.toFixed(3)}  MAE ${m.mae.toFixed(3)}  R² ${m.r2.toFixed(3)}  (gate: MSE <= ${report.gate.threshold}: ${report.gate.passed ? 'passed' : 'failed'})\n`);
    }
    if (report.registeredModel) {
      const v = report.registeredModel;
      process.stdout.write(`Registered model version ${v.version} (${v.approvalStatus}) in ${path.resolve(values.home, 'registry')}\n`);
      if (v.approvalStatus !== 'Approved') process.stdout.write(`Approve it to serve it: cdk-mlops-abalone local approve ${v.version}\n`);
    }
    process.stdout.write(`Run folder: ${report.outDir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  if (report.status === 'Failed') {
    process.stderr.write(`${report.failureReason}\n`);
    return 1;
  }
  return 0;
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON, model: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' } },
  });
  const registry = new LocalModelRegistry(path.join(values.home, 'registry'));
  const model = values.model !== undefined ? registry.get(integerOption('--model', values.model)) : registry.latestApproved();
  let backend: LocalModelBackend | undefined;
  const python = await checkPython(values.python);
  const store = await LocalPredictionStore.open(python, STORE_SCRIPT, path.join(values.home, STORE_FILE));
  if (model) {
    backend = await LocalModelBackend.start(python, path.join(ML_DIR, 'local_serve.py'), model).catch(async (e) => { await store.close(); throw e; });
  }
  const server = await startLocalServer({
    backend,
    store,
    webAppDir: path.join(__dirname, '..', '..', 'assets', 'webapp'),
    host: values.host,
    port: integerOption('--port', values.port),
  });
  process.stdout.write(model
    ? `Serving model version ${model.version} (${model.approvalStatus}) at ${server.url}/ (API: POST ${server.url}/predictions)\n`
    : `No approved model in ${registry.root}: the API answers 503 until one is (run, then approve). Web app at ${server.url}/\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  await backend?.close();
  await store.close();
  return 0;
}

function modelsCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { ...COMMON, json: { type: 'boolean', default: false } } });
  const registry = new LocalModelRegistry(path.join(values.home, 'registry'));
  const models = registry.list();
  if (values.json) {
    process.stdout.write(`${JSON.stringify(models.map(describeModel), null, 2)}\n`);
    return 0;
  }
  if (models.length === 0) {
    process.stdout.write(`No models in ${registry.root} yet: run \`cdk-mlops-abalone local run\`.\n`);
    return 0;
  }
  process.stdout.write(`${'version'.padEnd(8)} ${'status'.padEnd(22)} ${'MSE'.padStart(7)} ${'MAE'.padStart(7)} ${'R²'.padStart(7)}  created\n`);
  for (const m of models.map(describeModel)) {
    const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3)).padStart(7);
    process.stdout.write(`${String(m.version).padEnd(8)} ${m.approvalStatus.padEnd(22)} ${f(m.metrics.mse)} ${f(m.metrics.mae)} ${f(m.metrics.r2)}  ${m.createdAt}\n`);
  }
  return 0;
}

function approveCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, options: { ...COMMON, reject: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('local approve takes one VERSION');
  const registry = new LocalModelRegistry(path.join(values.home, 'registry'));
  const model = registry.setApprovalStatus(integerOption('VERSION', positionals[0]), values.reject ? 'Rejected' : 'Approved');
  process.stdout.write(`Model version ${model.version} is now ${model.approvalStatus}.\n`);
  return 0;
}

async function monitorCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      model: { type: 'string' },
      since: { type: 'string' },
      parameter: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
  });
  const python = await checkPython(values.python);
  const result = await localMonitor({
    home: values.home,
    python,
    modelVersion: values.model !== undefined ? integerOption('--model', values.model) : undefined,
    since: values.since,
    parameters: parameterOptions(values.parameter),
  });
  process.stdout.write(values.json
    ? `${JSON.stringify({ drift: result.report, modelQuality: result.quality ?? null }, null, 2)}\n`
    : `${formatDriftReport(result)}\n${formatQualityReport(result)}`);
  return result.report.status === DRIFT_STATUS.drift || result.quality?.status === MODEL_QUALITY_STATUS.degraded ? DRIFT_EXIT_CODE : 0;
}

/** Live model quality next to the registered test metrics and the tolerance, and the verdict. */
export function formatQualityReport(result: LocalMonitorReport): string {
  const q: ModelQualityReport | undefined = result.quality;
  if (!q) {
    return 'Model quality: no feedback stored, nothing to judge (feedback: POST /predictions/{id}/feedback, or the web app).\n';
  }
  const t = q.thresholds;
  const lines = [
    `Model quality: ${q.labelledCount} of ${q.predictionCount} predictions have feedback`
      + `${q.unmatchedLabels ? ` (${q.unmatchedLabels} feedback record(s) match none of them)` : ''}`
      + `${q.skippedRecords ? `; ${q.skippedRecords} record(s) skipped` : ''}`,
    `Thresholds: degraded when live MSE > registered MSE × (1 + ${t.mseTolerance}), at least ${t.minLabels} labelled predictions`,
  ];
  if (q.status === 'insufficient_labels' || !q.live) {
    lines.push('', `Insufficient labels: ${q.message ?? `fewer than ${t.minLabels} labelled predictions`}.`);
    return `${lines.join('\n')}\n`;
  }
  const live = q.live;
  const row = (name: string, l: number, r: number) => `${name.padEnd(8)} ${l.toFixed(3).padStart(8)} ${r.toFixed(3).padStart(12)}`;
  lines.push('', `${'metric'.padEnd(8)} ${'live'.padStart(8)} ${'registered'.padStart(12)}`,
    row('MSE', live.mse, q.registered.mse), row('MAE', live.mae, q.registered.mae), row('R²', live.r2, q.registered.r2), '');
  const ratio = `live MSE ${q.mseRatio!.toFixed(2)} × registered`;
  lines.push(q.status === 'degraded'
    ? `DEGRADED: ${ratio} > ${(1 + t.mseTolerance).toFixed(2)}`
    : `Model quality ok: ${ratio}, not above ${(1 + t.mseTolerance).toFixed(2)}`);
  return `${lines.join('\n')}\n`;
}

async function feedbackCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'export') throw new UsageError(action ? `Unknown command local feedback ${action}` : 'local feedback takes a command: export');
  const { values } = parseArgs({ args: rest, options: { ...COMMON, out: { type: 'string' }, since: { type: 'string' } } });
  const python = await checkPython(values.python);
  const result = await exportFeedback({ home: values.home, python, out: values.out, since: values.since });
  process.stdout.write(`Wrote ${result.rows} feedback row(s) to ${result.file}`
    + `; ${result.dropped} row(s) outside the data contract dropped${result.dropped ? ` (${result.droppedReasons.join('; ')})` : ''}.\n`
    + `Train on it with the original data: cdk-mlops-abalone local run --data ORIGINAL --data ${result.file}\n`);
  return 0;
}

async function promoteCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      'mse-tolerance': { type: 'string' },
      'mae-tolerance': { type: 'string' },
      'max-non-2xx': { type: 'string' },
      'max-p99-ms': { type: 'string' },
      'concurrency': { type: 'string' },
      'host': { type: 'string', default: '127.0.0.1' },
      'port': { type: 'string', default: '0' },
      'json': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('local promote takes one VERSION');
  const python = await checkPython(values.python);
  const report = await localPromote({
    home: values.home,
    python,
    version: integerOption('VERSION', positionals[0]),
    bounds: {
      mseTolerance: numberOption('--mse-tolerance', values['mse-tolerance']),
      maeTolerance: numberOption('--mae-tolerance', values['mae-tolerance']),
      maxNon2xx: values['max-non-2xx'] !== undefined ? integerOption('--max-non-2xx', values['max-non-2xx']) : undefined,
      p99LatencyMs: numberOption('--max-p99-ms', values['max-p99-ms']),
    },
    client: { concurrency: values.concurrency !== undefined ? integerOption('--concurrency', values.concurrency) : undefined },
    host: values.host,
    port: integerOption('--port', values.port),
  });
  process.stdout.write(values.json ? `${JSON.stringify(promoteReportJson(report), null, 2)}\n` : formatPromoteReport(report));
  if (!report.result.passed) {
    if (values.json) process.stderr.write(`${report.result.message}\n`);
    return 1;
  }
  return 0;
}

/** The drift report as a table: per feature the training and served distributions, PSI, KS, p-value, verdict. */
export function formatDriftReport(result: LocalMonitorReport): string {
  const r = result.report;
  const t = r.thresholds;
  const lines = [
    `Model version ${result.model.version} (${r.modelPackageArn}): ${r.recordCount} records from ${result.exported.invocations} `
      + `stored invocations${r.windowStart ? ` since ${r.windowStart}` : ''}; ${r.skippedRecords} skipped`,
    `Thresholds: PSI > ${t.psi}, KS p-value < ${t.ksPValue} (numeric), drifted share > ${t.driftedShare}, at least ${t.minRecords} records`,
  ];
  if (r.status === 'insufficient_data') {
    lines.push('', `Insufficient data: ${r.message ?? `fewer than ${t.minRecords} records`}.`);
    return `${lines.join('\n')}\n`;
  }
  const num = (x: number | undefined, digits = 3) => (x === undefined ? '-' : x.toFixed(digits));
  const summary = (s: DriftReport['features'][string]['baseline']) => (s.frequencies
    ? Object.entries(s.frequencies).map(([c, v]) => `${c} ${num(v, 2)}`).join(' ')
    : `median ${num(s.median)} (${num(s.p25)}-${num(s.p75)})`);
  const header = ['feature'.padEnd(15), 'training'.padEnd(26), 'served'.padEnd(26), 'PSI'.padStart(6), 'KS'.padStart(6),
    'p-value'.padStart(8), '  verdict'].join(' ');
  lines.push('', header);
  for (const [name, f] of Object.entries(r.features)) {
    const verdict = f.drifted ? `DRIFT (${f.driftedBy.join(', ')})` : 'ok';
    lines.push([name.padEnd(15), summary(f.baseline).padEnd(26), summary(f.served).padEnd(26), num(f.psi).padStart(6),
      num(f.ks).padStart(6), (f.ksPValue === undefined ? '-' : f.ksPValue.toPrecision(2)).padStart(8), `  ${verdict}`].join(' '));
  }
  const count = `${r.driftedFeatures.length} of ${Object.keys(r.features).length} features drifted (share ${num(r.driftedShare, 2)})`;
  lines.push('', r.status === 'drift'
    ? `DRIFT: ${count} > ${t.driftedShare}: ${r.driftedFeatures.join(', ')}`
    : `No drift: ${count}, not above ${t.driftedShare}${r.driftedFeatures.length ? ` (${r.driftedFeatures.join(', ')})` : ''}`);
  return `${lines.join('\n')}\n`;
}

function parameterOptions(pairs: string[] | undefined): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const match = /^([A-Za-z0-9-]+)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--parameter takes NAME=VALUE, got ${pair}`);
    parameters[match[1]] = match[2];
  }
  return parameters;
}

function describeModel(m: RegisteredModel) {
  const metrics = (m.metrics as any)?.regression_metrics ?? {};
  return {
    version: m.version,
    approvalStatus: m.approvalStatus,
    createdAt: m.createdAt,
    metrics: {
      mse: metrics.mse?.value as number | undefined,
      mae: metrics.mae?.value as number | undefined,
      r2: metrics.r2?.value as number | undefined,
    },
    lineage: m.customerMetadata,
    dataFiles: m.dataFiles ?? [],
  };
}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} must be a number, got ${value}`);
  return n;
}

function integerOption(name: string, value: string): number {
  const n = numberOption(name, value)!;
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a whole number, got ${value}`);
  return n;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
