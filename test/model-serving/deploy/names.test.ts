import { testConfig } from './harness';
import { DEPLOY_CONFIG_ENV, parseDeployConfig } from '../../../src/contracts/endpoint-deploy-config';
import {
  deploymentResourceName, ENDPOINT_NAME, isOwnedName, namePrefixFor, parseModelPackageArn, SAGEMAKER_NAME, scalableResourceId,
} from '../../../src/contracts/endpoint-names';

const ARN = 'arn:aws:sagemaker:eu-west-1:123456789012:model-package/abalonemodelpackagegroup/12';

describe('deployment resource names', () => {
  test('are the prefix, the package version and a short hash', () => {
    expect(deploymentResourceName('abalone-', ARN, ['ml.m5.large'])).toMatch(/^abalone-12-[0-9a-f]{8}$/);
  });

  test('are deterministic and change with any input', () => {
    const a = deploymentResourceName('abalone-', ARN, ['ml.m5.large', 2]);
    expect(deploymentResourceName('abalone-', ARN, ['ml.m5.large', 2])).toBe(a);
    expect(deploymentResourceName('abalone-', ARN, ['ml.m5.large', 3])).not.toBe(a);
    expect(deploymentResourceName('abalone-', ARN.replace('/12', '/13'), ['ml.m5.large', 2])).not.toBe(a);
  });

  test('fit SageMaker\'s 63-character pattern for the longest endpoint name and a large version', () => {
    const prefix = namePrefixFor('e'.repeat(63));
    const name = deploymentResourceName(prefix, ARN.replace('/12', '/999999'), []);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(SAGEMAKER_NAME);
    expect(isOwnedName(prefix, name)).toBe(true);
  });

  test('ownership needs the exact prefix and suffix shape', () => {
    const prefix = namePrefixFor('abalone');
    expect(isOwnedName(prefix, 'abalone-3-0123abcd')).toBe(true);
    expect(isOwnedName(prefix, 'abalone-2-3-0123abcd')).toBe(false); // endpoint "abalone-2"
    expect(isOwnedName(prefix, 'abalone-3-0123ABCD')).toBe(false);
    expect(isOwnedName(prefix, 'other-3-0123abcd')).toBe(false);
  });

  test('the prefix is lower case', () => {
    expect(namePrefixFor('Abalone')).toBe('abalone-');
  });
});

describe('model package ARNs', () => {
  test('versioned ARNs give group and version', () => {
    expect(parseModelPackageArn(ARN)).toEqual({ group: 'abalonemodelpackagegroup', version: 12 });
    expect(parseModelPackageArn('arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/g-1/3')).toEqual({ group: 'g-1', version: 3 });
  });

  test.each([
    'arn:aws:sagemaker:eu-west-1:123456789012:model-package/unversioned',
    'arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/g',
    'abalonemodelpackagegroup/1',
  ])('%s is not a versioned package ARN', (arn) => {
    expect(parseModelPackageArn(arn)).toBeUndefined();
  });
});

test('endpoint names must be lower case', () => {
  expect(ENDPOINT_NAME.test('abalone-endpoint')).toBe(true);
  expect(ENDPOINT_NAME.test('Abalone')).toBe(false);
  expect(ENDPOINT_NAME.test('a'.repeat(64))).toBe(false);
  expect(scalableResourceId('e')).toBe('endpoint/e/variant/AllTraffic');
});

describe('parseDeployConfig', () => {
  test('reads a complete configuration', () => {
    expect(parseDeployConfig(JSON.stringify(testConfig()))).toEqual(testConfig());
  });

  test.each([
    ['endpointName', { endpointName: '' }],
    ['instanceCount', { instanceCount: 0 }],
    ['rollbackAlarmNames', { rollbackAlarmNames: undefined }],
    ['bakeSeconds', { bakeSeconds: -1 }],
    ['bakeSeconds', { bakeSeconds: 3601 }],
    ['trafficRouting', { trafficRouting: undefined }],
    ['trafficRouting', { trafficRouting: { type: 'LINEAR' } }],
    ['trafficRouting', { trafficRouting: { type: 'CANARY', canaryPercent: 60, canaryBakeSeconds: 300 } }],
    ['trafficRouting', { trafficRouting: { type: 'CANARY', canaryPercent: 10, canaryBakeSeconds: 3601 } }],
    ['maxUpdateSeconds', { maxUpdateSeconds: 599 }],
    ['maxUpdateSeconds', { maxUpdateSeconds: 28801 }],
    // SageMaker: the timeout must be larger than the waits.
    ['maxUpdateSeconds', { maxUpdateSeconds: 900, bakeSeconds: 600, trafficRouting: { type: 'CANARY', canaryPercent: 10, canaryBakeSeconds: 300 } }],
    ['autoScaling', { autoScaling: { minCapacity: 3, maxCapacity: 2, targetInvocationsPerInstance: 70, scaleInCooldownSeconds: 1, scaleOutCooldownSeconds: 1 } }],
  ])('names the bad field %s', (field, overrides) => {
    expect(() => parseDeployConfig(JSON.stringify(testConfig(overrides as never)))).toThrow(`${DEPLOY_CONFIG_ENV}.${field} is missing or invalid`);
  });

  test('fails when unset', () => {
    expect(() => parseDeployConfig(undefined)).toThrow(`${DEPLOY_CONFIG_ENV} is not set`);
  });
});
