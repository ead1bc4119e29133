export * from './data-ingest';
export * from './mlops-abalone-pipeline';
