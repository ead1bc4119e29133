/**
 * Local mode's figures (README "Budgets"), each next to its target:
 * - the local pipeline's wall time on the full dataset (median of 3 runs, with per-step times);
 * - the registered inference.py's own cost per call, before (DataFrame + ColumnTransformer) and after (numpy), in
 *   Python (bench/ml/inference_bench.py; the old transform is kept in bench/ml/dataframe_inference.py only);
 * - predict latency p50/p99 and requests/s over HTTP (keep-alive, loopback) with 1 and 16 concurrent clients and
 *   for batches of 100, before (the model serving the old transform) and after, with the prediction store
 *   and without it (what SQLite adds per request), with the load generator pinned to its own core where there is
 *   one; per stage: the same server with a model that answers at once, the model worker without HTTP, the store
 *   without HTTP;
 * - peak memory (VmHWM) of the server's Node process and of its Python worker.
 * Servers run as their own processes from an esbuild bundle of the CLI, as the compiled package would, so that
 * neither the load generator nor ts-node is counted.
 *
 *   npx ts-node --transpile-only bench/local-bench.ts [--runs 3] [--requests 2000] [--data FILE] [--pin on|off]
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { LocalModelBackend } from '../src/local/local-model-backend';
import { ML_DIR, localRun, LocalRunReport } from '../src/local/local-run';
import { checkPython } from '../src/local/python';
import { LocalPredictionStore, STORE_FILE, STORE_SCRIPT } from '../src/local/local-store';
import { LocalModelRegistry } from '../src/local/registry';

const ROOT = path.resolve(__dirname, '..');
const WEBAPP_DIR = path.join(ROOT, 'assets', 'webapp');

/** A server that answers every prediction at once: the HTTP and validation share of the latency. */
const INSTANT_SERVER = `
import { startLocalServer } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'local-server'))};
void startLocalServer({
  webAppDir: process.argv[2],
  backend: { predict: async (rows) => ({ rings: rows.map(() => 9.5), modelVersion: 'AbaloneModelPackageGroup/1' }) },
}).then((server) => {
  console.log(\`Serving at \${server.url}/\`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
});
`;

/** `local serve` as the CLI starts it (model worker and store), or without the store: argv home, python, store|none. */
const MODEL_SERVER = `
import * as path from 'node:path';
import { LocalModelBackend } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'local-model-backend'))};
import { ML_DIR } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'local-run'))};
import { startLocalServer } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'local-server'))};
import { LocalPredictionStore, STORE_FILE, STORE_SCRIPT } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'local-store'))};
import { LocalModelRegistry } from ${JSON.stringify(path.join(ROOT, 'src', 'local', 'registry'))};
const [home, python, withStore, webAppDir] = process.argv.slice(2);
void (async () => {
  const model = new LocalModelRegistry(path.join(home, 'registry')).latestApproved()!;
  const store = withStore === 'store' ? await LocalPredictionStore.open(python, STORE_SCRIPT, path.join(home, STORE_FILE)) : undefined;
  const backend = await LocalModelBackend.start(python, path.join(ML_DIR, 'local_serve.py'), model);
  const server = await startLocalServer({ backend, store, webAppDir });
  console.log(\`Serving at \${server.url}/\`);
  process.once('SIGTERM', () => void server.close().then(() => backend.close()).then(() => store?.close()).then(() => process.exit(0)));
})();
`;

/**
 * Bundles the CLI and the servers into `<dir>/lib/local/`, beside links to ml/ and assets/, the layout the CLI finds
 * its scripts and web app in.
 */
function bundle(dir: string): { cli: string; instant: string; model: string } {
  fs.symlinkSync(path.join(ROOT, 'ml'), path.join(dir, 'ml'));
  fs.symlinkSync(path.join(ROOT, 'assets'), path.join(dir, 'assets'));
  const instantSource = path.join(dir, 'instant-server.ts');
  fs.writeFileSync(instantSource, INSTANT_SERVER);
  const modelSource = path.join(dir, 'model-server.ts');
  fs.writeFileSync(modelSource, MODEL_SERVER);
  const outdir = path.join(dir, 'lib', 'local');
  buildSync({
    entryPoints: { 'cli': path.join(ROOT, 'src', 'local', 'cli.ts'), 'instant-server': instantSource, 'model-server': modelSource },
    outdir, bundle: true, platform: 'node', target: 'node20', logLevel: 'warning',
  });
  return { cli: path.join(outdir, 'cli.js'), instant: path.join(outdir, 'instant-server.js'), model: path.join(outdir, 'model-server.js') };
}

