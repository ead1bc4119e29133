export * from './deployment-target';
export * from './model-serving';
