/**
 * Finds the Python that runs the ML scripts and checks it has the packages the SageMaker containers have.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Modules the scripts import, with the distribution to install for each. */
const REQUIRED_MODULES: Record<string, string> = {
  sklearn: 'scikit-learn==1.2.1',
  xgboost: 'xgboost==1.7.4',
  pandas: 'pandas==1.5.3',
  numpy: 'numpy',
  joblib: 'joblib',
};

/** The interpreter is missing or lacks a package; the message says how to fix it. */
export class PythonSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonSetupError';
  }
}

/**
 * Returns a usable interpreter: `explicit`, else `$ABALONE_PYTHON`, else the first of `/usr/bin/python3` and
 * `python3` that has every package. Throws {@link PythonSetupError} naming the missing packages otherwise.
 */
export async function checkPython(explicit?: string): Promise<string> {
  const requested = explicit ?? process.env.ABALONE_PYTHON;
  const candidates = requested ? [requested] : ['/usr/bin/python3', 'python3'];
  const reports: string[] = [];
  for (const python of candidates) {
    const missing = await missingModules(python);
    if (missing === undefined) {
      reports.push(`${python}: not found`);
      continue;
    }
    if (missing.length === 0) return python;
    reports.push(`${python}: missing ${missing.map((m) => `${m} (${REQUIRED_MODULES[m]})`).join(', ')}`);
  }
  const requirements = path.join(__dirname, '..', '..', 'ml', 'requirements.txt');
  throw new PythonSetupError([
    'Local mode needs Python 3 with scikit-learn 1.2, xgboost 1.7 and pandas 1.5 (the SageMaker containers\' versions):',
    ...reports.map((r) => `  ${r}`),
    `Install them with \`pip install -r ${requirements}\` (or on Debian 12: apt-get install python3-sklearn python3-xgboost python3-pandas),`,
    'then pass that interpreter with --python or ABALONE_PYTHON.',
  ].join('\n'));
}

/** The required modules the interpreter cannot import; undefined when it does not run at all. */
async function missingModules(python: string): Promise<string[] | undefined> {
  const probe = `import importlib.util, json; print(json.dumps([m for m in ${JSON.stringify(Object.keys(REQUIRED_MODULES))} if importlib.util.find_spec(m) is None]))`;
  try {
    const { stdout } = await run(python, ['-c', probe], { timeout: 30_000 });
    return JSON.parse(stdout.trim());
  } catch {
    return undefined;
  }
}
