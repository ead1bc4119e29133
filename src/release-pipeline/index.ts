export * from './release-pipeline';
