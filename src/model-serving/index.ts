export * from './model-serving';
