/**
 * `local run`: validates the data the way DataIngest does, writes it with a SageMaker ManifestFile, builds the
 * pipeline definition with the construct's own builder and runs it with {@link LocalPipelineRunner}.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalPipelineRunner, LocalRunResult, StepEvent, TrialRecord } from './pipeline-runner';
import { DataFileLineage, LocalModelRegistry } from './registry';
import { zipArchive } from './zip-archive';
import { ABALONE_DATASET_FILE, ABALONE_DATASET_SHA256 } from '../contracts/abalone-dataset';
import { DATA_FILE_SUFFIXES } from '../contracts/data-layout';
import { formatError, validateRawData } from '../data-ingest/runtime/raw-data-validator';
import {
  DEFAULT_MSE_THRESHOLD, EVALUATION_REPORT, PARAMETER_NAMES, SHARED_PYTHON_MODULES, STEP_NAMES,
  PipelineDefinition, TuningSettings, abaloneTrainingSpec, buildAbaloneTrainingDefinition,
} from '../training-pipeline/definition';
import { SKLEARN_IMAGE, XGBOOST_IMAGE } from '../training-pipeline/definition/images';

/** Where the package's ML scripts are (the same files the cloud jobs run). */
export const ML_DIR = path.join(__dirname, '..', '..', 'ml');

/**
 * The shared modules' zip archive a run mounts in its processing jobs, in the run's folder (`local://run/…`): the
 * files of {@link SHARED_PYTHON_MODULES} at its root, as the construct's folder asset uploads them.
 */
export const SHARED_MODULES_ARCHIVE = 'shared-modules.zip';

/** The UCI Abalone data the package ships: the default when no data is given. */
export const DEFAULT_DATA_FILE = path.join(__dirname, '..', '..', ABALONE_DATASET_FILE);

/** Largest data download accepted, in bytes (the UCI file is 191 KB). */
const MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024;

export interface LocalRunOptions {
  /**
   * A file, a folder of `.csv`/`.data` files, or an http(s) URL; or several of them, all read by the one run (e.g. the
   * original data and a `local feedback export` file).
   * @default the UCI Abalone data shipped in the package ({@link DEFAULT_DATA_FILE}), checksum verified
   */
  readonly data?: string | readonly string[];
  /** Local mode's home: the registry lives in `<home>/registry`. */
  readonly home: string;
  /** This run's folder. @default <home>/runs/<execution id> */
  readonly outDir?: string;
  readonly python: string;
  readonly mseThreshold?: number;
  readonly maxMae?: number;
  readonly minR2?: number;
  /** Pipeline parameter values, e.g. `{ SplitSeed: 7 }`. */
  readonly parameters?: Record<string, string | number>;
  readonly onProgress?: (event: StepEvent) => void;
  /** Tune the hyperparameters (a Tuning step in place of TrainModel), as the construct's `tuning` prop does. */
  readonly tuning?: TuningSettings;
  /** Seed of the local tuning strategy. @default 0 */
  readonly tuningSeed?: number;
  /** Called as each tuning trial ends. */
  readonly onTrial?: (trial: TrialRecord) => void;
}

export interface LocalRunReport extends LocalRunResult {
  readonly executionId: string;
  readonly outDir: string;
  readonly metrics?: { mse: number; mae: number; r2: number };
  readonly gate: { passed: boolean; threshold: number };
}

/** The data could not be read or failed validation; the message says which file, row and column. */
export class DataRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataRejectedError';
  }
}

/**
 * The definition local mode runs: the construct's builder with local locations in place of S3 and ECR. The run
 * provides the shared modules' archive ({@link writeSharedModulesArchive}).
 */
export function localDefinition(options: Pick<LocalRunOptions, 'mseThreshold' | 'maxMae' | 'minR2' | 'tuning'>): PipelineDefinition {
  const script = (fileName: string) => ({ s3Uri: `local://ml/${fileName}`, fileName });
  return buildAbaloneTrainingDefinition(abaloneTrainingSpec(options, {
    roleArn: 'local',
    artifactS3Uri: 'local://artifacts',
    sklearnImageUri: `local/${SKLEARN_IMAGE.repository}:${SKLEARN_IMAGE.tag}`,
    xgboostImageUri: `local/${XGBOOST_IMAGE.repository}:${XGBOOST_IMAGE.tag}`,
    preprocessScript: script('preprocess.py'),
    evaluateScript: script('evaluate.py'),
    inferenceScript: script('inference.py'),
    sharedModules: { s3Uri: `local://run/${SHARED_MODULES_ARCHIVE}`, fileName: SHARED_MODULES_ARCHIVE },
  }));
}

