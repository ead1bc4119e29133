import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ACCOUNTS, buildMultiAccountApp, REGION } from '../../examples/multi-account';
import { addNagChecks, nagFindings } from '../support/nag';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-account-'));
const app = new App({ outdir });
const built = buildMultiAccountApp(app);
const stacks: Stack[] = [built.tooling, built.staging, built.production];
stacks.forEach(addNagChecks);
const assembly = app.synth();
const tooling = Template.fromStack(built.tooling);
const staging = Template.fromStack(built.staging);
const production = Template.fromStack(built.production);
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const root = (account: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]] });
const only = (template: Template, type: string) => {
  const found = Object.entries<any>(template.findResources(type));
  return found;
};
/** Every identity-policy statement of the roles whose logical id matches. */
function statementsOf(template: Template, role: RegExp): any[] {
  return only(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as any[]).some((r) => role.test(JSON.stringify(r))))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

const toolingArn = (service: string, resource: string) =>
  ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:${REGION}:${ACCOUNTS.tooling}:${resource}`]] });
const consumers = [root(ACCOUNTS.staging), root(ACCOUNTS.production)];
const PIPELINE_ROLE = /^arn:<AWS::Partition>:iam::111111111111:role\/.*-pipeline-role$/;
const flat = (v: unknown) => JSON.stringify(v).replace(/\{"Fn::Join":\["",\[|\]\]\}|"|,/g, '').replace(/\{Ref:AWS::Partition\}/g, '<AWS::Partition>');

test('three stacks in three accounts synthesize offline', () => {
  expect(assembly.stacks.map((s) => `${s.stackName}@${s.environment.account}`).sort()).toEqual([
    `AbaloneProduction@${ACCOUNTS.production}`, `AbaloneStaging@${ACCOUNTS.staging}`, `AbaloneTooling@${ACCOUNTS.tooling}`,
  ]);
});

test('the model package group policy admits the two target accounts with exactly the deployment actions', () => {
  const [[, group]] = only(tooling, 'AWS::SageMaker::ModelPackageGroup');
  const statements = group.Properties.ModelPackageGroupPolicy.Statement;
  expect(statements.map((s: any) => [s.Principal.AWS, s.Action])).toEqual([
    [consumers, 'sagemaker:DescribeModelPackageGroup'],
    [consumers, ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:UpdateModelPackage', 'sagemaker:CreateModel']],
  ]);
  expect(statements[1].Resource).toEqual([
    toolingArn('sagemaker', 'model-package/abalonemodelpackagegroup/*'), toolingArn('sagemaker', 'model-package/AbaloneModelPackageGroup/*'),
  ]);
});

test('the training artifact bucket policy lets the target accounts read execution outputs only', () => {
  const policies = only(tooling, 'AWS::S3::BucketPolicy').filter(([id]) => id.startsWith('TrainingPipelineArtifactBucket'));
  expect(policies).toHaveLength(1);
  const allows = policies[0][1].Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
  expect(allows).toEqual([{
    Sid: 'ConsumerAccountsReadExecutionOutputs',
    Effect: 'Allow',
    Principal: { AWS: consumers },
    Action: 's3:GetObject',
    Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^TrainingPipelineArtifactBucket/), 'Arn'] }, '/pipeline-executions/*']] },
  }]);
});

test('the training key policy lets the target accounts decrypt through S3 only', () => {
  const [[, key]] = only(tooling, 'AWS::KMS::Key').filter(([id]) => id.startsWith('ArtifactKey'));
  const own = JSON.stringify({ AWS: root(ACCOUNTS.tooling) });
  const external = key.Properties.KeyPolicy.Statement.filter((s: any) => JSON.stringify(s.Principal) !== own);
  expect(external).toEqual([{
    Sid: 'ConsumerAccountsDecryptArtifactsThroughS3',
    Effect: 'Allow',
    Principal: { AWS: consumers },
    Action: 'kms:Decrypt',
    Resource: '*',
    Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
  }]);
});

describe.each([
  ['staging', () => staging, ['DeployStaging', 'AcceptanceTest'], 2],
  ['production', () => production, ['DeployProduction'], 1],
])('the %s account', (_name, template, stageNames, functions) => {
  const actionRoles = () => only(template(), 'AWS::IAM::Role').filter(([id]) => /ReleaseActions[0-9a-f]+ActionRole[0-9A-F]{8}$/.test(id));

  test('has one action role, assumable only by the tooling account\'s pipeline role', () => {
    const roles = actionRoles();
    expect(roles).toHaveLength(1);
    const [statement] = roles[0][1].Properties.AssumeRolePolicyDocument.Statement;
    expect(roles[0][1].Properties.AssumeRolePolicyDocument.Statement).toHaveLength(1);
    expect(statement.Principal).toEqual({ AWS: root(ACCOUNTS.tooling) });
    expect(statement.Action).toBe('sts:AssumeRole');
    expect(flat(statement.Condition.ArnEquals['aws:PrincipalArn'])).toMatch(PIPELINE_ROLE);
  });

  test('whose permissions are ListFunctions and invoking its action functions, nothing else', () => {
    const [[id]] = actionRoles();
    const statements = statementsOf(template(), new RegExp(id));
    expect(statements[0]).toEqual({ Action: 'lambda:ListFunctions', Effect: 'Allow', Resource: '*' });
    expect(statements.slice(1).map((s) => s.Action)).toEqual(Array(functions).fill('lambda:InvokeFunction'));
    for (const s of statements.slice(1)) expect(JSON.stringify(s.Resource)).toMatch(/ReleaseActions\w+ActionFunction/);
  });

  test('runs the pipeline\'s actions of its stages, invoked by name in this account', () => {
    const [[, pipeline]] = only(tooling, 'AWS::CodePipeline::Pipeline');
    const [[roleId, role]] = actionRoles();
    void roleId;
    const actions = pipeline.Properties.Stages.filter((s: any) => stageNames.includes(s.Name)).flatMap((s: any) => s.Actions);
    expect(actions).toHaveLength(functions);
    for (const a of actions) {
      expect(flat(a.RoleArn)).toBe(`arn:<AWS::Partition>:iam::${template() === staging ? ACCOUNTS.staging : ACCOUNTS.production}:role/${role.Properties.RoleName}`);
      expect(typeof a.Configuration.FunctionName).toBe('string');
    }
  });
});

describe.each([
  ['staging', () => staging],
  ['production', () => production],
])('the %s model role', (_name, template) => {
  const statements = () => statementsOf(template(), /ServingEndpointModelRole/);
  const bucket = () => only(tooling, 'AWS::S3::Bucket').find(([id]) => /^TrainingPipelineArtifactBucket[0-9A-F]{8}$/.test(id))![1].Properties.BucketName;

  test('reads the tooling account\'s execution outputs and decrypts them through S3, as the library writes it', () => {
    const bySid = Object.fromEntries(statements().filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid.ReadTrainingArtifacts).toEqual({
      Sid: 'ReadTrainingArtifacts',
      Action: 's3:GetObject',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${bucket()}/pipeline-executions/*`]] },
    });
    expect(bySid.DecryptTrainingArtifactsThroughS3).toEqual({
      Sid: 'DecryptTrainingArtifactsThroughS3',
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: toolingArn('kms', 'key/*'),
      Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
    });
  });

  test('and nothing else of the tooling account\'s bucket or keys', () => {
    const touching = statements().filter((s) => JSON.stringify(s.Resource).includes(bucket()) || /:kms:/.test(flat(s.Resource)));
    expect(touching.map((s) => s.Sid)).toEqual(['ReadTrainingArtifacts', 'DecryptTrainingArtifactsThroughS3']);
  });
});

