/**
 * The release pipeline's Train action (a CodePipeline Lambda invoke action with continuation tokens).
 * Thin on purpose: the logic is in `train-action.ts`. The event carries artifact credentials: never log it.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { CodePipelineEvent } from 'aws-lambda';
import { runJob } from './codepipeline-job';
import { TrainActionClients, trainStep } from './train-action';
import { parseTrainActionConfig, TRAIN_ACTION_CONFIG_ENV } from '../../contracts/release-actions';

const codepipeline = new CodePipelineClient({});
const clients: TrainActionClients = {
  sagemaker: new SageMakerClient({}),
  codepipeline,
  s3: new S3Client({}),
  artifactS3: (credentials) => new S3Client(credentials ? { credentials } : {}),
};

export async function handler(event: CodePipelineEvent): Promise<void> {
  const config = parseTrainActionConfig(process.env[TRAIN_ACTION_CONFIG_ENV]);
  const outcome = await runJob(event, codepipeline, (input) => trainStep(clients, config, input));
  console.log(JSON.stringify({ jobId: event['CodePipeline.job'].id, outcome: outcome.kind, detail: 'summary' in outcome ? outcome.summary : outcome.message }));
}
