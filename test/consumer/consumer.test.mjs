/**
 * The package as a user installs it: `npm pack` the built library, install the tarball into a fresh app laid out
 * like `cdk init app --language typescript`, synthesize the README's example with the newest aws-cdk-lib 2.x and
 * with the lowest one the peer range allows, then run local mode from that app on the data the package ships.
 *
 *   node --test test/consumer/consumer.test.mjs      (after `npx projen pre-compile` and `compile` build assets/ and lib/)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE_NAME = 'cdk-mlops-abalone-pipeline';
const STACK = 'AbaloneMlops';
const README_SECTION = '## Use it in your CDK app';
const MINUTE = 60_000;

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-consumer-'));
const packDir = path.join(temp, 'pack');
const appDir = path.join(temp, 'app');
const installed = path.join(appDir, 'node_modules', PACKAGE_NAME);

/** The children's environment: no AWS credentials from anywhere, no CDK version check or telemetry. */
const ENV = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|npm_package_|npm_lifecycle_|npm_config_local_prefix$|INIT_CWD$)/.test(k))),
  AWS_CONFIG_FILE: path.join(temp, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(temp, 'no-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  CDK_DISABLE_VERSION_CHECK: 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  // The test command's interpreter setting (README "Testing") also picks local mode's.
  ...(process.env.PYTHON && !process.env.ABALONE_PYTHON ? { ABALONE_PYTHON: process.env.PYTHON } : {}),
};

const timings = [];
let blockedBy;
let failed = false;
let tarball;
let packedFiles;
let server;

/**
 * One phase of the scenario, timed. A phase that fails skips the rest, which need it (unless it is a `check` that
 * nothing builds on), and keeps the temporary folder for a look.
 */
function phase(name, timeoutMs, fn, { check = false } = {}) {
  test(name, { timeout: timeoutMs }, async (t) => {
    if (blockedBy) return t.skip(`needs "${blockedBy}", which failed`);
    // Cleared only on success, so a phase that times out (and may still be running) also blocks the rest.
    blockedBy = name;
    const started = performance.now();
    try {
      await fn(t);
      blockedBy = undefined;
    } catch (e) {
      failed = true;
      if (check) blockedBy = undefined;
      throw e;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      timings.push([name, seconds]);
      t.diagnostic(`${name}: ${seconds.toFixed(1)} s`);
      console.log(`[consumer] ${name}: ${seconds.toFixed(1)} s`);
    }
  });
}

/** Runs a command; resolves with its output whatever its exit code. */
function run(command, args, { cwd = appDir, timeoutMs = 10 * MINUTE } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command: [command, ...args].join(' '), code, signal, stdout, stderr });
    });
  });
}

/** Like {@link run}, but fails unless the command exits 0; the message carries the end of its output. */
async function runOk(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const tail = (s) => s.trim().split('\n').slice(-40).join('\n');
    assert.fail(`\`${result.command}\` in ${options?.cwd ?? appDir} exited with ${result.code ?? result.signal}\n`
      + `--- stderr\n${tail(result.stderr)}\n--- stdout\n${tail(result.stdout)}`);
  }
  return result;
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const versionOf = (name) => readJson(path.join(appDir, 'node_modules', name, 'package.json')).version;
const sha256 = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The README's TypeScript example: the first ```ts block of the section users copy into their app. */
function readmeExample() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${README_SECTION}\n`);
  assert.ok(start >= 0, `README.md has no "${README_SECTION}" section`);
  const section = readme.slice(start + README_SECTION.length + 2).split(/\n## /)[0];
  const block = /^```(?:ts|typescript)\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(block, `README.md's "${README_SECTION}" section has no \`\`\`ts code block`);
  return block[1];
}

/** The lowest version a peer range allows, for the range forms a package.json uses (^x.y.z, ~x.y.z, >=x.y.z, x.y.z). */
function lowestVersion(range) {
  const match = /^\s*(?:\^|~|>=|=)?\s*v?(\d+\.\d+\.\d+)\s*$/.exec(range);
  assert.ok(match, `Cannot tell the lowest version of the peer range "${range}": expected ^x.y.z, ~x.y.z, >=x.y.z or x.y.z`);
  return match[1];
}

