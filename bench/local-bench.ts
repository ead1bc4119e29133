/**
 * Local mode's figures (README "Budgets"), each next to its target:
 * - the local pipeline's wall time on the full dataset (median of 3 runs, with per-step times);
 * - predict latency p50/p99 and requests/s over HTTP (keep-alive, loopback) with 1 and 16 concurrent clients,
 *   beside two baselines: the same server with a model that answers at once, and the model worker without HTTP;
 * - peak memory (VmHWM) of the server's Node process and of its Python worker.
 * Servers run as their own processes from an esbuild bundle of the CLI, as the compiled package would, so that
 * neither the load generator nor ts-node is counted.
 *
 *   npx ts-node --transpile-only bench/local-bench.ts [--runs 3] [--requests 2000] [--data FILE]
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { LocalModelBackend } from '../src/local/local-model-backend';
import { ML_DIR, localRun, LocalRunReport } from '../src/local/local-run';
import { checkPython } from '../src/local/python';
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

/**
 * Bundles the CLI and the instant server into `<dir>/lib/local/`, beside links to ml/ and assets/, the layout the
 * CLI finds its scripts and web app in.
 */
function bundle(dir: string): { cli: string; instant: string } {
  fs.symlinkSync(path.join(ROOT, 'ml'), path.join(dir, 'ml'));
  fs.symlinkSync(path.join(ROOT, 'assets'), path.join(dir, 'assets'));
  const instantSource = path.join(dir, 'instant-server.ts');
  fs.writeFileSync(instantSource, INSTANT_SERVER);
  const outdir = path.join(dir, 'lib', 'local');
  buildSync({
    entryPoints: { 'cli': path.join(ROOT, 'src', 'local', 'cli.ts'), 'instant-server': instantSource },
    outdir, bundle: true, platform: 'node', target: 'node20', logLevel: 'warning',
  });
  return { cli: path.join(outdir, 'cli.js'), instant: path.join(outdir, 'instant-server.js') };
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
async function load(url: string, clients: number, requests: number): Promise<Load> {
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
      const body = BODIES[next++ % BODIES.length];
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

/** Starts a server as its own process, so the load generator does not share its event loop. */
function startServer(args: string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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

async function benchWorker(python: string, home: string, calls: number): Promise<void> {
  const model = new LocalModelRegistry(path.join(home, 'registry')).latestApproved()!;
  const backend = await LocalModelBackend.start(python, path.join(ML_DIR, 'local_serve.py'), model);
  const row = ['M', 0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15] as const;
  try {
    for (let i = 0; i < 100; i++) await backend.predict([row]);
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = process.hrtime.bigint();
      await backend.predict([row]);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(`baseline: the model worker alone (pipe + preprocessor + XGBoost, one row, no HTTP): p50 ${ms(percentile(times, 0.5))}, p99 ${ms(percentile(times, 0.99))}`);
  } finally {
    await backend.close();
  }
}

async function benchServe(python: string, home: string, requests: number): Promise<void> {
  section(`Predict latency over HTTP: loopback, keep-alive, ${requests} requests per figure after a warm-up`);
  const built = bundle(fs.mkdtempSync(path.join(home, 'bundle-')));
  const instant = await startServer([built.instant, WEBAPP_DIR]);
  try {
    for (const clients of [1, 16]) {
      await load(instant.url, clients, 200);
      const r = await load(instant.url, clients, requests);
      console.log(`baseline: the same server with a model that answers at once, ${String(clients).padStart(2)} client(s): `
        + `p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, ${r.rps.toFixed(0)} req/s`);
    }
  } finally {
    await instant.stop();
  }
  await benchWorker(python, home, Math.min(requests, 1000));

  const server = await startServer([built.cli, 'local', 'serve', '--home', home, '--port', '0', '--python', python]);
  try {
    const [worker] = childPids(server.pid);
    await load(server.url, 16, 300);
    for (const clients of [1, 16]) {
      const r = await load(server.url, clients, requests);
      const target = clients === 16 ? `  target p50 <= 2 ms, p99 <= 10 ms: ${verdict(r.p50 <= 2 && r.p99 <= 10)}` : '';
      console.log(`local serve, ${String(clients).padStart(2)} client(s): p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, ${r.rps.toFixed(0)} req/s${target}`);
    }
    section('Peak memory (VmHWM) after the runs above');
    console.log(`local serve, Node server process: ${peakRssMb(server.pid).toFixed(1)} MB`);
    console.log(`local serve, Python model worker: ${worker ? `${peakRssMb(worker).toFixed(1)} MB` : 'not found'}`);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'runs': { type: 'string', default: '3' },
      'requests': { type: 'string', default: '2000' },
      'data': { type: 'string', default: path.resolve(ROOT, '..', 'shared', 'data', 'abalone.data') },
    },
  });
  const python = await checkPython();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-bench-'));
  console.log(`# Local mode (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}; ${python})`);
  try {
    await benchPipeline(values.data, python, Number(values.runs), home);
    const registry = new LocalModelRegistry(path.join(home, 'registry'));
    registry.setApprovalStatus(registry.list().pop()!.version, 'Approved');
    await benchServe(python, home, Number(values.requests));
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
