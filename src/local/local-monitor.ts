/**
 * `local monitor`: writes what `local serve` stored out in SageMaker's Data Capture format and its feedback as
 * ground-truth records, then runs the monitoring pipeline's definition (the construct's own builder, the same
 * `monitor_drift.py`) with {@link LocalPipelineRunner}: drift against the served model's training profile and, when
 * there is feedback, live model quality against its registered test metrics.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ML_DIR, SHARED_MODULES_ARCHIVE, writeSharedModulesArchive } from './local-run';
import { STORE_FILE, STORE_SCRIPT } from './local-store';
import { LocalPipelineRunner, LocalRunResult } from './pipeline-runner';
import { LocalModelRegistry, RegisteredModel } from './registry';
import {
  DriftReport, MODEL_QUALITY_PARAMETER_NAMES, MONITORING_PARAMETER_NAMES, MONITORING_SCRIPT, ModelQualityReport, TRAINING_PROFILE,
  driftReportS3Uri, modelQualityReportS3Uri,
} from '../contracts/monitoring';
import { MonitoringSettings, buildMonitoringDefinition, monitoringPipelineSpec } from '../training-pipeline/definition';
import { SKLEARN_IMAGE } from '../training-pipeline/definition/images';

const execFileAsync = promisify(execFile);

/** The endpoint name local mode's captures are filed under (`local_store.py`'s default). */
export const LOCAL_ENDPOINT_NAME = 'local';

export interface LocalMonitorOptions {
  /** Local mode's home: the registry, `serve.sqlite3` and the monitoring runs (`<home>/monitoring/<id>`). */
  readonly home: string;
  readonly python: string;
  /** The model version whose predictions are judged. @default the newest approved (what `local serve` serves) */
  readonly modelVersion?: number;
  /** Only predictions received at or after this ISO 8601 time. @default all stored */
  readonly since?: string;
  /** Threshold defaults of the definition. @default DRIFT_DEFAULTS */
  readonly settings?: MonitoringSettings;
  /** Pipeline parameter values, e.g. `{ MinRecords: 50 }` or `{ MinLabels: 100 }`. */
  readonly parameters?: Record<string, string | number>;
}

export interface LocalMonitorReport {
  readonly executionId: string;
  readonly outDir: string;
  readonly model: RegisteredModel;
  /** What the export wrote: invocations (a batch is one) and their rows. */
  readonly exported: { readonly invocations: number; readonly records: number };
  /** Ground-truth records written from the stored feedback (all stored feedback, of any model version). */
  readonly groundTruth: { readonly records: number };
  readonly run: LocalRunResult;
  readonly report: DriftReport;
  /** Live model quality; absent when no feedback is stored (the quality step is skipped). */
  readonly quality?: ModelQualityReport;
}

/** The file name the registered metrics are written under for the quality step. */
const REGISTERED_METRICS_FILE = 'evaluation.json';

/** The model, the profile or the stored predictions cannot be found: the message says what to do. */
export class MonitorSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitorSetupError';
  }
}

/**
 * The training profile of a registered version on this machine. Its `TrainingProfileS3Uri` is
 * `local://artifacts/<execution id>/…`, the `artifacts` folder of that run (`<home>/runs/<execution id>`).
 */
export function localProfilePath(home: string, model: RegisteredModel): string {
  const uri = model.customerMetadata[TRAINING_PROFILE.metadataKey];
  if (!uri) {
    throw new MonitorSetupError(`Model version ${model.version} has no training profile (${TRAINING_PROFILE.metadataKey}): `
      + 'it was registered before runs wrote one; train it again with `cdk-mlops-abalone local run`');
  }
  const match = /^local:\/\/artifacts\/(([^/]+)\/.+)$/.exec(uri);
  if (!match) throw new MonitorSetupError(`Model version ${model.version}: ${TRAINING_PROFILE.metadataKey} ${uri} is not a local run's artifact`);
  const file = path.resolve(home, 'runs', match[2], 'artifacts', ...match[1].split('/'));
  if (!fs.existsSync(file)) {
    throw new MonitorSetupError(`The training profile of model version ${model.version} (${uri}) is not at ${file}: `
      + 'its run folder was removed or written elsewhere with --out');
  }
  return file;
}

