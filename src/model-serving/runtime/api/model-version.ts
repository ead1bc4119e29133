/**
 * The model package version serving on the endpoint, read from the name of its endpoint configuration
 * (the deploy function names each configuration `<endpoint prefix><version>-<hash>`).
 */
import { isOwnedName, namePrefixFor } from '../../../contracts/endpoint-names';

/** Reads the version from an endpoint configuration name; undefined when the name carries none. */
export function modelVersionFromEndpointConfigName(endpointName: string, endpointConfigName: string): string | undefined {
  const prefix = namePrefixFor(endpointName);
  if (!isOwnedName(prefix, endpointConfigName)) return undefined;
  const version = endpointConfigName.slice(prefix.length).split('-')[0];
  // The deploy function writes 0 when the package ARN carries no version.
  return version === '0' ? undefined : version;
}
