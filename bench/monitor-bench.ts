/**
 * The monitoring step over 100,000 captured records (target <= 5 s locally): the monitoring definition's
 * MonitorDrift step run by local mode's pipeline runner (Python start-up included) against the full dataset's
 * training profile, on one-row capture lines (the most lines per record) drawn from the dataset with weights x 1.8
 * for half of them. Median of --runs.
 *
 *   npx ts-node --transpile-only bench/monitor-bench.ts [--records 100000] [--runs 3] [--data FILE]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { MONITORING_PARAMETER_NAMES, MONITORING_SCRIPT, driftReportS3Uri } from '../src/contracts/monitoring';
import { ML_DIR, SHARED_MODULES_ARCHIVE, writeSharedModulesArchive } from '../src/local/local-run';
import { LocalPipelineRunner } from '../src/local/pipeline-runner';
import { checkPython } from '../src/local/python';
import { LocalModelRegistry } from '../src/local/registry';
import { buildMonitoringDefinition, monitoringPipelineSpec } from '../src/training-pipeline/definition';
import { SKLEARN_IMAGE } from '../src/training-pipeline/definition/images';

const ROOT = path.resolve(__dirname, '..');
const TARGET_SECONDS = 5;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '100000' },
      runs: { type: 'string', default: '3' },
      data: { type: 'string', default: path.resolve(ROOT, '..', 'shared', 'data', 'abalone.data') },
    },
  });
  const records = Number(values.records);
  const python = await checkPython();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-monitor-'));
  try {
    // The profile, as the training pipeline's PreprocessData writes it.
    fs.mkdirSync(path.join(dir, 'data'));
    fs.copyFileSync(values.data!, path.join(dir, 'data', 'abalone.data'));
    execFileSync(python, [path.join(ML_DIR, 'preprocess.py'), '--input-dir', path.join(dir, 'data'), '--output-dir', path.join(dir, 'pre'),
      '--inference-script', path.join(ML_DIR, 'inference.py'), '--exit-message-file', ''], { stdio: 'ignore' });

    const rows = fs.readFileSync(values.data!, 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.split(',').slice(0, 8));
    const lines: string[] = [];
    for (let i = 0; i < records; i++) {
      const row = rows[(i * 7919) % rows.length];
      const fields = i % 2 === 0 ? row : [...row.slice(0, 4), ...row.slice(4).map((v) => String(Number(v) * 1.8))];
      lines.push(JSON.stringify({
        captureData: {
          endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: fields.join(','), encoding: 'CSV' },
          endpointOutput: { observedContentType: 'text/csv', mode: 'OUTPUT', data: '9.5', encoding: 'CSV' },
        },
        eventMetadata: { eventId: `e${i}`, inferenceId: `i${i}`, inferenceTime: '2026-05-01T10:00:00Z' },
        eventVersion: '0',
      }));
    }
    const captures = path.join(dir, 'captures', 'bench', 'AllTraffic', '2026', '05', '01', '10');
    fs.mkdirSync(captures, { recursive: true });
    fs.writeFileSync(path.join(captures, '00-00-000-bench.jsonl'), `${lines.join('\n')}\n`);

    const definition = buildMonitoringDefinition(monitoringPipelineSpec({}, {
      roleArn: 'local',
      outputS3Uri: 'local://monitoring',
      sklearnImageUri: `local/${SKLEARN_IMAGE.repository}:${SKLEARN_IMAGE.tag}`,
      monitorScript: { s3Uri: `local://ml/${MONITORING_SCRIPT}`, fileName: MONITORING_SCRIPT },
      sharedModules: { s3Uri: `local://run/${SHARED_MODULES_ARCHIVE}`, fileName: SHARED_MODULES_ARCHIVE },
    }));
    writeSharedModulesArchive(dir);
    const times: number[] = [];
    let summary = '';
    for (let run = 0; run < Number(values.runs); run++) {
      const executionId = `bench-${run}`;
      const runner = new LocalPipelineRunner(definition, {
        roots: { run: dir, monitoring: path.join(dir, 'output'), ml: ML_DIR, captures: path.join(dir, 'captures'), profile: path.join(dir, 'pre', 'profile') },
        workDir: path.join(dir, 'work'),
        python,
        xgboostTrainScript: path.join(ML_DIR, 'local_xgboost_train.py'),
        registry: new LocalModelRegistry(path.join(dir, 'registry')),
        executionId,
        parameters: {
          [MONITORING_PARAMETER_NAMES.endpointName]: 'bench',
          [MONITORING_PARAMETER_NAMES.modelPackageArn]: 'local:model-package/bench/1',
          [MONITORING_PARAMETER_NAMES.profileS3Uri]: 'local://profile/training-profile.json',
          [MONITORING_PARAMETER_NAMES.captureS3Prefix]: 'local://captures/bench',
          [MONITORING_PARAMETER_NAMES.windowStart]: '2026-05-01T10:00:00Z',
        },
      });
      const start = process.hrtime.bigint();
      const result = await runner.run();
      times.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (result.status !== 'Succeeded') throw new Error(result.failureReason);
      const report = JSON.parse(fs.readFileSync(runner.toLocalPath(driftReportS3Uri('local://monitoring', executionId)), 'utf8'));
      summary = `${report.recordCount} records, ${report.status}, drifted: ${report.driftedFeatures.join(', ') || 'none'}`;
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
    console.log(`monitoring step      ${median.toFixed(2)} s over ${records.toLocaleString('en-US')} captured records (median of ${times.length}; `
      + `target <= ${TARGET_SECONDS} s: ${median <= TARGET_SECONDS ? 'ok' : 'OVER BUDGET'})  [${summary}]`);
    if (median > TARGET_SECONDS) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
