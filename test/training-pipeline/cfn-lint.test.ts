import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelRegistry } from '../../src/model-registry';
import { QualityGate } from '../../src/quality-gate';
import { TrainingPipeline } from '../../src/training-pipeline';

const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';

test('the synthesized templates are cfn-lint clean (region-agnostic, eu-west-1 with a key, cn-north-1 with DESTROY)', () => {
  const probe = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`${CFN_LINT} is not available (${String(probe.error ?? probe.stderr).trim()}); install cfn-lint or set CFN_LINT`);

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-'));
  const app = new App({ outdir });
  for (const [name, region] of [['Agnostic', undefined], ['EuWest1', 'eu-west-1'], ['CnNorth1', 'cn-north-1']] as const) {
    const stack = new Stack(app, name, region ? { env: { region, account: '123456789012' } } : {});
    const dataBucket = new s3.Bucket(stack, 'DataBucket', { enforceSSL: true });
    const key = name === 'EuWest1' ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
    const qualityGate = new QualityGate(stack, 'Gate', { maxMae: 2, minR2: 0.3 });
    const modelRegistry = new ModelRegistry(stack, 'Registry', { approvalEmails: ['ml@example.com'], encryptionKey: key });
    new TrainingPipeline(stack, 'Training', {
      dataBucket, qualityGate, modelRegistry, encryptionKey: key, removalPolicy: name === 'CnNorth1' ? RemovalPolicy.DESTROY : undefined,
    });
  }
  app.synth();
  const templates = fs.readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(outdir, f));
  expect(templates).toHaveLength(3);
  // W3005/W3010 are CDK's usual noise (redundant DependsOn, hard-coded AZs).
  const lint = spawnSync(CFN_LINT, ['--ignore-checks', 'W3005', 'W3010', '--', ...templates], { encoding: 'utf8' });
  fs.rmSync(outdir, { recursive: true, force: true });
  expect(lint.stdout + lint.stderr).toBe('');
  expect(lint.status).toBe(0);
});