/** Writes the shared modules' zip archive into a run's folder, from the package's `ml/`. */
export function writeSharedModulesArchive(outDir: string, mlDir: string = ML_DIR): string {
  const archive = path.join(outDir, SHARED_MODULES_ARCHIVE);
  fs.writeFileSync(archive, zipArchive(SHARED_PYTHON_MODULES.map((name) => ({ name, data: fs.readFileSync(path.join(mlDir, name)) }))));
  return archive;
}

export async function localRun(options: LocalRunOptions): Promise<LocalRunReport> {
  const executionId = `local-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 8)}`;
  const outDir = path.resolve(options.outDir ?? path.join(options.home, 'runs', executionId));
  const dataDir = path.join(outDir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });

  const sources = options.data === undefined ? [verifiedDefaultData()] : [options.data].flat();
  if (sources.length === 0) throw new DataRejectedError('No data given');
  const collected = await collectAll(sources, dataDir);
  const files = collected.map((c) => c.file);
  const lineage = await validateFiles(collected);
  const manifestPath = path.join(outDir, 'manifest.json');
  fs.writeFileSync(manifestPath, JSON.stringify([{ prefix: 'local://run/data/' }, ...files.map((f) => path.basename(f))], null, 2));

  const definition = localDefinition(options);
  fs.writeFileSync(path.join(outDir, 'pipeline-definition.json'), JSON.stringify(definition, null, 2));
  writeSharedModulesArchive(outDir);
  const runner = new LocalPipelineRunner(definition, {
    roots: { run: outDir, artifacts: path.join(outDir, 'artifacts'), ml: ML_DIR },
    workDir: outDir,
    python: options.python,
    xgboostTrainScript: path.join(ML_DIR, 'local_xgboost_train.py'),
    tunerScript: path.join(ML_DIR, 'local_tuner.py'),
    tuningSeed: options.tuningSeed,
    onTrial: options.onTrial,
    registry: new LocalModelRegistry(path.join(options.home, 'registry')),
    executionId,
    parameters: { [PARAMETER_NAMES.inputManifestUri]: 'local://run/manifest.json', ...options.parameters },
    onProgress: options.onProgress,
  });
  const run = await runner.run();
  // The model's lineage names every data file it was trained on (name, source, rows, SHA-256).
  const result = run.registeredModel
    ? { ...run, registeredModel: new LocalModelRegistry(path.join(options.home, 'registry')).recordDataFiles(run.registeredModel.version, lineage) }
    : run;
  const report = result.propertyFiles[`${STEP_NAMES.evaluate}.${EVALUATION_REPORT.propertyFileName}`] as any;
  const metrics = report?.regression_metrics
    ? { mse: report.regression_metrics.mse.value, mae: report.regression_metrics.mae.value, r2: report.regression_metrics.r2.value }
    : undefined;
  const gateOutcome = result.conditions[STEP_NAMES.checkQuality];
  // The gate compares MSE first; before the gate runs, the threshold is the parameter's value.
  const threshold = Number(gateOutcome?.[0].right
    ?? options.parameters?.[PARAMETER_NAMES.mseThreshold] ?? options.mseThreshold ?? DEFAULT_MSE_THRESHOLD);
  const passed = gateOutcome !== undefined && gateOutcome.every((c) => c.holds);
  const summary: LocalRunReport = { ...result, executionId, outDir, metrics, gate: { passed, threshold } };
  fs.writeFileSync(path.join(outDir, 'run.json'), JSON.stringify(summary, null, 2));
  return summary;
}

/**
 * Returns `file` (the shipped dataset) after checking its SHA-256 against the recorded one, so a damaged or edited
 * copy is not mistaken for the UCI data.
 */
