/** How the whole system wires monitoring: the model-quality props and what notifies the monitoring topic. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { MlopsAbalonePipeline } from '../../src';

describe('MlopsAbalonePipeline monitoring', () => {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const mlops = new MlopsAbalonePipeline(stack, 'Abalone', { modelQualityTolerance: 0.5, modelQualityMinLabels: 300 });
  const template = Template.fromStack(stack);
  const topic = stack.resolve(mlops.driftMonitoring!.monitoringTopic.topicArn);

  test('the model-quality props reach the alarm and the pipeline\'s defaults', () => {
    expect(mlops.driftMonitoring!.modelQualityTolerance).toBe(0.5);
    expect(mlops.driftMonitoring!.modelQualityMinLabels).toBe(300);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'MseRatio', Threshold: 1.5, AlarmActions: [topic] });
    const body = JSON.stringify(Object.values<any>(template.findResources('AWS::SageMaker::Pipeline'))
      .find((p) => JSON.stringify(p).includes('MonitorModelQuality')).Properties.PipelineDefinition);
    expect(body).toContain('\\"Name\\":\\"MinLabels\\",\\"Type\\":\\"Integer\\",\\"DefaultValue\\":300');
    expect(body).toContain('\\"Name\\":\\"MseTolerance\\",\\"Type\\":\\"Float\\",\\"DefaultValue\\":0.5');
  });

  test('the feedback export\'s dead-letter alarm notifies the monitoring topic', () => {
    const alarm = mlops.modelServing.feedbackExport!.deadLetterAlarm;
    const logicalId = stack.getLogicalId(alarm.node.defaultChild as CfnAlarm);
    expect(template.findResources('AWS::CloudWatch::Alarm')[logicalId].Properties.AlarmActions).toEqual([topic]);
  });

  test('model-quality props without data capture fail naming them', () => {
    expect(() => new MlopsAbalonePipeline(new Stack(new App(), 'Other'), 'Abalone', { dataCapture: false, modelQualityTolerance: 0.3 }))
      .toThrow(/modelQualityTolerance is 0.3; drift monitoring reads the endpoint's captures/);
  });
});
