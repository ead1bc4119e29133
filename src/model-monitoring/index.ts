export * from './drift-monitoring';
