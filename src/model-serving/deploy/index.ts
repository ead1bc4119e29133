// Only the construct: the deploy logic modules are Lambda code and not part of the library's API.
export * from './endpoint-deployment';
