export * from './training-pipeline';
