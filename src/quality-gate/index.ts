export * from './quality-gate';