const INSTANCES = [
  { sex: 'M', lengthMm: 91, diameterMm: 73, heightMm: 19, wholeWeightG: 102.8, shuckedWeightG: 44.9, visceraWeightG: 20.2, shellWeightG: 30 },
  { sex: 'F', lengthMm: 106, diameterMm: 84, heightMm: 27, wholeWeightG: 135.4, shuckedWeightG: 51.3, visceraWeightG: 28.3, shellWeightG: 42 },
  { sex: 'I', lengthMm: 66, diameterMm: 50, heightMm: 16, wholeWeightG: 29.5, shuckedWeightG: 11.5, visceraWeightG: 7.1, shellWeightG: 9.5 },
];
const BODIES = INSTANCES.map((i) => JSON.stringify(i));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (x: number) => `${x.toFixed(2)} ms`;
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSES the target');
const section = (title: string) => console.log(`\n## ${title}`);

interface Load { readonly p50: number; readonly p99: number; readonly rps: number }

/** `requests` POSTs from `clients` concurrent clients, each sending its next request when the last is answered. */
async function load(url: string, clients: number, requests: number, bodies: readonly string[] = BODIES): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const post = (body: string) => new Promise<void>((resolve, reject) => {
    const req = http.request(`${url}/predictions`, {
      method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('error', reject);
    req.end(body);
  });
  let next = 0;
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < requests) {
      const body = bodies[next++ % bodies.length];
      const t = process.hrtime.bigint();
      await post(body);
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), rps: latencies.length / seconds };
}

interface Server { readonly url: string; readonly pid: number; stop(): Promise<void> }

/** How servers and the load generator share the cores: the server's CPU list for taskset, or none. */
let serverCpus: string | undefined;

/**
 * Pins this process (the load generator) to the last core and the servers (with their Python workers, which
 * inherit it) to the others, when there are two cores or more and taskset is installed.
 */
function pinLoadGenerator(pin: boolean): string {
  if (!pin) return 'not pinned (--pin off): the load generator, the servers and their workers share every core';
  const cores = os.cpus().length;
  if (cores < 2) return 'not pinned: one core';
  try {
    execFileSync('taskset', ['-a', '-cp', String(cores - 1), String(process.pid)], { stdio: 'ignore' });
  } catch {
    return 'not pinned: taskset is not available';
  }
  serverCpus = cores === 2 ? '0' : `0-${cores - 2}`;
  return `load generator pinned to CPU ${cores - 1}, each server with its Python workers to CPU ${serverCpus} (taskset)`;
}

