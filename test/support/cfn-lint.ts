import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';

const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';

/**
 * Synthesizes the stacks `addStacks` puts in a new app and expects cfn-lint to find nothing in their `templates`
 * templates. cfn-lint must be installed (or named by CFN_LINT): a missing one fails the test rather than skipping it.
 */
export function expectCfnLintClean(templates: number, addStacks: (app: App) => void): void {
  const probe = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${CFN_LINT} is not available (${String(probe.error ?? probe.stderr).trim()}); install cfn-lint or set CFN_LINT`);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  try {
    const app = new App({ outdir });
    addStacks(app);
    app.synth();
    const files = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(outdir, f));
    expect(files).toHaveLength(templates);
    // W3005/W3010 are CDK's usual noise (redundant DependsOn, hard-coded AZs).
    const lint = spawnSync(CFN_LINT, ['--ignore-checks', 'W3005', 'W3010', '--', ...files], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
