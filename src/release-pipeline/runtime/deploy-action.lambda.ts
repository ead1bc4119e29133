/**
 * The release pipeline's Deploy action (a CodePipeline Lambda invoke action with continuation tokens), running the
 * endpoint's deploy logic. Thin on purpose: see `deploy-action.ts`. The event carries artifact credentials: never log it.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { CodePipelineEvent } from 'aws-lambda';
import { runJob } from './codepipeline-job';
import { deployStep } from './deploy-action';
import { DEPLOY_CONFIG_ENV, parseDeployConfig } from '../../contracts/endpoint-deploy-config';
import { defaultClients } from '../../model-serving/runtime/deploy/aws';

const codepipeline = new CodePipelineClient({});
const clients = defaultClients();

export async function handler(event: CodePipelineEvent): Promise<void> {
  const config = parseDeployConfig(process.env[DEPLOY_CONFIG_ENV]);
  const outcome = await runJob(event, codepipeline, (input) => deployStep(clients, config, input));
  console.log(JSON.stringify({ jobId: event['CodePipeline.job'].id, outcome: outcome.kind, detail: 'summary' in outcome ? outcome.summary : outcome.message }));
}
