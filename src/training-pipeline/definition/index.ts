// The pipeline definition builder and its vocabulary. Internal (not part of the jsii API): the construct and
// local mode import it from here.
export * from './types';
export * from './expressions';
export * from './names';
export * from './defaults';
export * from './abalone-definition';
export * from './monitoring-definition';
export * from './references';
export * from './tuning';
export type { QualityGateConfig, QualityGateInputs } from './quality-gate-steps';
export { qualityGateParameters, qualityGateStep } from './quality-gate-steps';
