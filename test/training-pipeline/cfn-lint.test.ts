import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelRegistry } from '../../src/model-registry';
import { QualityGate } from '../../src/quality-gate';
import { TrainingPipeline } from '../../src/training-pipeline';
import { expectCfnLintClean } from '../support/cfn-lint';

test('the synthesized templates are cfn-lint clean (region-agnostic, eu-west-1 with a key and tuning, cn-north-1 with DESTROY)', () => {
  expectCfnLintClean(3, (app) => {
    for (const [name, region] of [['Agnostic', undefined], ['EuWest1', 'eu-west-1'], ['CnNorth1', 'cn-north-1']] as const) {
      const stack = new Stack(app, name, region ? { env: { region, account: '123456789012' } } : {});
      const dataBucket = new s3.Bucket(stack, 'DataBucket', { enforceSSL: true });
      const key = name === 'EuWest1' ? new kms.Key(stack, 'Key', { enableKeyRotation: true }) : undefined;
      const qualityGate = new QualityGate(stack, 'Gate', { maxMae: 2, minR2: 0.3 });
      const modelRegistry = new ModelRegistry(stack, 'Registry', { approvalEmails: ['ml@example.com'], encryptionKey: key });
      new TrainingPipeline(stack, 'Training', {
        dataBucket,
        qualityGate,
        modelRegistry,
        encryptionKey: key,
        removalPolicy: name === 'CnNorth1' ? RemovalPolicy.DESTROY : undefined,
        tuning: name === 'EuWest1' ? {} : undefined,
      });
    }
  });
});
