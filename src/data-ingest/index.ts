export * from './data-ingest';
