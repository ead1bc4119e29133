/**
 * Writes `ml/abalone_contract.py`, the ML scripts' copy of the TypeScript contracts, from their one definition:
 * the raw data contract (`src/contracts/abalone-data.ts`) and the names the pipeline definition and the scripts
 * must agree on (`src/training-pipeline/definition/names.ts`). The output depends on nothing but those modules, so
 * the committed file is what every build writes.
 *
 *   npx projen generate:python-contract      writes the file when it differs (a build runs this before compiling)
 *   ... python-contract.ts --check           exits 1 when the committed file is not what the generator writes
 *   ... python-contract.ts --stdout          prints what it would write
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AGE_OFFSET_YEARS, DATASET_SCALE_DIVISOR, MAX_RINGS, MEASURES, RAW_COLUMNS, SEX_CODES,
} from '../src/contracts/abalone-data';
import {
  DRIFT_DEFAULTS, DRIFT_REPORT, DRIFT_STATUS, MODEL_QUALITY_DEFAULTS, MODEL_QUALITY_INPUTS, MODEL_QUALITY_REPORT, MODEL_QUALITY_STATUS,
  MONITORING_INPUTS, PROFILE_QUANTILE_BINS, PROFILE_SAMPLE_SIZE, TRAINING_PROFILE, TRAINING_PROFILE_VERSION,
} from '../src/contracts/monitoring';
import {
  CONTAINER_PATHS, CSV_CONTENT_TYPE, EVALUATION_METRIC_PATHS, EVALUATION_REPORT, PREPROCESSOR_ARCHIVE,
  PREPROCESSOR_SERVING_ENVIRONMENT, PYTHON_CONTRACT_MODULE, SHARED_PYTHON_MODULES,
} from '../src/training-pipeline/definition/names';

export const REPOSITORY = path.resolve(__dirname, '..');
/** The generated module, beside the scripts that import it. */
export const PYTHON_CONTRACT_FILE = path.join(REPOSITORY, 'ml', `${PYTHON_CONTRACT_MODULE}.py`);

/** The serving container's model directory: SAGEMAKER_SUBMIT_DIRECTORY names a folder inside it. */
const SERVING_MODEL_DIR = '/opt/ml/model';

/** Longest line a literal keeps on one line (the tuples after `NAME = `). */
const MAX_LINE = 96;

/** A Python literal for a contract value: str, int, float (always with a decimal point), tuple or dict. */
export function pythonLiteral(value: unknown, float = false): string {
  if (typeof value === 'string') return JSON.stringify(value); // JSON string escapes are valid Python escapes
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} has no Python literal in the contract`);
    const text = String(value);
    if (/e/i.test(text)) throw new Error(`${text}: write contract numbers without an exponent`);
    if (float) return text.includes('.') ? text : `${text}.0`;
    if (!Number.isInteger(value)) throw new Error(`${text} is not an integer; declare it as a float`);
    return text;
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => pythonLiteral(v, float));
    const line = `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
    return line.length <= MAX_LINE ? line : `(\n${items.map((item) => `    ${item},`).join('\n')}\n)`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `    ${pythonLiteral(k)}: ${pythonLiteral(v, float)},`);
    return `{\n${entries.join('\n')}\n}`;
  }
  throw new Error(`${JSON.stringify(value)} has no Python literal in the contract`);
}

/** `code/inference.py` → `code`: where the handler sits inside the preprocessor archive. */
function servingCodeDir(): string {
  const submit = PREPROCESSOR_SERVING_ENVIRONMENT.SAGEMAKER_SUBMIT_DIRECTORY;
  if (!submit.startsWith(`${SERVING_MODEL_DIR}/`)) {
    throw new Error(`SAGEMAKER_SUBMIT_DIRECTORY ${submit} is not inside ${SERVING_MODEL_DIR}: preprocess.py packs the handler into the model archive`);
  }
  return submit.slice(SERVING_MODEL_DIR.length + 1);
}

/** The raw columns as the scripts need them: sex first, the measures in order, the label last. */
function rawColumns(): { sex: string; label: string } {
  const columns = [...RAW_COLUMNS];
  const measures = MEASURES.map((m) => m.column);
  if (columns.length !== measures.length + 2 || measures.some((m, i) => columns[i + 1] !== m)) {
    throw new Error(`RAW_COLUMNS (${columns.join(',')}) is not the sex column, the MEASURES in order and the label`);
  }
  return { sex: columns[0], label: columns[columns.length - 1] };
}