export async function localMonitor(options: LocalMonitorOptions): Promise<LocalMonitorReport> {
  const registry = new LocalModelRegistry(path.join(options.home, 'registry'));
  const model = options.modelVersion !== undefined ? registry.get(options.modelVersion) : registry.latestApproved();
  if (!model) {
    throw new MonitorSetupError(`No approved model in ${registry.root}: approve one (cdk-mlops-abalone local approve VERSION) or pass --model VERSION`);
  }
  const profile = localProfilePath(options.home, model);
  const database = path.join(options.home, STORE_FILE);
  if (!fs.existsSync(database)) {
    throw new MonitorSetupError(`No stored predictions: ${database} does not exist (\`cdk-mlops-abalone local serve\` stores every prediction there)`);
  }
  const since = options.since === undefined ? undefined : isoTime(options.since);

  const executionId = `monitor-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
  const outDir = path.resolve(options.home, 'monitoring', executionId);
  const capturesDir = path.join(outDir, 'captures');
  fs.mkdirSync(capturesDir, { recursive: true });
  const exported = await exportCaptures(options.python, database, capturesDir, `${model.modelPackageGroupName}/${model.version}`, since);
  const groundTruthDir = path.join(outDir, 'ground-truth');
  const groundTruth = await exportGroundTruth(options.python, database, groundTruthDir);
  // The package's registered evaluation report, as the cloud reads it from its ModelMetrics.
  const registeredDir = path.join(outDir, 'registered');
  fs.mkdirSync(registeredDir, { recursive: true });
  fs.writeFileSync(path.join(registeredDir, REGISTERED_METRICS_FILE), JSON.stringify(model.metrics, null, 2));

  const definition = buildMonitoringDefinition(monitoringPipelineSpec(options.settings ?? {}, {
    roleArn: 'local',
    outputS3Uri: 'local://monitoring',
    sklearnImageUri: `local/${SKLEARN_IMAGE.repository}:${SKLEARN_IMAGE.tag}`,
    monitorScript: { s3Uri: `local://ml/${MONITORING_SCRIPT}`, fileName: MONITORING_SCRIPT },
    sharedModules: { s3Uri: `local://run/${SHARED_MODULES_ARCHIVE}`, fileName: SHARED_MODULES_ARCHIVE },
  }));
  fs.writeFileSync(path.join(outDir, 'pipeline-definition.json'), JSON.stringify(definition, null, 2));
  writeSharedModulesArchive(outDir);
  const names = MONITORING_PARAMETER_NAMES;
  const quality = MODEL_QUALITY_PARAMETER_NAMES;
  const runner = new LocalPipelineRunner(definition, {
    roots: {
      run: outDir,
      monitoring: path.join(outDir, 'output'),
      ml: ML_DIR,
      captures: capturesDir,
      profile: path.dirname(profile),
      groundtruth: groundTruthDir,
      registered: registeredDir,
    },
    workDir: outDir,
    python: options.python,
    xgboostTrainScript: path.join(ML_DIR, 'local_xgboost_train.py'),
    registry,
    executionId,
    parameters: {
      [names.endpointName]: LOCAL_ENDPOINT_NAME,
      [names.modelPackageArn]: model.arn,
      [names.profileS3Uri]: `local://profile/${path.basename(profile)}`,
      [names.captureS3Prefix]: `local://captures/${LOCAL_ENDPOINT_NAME}`,
      // Empty: the window starts at the first stored prediction.
      [names.windowStart]: since ?? '',
      // The quality step runs only with labels, as in the cloud; it sees the same captures as the drift step.
      [quality.hasGroundTruth]: groundTruth.records > 0 ? 1 : 0,
      [quality.qualityCaptureS3Prefix]: `local://captures/${LOCAL_ENDPOINT_NAME}`,
      [quality.groundTruthS3Prefix]: 'local://groundtruth',
      [quality.registeredMetricsS3Uri]: `local://registered/${REGISTERED_METRICS_FILE}`,
      [quality.qualityWindowStart]: since ?? '',
      ...options.parameters,
    },
  });
  fs.mkdirSync(path.join(capturesDir, LOCAL_ENDPOINT_NAME), { recursive: true });
  const run = await runner.run();
  if (run.status !== 'Succeeded') throw new Error(run.failureReason ?? 'the monitoring step failed');
  const report: DriftReport = JSON.parse(fs.readFileSync(runner.toLocalPath(driftReportS3Uri('local://monitoring', executionId)), 'utf8'));
  const qualityFile = runner.toLocalPath(modelQualityReportS3Uri('local://monitoring', executionId));
  const qualityReport: ModelQualityReport | undefined = fs.existsSync(qualityFile) ? JSON.parse(fs.readFileSync(qualityFile, 'utf8')) : undefined;
  const summary: LocalMonitorReport = { executionId, outDir, model, exported, groundTruth, run, report, quality: qualityReport };
  fs.writeFileSync(path.join(outDir, 'monitor.json'), JSON.stringify(summary, null, 2));
  return summary;
}

/** `local_store.py export-captures` for one model version. */
async function exportCaptures(python: string, database: string, out: string, modelVersion: string, since?: string) {
  const args = [STORE_SCRIPT, 'export-captures', '--db', database, '--out', out,
    '--model-version', modelVersion, '--endpoint-name', LOCAL_ENDPOINT_NAME, ...(since ? ['--since', since] : [])];
  try {
    const { stdout } = await execFileAsync(python, args, { maxBuffer: 64 * 1024 * 1024 });
    const summary = JSON.parse(stdout);
    return { invocations: Number(summary.invocations), records: Number(summary.records) };
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`Exporting the stored predictions failed: ${stderr || (e as Error).message}`);
  }
}

/** `local_store.py export-ground-truth`: one GroundTruthRecord per stored feedback. */
async function exportGroundTruth(python: string, database: string, out: string): Promise<{ records: number }> {
  const args = [STORE_SCRIPT, 'export-ground-truth', '--db', database, '--out', out];
  try {
    const { stdout } = await execFileAsync(python, args, { maxBuffer: 64 * 1024 * 1024 });
    return { records: Number(JSON.parse(stdout).records) };
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`Exporting the stored feedback failed: ${stderr || (e as Error).message}`);
  }
}

function isoTime(text: string): string {
  const time = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time.getTime())) {
    throw new MonitorSetupError(`--since must be an ISO 8601 time such as 2026-05-01T10:00:00Z, got ${text}`);
  }
  return time.toISOString();
}
