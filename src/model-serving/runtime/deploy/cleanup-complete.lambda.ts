import type { CdkCustomResourceIsCompleteEvent, CdkCustomResourceIsCompleteResponse } from 'aws-lambda';
import { defaultClients } from './aws';
import { teardownStep } from './cleanup';
import { cleanupTarget } from '../../../contracts/endpoint-cleanup-target';

const clients = defaultClients();

/** isComplete of the endpoint clean-up custom resource: one teardown step per poll on Delete. */
export async function handler(event: CdkCustomResourceIsCompleteEvent): Promise<CdkCustomResourceIsCompleteResponse> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  const target = cleanupTarget(event.ResourceProperties);
  const progress = await teardownStep(clients, target.endpointName, target.namePrefix);
  console.log(progress.message);
  return { IsComplete: progress.complete };
}
