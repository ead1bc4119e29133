// Prints the project's speed and size figures next to their baselines and targets (README "Budgets").
// Usage: npx projen bench   (after `npx projen build`, so the bundles and the web app exist)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const python = process.env.PYTHON ?? '/usr/bin/python3';
const runs = Number(process.env.BENCH_RUNS ?? 5);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const section = (title) => console.log(`\n## ${title}`);

function timeSynth(appFile) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), 'bench-synth-'));
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [appFile], { cwd: root, env: { ...process.env, CDK_OUTDIR: out }, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    rmSync(out, { recursive: true, force: true });
    if (result.status !== 0) throw new Error(`${appFile} failed to synthesize:\n${result.stderr}`);
  }
  return median(times);
}

section(`Whole-system synth as a consumer runs it: compiled library, plain Node (median of ${runs}; same aws-cdk-lib)`);
const empty = timeSynth('bench/empty-app.js');
const example = timeSynth('bench/synth-app.js');
console.log(`empty app            ${empty.toFixed(2)} s`);
console.log(`whole system         ${example.toFixed(2)} s  = ${(example / empty).toFixed(2)}x the empty app (target <= 1.3x; the AWS sample: 1.16-1.28x per app, three apps)`);

section('Lambda bundles (minified, @aws-sdk/* external; target <= 50 KB each; the AWS sample: 558 KB and 589 KB)');
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
for (const file of walk(join(root, 'assets')).filter((f) => f.endsWith('.lambda/index.js')).sort()) {
  const size = statSync(file).size;
  console.log(`${file.slice(root.length + 'assets/'.length).padEnd(52)} ${kb(size).padStart(9)}  ${size <= 50 * 1024 ? 'ok' : 'OVER BUDGET'}`);
}

section('Predict handler overhead per request (validation, conversion, answer; instant fake model)');
const predict = spawnSync('npx', ['ts-node', '--transpile-only', 'test/model-serving/api/bench-predict.ts'], { cwd: root, encoding: 'utf8' });
process.stdout.write(predict.stdout);
if (predict.status !== 0) {
  process.stderr.write(predict.stderr);
  process.exitCode = 1;
}

section('Ingest at scale: a burst of uploads, one invocation per object (before) and through the notification queue (after), one moto_server each');
const ingest = spawnSync('npx', ['ts-node', '--transpile-only', 'bench/ingest-bench.ts', process.env.BENCH_INGEST_BURSTS ?? '20,100,1000'], { cwd: root, encoding: 'utf8' });
process.stdout.write(ingest.stdout);
if (ingest.status !== 0) {
  process.stderr.write(ingest.stderr);
  process.exitCode = 1;
}

section('Web app (target: JS <= 80 KB gzip -9, build <= 5 s; the AWS sample: 267 KB gzip, 18 s)');
const buildStart = process.hrtime.bigint();
execFileSync('npm', ['run', 'build', '--prefix', 'webapp', '--silent'], { cwd: root, stdio: 'ignore' });
const buildSeconds = Number(process.hrtime.bigint() - buildStart) / 1e9;
let jsRaw = 0;
let jsGzip = 0;
const webAssets = join(root, 'assets', 'webapp', 'assets');
for (const file of readdirSync(webAssets).filter((f) => f.endsWith('.js'))) {
  const content = readFileSync(join(webAssets, file));
  jsRaw += content.length;
  jsGzip += gzipSync(content, { level: constants.Z_BEST_COMPRESSION }).length;
}
console.log(`JS ${kb(jsRaw)} raw, ${kb(jsGzip)} gzip -9; build (tsc + vite) ${buildSeconds.toFixed(1)} s`);

section('Drift monitoring: the MonitorDrift step over 100,000 captured records, local runner (target <= 5 s)');
const monitorBench = spawnSync('npx', ['ts-node', '--transpile-only', 'bench/monitor-bench.ts'], { cwd: root, encoding: 'utf8' });
process.stdout.write(monitorBench.stdout);
if (monitorBench.status !== 0) {
  process.stderr.write(monitorBench.stderr);
  process.exitCode = 1;
}

section('Model quality: MSE on the held-out 15% over 10 split seeds (target: mean <= 4.6, gate 6.0 passes on every seed)');
const ml = spawnSync(python, ['bench/ml/mse_over_seeds.py'], { cwd: root, encoding: 'utf8' });
process.stdout.write(ml.stdout);
if (ml.status !== 0) {
  process.stderr.write(ml.stderr);
  process.exitCode = 1;
}

section('Tuning: held-out MSE over 10 split seeds, tuned vs untuned (target: tuned <= 0.98 x untuned, gate passes on every seed); local tuning wall time, 20 trials (target <= 60 s)');
const tuning = spawnSync(python, ['bench/ml/tuning_over_seeds.py'], { cwd: root, encoding: 'utf8' });
process.stdout.write(tuning.stdout);
if (tuning.status !== 0) {
  process.stderr.write(tuning.stderr);
  process.exitCode = 1;
}

section('Local mode: pipeline wall time, predict latency, peak memory');
const local = spawnSync('npx', ['ts-node', '--transpile-only', 'bench/local-bench.ts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
process.stdout.write(local.stdout);
if (local.status !== 0) {
  process.stderr.write(local.stderr);
  process.exitCode = 1;
}
