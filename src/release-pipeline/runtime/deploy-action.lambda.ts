/**
 * The release pipeline's Deploy action (a CodePipeline Lambda invoke action with continuation tokens): invokes the
 * endpoint's deploy function. Thin on purpose: see `deploy-action.ts`. The event carries artifact credentials: never log it.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { CodePipelineEvent } from 'aws-lambda';
import { runJob } from './codepipeline-job';
import { deployStep, lambdaInvoker } from './deploy-action';
import { DEPLOY_ACTION_ENV } from '../../contracts/release-actions';

const codepipeline = new CodePipelineClient({});
const lambda = new LambdaClient({});

export async function handler(event: CodePipelineEvent): Promise<void> {
  const functionArn = process.env[DEPLOY_ACTION_ENV.DEPLOY_FUNCTION];
  if (!functionArn) throw new Error(`${DEPLOY_ACTION_ENV.DEPLOY_FUNCTION} is not set`);
  const outcome = await runJob(event, codepipeline, (input) => deployStep(lambdaInvoker(lambda, functionArn), input));
  console.log(JSON.stringify({ jobId: event['CodePipeline.job'].id, outcome: outcome.kind, detail: 'summary' in outcome ? outcome.summary : outcome.message }));
}
