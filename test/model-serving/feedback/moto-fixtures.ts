import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { PREDICTION_KEY_ATTRIBUTE } from '../../../src/contracts/predict-function';
import { RouteDependencies, route } from '../../../src/model-serving/runtime/api/routes';
import { feedbackEvent, parseBody, predictEvent } from '../api/fixtures';

/** In a reset moto_server: the predictions table, keyed as the PredictionStore construct keys it, and the bucket. */
export async function createTableAndBucket(dynamo: DynamoDBClient, s3: S3Client, tableName: string, bucketName: string): Promise<void> {
  await dynamo.send(new CreateTableCommand({
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: PREDICTION_KEY_ATTRIBUTE, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: PREDICTION_KEY_ATTRIBUTE, KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
}

/** Predicts `instances` as one request through the API handler; expects them answered and returns the prediction ids. */
export async function predictIds(deps: RouteDependencies, instances: readonly object[]): Promise<string[]> {
  const response = await route(predictEvent({ instances }), deps);
  expect(response.statusCode).toBe(200);
  return parseBody(response).predictions.map((p: { predictionId: string }) => p.predictionId);
}

/** Sends feedback on a prediction through the API handler, as the web app does; expects it accepted. */
export async function sendFeedback(deps: RouteDependencies, predictionId: string, actualRings: number): Promise<void> {
  expect((await route(feedbackEvent(predictionId, { actualRings }), deps)).statusCode).toBe(200);
}
