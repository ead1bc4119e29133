import { testConfig } from './harness';
import { totalWaitSeconds } from '../../../src/contracts/endpoint-deploy-config';
import { deploymentConfigFor } from '../../../src/model-serving/runtime/deploy/deployment';

// The DeploymentConfig of UpdateEndpoint for each traffic routing mode
// (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html).

describe('deploymentConfigFor', () => {
  test('ALL_AT_ONCE: no wait between steps (there are none); the bake is the termination wait', () => {
    expect(deploymentConfigFor(testConfig({ bakeSeconds: 300, maxUpdateSeconds: 1200 }))).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 },
        TerminationWaitInSeconds: 300,
        MaximumExecutionTimeoutInSeconds: 1200,
      },
      AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'endpoint-5xx' }, { AlarmName: 'endpoint-latency' }] },
    });
  });

  test('CANARY: a capacity percentage first, baked for the wait interval; then the final bake as the termination wait', () => {
    const config = testConfig({ trafficRouting: { type: 'CANARY', canaryPercent: 10, canaryBakeSeconds: 600 }, bakeSeconds: 300, maxUpdateSeconds: 1800 });
    expect(deploymentConfigFor(config).BlueGreenUpdatePolicy).toEqual({
      TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
      TerminationWaitInSeconds: 300,
      MaximumExecutionTimeoutInSeconds: 1800,
    });
    expect(totalWaitSeconds(config)).toBe(900);
  });

  test('the execution timeout the construct writes exceeds the waits in both modes', () => {
    for (const config of [
      testConfig(),
      testConfig({ trafficRouting: { type: 'CANARY', canaryPercent: 50, canaryBakeSeconds: 300 }, bakeSeconds: 300, maxUpdateSeconds: 1500 }),
    ]) {
      const policy = deploymentConfigFor(config).BlueGreenUpdatePolicy!;
      const waits = (policy.TrafficRoutingConfiguration!.WaitIntervalInSeconds ?? 0) + (policy.TerminationWaitInSeconds ?? 0);
      expect(policy.MaximumExecutionTimeoutInSeconds).toBeGreaterThan(waits);
      expect(policy.MaximumExecutionTimeoutInSeconds).toBeGreaterThanOrEqual(600);
    }
  });

  test('at most 10 alarms; none means no auto-rollback configuration', () => {
    const many = Array.from({ length: 12 }, (_, i) => `alarm-${i}`);
    expect(deploymentConfigFor(testConfig({ rollbackAlarmNames: many })).AutoRollbackConfiguration!.Alarms).toHaveLength(10);
    expect(deploymentConfigFor(testConfig({ rollbackAlarmNames: [] })).AutoRollbackConfiguration).toBeUndefined();
  });
});
