import { ENDPOINT_NAME } from './endpoint-names';

/** Properties of the clean-up custom resource. */
export interface CleanupTarget {
  readonly endpointName: string;
  readonly namePrefix: string;
}

/** Reads and checks the custom resource's properties (`EndpointName`, `NamePrefix`). */
export function cleanupTarget(properties: { [key: string]: unknown }): CleanupTarget {
  const endpointName = properties.EndpointName;
  const namePrefix = properties.NamePrefix;
  if (typeof endpointName !== 'string' || !ENDPOINT_NAME.test(endpointName)) {
    throw new Error(`EndpointName must be a lower-case SageMaker endpoint name, got ${JSON.stringify(endpointName)}`);
  }
  if (typeof namePrefix !== 'string' || !/^[a-z0-9][a-z0-9-]*-$/.test(namePrefix)) {
    throw new Error(`NamePrefix must be a lower-case name prefix ending in "-", got ${JSON.stringify(namePrefix)}`);
  }
  return { endpointName, namePrefix };
}