/** The warnings and errors recorded in a cloud assembly's metadata, as `path: message`. */
function annotations(cdkOut) {
  const found = [];
  for (const artifact of Object.values(readJson(path.join(cdkOut, 'manifest.json')).artifacts ?? {})) {
    const sources = [artifact.metadata ?? {}, artifact.additionalMetadataFile ? readJson(path.join(cdkOut, artifact.additionalMetadataFile)) : {}];
    for (const [at, entries] of sources.flatMap(Object.entries)) {
      for (const entry of entries) {
        if (entry.type === 'aws:cdk:warning' || entry.type === 'aws:cdk:error') found.push(`${at}: ${entry.data}`);
      }
    }
  }
  return found;
}

/** The prebuilt Lambda handler bundles in the installed package (`assets/**\/*.lambda`). */
function handlerBundles(dir = path.join(installed, 'assets')) {
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => (
    e.name.endsWith('.lambda') ? [path.join(dir, e.name)] : handlerBundles(path.join(dir, e.name))));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** `npx cdk synth` in the app; asserts it succeeds without a warning and the template holds the whole system. */
async function synthesize(t) {
  fs.rmSync(path.join(appDir, 'cdk.out'), { recursive: true, force: true });
  const result = await runOk('npx', ['cdk', 'synth'], { timeoutMs: 5 * MINUTE });
  // Annotations print as `[Warning at /path] …` or as a `WARNING … (Construct Annotations)` report, deprecations as
  // `[WARNING] …`, depending on the versions; the cloud assembly records the annotations whatever the format.
  const printed = `${result.stderr}\n${result.stdout}`.split('\n').filter((l) => /\[(Warning|Error) at |^\[?(WARNING|ERROR)\]?\s/.test(l));
  assert.deepEqual(printed, [], 'cdk synth printed warnings or errors');
  const cdkOut = path.join(appDir, 'cdk.out');
  assert.deepEqual(annotations(cdkOut), [], 'the cloud assembly holds warnings or errors');

  const template = readJson(path.join(cdkOut, `${STACK}.template.json`));
  const resources = Object.entries(template.Resources);
  const ofType = (type) => resources.filter(([, r]) => r.Type === type);
  const one = (type) => {
    const found = ofType(type);
    assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
    return found[0][1];
  };

  // DataIngest: the versioned data bucket notifies a queue on every raw upload; the manifest function takes the
  // notifications from it in batches.
  const notifications = one('Custom::S3BucketNotifications').Properties;
  const dataBucket = template.Resources[notifications.BucketName.Ref];
  assert.equal(dataBucket?.Type, 'AWS::S3::Bucket');
  assert.equal(dataBucket.Properties.VersioningConfiguration?.Status, 'Enabled');
  const [created] = notifications.NotificationConfiguration.QueueConfigurations ?? [];
  assert.ok(created, 'the data bucket notifies no queue');
  const queueId = created.QueueArn['Fn::GetAtt'][0];
  assert.equal(template.Resources[queueId]?.Type, 'AWS::SQS::Queue');
  const mapping = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties)
    .find((m) => m.EventSourceArn?.['Fn::GetAtt']?.[0] === queueId);
  assert.ok(mapping, 'no function reads the notification queue');
  assert.deepEqual(mapping.FunctionResponseTypes, ['ReportBatchItemFailures']);
  const manifestFunction = template.Resources[mapping.FunctionName.Ref];
  assert.equal(manifestFunction?.Type, 'AWS::Lambda::Function');
  assert.equal(manifestFunction.Properties.Runtime, 'nodejs24.x');

  // TrainingPipeline and QualityGate: the generated definition with its steps, the model package group; and
  // DriftMonitoring's pipeline, started by its hourly schedule.
  const definitions = ofType('AWS::SageMaker::Pipeline').map(([, r]) => JSON.stringify(r.Properties));
  assert.equal(definitions.length, 2, `expected the training and the monitoring pipeline, found ${definitions.length}`);
  const training = definitions.find((d) => d.includes('PreprocessData'));
  assert.ok(training, 'no SageMaker pipeline has a PreprocessData step');
  for (const step of ['PreprocessData', 'TrainModel', 'EvaluateModel', 'CheckQuality', 'RegisterModel']) {
    assert.ok(training.includes(step), `the training pipeline definition has no ${step} step`);
  }
  const monitoring = definitions.find((d) => d !== training);
  for (const step of ['MonitorDrift', 'MonitorModelQuality']) {
    assert.ok(monitoring.includes(step), `the monitoring pipeline definition has no ${step} step`);
  }
  one('AWS::Scheduler::Schedule');
  one('AWS::SageMaker::ModelPackageGroup');

  // ReleasePipeline: Source → Train → Approve → Deploy.
  const release = one('AWS::CodePipeline::Pipeline').Properties;
  assert.equal(release.PipelineType, 'V2');
  assert.deepEqual(release.Stages.map((s) => s.Name), ['Source', 'Train', 'Approve', 'Deploy']);

  // ModelServing and WebFrontend.
  one('AWS::ApiGateway::RestApi');
  one('AWS::DynamoDB::Table');
  one('Custom::SageMakerEndpointCleanup');
  one('AWS::CloudFront::Distribution');
  one('Custom::CDKBucketDeployment');

  // Every asset (Lambda bundles, ML scripts, web app) came out of the installed package into cdk.out, and each of
  // the package's prebuilt handler bundles backs a Node.js 24 function.
  const assets = readJson(path.join(cdkOut, `${STACK}.assets.json`)).files;
  const missing = Object.values(assets).map((a) => a.source.path).filter((p) => !fs.existsSync(path.join(cdkOut, p)));
  assert.deepEqual(missing, [], 'assets listed in the manifest are missing from cdk.out');
  const bundled = ofType('AWS::Lambda::Function')
    .map(([, r]) => [assets[String(r.Properties.Code.S3Key).replace(/\.zip$/, '')]?.source.path, r.Properties.Runtime])
    .filter(([source]) => source?.endsWith('.lambda'));
  const bundles = handlerBundles();
  assert.ok(bundles.length > 0, `no *.lambda bundles in ${installed}/assets`);
  // The README's app backs each bundle with one function, but those of opt-in features (staging, retraining on an
  // alarm, feedback as training data).
  const optIn = ['acceptance-action.lambda', 'retrain-on-drift.lambda', 'training-export.lambda'];
  assert.deepEqual(bundles.map((b) => path.basename(b)).filter((b) => optIn.includes(b)).sort(), [...optIn].sort());
  assert.equal(bundled.length, bundles.length - optIn.length, 'functions backed by the package\'s handler bundles');
  assert.deepEqual(bundled.filter(([, runtime]) => runtime !== 'nodejs24.x'), [], 'functions from the package\'s bundles not on Node.js 24');

  t.diagnostic(`aws-cdk-lib ${versionOf('aws-cdk-lib')}: ${resources.length} resources, ${Object.keys(assets).length} assets`);
}

