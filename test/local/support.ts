/**
 * Helpers for the local mode tests: the CLI as a child process and in-process, a trained registry, the Python
 * reference prediction.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../src/local/cli';
import { localRun, LocalRunReport } from '../../src/local/local-run';
import { checkPython } from '../../src/local/python';
import { LocalModelRegistry } from '../../src/local/registry';

export const ROOT = path.resolve(__dirname, '..', '..');
export const DATA = path.resolve(ROOT, '..', 'shared', 'data', 'abalone.data');
export const CLI = path.join(ROOT, 'src', 'local', 'cli.ts');
export const WEBAPP_DIR = path.join(ROOT, 'assets', 'webapp');

/** The UCI example abalone (abalone.names, first row) in the API's human units, and as a dataset-scale CSV row. */
export const EXAMPLE = {
  sex: 'M', lengthMm: 91, diameterMm: 73, heightMm: 19, wholeWeightG: 102.8, shuckedWeightG: 44.9, visceraWeightG: 20.2, shellWeightG: 30,
};
export const EXAMPLE_CSV = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15';

/** Generous: two cores shared with other work. */
export const SLOW = 240_000;

const execFileAsync = promisify(execFile);

const tempDirs: string[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `abalone-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes the folders {@link tempDir} made. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cdk-mlops-abalone <args>` as its own process (asynchronously, so servers in this process keep answering). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, ...args], {
      cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? SLOW);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI's `main` in this process, capturing what it writes. */
export async function runMain(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => { stdout += String(chunk); return true; });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => { stderr += String(chunk); return true; });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Trains on the full dataset into `home` and approves the version; returns the run's report. */
export async function trainAndApprove(home: string): Promise<LocalRunReport> {
  const report = await localRun({ data: DATA, home, python: await checkPython() });
  if (report.status !== 'Succeeded' || !report.registeredModel) throw new Error(`the run failed: ${report.failureReason}`);
  new LocalModelRegistry(path.join(home, 'registry')).setApprovalStatus(report.registeredModel.version, 'Approved');
  return report;
}

const REFERENCE_SCRIPT = `
import importlib.util, os, sys, tarfile, tempfile
import xgboost as xgb
ml_dir, version_dir, body = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, ml_dir)  # inference.py imports the generated contract beside it
spec = importlib.util.spec_from_file_location("inference", os.path.join(ml_dir, "inference.py"))
inference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inference)
dirs = []
for i in (0, 1):
    d = tempfile.mkdtemp()
    with tarfile.open(os.path.join(version_dir, "containers", str(i), "model.tar.gz")) as tar:
        tar.extractall(d)
    dirs.append(d)
features = inference.predict_fn(inference.input_fn(body, "text/csv"), inference.model_fn(dirs[0]))
booster = xgb.Booster()
booster.load_model(os.path.join(dirs[1], "xgboost-model"))
for p in booster.predict(xgb.DMatrix(features)):
    print(repr(float(p)))
`;

/**
 * Rings for dataset-scale CSV rows, computed by loading a registry version's archives directly: the preprocessor
 * through ml/inference.py's model_fn/input_fn/predict_fn, then the XGBoost booster.
 */
export async function pythonReference(home: string, version: number, rows: string[]): Promise<number[]> {
  const python = await checkPython();
  const versionDir = path.join(home, 'registry', String(version));
  const { stdout } = await execFileAsync(python, ['-c', REFERENCE_SCRIPT, path.join(ROOT, 'ml'), versionDir, `${rows.join('\n')}\n`]);
  return stdout.trim().split('\n').map(Number);
}

export interface ServeProcess {
  readonly url: string;
  readonly pid: number;
  readonly output: () => string;
  stop(): Promise<number | null>;
}

/** Starts `local serve` as a child process on a free port and waits until it says where it serves. */
export function startServeCli(home: string, extraArgs: string[] = []): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, 'local', 'serve', '--home', home, '--port', '0', ...extraArgs], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`local serve did not start:\n${output}`)); }, SLOW);
    const onData = (d: Buffer) => {
      output += d;
      const match = /at (http:\/\/[^/\s]+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          pid: child.pid!,
          output: () => output,
          stop: async () => { child.kill('SIGTERM'); return exited; },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`local serve exited (code ${code}):\n${output}`));
    });
  });
}

/** Pids of a process's children (from /proc). */
export function childPids(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      // Field 4 of /proc/<pid>/stat is the parent's pid; the command name before it may hold spaces.
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

/** Rounds like the API does. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
