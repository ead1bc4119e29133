import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { IModelRegistry, ModelRegistry, ModelRegistryProps } from '../../src/model-registry';
import { addNagChecks, nagFindings } from '../support/nag';

function build(props: ModelRegistryProps = {}, nag = false) {
  const stack = new Stack(new App(), 'Test');
  if (nag) addNagChecks(stack);
  const registry = new ModelRegistry(stack, 'Gate', props);
  return { stack, gate: registry };
}

describe('ModelRegistry', () => {
  describe('model package group', () => {
    test('is named AbaloneModelPackageGroup by default and retained on stack deletion', () => {
      const { stack, gate } = build();
      Template.fromStack(stack).hasResource('AWS::SageMaker::ModelPackageGroup', {
        Properties: { ModelPackageGroupName: 'AbaloneModelPackageGroup' },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      expect(gate.modelPackageGroupName).toBe('AbaloneModelPackageGroup');
      expect(stack.resolve(gate.modelPackageGroupArn)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^GateModelPackageGroup/), 'ModelPackageGroupArn'] });
    });

    test('takes a configured name and removal policy', () => {
      const { stack } = build({ modelPackageGroupName: 'abalone-prod', removalPolicy: RemovalPolicy.DESTROY });
      Template.fromStack(stack).hasResource('AWS::SageMaker::ModelPackageGroup', {
        Properties: { ModelPackageGroupName: 'abalone-prod' },
        DeletionPolicy: 'Delete',
      });
    });
  });

  describe('approval topic', () => {
    test('is encrypted with the AWS managed SNS key by default and accepts only SSL publishing', () => {
      const { stack } = build();
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::Join': ['', Match.arrayWith([':alias/aws/sns'])] },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: [Match.objectLike({
            Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          })],
        },
      });
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    test('uses the customer key when given', () => {
      const stack = new Stack(new App(), 'Test');
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      new ModelRegistry(stack, 'Gate', { encryptionKey: key });
      Template.fromStack(stack).hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] },
      });
    });

    test('subscribes each approval e-mail address', () => {
      const { stack } = build({ approvalEmails: ['ml-lead@example.com', 'ops@example.org'] });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SNS::Subscription', 2);
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-lead@example.com' });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.org' });
    });
  });

  describe('grants', () => {
    function statementsAfter(grant: (gate: IModelRegistry, role: iam.Role) => void, props: ModelRegistryProps = {}) {
      const stack = new Stack(new App(), 'Test');
      const gate = new ModelRegistry(stack, 'Gate', props);
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
      grant(gate, role);
      const policy = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy'))[0];
      return policy.Properties.PolicyDocument.Statement.map((s: any) => ({
        actions: [].concat(s.Action),
        resources: [].concat(s.Resource).map((r: any) => r['Fn::Join'][1].at(-1)),
        condition: s.Condition,
      }));
    }

    test('grantRegisterModelPackage allows registering versions in this group only, tagging them only on creation', () => {
      expect(statementsAfter((g, r) => g.grantRegisterModelPackage(r))).toEqual([
        {
          actions: ['sagemaker:DescribeModelPackageGroup'],
          resources: [':model-package-group/abalonemodelpackagegroup', ':model-package-group/AbaloneModelPackageGroup'],
          condition: undefined,
        },
        {
          actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage'],
          resources: [':model-package/abalonemodelpackagegroup/*', ':model-package/AbaloneModelPackageGroup/*'],
          condition: undefined,
        },
        {
          actions: ['sagemaker:AddTags'],
          resources: [':model-package/abalonemodelpackagegroup/*', ':model-package/AbaloneModelPackageGroup/*'],
          condition: { StringEquals: { 'sagemaker:TaggingAction': 'CreateModelPackage' } },
        },
      ]);
    });

    test('use one ARN when the group name is already lower case', () => {
      const [statement] = statementsAfter((g, r) => g.grantApproveModelPackages(r), { modelPackageGroupName: 'abalone' });
      expect(statement).toEqual({
        actions: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage'],
        resources: [':model-package/abalone/*'],
        condition: undefined,
      });
    });

    // The resource types each action applies to, from the Service Authorization Reference for Amazon SageMaker
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html); AddTags
    // lists many more, of which these two matter here.
    const RESOURCE_TYPES: { [action: string]: string[] } = {
      'sagemaker:CreateModelPackage': ['model-package'],
      'sagemaker:DescribeModelPackage': ['model-package'],
      'sagemaker:UpdateModelPackage': ['model-package'],
      'sagemaker:DescribeModelPackageGroup': ['model-package-group'],
      'sagemaker:AddTags': ['model-package', 'model-package-group'],
    };
    const grants: Array<[string, (gate: IModelRegistry, role: iam.Role) => void]> = [
      ['grantRegisterModelPackage', (g, r) => g.grantRegisterModelPackage(r)],
      ['grantReadModelPackages', (g, r) => g.grantReadModelPackages(r)],
      ['grantApproveModelPackages', (g, r) => g.grantApproveModelPackages(r)],
    ];
    const resourceType = (tail: string) => /^:([a-z-]+)\//.exec(tail)?.[1];

    test.each(grants)('%s grants each action only on resource types it applies to', (_name, grant) => {
      const misplaced = statementsAfter(grant).flatMap((s: { actions: string[]; resources: string[] }) =>
        s.actions.flatMap((action) => s.resources
          .filter((tail) => !(RESOURCE_TYPES[action] ?? []).includes(resourceType(tail)!))
          .map((tail) => `${action} on ${tail}`)));
      expect(misplaced).toEqual([]);
    });

    test('CreateModelPackage is never granted on a model package group ARN, where it does not apply', () => {
      for (const [, grant] of grants) {
        for (const s of statementsAfter(grant)) {
          if (!s.actions.includes('sagemaker:CreateModelPackage')) continue;
          expect(s.resources.filter((tail: string) => tail.startsWith(':model-package-group/'))).toEqual([]);
          expect(s.resources.length).toBeGreaterThan(0);
        }
      }
      const register = statementsAfter((g, r) => g.grantRegisterModelPackage(r))
        .filter((s: { actions: string[] }) => s.actions.includes('sagemaker:CreateModelPackage'));
      expect(register.flatMap((s: { resources: string[] }) => s.resources)).toEqual([':model-package/abalonemodelpackagegroup/*', ':model-package/AbaloneModelPackageGroup/*']);
    });

    test('grantReadModelPackages allows describing the group and its versions, each on its own ARN', () => {
      expect(statementsAfter((g, r) => g.grantReadModelPackages(r), { modelPackageGroupName: 'abalone' })).toEqual([
        { actions: ['sagemaker:DescribeModelPackageGroup'], resources: [':model-package-group/abalone'], condition: undefined },
        { actions: ['sagemaker:DescribeModelPackage'], resources: [':model-package/abalone/*'], condition: undefined },
      ]);
    });
  });

  describe('an existing group', () => {
    test('has the same ARN patterns and grants, from its name, and creates nothing', () => {
      const stack = new Stack(new App(), 'Test');
      const topic = new sns.Topic(stack, 'Topic');
      const imported = ModelRegistry.fromModelPackageGroupAttributes(stack, 'Existing', { modelPackageGroupName: 'Abalone', approvalTopic: topic });
      const created = new ModelRegistry(new Stack(new App(), 'Other'), 'Created', { modelPackageGroupName: 'Abalone' });
      const tails = (r: IModelRegistry) => r.modelPackageArns().map((arn) => Stack.of(r).resolve(arn)['Fn::Join'][1].at(-1));
      expect(tails(imported)).toEqual(tails(created));
      expect(tails(imported)).toEqual([':model-package/abalone/*', ':model-package/Abalone/*']);
      expect(stack.resolve(imported.modelPackageGroupArn)['Fn::Join'][1].at(-1)).toBe(':model-package-group/abalone');
      expect(imported.approvalTopic).toBe(topic);
      const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
      expect(imported.grantApproveModelPackages(role).success).toBe(true);
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SageMaker::ModelPackageGroup', 0);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [Match.objectLike({ Action: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage'] })] },
      });
    });

    test('fails naming the attribute for a bad group name', () => {
      const stack = new Stack(new App(), 'Test');
      expect(() => ModelRegistry.fromModelPackageGroupAttributes(stack, 'Existing', { modelPackageGroupName: 'abalone_models' }))
        .toThrow(/Invalid ModelRegistry.fromModelPackageGroupAttributes props:\n- modelPackageGroupName is "abalone_models"/);
    });
  });

  test('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const { stack } = build({ approvalEmails: ['ml-lead@example.com'] }, true);
    expect(nagFindings(stack)).toEqual([]);
  });

  describe('prop validation', () => {
    const cases: Array<[string, ModelRegistryProps]> = [
      ['modelPackageGroupName', { modelPackageGroupName: 'abalone_models' }],
      ['modelPackageGroupName', { modelPackageGroupName: 'abalone-' }],
      ['modelPackageGroupName', { modelPackageGroupName: 'a'.repeat(64) }],
      ['approvalEmails\\[1\\]', { approvalEmails: ['ok@example.com', 'not-an-address'] }],
    ];

    test.each(cases)('fails naming %s for %p', (prop, props) => {
      expect(() => build(props)).toThrow(new RegExp(`Invalid ModelRegistry props:\\n- ${prop} is `));
    });

    test('accepts a 63-character group name', () => {
      expect(() => build({ modelPackageGroupName: 'a'.repeat(63) })).not.toThrow();
    });
  });
});