/** Starts a server as its own process, so the load generator does not share its event loop. */
function startServer(args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const [command, argv] = serverCpus ? ['taskset', ['-c', serverCpus, process.execPath, ...args]] : [process.execPath, args];
    const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (d: Buffer) => {
      output += d;
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        child.stdout.off('data', onData);
        resolve({
          url: match[1],
          pid: child.pid!,
          stop: () => new Promise((done) => { child.once('exit', () => done()); child.kill('SIGTERM'); }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { output += d; });
    child.once('exit', (code) => reject(new Error(`the server exited (code ${code}):\n${output}`)));
  });
}

function childPids(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** Peak resident set size of a live process, in MB. */
function peakRssMb(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

async function benchPipeline(data: string, python: string, runs: number, home: string): Promise<void> {
  section(`Local pipeline on ${path.basename(data)} (${fs.readFileSync(data, 'utf8').trim().split('\n').length} rows), median of ${runs} runs`);
  const importStart = process.hrtime.bigint();
  execFileSync(python, ['-c', 'import sklearn, xgboost, pandas']);
  const importMs = Number(process.hrtime.bigint() - importStart) / 1e6;
  console.log(`baseline: one Python start importing scikit-learn, xgboost and pandas: ${ms(importMs)}`);

  const walls: number[] = [];
  const steps = new Map<string, number[]>();
  let last: LocalRunReport | undefined;
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    last = await localRun({ data, home, python });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (last.status !== 'Succeeded') throw new Error(`run ${i + 1} failed: ${last.failureReason}`);
    walls.push(wall);
    for (const s of last.steps) steps.set(s.step, [...(steps.get(s.step) ?? []), s.durationMs ?? 0]);
    console.log(`run ${i + 1}: ${ms(wall)}  ${last.steps.map((s) => `${s.step} ${s.durationMs} ms`).join(', ')}`);
  }
  for (const [step, times] of steps) console.log(`  ${step.padEnd(16)} median ${ms(median(times)).padStart(11)}`);
  const wall = median(walls);
  console.log(`pipeline wall time (validate + preprocess + train + evaluate + gate + register): ${ms(wall)}  `
    + `target <= 5000 ms on 2 cores: ${verdict(wall <= 5000)}`);
  console.log(`MSE ${last!.metrics!.mse.toFixed(3)}, gate ${last!.gate.passed ? 'passed' : 'failed'}`);
}

/** The registered handler's own cost, old and new, and the XGBoost stand-in's, in Python without any IPC. */
function benchInferenceScript(python: string, home: string): void {
  section('The registered preprocessor handler (inference.py) and the XGBoost stand-in, in Python, no IPC');
  const dir = fs.mkdtempSync(path.join(home, 'archives-'));
  for (const [i, name] of [[0, 'preprocessor'], [1, 'xgboost']] as const) {
    fs.mkdirSync(path.join(dir, name));
    execFileSync('tar', ['xzf', path.join(home, 'registry', '1', 'containers', String(i), 'model.tar.gz'), '-C', path.join(dir, name)]);
  }
  const taskset = serverCpus ? ['taskset', '-c', serverCpus] : [];
  const [command, ...args] = [...taskset, python, path.join(ROOT, 'bench', 'ml', 'inference_bench.py'), path.join(dir, 'preprocessor'), path.join(dir, 'xgboost')];
  process.stdout.write(execFileSync(command, args, { encoding: 'utf8' }));
}

/**
 * A copy of the home whose model serves the old transform (DataFrame + ColumnTransformer): the archive gets
 * code/dataframe_inference.py beside the registered inference.py (whose parsing and output it uses), and the
 * container's SAGEMAKER_PROGRAM names it.
 */
function homeWithOldHandler(python: string, home: string): string {
  const before = fs.mkdtempSync(path.join(home, 'before-'));
  fs.cpSync(path.join(home, 'registry'), path.join(before, 'registry'), { recursive: true });
  execFileSync(python, ['-c', [
    'import copy, io, json, os, sys, tarfile',
    'package, handler = sys.argv[1:3]',
    'archive = os.path.join(os.path.dirname(package), "containers", "0", "model.tar.gz")',
    'with tarfile.open(archive) as src: members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]',
    'added = copy.copy(next(m for m, _ in members if m.name == "code/inference.py"))',
    'added.name, data = "code/" + os.path.basename(handler), open(handler, "rb").read()',
    'added.size = len(data)',
    'with tarfile.open(archive, "w:gz") as dst:',
    '    for m, content in members + [(added, data)]: dst.addfile(m, None if content is None else io.BytesIO(content))',
    'with open(package) as f: model = json.load(f)',
    'model["containers"][0]["environment"]["SAGEMAKER_PROGRAM"] = os.path.basename(handler)',
    'with open(package, "w") as f: json.dump(model, f, indent=2)',
  ].join('\n'), path.join(before, 'registry', '1', 'model-package.json'), path.join(ROOT, 'bench', 'ml', 'dataframe_inference.py')]);
  return before;
}

const BATCH_OF_100 = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => INSTANCES[i % INSTANCES.length]) });

