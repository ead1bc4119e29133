export * from './web-frontend';
