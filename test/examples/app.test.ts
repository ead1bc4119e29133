import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AbaloneMlopsStack, buildExampleApp, CONTEXT_KEYS } from '../../examples/abalone-mlops-app';
import { nagFindings } from '../support/nag';

const CONNECTION_ARN = 'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const CODE_CONTEXT = { codeConnectionArn: CONNECTION_ARN, codeRepository: 'my-org/abalone-mlops' };

function synth(context: { [key: string]: string } = {}): { stack: AbaloneMlopsStack; template: Template } {
  const stack = buildExampleApp(new App({ context }));
  return { stack, template: Template.fromStack(stack) };
}

interface Stage { Name: string; Actions: Array<{ Name: string; ActionTypeId: { Category: string; Provider: string }; Configuration?: any }> }

function stagesOf(template: Template): Stage[] {
  const pipelines = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  expect(pipelines).toHaveLength(1);
  return (pipelines[0] as any).Properties.Stages;
}

const providers = (stage: Stage | undefined) => (stage?.Actions ?? []).map((a) => `${a.ActionTypeId.Category}/${a.ActionTypeId.Provider}`);

describe('example app', () => {
  describe('without a code repository', () => {
    const { stack, template } = synth();

    test('the release pipeline starts from the data manifest only, with no CI stage', () => {
      const stages = stagesOf(template);
      expect(stages.map((s) => s.Name)).toEqual(['Source', 'Train', 'Approve', 'Deploy']);
      expect(providers(stages[0])).toEqual(['Source/S3']);
      template.resourceCountIs('AWS::CodeBuild::Project', 0);
      expect(stack.mlops.releasePipeline.ciProject).toBeUndefined();
    });

    test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
      expect(nagFindings(stack)).toEqual([]);
    });
  });

  describe('with codeConnectionArn and codeRepository', () => {
    const { stack, template } = synth(CODE_CONTEXT);

    test('the Source stage also pulls the repository through the connection, on pushes to main', () => {
      const source = stagesOf(template).find((s) => s.Name === 'Source');
      expect(providers(source)).toEqual(['Source/S3', 'Source/CodeStarSourceConnection']);
      expect(source!.Actions[1].Configuration).toMatchObject({
        ConnectionArn: CONNECTION_ARN,
        FullRepositoryId: 'my-org/abalone-mlops',
        BranchName: 'main',
      });
    });

    test('a CodeBuild CI stage runs on the code before training', () => {
      const stages = stagesOf(template);
      expect(stages.map((s) => s.Name)).toEqual(['Source', 'CI', 'Train', 'Approve', 'Deploy']);
      expect(providers(stages[1])).toEqual(['Build/CodeBuild']);
      template.resourceCountIs('AWS::CodeBuild::Project', 1);
      const buildSpec = JSON.parse(Object.values<any>(template.findResources('AWS::CodeBuild::Project'))[0].Properties.Source.BuildSpec);
      expect(buildSpec.phases.build.commands).toEqual(['npx projen test', 'npx projen eslint', 'npx projen example:synth']);
    });

    test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
      expect(nagFindings(stack)).toEqual([]);
    });

    test('codeBranch picks the branch', () => {
      const source = stagesOf(synth({ ...CODE_CONTEXT, codeBranch: 'release/1.x' }).template).find((s) => s.Name === 'Source');
      expect(source!.Actions[1].Configuration.BranchName).toBe('release/1.x');
    });
  });

  describe('bad context fails clearly', () => {
    test.each([
      ['codeConnectionArn alone', { codeConnectionArn: CONNECTION_ARN }, /codeConnectionArn was given without codeRepository.*both codeConnectionArn and codeRepository/],
      ['codeRepository alone', { codeRepository: 'my-org/abalone-mlops' }, /codeRepository was given without codeConnectionArn.*both codeConnectionArn and codeRepository/],
      ['codeBranch alone', { codeBranch: 'main' }, /codeBranch only applies with codeConnectionArn and codeRepository/],
      ['a malformed ARN', { ...CODE_CONTEXT, codeConnectionArn: 'arn:aws:codecommit:eu-west-1:111111111111:abalone' },
        /codeConnectionArn is "arn:aws:codecommit:eu-west-1:111111111111:abalone"; it must be a CodeConnections connection ARN/],
      ['a repository without owner', { ...CODE_CONTEXT, codeRepository: 'abalone-mlops' }, /codeRepository is "abalone-mlops"; it must be <owner>\/<repository>/],
      ['a repository with a path', { ...CODE_CONTEXT, codeRepository: 'my-org/abalone/mlops' }, /codeRepository is "my-org\/abalone\/mlops"/],
      ['a branch with a space', { ...CODE_CONTEXT, codeBranch: 'my branch' }, /codeBranch is "my branch"/],
    ])('%s', (_name, context, message) => {
      expect(() => buildExampleApp(new App({ context }))).toThrow(message);
    });

    test('both a malformed ARN and a malformed repository are reported together', () => {
      expect(() => buildExampleApp(new App({ context: { codeConnectionArn: 'nope', codeRepository: 'nope' } })))
        .toThrow(/Invalid context:\n- codeConnectionArn is "nope".*\n- codeRepository is "nope"/);
    });

    test('the keys are the documented ones', () => {
      expect(Object.values(CONTEXT_KEYS)).toEqual(['approvalEmail', 'codeConnectionArn', 'codeRepository', 'codeBranch', 'tuning']);
    });
  });

  describe('with -c tuning=true', () => {
    const { stack, template } = synth({ tuning: 'true' });
    const definitionOf = (t: Template) => {
      const [pipeline] = Object.values(t.findResources('AWS::SageMaker::Pipeline')) as any[];
      return JSON.stringify(pipeline.Properties.PipelineDefinition);
    };

    test('the training pipeline tunes in place of training once', () => {
      expect(definitionOf(template)).toContain('\\"Type\\":\\"Tuning\\"');
      expect(definitionOf(template)).not.toContain('TrainModel');
      expect(definitionOf(synth().template)).not.toContain('\\"Type\\":\\"Tuning\\"');
    });

    test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
      expect(nagFindings(stack)).toEqual([]);
    });

    test('anything but true or false is refused, naming the key', () => {
      expect(() => buildExampleApp(new App({ context: { tuning: 'yes' } }))).toThrow('Context tuning is "yes"; it must be true or false.');
    });
  });
});