async function timed(calls: number, call: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 100; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function benchWorker(python: string, home: string, calls: number): Promise<void> {
  const model = new LocalModelRegistry(path.join(home, 'registry')).latestApproved()!;
  const backend = await LocalModelBackend.start(python, path.join(ML_DIR, 'local_serve.py'), model);
  const row = ['M', 0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15] as const;
  try {
    const one = await timed(calls, () => backend.predict([row]));
    const hundred = await timed(Math.ceil(calls / 4), () => backend.predict(Array.from({ length: 100 }, () => row)));
    console.log(`stage: the model worker alone (JSON lines over the pipe + preprocessor + XGBoost, no HTTP), in this process: one row p50 ${ms(one.p50)}, p99 ${ms(one.p99)}; `
      + `100 rows p50 ${ms(hundred.p50)}`);
  } finally {
    await backend.close();
  }
}

async function benchStore(python: string, home: string, calls: number): Promise<void> {
  const store = await LocalPredictionStore.open(python, STORE_SCRIPT, path.join(fs.mkdtempSync(path.join(home, 'store-')), STORE_FILE));
  const instance = INSTANCES[0];
  try {
    const one = await timed(calls, async () => {
      const id = randomUUID();
      store.capture(id, { receivedAt: new Date().toISOString(), modelVersion: 'G/1', inputCsv: 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', outputCsv: '9.4\n' });
      await store.record([{ prediction: { predictionId: id, rings: 9.4, ageYears: 10.9, modelVersion: 'G/1' }, instance, inferenceId: id, row: 0 }]);
    });
    console.log(`stage: the prediction store alone (JSON lines over the pipe + one SQLite transaction, WAL), in this process: one prediction p50 ${ms(one.p50)}, p99 ${ms(one.p99)}`);
  } finally {
    await store.close();
  }
}

interface Figures { one: Load; sixteen: Load; batch: Load }

async function benchVariant(server: Server, requests: number): Promise<Figures> {
  await load(server.url, 16, 300);
  const one = await load(server.url, 1, requests);
  const sixteen = await load(server.url, 16, requests);
  const batch = await load(server.url, 1, Math.ceil(requests / 8), [BATCH_OF_100]);
  return { one, sixteen, batch };
}

async function benchServe(python: string, home: string, requests: number, pinning: string): Promise<void> {
  section(`Predict latency over HTTP: loopback, keep-alive, ${requests} requests per figure after a warm-up`);
  console.log(`measured with the ${pinning}`);
  const built = bundle(fs.mkdtempSync(path.join(home, 'bundle-')));
  const instant = await startServer([built.instant, WEBAPP_DIR]);
  let instantRps = 0;
  try {
    for (const clients of [1, 16]) {
      await load(instant.url, clients, 200);
      const r = await load(instant.url, clients, requests);
      instantRps = r.rps;
      console.log(`stage: the same server with a model that answers at once, ${String(clients).padStart(2)} client(s): `
        + `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, ${r.rps.toFixed(0)} req/s`);
    }
  } finally {
    await instant.stop();
  }
  await benchWorker(python, home, Math.min(requests, 1000));
  await benchStore(python, home, Math.min(requests, 1000));

  const before = homeWithOldHandler(python, home);
  const variants: Array<[string, string, string]> = [
    ['before: the old DataFrame transform, with the store', before, 'store'],
    ['after: local serve (the store in <home>/serve.sqlite3)', home, 'store'],
    ['after, without the store (feedback off)', home, 'none'],
  ];
  const results: Figures[] = [];
  let memory = '';
  for (const [, variantHome, store] of variants) {
    const server = await startServer([built.model, variantHome, python, store, WEBAPP_DIR]);
    try {
      results.push(await benchVariant(server, requests));
      if (variantHome === home && store === 'store') {
        const worker = childPids(server.pid).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('local_serve.py'));
        memory = `local serve, Node server process: ${peakRssMb(server.pid).toFixed(1)} MB\n`
          + `local serve, Python model worker: ${worker ? `${peakRssMb(worker).toFixed(1)} MB` : 'not found'}`;
      }
    } finally {
      await server.stop();
    }
  }
  const cell = (l: Load) => `p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, ${l.rps.toFixed(0).padStart(5)} req/s`;
  console.log(`${''.padEnd(62)} | 1 client${''.padEnd(30)} | 16 clients${''.padEnd(28)} | batch of 100, 1 client`);
  variants.forEach(([name], i) => {
    const r = results[i];
    console.log(`${name.padEnd(62)} | ${cell(r.one)} | ${cell(r.sixteen)} | p50 ${ms(r.batch.p50)}`);
  });
  const after = results[1];
  console.log(`local serve, 16 clients: p50 ${ms(after.sixteen.p50)}, p99 ${ms(after.sixteen.p99)}  target p50 <= 2 ms, p99 <= 10 ms: `
    + `${verdict(after.sixteen.p50 <= 2 && after.sixteen.p99 <= 10)}`);
  // Little's law: 16 clients that each wait for their answer see a mean latency of 16 / throughput.
  console.log(`bound: 16 waiting clients at 2 ms need about ${(16 / 0.002).toFixed(0)} req/s; the server with an instant model, `
    + `HTTP and validation only, answers ${instantRps.toFixed(0)} req/s here, a mean of at least ${ms(16 / instantRps * 1000)}`);
  const added = after.one.p50 - results[2].one.p50;
  const added16 = after.sixteen.p50 - results[2].sixteen.p50;
  console.log(`SQLite store per request (with - without): p50 +${ms(added)} with 1 client, +${ms(added16)} with 16  target <= 0.2 ms (1 client): ${verdict(added <= 0.2)}`);
  section('Peak memory (VmHWM) after the runs above');
  console.log(memory);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'runs': { type: 'string', default: '3' },
      'requests': { type: 'string', default: '2000' },
      'data': { type: 'string', default: path.resolve(ROOT, '..', 'shared', 'data', 'abalone.data') },
      'pin': { type: 'string', default: 'on' },
    },
  });
  const python = await checkPython();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-bench-'));
  console.log(`# Local mode (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}; ${python})`);
  try {
    await benchPipeline(values.data, python, Number(values.runs), home);
    const registry = new LocalModelRegistry(path.join(home, 'registry'));
    registry.setApprovalStatus(registry.list().pop()!.version, 'Approved');
    const pinning = pinLoadGenerator(values.pin !== 'off');
    benchInferenceScript(python, home);
    await benchServe(python, home, Number(values.requests), pinning);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