/** `/opt/ml/processing/profile` → `profile`: preprocess.py writes the profile under its output folder. */
function profileOutputDir(): string {
  const root = `${CONTAINER_PATHS.processing}/`;
  if (!TRAINING_PROFILE.localPath.startsWith(root) || TRAINING_PROFILE.localPath.slice(root.length).includes('/')) {
    throw new Error(`TRAINING_PROFILE.localPath ${TRAINING_PROFILE.localPath} is not a folder directly under ${CONTAINER_PATHS.processing}`);
  }
  return TRAINING_PROFILE.localPath.slice(root.length);
}

/** The whole module's text. */
export function renderPythonContract(): string {
  const { sex, label } = rawColumns();
  const constant = (doc: string | string[], name: string, literal: string) =>
    `${[doc].flat().map((line) => `# ${line}\n`).join('')}${name} = ${literal}\n`;
  const sections = [
    [
      '# Generated by build-tools/python-contract.ts from src/contracts/abalone-data.ts,',
      '# src/contracts/monitoring.ts and src/training-pipeline/definition/names.ts. Do not edit: change those files',
      '# and run `npx projen generate:python-contract` (every build does).',
      '"""The values the ML scripts share with the TypeScript library, generated from their one definition.',
      '',
      'preprocess.py, evaluate.py, inference.py and monitor_drift.py import it. The processing jobs find it in a zip archive on',
      'PYTHONPATH; the scikit-learn serving container finds it beside inference.py in the preprocessor archive\'s',
      `${servingCodeDir()}/ folder, where preprocess.py packs it.`,
      '"""',
      '',
    ].join('\n'),
    '# --- raw data (src/contracts/abalone-data.ts) ---\n',
    constant('Human units (mm, g) are divided by this to reach the dataset\'s scale.', 'DATASET_SCALE_DIVISOR', pythonLiteral(DATASET_SCALE_DIVISOR)),
    constant('Sex codes of the dataset: male, female, infant.', 'SEX_CODES', pythonLiteral(SEX_CODES)),
    constant('The seven measures, in the raw CSV\'s column order (dataset scale; the minimum of each is 0).', 'MEASURES',
      pythonLiteral(MEASURES.map((m) => m.column))),
    constant('Largest plausible value of each measure on the dataset\'s scale.', 'MAX_DATASET_VALUE',
      pythonLiteral(Object.fromEntries(MEASURES.map((m) => [m.column, m.maxDatasetValue])), true)),
    constant('Rings are a whole number from 1 to this bound.', 'MAX_RINGS', pythonLiteral(MAX_RINGS)),
    constant('Age in years is rings plus this offset.', 'AGE_OFFSET_YEARS', pythonLiteral(AGE_OFFSET_YEARS, true)),
    constant('The nine raw CSV columns, in order: the sex column, the measures, the label.', 'RAW_COLUMNS', pythonLiteral(RAW_COLUMNS)),
    constant('The categorical feature.', 'SEX_COLUMN', pythonLiteral(sex)),
    constant('The label: what the model predicts.', 'LABEL_COLUMN', pythonLiteral(label)),
    '# --- between the pipeline definition and the scripts (src/training-pipeline/definition/names.ts) ---\n',
    constant('Content type between the serving containers, and of their requests and answers.', 'CSV_CONTENT_TYPE',
      pythonLiteral(CSV_CONTENT_TYPE)),
    constant(['The modules of ml/ the scripts share, this one among them: the processing jobs get them in a zip archive',
      'on PYTHONPATH, and preprocess.py packs them beside the serving handler.'], 'SHARED_MODULES', pythonLiteral(SHARED_PYTHON_MODULES)),
    constant('The preprocessor model archive the preprocessing job writes to its model output.', 'PREPROCESSOR_ARCHIVE',
      pythonLiteral(PREPROCESSOR_ARCHIVE)),
    constant('The serving handler in that archive: SAGEMAKER_PROGRAM, in the SAGEMAKER_SUBMIT_DIRECTORY folder.', 'SERVING_PROGRAM',
      pythonLiteral(PREPROCESSOR_SERVING_ENVIRONMENT.SAGEMAKER_PROGRAM)),
    constant('That folder, relative to the archive\'s root (SAGEMAKER_SUBMIT_DIRECTORY under /opt/ml/model).', 'SERVING_CODE_DIR',
      pythonLiteral(servingCodeDir())),
    constant('The evaluation report: the EvaluationReport property file of the evaluation output.', 'EVALUATION_REPORT_FILE',
      pythonLiteral(EVALUATION_REPORT.filePath)),
    constant('Where the quality gate reads each metric in the report (Std:JsonGet paths).', 'EVALUATION_METRIC_PATHS',
      pythonLiteral(EVALUATION_METRIC_PATHS)),
    '# --- drift monitoring (src/contracts/monitoring.ts) ---\n',
    constant('The training profile: preprocess.py writes it in this folder of its output folder.', 'TRAINING_PROFILE_DIR',
      pythonLiteral(profileOutputDir())),
    constant('The training profile\'s file name.', 'TRAINING_PROFILE_FILE', pythonLiteral(TRAINING_PROFILE.fileName)),
    constant('Version of the profile document.', 'TRAINING_PROFILE_VERSION', pythonLiteral(TRAINING_PROFILE_VERSION)),
    constant('Quantile bins per numeric feature in the profile.', 'PROFILE_QUANTILE_BINS', pythonLiteral(PROFILE_QUANTILE_BINS)),
    constant('Largest per-feature sample the profile keeps for the KS test.', 'PROFILE_SAMPLE_SIZE', pythonLiteral(PROFILE_SAMPLE_SIZE)),
    constant('A feature drifts when its PSI is above this (default of the PsiThreshold parameter).', 'DEFAULT_PSI_THRESHOLD',
      pythonLiteral(DRIFT_DEFAULTS.psiThreshold, true)),
    constant('A numeric feature drifts when its KS p-value is below this (default of KsPValueThreshold).',
      'DEFAULT_KS_P_VALUE_THRESHOLD', pythonLiteral(DRIFT_DEFAULTS.ksPValueThreshold, true)),
    constant('A window drifts when the share of drifted features is above this (default of DriftedShareThreshold).',
      'DEFAULT_DRIFTED_SHARE_THRESHOLD', pythonLiteral(DRIFT_DEFAULTS.driftedShareThreshold, true)),
    constant('Fewer records than this make a window insufficient data (default of MinRecords).', 'DEFAULT_MIN_RECORDS',
      pythonLiteral(DRIFT_DEFAULTS.minRecords)),
    constant('The drift report\'s status values.', 'DRIFT_STATUS', pythonLiteral(DRIFT_STATUS)),
    constant('The drift report\'s file name, in the monitoring step\'s report output.', 'DRIFT_REPORT_FILE',
      pythonLiteral(DRIFT_REPORT.fileName)),
    constant('Where the monitoring job sees its report output, captures and profile.', 'MONITORING_PATHS', pythonLiteral({
      report: DRIFT_REPORT.localPath,
      captures: MONITORING_INPUTS.captures.localPath,
      profile: MONITORING_INPUTS.profile.localPath,
    })),
    '# --- live model quality (src/contracts/monitoring.ts) ---\n',
    constant('Degraded when live MSE > registered test MSE * (1 + this) (default of the MseTolerance parameter).',
      'DEFAULT_MSE_TOLERANCE', pythonLiteral(MODEL_QUALITY_DEFAULTS.mseTolerance, true)),
    constant('Fewer labelled predictions than this are insufficient labels (default of MinLabels).', 'DEFAULT_MIN_LABELS',
      pythonLiteral(MODEL_QUALITY_DEFAULTS.minLabels)),
    constant('The model-quality report\'s status values.', 'MODEL_QUALITY_STATUS', pythonLiteral(MODEL_QUALITY_STATUS)),
    constant('The model-quality report\'s file name, in the quality step\'s output.', 'MODEL_QUALITY_REPORT_FILE',
      pythonLiteral(MODEL_QUALITY_REPORT.fileName)),
    constant('Where the quality job sees its output, captures, ground truth and registered metrics.', 'MODEL_QUALITY_PATHS', pythonLiteral({
      report: MODEL_QUALITY_REPORT.localPath,
      captures: MODEL_QUALITY_INPUTS.captures.localPath,
      groundTruth: MODEL_QUALITY_INPUTS.groundTruth.localPath,
      registeredMetrics: MODEL_QUALITY_INPUTS.registeredMetrics.localPath,
    })),
  ];
  return sections.join('\n');
}

function main(argv: string[]): number {
  const content = renderPythonContract();
  const relative = path.relative(REPOSITORY, PYTHON_CONTRACT_FILE);
  const current = fs.existsSync(PYTHON_CONTRACT_FILE) ? fs.readFileSync(PYTHON_CONTRACT_FILE, 'utf8') : undefined;
  if (argv.includes('--stdout')) {
    process.stdout.write(content);
    return 0;
  }
  if (argv.includes('--check')) {
    if (current === content) return 0;
    process.stderr.write(`${relative} is not what build-tools/python-contract.ts writes: run \`npx projen generate:python-contract\` and commit it.\n`);
    return 1;
  }
  if (current !== content) {
    fs.writeFileSync(PYTHON_CONTRACT_FILE, content);
    process.stdout.write(`wrote ${relative}\n`);
  }
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
