import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ModelApprovalStatus, QualityGate, QualityGateProps } from '../../src/quality-gate';
import { QualityGateConfig, qualityGateParameters, qualityGateStep } from '../../src/training-pipeline/definition/quality-gate-steps';
import { addNagChecks, nagFindings } from '../support/nag';

function build(props: QualityGateProps = {}, nag = false) {
  const stack = new Stack(new App(), 'Test');
  if (nag) addNagChecks(stack);
  const gate = new QualityGate(stack, 'Gate', props);
  return { stack, gate };
}

describe('QualityGate', () => {
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
      new QualityGate(stack, 'Gate', { encryptionKey: key });
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

  describe('thresholds', () => {
    test('default to MSE 6.0 with MAE and R² not gated, and pending manual approval', () => {
      const { gate } = build();
      expect([gate.mseThreshold, gate.maxMae, gate.minR2, gate.modelApprovalStatus]).toEqual([6, undefined, undefined, 'PendingManualApproval']);
    });

    test('are exposed as configured', () => {
      const { gate } = build({ mseThreshold: 4.5, maxMae: 1.6, minR2: -0.2, modelApprovalStatus: ModelApprovalStatus.APPROVED });
      expect([gate.mseThreshold, gate.maxMae, gate.minR2, gate.modelApprovalStatus]).toEqual([4.5, 1.6, -0.2, 'Approved']);
    });

    test('become the defaults of the gate\'s pipeline parameters', () => {
      const { gate } = build({ mseThreshold: 5, minR2: 0.5, modelApprovalStatus: ModelApprovalStatus.APPROVED });
      expect(qualityGateParameters(gate._definitionConfig())).toEqual([
        { Name: 'MseThreshold', Type: 'Float', DefaultValue: 5 },
        { Name: 'R2Threshold', Type: 'Float', DefaultValue: 0.5 },
        {
          Name: 'ModelApprovalStatus',
          Type: 'String',
          DefaultValue: 'Approved',
          EnumValues: ['PendingManualApproval', 'Approved', 'Rejected'],
        },
      ]);
    });
  });

  describe('grants', () => {
    function statementsAfter(grant: (gate: QualityGate, role: iam.Role) => void, props: QualityGateProps = {}) {
      const stack = new Stack(new App(), 'Test');
      const gate = new QualityGate(stack, 'Gate', props);
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
    const grants: Array<[string, (gate: QualityGate, role: iam.Role) => void]> = [
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

  test('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const { stack } = build({ approvalEmails: ['ml-lead@example.com'], maxMae: 2 }, true);
    expect(nagFindings(stack)).toEqual([]);
  });

  describe('prop validation', () => {
    const cases: Array<[string, QualityGateProps]> = [
      ['mseThreshold', { mseThreshold: -1 }],
      ['mseThreshold', { mseThreshold: NaN }],
      ['mseThreshold', { mseThreshold: Infinity }],
      ['maxMae', { maxMae: -0.1 }],
      ['maxMae', { maxMae: NaN }],
      ['maxMae', { maxMae: Infinity }],
      ['minR2', { minR2: 1.5 }],
      ['minR2', { minR2: NaN }],
      ['minR2', { minR2: -Infinity }],
      ['modelPackageGroupName', { modelPackageGroupName: 'abalone_models' }],
      ['modelPackageGroupName', { modelPackageGroupName: 'abalone-' }],
      ['modelPackageGroupName', { modelPackageGroupName: 'a'.repeat(64) }],
      ['approvalEmails\\[1\\]', { approvalEmails: ['ok@example.com', 'not-an-address'] }],
    ];

    test.each(cases)('fails naming %s for %p', (prop, props) => {
      expect(() => build(props)).toThrow(new RegExp(`Invalid QualityGate props:\\n- ${prop} is `));
    });

    test('states the value and what is allowed', () => {
      expect(() => build({ mseThreshold: -2, minR2: 3 }))
        .toThrow('Invalid QualityGate props:\n- mseThreshold is -2; it must be a finite number, >= 0\n- minR2 is 3; it must be a finite number, <= 1');
    });

    test('accepts the boundaries: MSE 0, MAE 0, R² 1, a 63-character group name', () => {
      expect(() => build({ mseThreshold: 0, maxMae: 0, minR2: 1, modelPackageGroupName: 'a'.repeat(63) })).not.toThrow();
    });
  });
});

describe('quality gate steps', () => {
  const config: QualityGateConfig = { mseThreshold: 6, modelPackageGroupName: 'G', modelApprovalStatus: 'PendingManualApproval' };
  const inputs = {
    evaluationReport: { Get: 'Steps.EvaluateModel.PropertyFiles.EvaluationReport' },
    evaluationReportUri: 's3://bucket/evaluation.json',
    containers: [],
    customerMetadata: {},
  };

  test('register into the configured group with the approval status parameter', () => {
    const step = qualityGateStep(config, inputs);
    const [register] = step.Arguments.IfSteps as any[];
    expect(register.Arguments.ModelPackageGroupName).toBe('G');
    expect(register.Arguments.ModelApprovalStatus).toEqual({ Get: 'Parameters.ModelApprovalStatus' });
    expect(register.Arguments.ModelMetrics.ModelQuality.Statistics).toEqual({ ContentType: 'application/json', S3Uri: 's3://bucket/evaluation.json' });
  });

  test('gate only on the bounds configured', () => {
    const types = (c: QualityGateConfig) => qualityGateStep(c, inputs).Arguments.Conditions.map((x) => x.RightValue);
    expect(types(config)).toEqual([{ Get: 'Parameters.MseThreshold' }]);
    expect(types({ ...config, minR2: 0.2 })).toEqual([{ Get: 'Parameters.MseThreshold' }, { Get: 'Parameters.R2Threshold' }]);
    expect(types({ ...config, maxMae: 2 })).toEqual([{ Get: 'Parameters.MseThreshold' }, { Get: 'Parameters.MaeThreshold' }]);
  });
});
