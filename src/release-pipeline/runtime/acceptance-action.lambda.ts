/**
 * The release pipeline's AcceptanceTest action (a CodePipeline Lambda invoke action): replays the staged model's
 * held-out test split through the staging API. Thin on purpose: see `acceptance-action.ts`. The event carries
 * artifact credentials: never log it.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CodePipelineEvent } from 'aws-lambda';
import { acceptanceStep, parseAcceptanceActionConfig } from './acceptance-action';
import { runJob } from './codepipeline-job';
import { ACCEPTANCE_ACTION_ENV } from '../../contracts/acceptance-test';

const codepipeline = new CodePipelineClient({});
const clients = { sagemaker: new SageMakerClient({}), s3: new S3Client({}) };

export async function handler(event: CodePipelineEvent): Promise<void> {
  const config = parseAcceptanceActionConfig(process.env[ACCEPTANCE_ACTION_ENV.CONFIG]);
  const outcome = await runJob(event, codepipeline, (input) => acceptanceStep(clients, config, input));
  console.log(JSON.stringify({ jobId: event['CodePipeline.job'].id, outcome: outcome.kind, detail: 'summary' in outcome ? outcome.summary : outcome.message }));
}
