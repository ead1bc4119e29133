import { parseTrainActionConfig, TRAIN_ACTION_CONFIG_ENV } from '../../src/contracts/release-actions';

const valid = { trainingPipelineName: 'training', releasePipelineName: 'release', debounceSeconds: 300, mseThreshold: 6 };

describe('parseTrainActionConfig', () => {
  test('accepts the configuration the construct writes', () => {
    expect(parseTrainActionConfig(JSON.stringify({ ...valid, maxMae: 2, minR2: 0.5 }))).toEqual({ ...valid, maxMae: 2, minR2: 0.5 });
  });

  test('fails when the variable is not set', () => {
    expect(() => parseTrainActionConfig(undefined)).toThrow(`${TRAIN_ACTION_CONFIG_ENV} is not set`);
  });

  test.each([
    ['trainingPipelineName', { trainingPipelineName: '' }],
    ['releasePipelineName', { releasePipelineName: 3 }],
    ['debounceSeconds', { debounceSeconds: -1 }],
    ['mseThreshold', { mseThreshold: '6' }],
    ['maxMae', { maxMae: 'x' }],
    ['minR2', { minR2: null }],
  ])('fails naming %s', (field, change) => {
    expect(() => parseTrainActionConfig(JSON.stringify({ ...valid, ...change }))).toThrow(`${TRAIN_ACTION_CONFIG_ENV}.${field} is missing or invalid`);
  });
});