test('the pipeline role may assume exactly the two target accounts\' action roles besides its own account\'s', () => {
  const external = statementsOf(tooling, /ReleasePipelinePipelineRole/)
    .filter((s) => s.Action === 'sts:AssumeRole' && !s.Resource['Fn::GetAtt'])
    .map((s) => flat(s.Resource).replace(/role\/.*/, 'role/'));
  expect(external).toEqual([
    `arn:<AWS::Partition>:iam::${ACCOUNTS.staging}:role/`, `arn:<AWS::Partition>:iam::${ACCOUNTS.production}:role/`,
  ]);
});

test('the acceptance function in staging reads the tooling account\'s packages, test splits and key through S3 only', () => {
  const statements = statementsOf(staging, /AcceptanceActionRole/);
  const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
  expect(bySid.ReadRegisteredModelPackages.Action).toBe('sagemaker:DescribeModelPackage');
  expect(bySid.ReadTestSplitsAndEvaluationReports.Resource.map(flat)).toEqual([
    expect.stringMatching(/:s3:::[a-z0-9]+\/\*\/EvaluateModel\/evaluation\/evaluation\.json$/),
    expect.stringMatching(/:s3:::[a-z0-9]+\/\*\/PreprocessData\/heldout\/test\.csv$/),
  ]);
  expect(bySid.DecryptTrainingArtifactsThroughS3).toEqual({
    Sid: 'DecryptTrainingArtifactsThroughS3',
    Action: 'kms:Decrypt',
    Effect: 'Allow',
    Resource: toolingArn('kms', 'key/*'),
    Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
  });
});

test.each([0, 1, 2])('cdk-nag AwsSolutions finds nothing unacknowledged in stack %d', (i) => {
  expect(nagFindings(stacks[i])).toEqual([]);
});

test('every template is cfn-lint clean', () => {
  const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint';
  const templates = assembly.stacks.map((s) => path.join(outdir, s.templateFile));
  const lint = spawnSync(CFN_LINT, ['--ignore-checks', 'W3005', 'W3010', '--', ...templates], { encoding: 'utf8' });
  if (lint.error) throw new Error(`${CFN_LINT} is not available (${lint.error.message}); install cfn-lint or set CFN_LINT`);
  expect(lint.stdout + lint.stderr).toBe('');
  expect(lint.status).toBe(0);
}, 180_000);

test('consumer accounts without a customer managed key fail at synth, naming encryptionKey', () => {
  const stack = new Stack(new App(), 'Tooling', { env: { account: ACCOUNTS.tooling, region: REGION } });
  const { DataIngest, ModelRegistry, QualityGate, TrainingPipeline } = jest.requireActual('../../src');
  const data = new DataIngest(stack, 'Data');
  expect(() => new TrainingPipeline(stack, 'Training', {
    dataBucket: data.dataBucket,
    qualityGate: new QualityGate(stack, 'Gate', { mseThreshold: 6 }),
    modelRegistry: new ModelRegistry(stack, 'Registry'),
    consumerAccounts: [ACCOUNTS.production],
  })).toThrow(/encryptionKey is undefined; it is required with consumerAccounts/);
});
