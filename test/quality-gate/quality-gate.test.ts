import { App, Stack } from 'aws-cdk-lib';
import { ModelApprovalStatus, QualityGate, QualityGateProps } from '../../src/quality-gate';
import { abaloneTrainingSpec } from '../../src/training-pipeline/definition/abalone-definition';
import { QualityGateConfig, qualityGateParameters, qualityGateStep } from '../../src/training-pipeline/definition/quality-gate-steps';
import { addNagChecks, nagFindings } from '../support/nag';
import { plainConfig } from '../training-pipeline/support';

function build(props: QualityGateProps = {}, nag = false) {
  const stack = new Stack(new App(), 'Test');
  if (nag) addNagChecks(stack);
  const gate = new QualityGate(stack, 'Gate', props);
  return { stack, gate };
}

describe('QualityGate', () => {
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
      expect(qualityGateParameters(abaloneTrainingSpec(gate._settings(), plainConfig()).gate)).toEqual([
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

  test('has no unacknowledged cdk-nag AwsSolutions findings', () => {
    const { stack } = build({ maxMae: 2 }, true);
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
    ];

    test.each(cases)('fails naming %s for %p', (prop, props) => {
      expect(() => build(props)).toThrow(new RegExp(`Invalid QualityGate props:\\n- ${prop} is `));
    });

    test('states the value and what is allowed', () => {
      expect(() => build({ mseThreshold: -2, minR2: 3 }))
        .toThrow('Invalid QualityGate props:\n- mseThreshold is -2; it must be a finite number, >= 0\n- minR2 is 3; it must be a finite number, <= 1');
    });

    test('accepts the boundaries: MSE 0, MAE 0, R² 1', () => {
      expect(() => build({ mseThreshold: 0, maxMae: 0, minR2: 1 })).not.toThrow();
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
