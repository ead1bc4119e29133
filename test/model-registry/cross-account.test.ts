import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ModelRegistry } from '../../src/model-registry';
import { addNagChecks, nagFindings } from '../support/nag';

const TOOLING = '111111111111';
const STAGING = '222222222222';
const PRODUCTION = '333333333333';

function build(consumerAccounts?: string[]) {
  const stack = new Stack(new App(), 'Tooling', { env: { account: TOOLING, region: 'eu-west-1' } });
  addNagChecks(stack);
  const registry = new ModelRegistry(stack, 'Registry', { modelPackageGroupName: 'Abalone-Models', consumerAccounts });
  const groups = Object.values<any>(Template.fromStack(stack).findResources('AWS::SageMaker::ModelPackageGroup'));
  expect(groups).toHaveLength(1);
  return { stack, registry, group: groups[0].Properties };
}

test('without consumer accounts the group has no resource policy', () => {
  expect(build().group.ModelPackageGroupPolicy).toBeUndefined();
});

test('the group policy lets each consumer account deploy versions, with exactly the actions deployment needs', () => {
  const { stack, group } = build([STAGING, PRODUCTION]);
  const root = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]] });
  const arn = (resource: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:eu-west-1:${TOOLING}:${resource}`]] });
  expect(stack.resolve(group.ModelPackageGroupPolicy)).toEqual({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DescribeGroupFromConsumerAccounts',
        Effect: 'Allow',
        Principal: { AWS: [root(STAGING), root(PRODUCTION)] },
        Action: 'sagemaker:DescribeModelPackageGroup',
        // SageMaker writes group names in lower case in ARNs; both spellings keep the policy valid.
        Resource: [arn('model-package-group/abalone-models'), arn('model-package-group/Abalone-Models')],
      },
      {
        Sid: 'DeployVersionsFromConsumerAccounts',
        Effect: 'Allow',
        Principal: { AWS: [root(STAGING), root(PRODUCTION)] },
        Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:UpdateModelPackage', 'sagemaker:CreateModel'],
        Resource: [arn('model-package/abalone-models/*'), arn('model-package/Abalone-Models/*')],
      },
    ],
  });
  expect(nagFindings(stack)).toEqual([]);
});

test.each([
  [['12345'], 'consumerAccounts[0]', 'it must be a 12-digit AWS account id'],
  [[TOOLING], 'consumerAccounts[0]', 'it is the group\'s own account'],
  [[STAGING, STAGING], 'consumerAccounts[1]', 'it is listed twice'],
])('consumerAccounts %j fails naming %s', (accounts, field, message) => {
  expect(() => build(accounts)).toThrow(new RegExp(`${field.replace(/[[\]]/g, '\\$&')}.*${message}`));
});

test('the template with the group policy is cfn-lint clean', () => {
  const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-registry-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Tooling', { env: { account: TOOLING, region: 'eu-west-1' } });
  new ModelRegistry(stack, 'Registry', { consumerAccounts: [STAGING, PRODUCTION] });
  app.synth();
  const lint = spawnSync(CFN_LINT, ['--', path.join(outdir, 'Tooling.template.json')], { encoding: 'utf8' });
  fs.rmSync(outdir, { recursive: true, force: true });
  if (lint.error) throw new Error(`${CFN_LINT} is not available (${lint.error.message}); install cfn-lint or set CFN_LINT`);
  expect(lint.stdout + lint.stderr).toBe('');
  expect(lint.status).toBe(0);
}, 120_000);

describe('a group imported into a consumer account', () => {
  const stack = new Stack(new App(), 'Production', { env: { account: PRODUCTION, region: 'eu-west-1' } });
  const imported = ModelRegistry.fromModelPackageGroupAttributes(stack, 'Registry', { modelPackageGroupName: 'Abalone-Models', account: TOOLING });

  test('names the owner account in its ARNs, so grants in the consumer account point at the shared group', () => {
    expect(imported.modelPackageArns().map((a) => stack.resolve(a))).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:eu-west-1:${TOOLING}:model-package/abalone-models/*`]] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:eu-west-1:${TOOLING}:model-package/Abalone-Models/*`]] },
    ]);
    expect(stack.resolve(imported.modelPackageGroupArn))
      .toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sagemaker:eu-west-1:${TOOLING}:model-package-group/abalone-models`]] });
  });

  test('a malformed owner account fails naming it', () => {
    expect(() => ModelRegistry.fromModelPackageGroupAttributes(stack, 'Bad', { modelPackageGroupName: 'g', account: 'tooling' }))
      .toThrow(/account.*it must be a 12-digit AWS account id/);
  });
});