after(async () => {
  if (server) await server.stop();
  console.log(`[consumer] timings: ${timings.map(([n, s]) => `${n} ${s.toFixed(1)} s`).join(', ')}; total ${timings.reduce((a, [, s]) => a + s, 0).toFixed(1)} s`);
  if (failed || blockedBy) {
    console.log(`[consumer] kept ${temp} for a look`);
  } else {
    fs.rmSync(temp, { recursive: true, force: true });
  }
});

describe('the installed package', () => {
  phase('npm pack', 2 * MINUTE, async () => {
    for (const [dir, task] of [['lib', 'compile'], ['assets/webapp', 'pre-compile']]) {
      assert.ok(fs.existsSync(path.join(ROOT, dir)), `${dir}/ is missing: build the library first (npx projen ${task}; npx projen build does both)`);
    }
    fs.mkdirSync(packDir, { recursive: true });
    const result = await runOk('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT });
    const [info] = JSON.parse(result.stdout);
    tarball = path.join(packDir, info.filename);
    packedFiles = info.files.map((f) => f.path);
  });

  phase('the package holds the built code, the assets and one copy of the data', MINUTE, async () => {
    for (const file of ['lib/index.js', 'lib/local/cli.js', '.jsii', 'assets/webapp/index.html', 'ml/requirements.txt', 'data/abalone.data', 'data/README.md']) {
      assert.ok(packedFiles.includes(file), `the package does not contain ${file}`);
    }
    assert.deepEqual(packedFiles.filter((f) => path.basename(f) === 'abalone.data'), ['data/abalone.data'], 'the package ships one copy of the dataset');
  }, { check: true });

  phase('app with the newest aws-cdk-lib 2.x', 10 * MINUTE, async (t) => {
    fs.mkdirSync(path.join(appDir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(appDir, 'bin', 'app.ts'), readmeExample());
    fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({
      name: 'abalone-consumer',
      version: '0.1.0',
      bin: { 'abalone-consumer': 'bin/app.js' },
      scripts: { build: 'tsc', watch: 'tsc -w', cdk: 'cdk' },
      devDependencies: { '@types/node': '^20', 'aws-cdk': '^2', 'ts-node': '^10', 'typescript': '^5' },
      dependencies: { [PACKAGE_NAME]: `file:${tarball}`, 'aws-cdk-lib': '^2', 'constructs': '^10' },
    }, null, 2));
    // The strict compiler options `cdk init app --language typescript` writes (without jest, which is not installed).
    fs.writeFileSync(path.join(appDir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['es2022'], declaration: true,
        strict: true, noImplicitAny: true, strictNullChecks: true, noImplicitThis: true, alwaysStrict: true,
        noUnusedLocals: false, noUnusedParameters: false, noImplicitReturns: true, noFallthroughCasesInSwitch: false,
        inlineSourceMap: true, inlineSources: true, experimentalDecorators: true, strictPropertyInitialization: false,
        skipLibCheck: true, typeRoots: ['./node_modules/@types'], noEmit: true, isolatedModules: true, types: ['node'],
      },
      exclude: ['node_modules', 'cdk.out'],
    }, null, 2));
    await runOk('npm', ['install', '--no-audit', '--no-fund']);

    // cdk.json as `cdk init` writes it: the app type-checked by ts-node, the feature flags recommended for new apps.
    const { CURRENTLY_RECOMMENDED_FLAGS } = createRequire(path.join(appDir, 'package.json'))('aws-cdk-lib/cx-api');
    assert.equal(typeof CURRENTLY_RECOMMENDED_FLAGS, 'object', 'aws-cdk-lib/cx-api exports no CURRENTLY_RECOMMENDED_FLAGS');
    fs.writeFileSync(path.join(appDir, 'cdk.json'), JSON.stringify({
      app: 'npx ts-node --prefer-ts-exts bin/app.ts',
      watch: { include: ['**'], exclude: ['README.md', 'cdk*.json', '**/*.d.ts', '**/*.js', 'tsconfig.json', 'package*.json', 'node_modules'] },
      context: CURRENTLY_RECOMMENDED_FLAGS,
    }, null, 2));

    const versions = Object.fromEntries(['aws-cdk-lib', 'constructs', 'aws-cdk', 'ts-node', 'typescript', '@types/node'].map((n) => [n, versionOf(n)]));
    t.diagnostic(`installed ${Object.entries(versions).map(([n, v]) => `${n}@${v}`).join(' ')}`);
    assert.match(versions.typescript, /^5\./);
    assert.match(versions['@types/node'], /^20\./);
    assert.equal(readJson(path.join(installed, 'package.json')).version, readJson(path.join(ROOT, 'package.json')).version);
  });

  phase('cdk synth with the newest aws-cdk-lib', 5 * MINUTE, synthesize, { check: true });

  phase('app with the lowest aws-cdk-lib the peer range allows', 10 * MINUTE, async (t) => {
    const range = readJson(path.join(installed, 'package.json')).peerDependencies['aws-cdk-lib'];
    const lowest = lowestVersion(range);
    // The app pins it and installs afresh: npm's in-place downgrade (`npm install aws-cdk-lib@<older>`) leaves out
    // @aws-cdk/cloud-assembly-schema, which the older aws-cdk-lib's bundled modules need, and no app would synthesize.
    const manifest = readJson(path.join(appDir, 'package.json'));
    manifest.dependencies['aws-cdk-lib'] = lowest;
    fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify(manifest, null, 2));
    for (const stale of ['node_modules', 'package-lock.json']) fs.rmSync(path.join(appDir, stale), { recursive: true, force: true });
    await runOk('npm', ['install', '--no-audit', '--no-fund']);
    assert.equal(versionOf('aws-cdk-lib'), lowest);
    t.diagnostic(`peer range ${range}: installed aws-cdk-lib@${lowest}`);
  });

  phase('cdk synth with the lowest aws-cdk-lib', 5 * MINUTE, synthesize, { check: true });

  phase('local run on the shipped data', 5 * MINUTE, async (t) => {
    const result = await runOk('npx', ['cdk-mlops-abalone', 'local', 'run', '--json']);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.steps.map((s) => `${s.name} ${s.status}`),
      ['PreprocessData', 'TrainModel', 'EvaluateModel', 'CheckQuality', 'RegisterModel'].map((s) => `${s} Succeeded`));
    assert.equal(report.gate.passed, true);
    assert.ok(report.metrics.mse <= report.gate.threshold, `MSE ${report.metrics.mse} > ${report.gate.threshold}`);
    assert.equal(report.modelVersion, 1);
    // It trained on the package's own copy of the UCI data.
    const runs = fs.readdirSync(path.join(appDir, '.abalone-local', 'runs'));
    assert.equal(runs.length, 1);
    assert.equal(sha256(path.join(appDir, '.abalone-local', 'runs', runs[0], 'data', 'abalone.data')), sha256(path.join(installed, 'data', 'abalone.data')));
    t.diagnostic(`MSE ${report.metrics.mse.toFixed(3)} MAE ${report.metrics.mae.toFixed(3)} R² ${report.metrics.r2.toFixed(3)}`);
  });

  phase('local approve', MINUTE, async () => {
    const result = await runOk('npx', ['cdk-mlops-abalone', 'local', 'approve', '1']);
    assert.match(result.stdout, /Model version 1 is now Approved\./);
  });

  phase('local serve answers POST /predictions', 2 * MINUTE, async (t) => {
    const port = await freePort();
    server = await startServer(port);
    const url = `http://127.0.0.1:${port}`;
    assert.ok(server.banner.includes(`Serving model version 1 (Approved) at ${url}/`), server.banner);

    // The README's example request ("Contracts", "In the cloud, step by step").
    const body = { sex: 'M', lengthMm: 91, diameterMm: 73, heightMm: 19, wholeWeightG: 102.8, shuckedWeightG: 44.9, visceraWeightG: 20.2, shellWeightG: 30 };
    const response = await fetch(`${url}/predictions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    const prediction = JSON.parse(text);
    assert.ok(prediction.rings > 1 && prediction.rings < 30, text);
    assert.ok(Math.abs(prediction.ageYears - (prediction.rings + 1.5)) < 0.011, text);
    assert.equal(typeof prediction.predictionId, 'string');
    assert.ok(prediction.modelVersion, text);

    // The web app it serves is the one built into the package.
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), fs.readFileSync(path.join(installed, 'assets', 'webapp', 'index.html'), 'utf8'));
    t.diagnostic(`prediction: ${text}`);

    const feedback = await fetch(`${url}/predictions/${prediction.predictionId}/feedback`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ actualRings: 9 }),
    });
    assert.equal(feedback.status, 200, await feedback.text());

    await server.stop();
    server = undefined;
  });

  phase('local monitor and feedback export read what serve stored', 2 * MINUTE, async (t) => {
    // One stored prediction: too few to judge drift or quality, which is exit 0 and says so.
    const monitor = await runOk('npx', ['cdk-mlops-abalone', 'local', 'monitor', '--json']);
    const report = JSON.parse(monitor.stdout);
    assert.equal(report.drift.status, 'insufficient_data', monitor.stdout);
    assert.equal(report.drift.recordCount, 1, monitor.stdout);
    assert.equal(report.modelQuality?.labelledCount, 1, monitor.stdout);
    const out = path.join(appDir, 'feedback.csv');
    await runOk('npx', ['cdk-mlops-abalone', 'local', 'feedback', 'export', '--out', out]);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows.length, 1);
    assert.match(rows[0], /^M,0\.455,0\.365,0\.095,0\.514,0\.2245,0\.101,0\.15,9$/);
    t.diagnostic(`monitor: ${report.drift.status}, ${report.modelQuality.status}; feedback row: ${rows[0]}`);
  });
});

/** `npx cdk-mlops-abalone local serve --port PORT` in its own process group, once it says it is serving. */
function startServer(port) {
  const child = spawn('npx', ['cdk-mlops-abalone', 'local', 'serve', '--port', String(port)], { cwd: appDir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const groupAlive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch (e) {
      return e.code !== 'ESRCH';
    }
  };
  let stopped = false;
  // Ctrl-C in a terminal: SIGINT to the whole process group (npx, the CLI and its Python worker).
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killGroup(child, 'SIGINT');
    const deadline = Date.now() + 15_000;
    while (groupAlive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (groupAlive()) {
      killGroup(child, 'SIGKILL');
      assert.fail(`local serve (process group ${child.pid}) was still running 15 s after SIGINT\n${output}`);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`local serve did not start within 60 s:\n${output}`));
    }, MINUTE);
    const onData = (d) => {
      output += d;
      const banner = output.split('\n').find((l) => /^(Serving|No approved model)/.test(l));
      if (banner) {
        clearTimeout(timer);
        resolve({ banner, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => { output += d; });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`local serve exited with ${code ?? signal} before serving:\n${output}`));
    });
  });
}
