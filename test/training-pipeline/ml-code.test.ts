/**
 * The ML code as the build and the package have it: the Python contract generated before anything is compiled or
 * bundled, and ml/ shipped with it, as the construct's assets and local mode read it from the installed package.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SHARED_PYTHON_MODULES } from '../../src/training-pipeline/definition';

const ROOT = path.resolve(__dirname, '..', '..');
const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;

describe('the generated Python contract', () => {
  test('pre-compile writes it first, so build, example:synth and the package have it', () => {
    expect(tasks['pre-compile'].steps[0]).toEqual({ spawn: 'generate:python-contract' });
    expect(tasks['example:synth'].steps[0]).toEqual({ spawn: 'pre-compile' });
    expect(tasks['generate:python-contract'].steps).toEqual([
      { exec: 'ts-node --transpile-only --project build-tools/tsconfig.json build-tools/python-contract.ts' },
    ]);
  });

  test('the package ships ml/ with the shared modules, without Python caches', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
    const files: string[] = packed.files.map((f: { path: string }) => f.path);
    const ml = files.filter((f) => f.startsWith('ml/')).sort();
    expect(ml).toEqual(expect.arrayContaining([
      ...SHARED_PYTHON_MODULES.map((m) => `ml/${m}`),
      'ml/evaluate.py', 'ml/inference.py', 'ml/local_serve.py', 'ml/local_xgboost_train.py', 'ml/preprocess.py', 'ml/requirements.txt',
    ]));
    expect(ml.filter((f) => f.includes('__pycache__') || f.endsWith('.pyc'))).toEqual([]);
  });
});