export function verifiedDefaultData(file: string = DEFAULT_DATA_FILE): string {
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (e) {
    throw new DataRejectedError(`The package's default data ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): reinstall the package, or pass --data FILE|DIR|URL.`);
  }
  const actual = createHash('sha256').update(content).digest('hex');
  if (actual !== ABALONE_DATASET_SHA256) {
    throw new DataRejectedError(`The package's default data ${file} is damaged: its SHA-256 is ${actual}, expected ${ABALONE_DATASET_SHA256}. Reinstall the package, or pass --data FILE|DIR|URL.`);
  }
  return file;
}

/** Copies every source into the run; with several sources, file names are numbered so they cannot collide. */
async function collectAll(sources: readonly string[], dataDir: string): Promise<Array<{ file: string; source: string }>> {
  if (sources.length === 1) return (await collectData(sources[0], dataDir)).map((file) => ({ file, source: describeSource(sources[0], file) }));
  const collected: Array<{ file: string; source: string }> = [];
  for (const [i, source] of sources.entries()) {
    const sub = path.join(dataDir, `.source-${i}`);
    fs.mkdirSync(sub, { recursive: true });
    for (const file of await collectData(source, sub)) {
      const target = path.join(dataDir, `${String(collected.length).padStart(3, '0')}-${path.basename(file).replace(/^\d{3}-/, '')}`);
      fs.renameSync(file, target);
      collected.push({ file: target, source: describeSource(source, file) });
    }
    fs.rmSync(sub, { recursive: true, force: true });
  }
  return collected;
}

/** Where a data file came from: the URL, the file itself, or the folder's file. */
function describeSource(source: string, copied: string): string {
  if (/^https?:\/\//.test(source)) return source;
  const resolved = path.resolve(source);
  return fs.statSync(resolved).isDirectory() ? path.join(resolved, path.basename(copied).replace(/^\d{3}-/, '')) : resolved;
}

/** Copies the data into the run: a file, the data files of a folder, or a download. */
async function collectData(source: string, dataDir: string): Promise<string[]> {
  if (/^https?:\/\//.test(source)) {
    const name = path.basename(new URL(source).pathname) || 'download.csv';
    const target = path.join(dataDir, DATA_FILE_SUFFIXES.some((s) => name.endsWith(s)) ? name : `${name}.csv`);
    await download(source, target);
    return [target];
  }
  if (!fs.existsSync(source)) throw new DataRejectedError(`${source} does not exist`);
  const candidates = fs.statSync(source).isDirectory()
    ? fs.readdirSync(source).filter((f) => DATA_FILE_SUFFIXES.some((s) => f.endsWith(s))).sort().map((f) => path.join(source, f))
    : [source];
  if (candidates.length === 0) throw new DataRejectedError(`${source} holds no ${DATA_FILE_SUFFIXES.join(' or ')} files`);
  return candidates.map((file, i) => {
    const base = path.basename(file);
    const name = DATA_FILE_SUFFIXES.some((s) => base.endsWith(s)) ? base : `${base}.csv`;
    const target = path.join(dataDir, candidates.length > 1 ? `${String(i).padStart(3, '0')}-${name}` : name);
    fs.copyFileSync(file, target);
    return target;
  });
}

async function download(url: string, target: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new DataRejectedError(`Cannot download ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  if (!response.ok || !response.body) throw new DataRejectedError(`Cannot download ${url}: HTTP ${response.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_DOWNLOAD_BYTES) throw new DataRejectedError(`${url} is larger than ${MAX_DOWNLOAD_BYTES} bytes`);
    chunks.push(chunk);
  }
  fs.writeFileSync(target, Buffer.concat(chunks));
}

/** The same validation DataIngest applies to uploads, with the same messages; each valid file's lineage. */
async function validateFiles(files: ReadonlyArray<{ file: string; source: string }>): Promise<DataFileLineage[]> {
  const problems: string[] = [];
  const lineage: DataFileLineage[] = [];
  for (const { file, source } of files) {
    const result = await validateRawData(fs.createReadStream(file) as AsyncIterable<Uint8Array>);
    if (!result.valid) {
      const details = result.errors.slice(0, 10).map((e) => `  ${formatError(e)}`);
      problems.push(`${path.basename(file)}: ${result.reason}`, ...details);
    } else {
      lineage.push({ name: path.basename(file), source, rows: result.rows, sha256: result.sha256! });
    }
  }
  if (problems.length > 0) throw new DataRejectedError(`The data was rejected:\n${problems.join('\n')}`);
  return lineage;
}
