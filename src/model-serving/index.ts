export * from './deployment-target';
export * from './endpoint-deployment';
export * from './prediction-api';
export * from './prediction-store';
export * from './model-serving';
