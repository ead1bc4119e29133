#!/usr/bin/env node
/**
 * cdk-mlops-abalone: run the abalone MLOps system on this machine, with no AWS account.
 *
 *   cdk-mlops-abalone local run [--data FILE|DIR|URL] [--seed N] [--mse-threshold X] [--json] …
 *   cdk-mlops-abalone local serve [--model VERSION] [--port N]
 *   cdk-mlops-abalone local models [--json]
 *   cdk-mlops-abalone local approve VERSION
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalModelBackend } from './local-model-backend';
import { DataRejectedError, ML_DIR, localRun } from './local-run';
import { startLocalServer } from './local-server';
import { checkPython, PythonSetupError } from './python';
import { LocalModelRegistry, RegisteredModel } from './registry';
import { PARAMETER_NAMES } from '../training-pipeline/definition';

const USAGE = `Usage: cdk-mlops-abalone local <command> [options]

Commands:
  run       Run the training pipeline (preprocess, train, evaluate, quality gate, register) on local data
  serve     Serve the prediction API and the web app against a registered model
  models    List the registered model versions with their metrics
  approve   Approve a model version for serving (reject with --reject)

Common options:
  --home DIR          Local mode's folder (registry, runs)            [default: ./.abalone-local]
  --python PATH       Python with scikit-learn 1.2, xgboost 1.7, pandas 1.5
                      [default: $ABALONE_PYTHON, else /usr/bin/python3 or python3, whichever has them]

run:
  --data SOURCE       A data file, a folder of .csv/.data files, or an http(s) URL
                      [default: the UCI Abalone data shipped in the package, data/abalone.data]
  --out DIR           This run's folder                                [default: <home>/runs/<execution id>]
  --seed N            Split seed (pipeline parameter SplitSeed)
  --mse-threshold X   Quality gate: largest MSE accepted (MseThreshold) [default: 6]
  --max-mae X         Quality gate: also require MAE <= X
  --min-r2 X          Quality gate: also require R² >= X
  --parameter K=V     Any pipeline parameter, e.g. ModelApprovalStatus=Approved (repeatable)
  --json              Print {steps, metrics, gate, modelVersion} as JSON

serve:
  --model VERSION     Serve this version                              [default: the newest approved]
  --host HOST         [default: 127.0.0.1]
  --port N            [default: 8080; 0 picks a free port]
`;

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
      default: throw new UsageError(command ? `Unknown command local ${command}` : 'Missing command');
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof DataRejectedError || e instanceof PythonSetupError) {
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
      'data': { type: 'string' },
      'out': { type: 'string' },
      'seed': { type: 'string' },
      'mse-threshold': { type: 'string' },
      'max-mae': { type: 'string' },
      'min-r2': { type: 'string' },
      'parameter': { type: 'string', multiple: true },
      'json': { type: 'boolean', default: false },
    },
  });
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
  if (model) {
    const python = await checkPython(values.python);
    backend = await LocalModelBackend.start(python, path.join(ML_DIR, 'local_serve.py'), model);
  }
  const server = await startLocalServer({
    backend,
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
