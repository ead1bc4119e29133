export * from './deployment-target';
export * from './endpoint-deployment';
export * from './feedback-export';
export * from './feedback-training-export';
export * from './prediction-api';
export * from './prediction-store';
export * from './model-serving';
