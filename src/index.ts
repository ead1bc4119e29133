export * from './data-ingest';
export * from './model-registry';
export * from './quality-gate';
export * from './training-pipeline';
export * from './model-serving';
export * from './web-frontend';
export * from './mlops-abalone-pipeline';
export * from './release-pipeline';
