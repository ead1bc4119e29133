/**
 * `local run`, `local models`, `local approve`: the full dataset through the synthesized pipeline definition, the
 * quality gate, hostile data, downloads and a Python without the packages.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DATA, SLOW, removeTempDirs, runCli, runMain, tempDir } from './support';
import { localRun, LocalRunReport } from '../../src/local/local-run';
import { checkPython, PythonSetupError } from '../../src/local/python';
import { LocalModelRegistry } from '../../src/local/registry';

jest.setTimeout(SLOW);
afterAll(removeTempDirs);

describe('local run on the full dataset', () => {
  let home: string;
  let report: LocalRunReport;

  beforeAll(async () => {
    home = tempDir('run');
    report = await localRun({ data: DATA, home, python: await checkPython() });
  });

  test('runs every step of the definition and passes the gate', () => {
    expect(report.status).toBe('Succeeded');
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['PreprocessData', 'Succeeded'],
      ['TrainModel', 'Succeeded'],
      ['EvaluateModel', 'Succeeded'],
      ['CheckQuality', 'Succeeded'],
      ['RegisterModel', 'Succeeded'],
    ]);
    expect(report.gate).toEqual({ passed: true, threshold: 6 });
    expect(report.metrics!.mse).toBeGreaterThan(3);
    expect(report.metrics!.mse).toBeLessThanOrEqual(6);
    expect(report.metrics!.r2).toBeGreaterThan(0.4);
  });

  test('registers version 1, pending approval, with its metrics and lineage', () => {
    const registry = new LocalModelRegistry(path.join(home, 'registry'));
    const model = registry.get(1);
    expect(report.registeredModel?.version).toBe(1);
    expect(model).toMatchObject({
      version: 1,
      approvalStatus: 'PendingManualApproval',
      arn: 'local:model-package/AbaloneModelPackageGroup/1',
      contentType: 'text/csv',
      customerMetadata: {
        InputManifestUri: 'local://run/manifest.json',
        SplitSeed: '42',
        PipelineExecutionArn: `local:pipeline-execution/${report.executionId}`,
        TrainingProfileS3Uri: `local://artifacts/${report.executionId}/PreprocessData/profile/training-profile.json`,
      },
    });
    expect((model.metrics as any).regression_metrics.mse.value).toBe(report.metrics!.mse);
    expect(model.containers.map((c) => c.image)).toEqual([
      expect.stringContaining('sagemaker-scikit-learn'),
      expect.stringContaining('sagemaker-xgboost'),
    ]);
    for (const c of model.containers) {
      expect(c.modelDataPath.startsWith(path.join(home, 'registry', '1', 'containers'))).toBe(true);
      expect(fs.readFileSync(c.modelDataPath).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
    // The manifest the lineage points at lists the data the run read.
    const manifest = JSON.parse(fs.readFileSync(path.join(report.outDir, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual([{ prefix: 'local://run/data/' }, 'abalone.data']);
    expect(fs.readFileSync(path.join(report.outDir, 'data', 'abalone.data'))).toEqual(fs.readFileSync(DATA));
  });

  test('the processing jobs run as in the cloud: the shared modules\' zip mounted at the shared input and on PYTHONPATH', async () => {
    const definition = JSON.parse(fs.readFileSync(path.join(report.outDir, 'pipeline-definition.json'), 'utf8'));
    const ml = path.resolve(__dirname, '..', '..', 'ml');
    for (const name of ['PreprocessData', 'EvaluateModel']) {
      const job = definition.Steps.find((s: any) => s.Name === name);
      expect(job.Arguments.Environment).toEqual({ PYTHONPATH: '/opt/ml/processing/input/shared/shared-modules.zip' });
      const mounted = path.join(report.outDir, 'jobs', name, 'input', 'shared', 'shared-modules.zip');
      expect(fs.readFileSync(mounted)).toEqual(fs.readFileSync(path.join(report.outDir, 'shared-modules.zip')));
    }
    // What the registered preprocessor carries beside its handler is the contract the job imported from that zip.
    const listing = execFileSync(await checkPython(), ['-c', [
      'import sys, tarfile',
      'with tarfile.open(sys.argv[1]) as t: print(t.extractfile("code/abalone_contract.py").read().decode(), end="")',
    ].join('\n'), report.registeredModel!.containers[0].modelDataPath], { encoding: 'utf8' });
    expect(listing).toBe(fs.readFileSync(path.join(ml, 'abalone_contract.py'), 'utf8'));
  });

  test('the archives are found in the registry where it is now: moved, or given relative to the working directory', () => {
    const moved = tempDir('moved');
    fs.cpSync(path.join(home, 'registry'), path.join(moved, 'registry'), { recursive: true });
    const model = new LocalModelRegistry(path.join(moved, 'registry')).get(1);
    expect(model.containers.map((c) => c.modelDataPath)).toEqual([0, 1].map((i) => path.join(moved, 'registry', '1', 'containers', String(i), 'model.tar.gz')));
    const relative = new LocalModelRegistry(path.relative(process.cwd(), path.join(moved, 'registry'))).get(1);
    expect(relative.containers.map((c) => c.modelDataPath)).toEqual(model.containers.map((c) => c.modelDataPath));
  });

  test('a second run registers version 2 with another split seed', async () => {
    const second = await localRun({ data: DATA, home, python: await checkPython(), parameters: { SplitSeed: 7 } });
    expect(second.registeredModel?.version).toBe(2);
    expect(second.registeredModel?.customerMetadata.SplitSeed).toBe('7');
    expect(second.metrics!.mse).not.toBe(report.metrics!.mse);
  });

  test('models lists the versions; approve and reject change their status', async () => {
    const listed = await runMain(['local', 'models', '--home', home, '--json']);
    expect(listed.code).toBe(0);
    const models = JSON.parse(listed.stdout);
    expect(models.map((m: any) => [m.version, m.approvalStatus])).toEqual([[1, 'PendingManualApproval'], [2, 'PendingManualApproval']]);
    expect(models[0].metrics).toEqual(report.metrics);
    expect(models[0].lineage.InputManifestUri).toBe('local://run/manifest.json');

    const approved = await runMain(['local', 'approve', '1', '--home', home]);
    expect(approved).toMatchObject({ code: 0, stdout: 'Model version 1 is now Approved.\n' });
    const rejected = await runMain(['local', 'approve', '2', '--reject', '--home', home]);
    expect(rejected).toMatchObject({ code: 0, stdout: 'Model version 2 is now Rejected.\n' });
    expect(new LocalModelRegistry(path.join(home, 'registry')).latestApproved()?.version).toBe(1);

    const table = await runMain(['local', 'models', '--home', home]);
    expect(table.stdout).toMatch(/^1\s+Approved\s+\d+\.\d{3}\s+\d+\.\d{3}\s+0\.\d{3}\s/m);
    expect(table.stdout).toMatch(/^2\s+Rejected\s/m);

    const unknown = await runMain(['local', 'approve', '9', '--home', home]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Model version 9 is not in the registry');
    const usage = await runMain(['local', 'approve', '--home', home]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('local approve takes one VERSION');
  });

  test('models in an empty home says how to get one', async () => {
    const result = await runMain(['local', 'models', '--home', tempDir('empty')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('No models in');
  });
});

describe('local run with tuning', () => {
  let home: string;
  let report: LocalRunReport;
  const spans: Array<[number, number]> = [];
  let mostAtOnce = 0;

  beforeAll(async () => {
    home = tempDir('tune');
    report = await localRun({
      data: DATA,
      home,
      python: await checkPython(),
      tuning: { strategy: 'Random', maxJobs: 4, maxParallelJobs: 2, numRound: 200 },
      tuningSeed: 3,
      onTrial: (t) => { spans.push([Date.now() - t.durationMs, Date.now()]); },
    });
    const events = spans.flatMap(([start, end]) => [[start, 1], [end, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    for (const [, delta] of events) {
      running += delta;
      mostAtOnce = Math.max(mostAtOnce, running);
    }
  });

  test('a Tuning step replaces TrainModel and the run passes the gate', () => {
    expect(report.status).toBe('Succeeded');
    expect(report.steps.map((s) => s.step)).toEqual(['PreprocessData', 'TuneModel', 'EvaluateModel', 'CheckQuality', 'RegisterModel']);
    expect(report.gate.passed).toBe(true);
  });

  test('runs the definition\'s number of trials, at most its parallel jobs at once, within its ranges', () => {
    const trials = report.trials.TuneModel;
    expect(trials.map((t) => [t.number, t.status])).toEqual([1, 2, 3, 4].map((n) => [n, 'Completed']));
    expect(mostAtOnce).toBeLessThanOrEqual(2);
    expect(spans).toHaveLength(4);
    for (const t of trials) {
      expect(Object.keys(t.hyperparameters).sort()).toEqual(['eta', 'gamma', 'max_depth', 'min_child_weight', 'subsample']);
      expect(Number(t.hyperparameters.eta)).toBeGreaterThanOrEqual(0.01);
      expect(Number(t.hyperparameters.eta)).toBeLessThanOrEqual(0.1);
      expect(Number.isInteger(Number(t.hyperparameters.max_depth))).toBe(true);
      const config = JSON.parse(fs.readFileSync(path.join(report.outDir, 'jobs', 'TuneModel', t.trainingJobName, 'input', 'config', 'hyperparameters.json'), 'utf8'));
      expect(config).toEqual({
        objective: 'reg:squarederror',
        eval_metric: 'rmse',
        num_round: '200',
        early_stopping_rounds: '20',
        ...t.hyperparameters,
        _tuning_objective_metric: 'validation:rmse',
      });
    }
  });

  test('each objective is the last validation-rmse of the trial\'s own log', () => {
    for (const t of report.trials.TuneModel) {
      const log = fs.readFileSync(path.join(report.outDir, 'jobs', 'TuneModel', t.trainingJobName, 'output', 'job.log'), 'utf8');
      const last = log.split('\n').filter((l) => /^\[\d+\]\t/.test(l)).at(-1)!;
      expect(t.objective).toBe(Number(/validation-rmse:(\S+)/.exec(last)![1]));
    }
  });

  test('the best trial\'s model is evaluated and registered, with the tuning lineage', () => {
    const best = [...report.trials.TuneModel].sort((a, b) => a.objective! - b.objective!)[0];
    const archive = path.join(report.outDir, 'artifacts', report.executionId, 'TuneModel', best.trainingJobName, 'output', 'model.tar.gz');
    const evaluated = path.join(report.outDir, 'jobs', 'EvaluateModel', 'model', 'model.tar.gz');
    expect(fs.readFileSync(evaluated)).toEqual(fs.readFileSync(archive));
    const model = new LocalModelRegistry(path.join(home, 'registry')).get(report.registeredModel!.version);
    expect(fs.readFileSync(model.containers[1].modelDataPath)).toEqual(fs.readFileSync(archive));
    expect(model.customerMetadata).toMatchObject({
      TuningJobName: `TuneModel-${report.executionId}`,
      BestTrainingJobName: best.trainingJobName,
      BestTrainingJobObjective: String(best.objective),
      ...Object.fromEntries(Object.entries(best.hyperparameters).map(([k, v]) => [`TunedHyperparameter.${k}`, v])),
      TrainingProfileS3Uri: `local://artifacts/${report.executionId}/PreprocessData/profile/training-profile.json`,
    });
  });

  test('the same seed proposes the same trials and trains the same models', async () => {
    const again = await localRun({
      data: DATA, home, python: await checkPython(), tuning: { strategy: 'Random', maxJobs: 4, numRound: 200 }, tuningSeed: 3,
    });
    const trialsOf = (r: LocalRunReport) => r.trials.TuneModel.map((t) => ({ hyperparameters: t.hyperparameters, objective: t.objective }));
    expect(trialsOf(again)).toEqual(trialsOf(report));
  });

  test('the command line prints each trial as it ends and lists them with --json', async () => {
    const text = await runMain(['local', 'run', '--data', DATA, '--home', home, '--tune', '--tuning-strategy', 'Bayesian', '--tuning-jobs', '3']);
    expect(text.code).toBe(0);
    expect(text.stdout.match(/^ {5}trial +\d+ +[\d.]+ s {2}validation:rmse \d+\.\d{4} {2}eta=/gm)).toHaveLength(3);
    const json = await runMain(['local', 'run', '--data', DATA, '--home', home, '--tune', '--tuning-jobs', '2', '--json']);
    const summary = JSON.parse(json.stdout);
    expect(summary.trials.map((t: any) => [t.step, t.number, t.status])).toEqual([['TuneModel', 1, 'Completed'], ['TuneModel', 2, 'Completed']]);
    expect(summary.trials[0]).toEqual(expect.objectContaining({
      objective: expect.any(Number), durationMs: expect.any(Number), hyperparameters: expect.any(Object),
    }));
    expect((await runMain(['local', 'run', '--tuning-jobs', '2'])).stderr).toContain('--tuning-jobs needs --tune');
  });
});

describe('local run from the command line', () => {
  let server: http.Server;
  let base: string;
  const served: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      served.push(req.url!);
      if (req.url === '/abalone.data') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        fs.createReadStream(DATA).pipe(res);
      } else {
        res.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  test('--data URL downloads the file for real; --json prints steps, metrics, gate and model version', async () => {
    const home = tempDir('url');
    const result = await runCli(['local', 'run', '--data', `${base}/abalone.data`, '--home', home, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(served).toContain('/abalone.data');
    const summary = JSON.parse(result.stdout);
    expect(Object.keys(summary).sort()).toEqual(['gate', 'metrics', 'modelVersion', 'steps']);
    expect(summary.steps).toHaveLength(5);
    for (const step of summary.steps) {
      expect(step).toEqual({ name: expect.any(String), type: expect.any(String), status: 'Succeeded', durationMs: expect.any(Number) });
    }
    expect(Object.keys(summary.metrics).sort()).toEqual(['mae', 'mse', 'r2']);
    expect(summary.gate).toEqual({ passed: true, threshold: 6 });
    expect(summary.modelVersion).toBe(1);
    // The downloaded bytes are what the pipeline read.
    const runs = fs.readdirSync(path.join(home, 'runs'));
    expect(fs.readFileSync(path.join(home, 'runs', runs[0], 'data', 'abalone.data'))).toEqual(fs.readFileSync(DATA));
  });

  test('a URL that answers 404 fails clearly, before any step runs', async () => {
    const result = await runMain(['local', 'run', '--data', `${base}/missing.data`, '--home', tempDir('404')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`Cannot download ${base}/missing.data: HTTP 404\n`);
    expect(result.stdout).toBe('');
  });

  test('a failed gate exits 1 with the Fail step\'s message', async () => {
    const home = tempDir('gate');
    const result = await runCli(['local', 'run', '--data', DATA, '--home', home, '--mse-threshold', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Quality gate failed: MSE \d+\.\d+ > threshold 1\n$/);
    expect(result.stdout).toMatch(/ok {3}CheckQuality .* false: \d+\.\d+ <= 1/);
    expect(result.stdout).toMatch(/FAIL FailQualityGate .*MSE \d+\.\d+ > threshold 1/);
    expect(result.stdout).toContain('gate: MSE <= 1: failed');
    expect(result.stdout).not.toContain('Registered model');
    expect(fs.existsSync(path.join(home, 'registry'))).toBe(false);
  });

  test('--json on a failed gate reports the failure, and each step once', async () => {
    const result = await runCli(['local', 'run', '--data', DATA, '--home', tempDir('gate-json'), '--mse-threshold', '1', '--json']);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.steps.map((s: any) => [s.name, s.status])).toEqual([
      ['PreprocessData', 'Succeeded'],
      ['TrainModel', 'Succeeded'],
      ['EvaluateModel', 'Succeeded'],
      ['CheckQuality', 'Succeeded'],
      ['FailQualityGate', 'Failed'],
    ]);
    expect(summary.gate).toEqual({ passed: false, threshold: 1 });
    expect(summary.modelVersion).toBeNull();
    expect(summary.failureReason).toMatch(/^Quality gate failed: MSE \d+\.\d+ > threshold 1$/);
    expect(result.stderr).toBe(`${summary.failureReason}\n`);
  });

  test('wrong usage exits 2 with the usage text', async () => {
    const result = await runMain(['local', 'run', '--seed', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--seed must be a number, got x');
    expect(result.stderr).toContain('Usage: cdk-mlops-abalone local <command>');
    expect((await runMain(['local', 'frobnicate'])).code).toBe(2);
    expect((await runMain(['--help'])).code).toBe(0);
  });
});

describe('hostile data fails the run with the validation message', () => {
  const GOOD = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15';

  async function rejected(name: string, content: string | Buffer): Promise<string> {
    const dir = tempDir('hostile');
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    const result = await runMain(['local', 'run', '--data', file, '--home', path.join(dir, 'home')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // Nothing ran and nothing was registered.
    expect(fs.existsSync(path.join(dir, 'home', 'registry'))).toBe(false);
    return result.stderr;
  }

  test('a bad sex code names the row and column', async () => {
    const stderr = await rejected('bad-sex.csv', `${GOOD}\nX,0.35,0.265,0.09,0.2255,0.0995,0.0485,0.07,7\n`);
    expect(stderr).toContain('The data was rejected:');
    expect(stderr).toContain('bad-sex.csv');
    expect(stderr).toContain('row 2, column sex: "X" is not one of M, F, I');
  });

  test('a negative size names the row and column', async () => {
    const stderr = await rejected('negative.data', `${GOOD}\n${GOOD}\nF,-0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9\n`);
    expect(stderr).toContain('row 3, column length: "-0.53" is negative');
  });

  test('an empty file', async () => {
    expect(await rejected('empty.csv', '')).toContain('empty.csv: file is empty');
  });

  test('binary content', async () => {
    const stderr = await rejected('binary.data', Buffer.concat([Buffer.from(`${GOOD}\n`), Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 10])]));
    expect(stderr).toContain('row 2: binary content (NUL byte): not a CSV text file');
  });

  test('a missing column', async () => {
    expect(await rejected('short.csv', `${GOOD}\nM,0.455,0.365,0.095\n`)).toContain('row 2: expected 9 columns, found 4');
  });

  test('a missing data file', async () => {
    expect(await runMain(['local', 'run', '--data', '/nonexistent/abalone.data', '--home', tempDir('none')]))
      .toMatchObject({ code: 1, stderr: '/nonexistent/abalone.data does not exist\n' });
  });
});

describe('a Python without the packages', () => {
  /** The first python3 on PATH outside the system's (pyenv's has no scikit-learn). */
  function otherPython(): string | undefined {
    const found = execFileSync('bash', ['-c', 'which -a python3 || true'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    return found.find((p) => !p.startsWith('/usr/bin/') && !p.startsWith('/bin/'));
  }

  test('--python /nonexistent says it is not found and how to install the packages', async () => {
    const result = await runMain(['local', 'run', '--data', DATA, '--home', tempDir('py'), '--python', '/nonexistent']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/nonexistent: not found');
    expect(result.stderr).toContain('pip install -r ');
    expect(result.stderr).toContain('ml/requirements.txt');
    expect(result.stderr).toContain('apt-get install python3-sklearn python3-xgboost python3-pandas');
    await expect(checkPython('/nonexistent')).rejects.toBeInstanceOf(PythonSetupError);
  });

  const python = otherPython();
  (python ? test : test.skip)(`an interpreter lacking packages is named with each missing one (${python})`, async () => {
    const result = await runCli(['local', 'run', '--data', DATA, '--home', tempDir('py2'), '--python', python!]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${python}: missing sklearn (scikit-learn==1.2.1), xgboost (xgboost==1.7.4)`);
    expect(result.stderr).toContain('pandas (pandas==1.5.3)');
    expect(result.stderr).toMatch(/Install them with `pip install -r \S+ml\/requirements.txt`/);
    expect(result.stdout).toBe('');
  });

  test('ABALONE_PYTHON is used when --python is not given', async () => {
    const saved = process.env.ABALONE_PYTHON;
    process.env.ABALONE_PYTHON = '/nonexistent/python3';
    try {
      await expect(checkPython()).rejects.toThrow('/nonexistent/python3: not found');
    } finally {
      if (saved === undefined) delete process.env.ABALONE_PYTHON;
      else process.env.ABALONE_PYTHON = saved;
    }
  });
});
