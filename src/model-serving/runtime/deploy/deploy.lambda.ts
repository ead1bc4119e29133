import type { Context } from 'aws-lambda';
import { defaultClients } from './aws';
import { DeployEvent, DeployResponse, runDeployment } from './invocation';
import { DEPLOY_CONFIG_ENV, parseDeployConfig } from '../../../contracts/endpoint-deploy-config';

const clients = defaultClients();

/**
 * Deploys a model package to the endpoint: `{ modelPackageArn?, approve?, wait? }` starts a deployment,
 * `{ state }` continues one that an earlier invocation answered IN_PROGRESS.
 */
export async function handler(event: DeployEvent | undefined, context: Context): Promise<DeployResponse> {
  const config = parseDeployConfig(process.env[DEPLOY_CONFIG_ENV]);
  const response = await runDeployment(clients, config, event ?? {}, {
    pollIntervalMs: 30_000,
    reserveMs: 30_000,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  const { status, endpointName, modelPackageArn, reason } = response;
  console.log(JSON.stringify({ status, endpointName, modelPackageArn, reason }));
  return response;
}
