import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import { cleanupTarget } from '../../../contracts/endpoint-cleanup-target';

/**
 * onEvent of the endpoint clean-up custom resource. Create and Update only name the endpoint; the work of
 * Delete happens in the isComplete handler, which is polled until the endpoint and its resources are gone.
 */
export async function handler(event: CdkCustomResourceEvent): Promise<CdkCustomResourceResponse> {
  const target = cleanupTarget(event.ResourceProperties);
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
  return { PhysicalResourceId: target.endpointName, Data: { EndpointName: target.endpointName } };
}
