/**
 * The bundled handler (what Lambda runs) end to end against moto_server: it reads its configuration from the
 * environment, predicts through sagemaker-runtime, records in DynamoDB and accepts feedback.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ALLOWED_ORIGIN, INSTANCE, feedbackEvent, predictEvent } from './fixtures';
import { deploymentResourceName, namePrefixFor } from '../../../src/contracts/endpoint-names';
import { MOTO_CREDENTIALS, MOTO_REGION, useMotoServer } from '../../support/moto-server';

const BUNDLE = path.join(__dirname, '../../../assets/model-serving/runtime/api/predict.lambda/index.js');
const ENDPOINT = 'abalone';
const CONFIG = deploymentResourceName(namePrefixFor(ENDPOINT), 'arn:aws:sagemaker:us-east-1:123456789012:model-package/abalone/5', {});
const TABLE = 'predictions';

/** Loads the bundle in a fresh Node process (its configuration is read once, at load) and runs the events in order. */
function runBundle(endpoint: string, script: string): any[] {
  const child = spawnSync(process.execPath, ['-e', `
    const { handler } = require(${JSON.stringify(BUNDLE)});
    const results = [];
    (async () => { ${script} })().then(() => process.stdout.write(JSON.stringify(results)), (e) => { console.error(e); process.exit(1); });
  `], {
    env: {
      PATH: process.env.PATH,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      ENDPOINT_NAME: ENDPOINT,
      ALLOWED_ORIGINS: JSON.stringify([ALLOWED_ORIGIN]),
      PREDICTIONS_TABLE_NAME: TABLE,
      PREDICTION_TTL_SECONDS: '3600',
      NODE_NO_WARNINGS: '1',
    },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) throw new Error(`bundle run failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

describe('the bundled predict handler against moto_server', () => {
  const moto = useMotoServer();

  beforeAll(() => {
    if (!existsSync(BUNDLE)) {
      throw new Error(`${BUNDLE} is missing: bundle the handler first (npx projen bundle, or the esbuild command of the bundle:model-serving/api/predict.lambda task)`);
    }
  });

  test('is small: the AWS SDK stays external (the Lambda runtime provides it)', () => {
    expect(statSync(BUNDLE).size).toBeLessThan(50 * 1024);
    const text = readFileSync(BUNDLE, 'utf8');
    for (const client of ['client-sagemaker', 'client-sagemaker-runtime', 'client-dynamodb']) expect(text).toContain(`require("@aws-sdk/${client}")`);
  });

  test('503 before any deployment; then predicts, records and accepts feedback', async () => {
    const config = moto.clientConfig();
    const dynamo = new DynamoDBClient(config);
    await dynamo.send(new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'predictionId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'predictionId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    const [unavailable] = runBundle(moto.endpoint, `results.push(await handler(${JSON.stringify(predictEvent(INSTANCE))}));`);
    expect(unavailable.statusCode).toBe(503);
    expect(unavailable.headers['Retry-After']).toBe('30');

    const sagemaker = new SageMakerClient(config);
    await sagemaker.send(new CreateModelCommand({ ModelName: CONFIG, ExecutionRoleArn: 'arn:aws:iam::123456789012:role/m', PrimaryContainer: { Image: 'x' } }));
    await sagemaker.send(new CreateEndpointConfigCommand({
      EndpointConfigName: CONFIG,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: CONFIG, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
    }));
    await sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: CONFIG }));
    const queued = await fetch(`${moto.endpoint}/moto-api/static/sagemaker/endpoint-results`, {
      method: 'POST',
      body: JSON.stringify({ region: MOTO_REGION, results: [{ Body: '10.5\n', ContentType: 'text/csv' }] }),
    });
    expect(queued.status).toBe(201);

    const [predicted, feedback, invalid, unknown] = runBundle(moto.endpoint, `
      const predicted = await handler(${JSON.stringify(predictEvent(INSTANCE))});
      results.push(predicted);
      const id = JSON.parse(predicted.body).predictionId;
      const feedback = ${JSON.stringify(feedbackEvent('ID', { actualRings: 12 }))};
      results.push(await handler({ ...feedback, pathParameters: { id } }));
      results.push(await handler(${JSON.stringify(predictEvent({ ...INSTANCE, sex: 'X' }))}));
      results.push(await handler(${JSON.stringify(feedbackEvent('00000000-0000-4000-8000-000000000000', { actualRings: 12 }))}));
    `);
    expect(predicted.statusCode).toBe(200);
    const prediction = JSON.parse(predicted.body);
    expect(prediction).toEqual({ predictionId: expect.any(String), rings: 10.5, ageYears: 12, modelVersion: '5' });
    expect(predicted.headers['Access-Control-Allow-Origin']).toBe(ALLOWED_ORIGIN);
    expect(feedback.statusCode).toBe(200);
    expect(invalid.statusCode).toBe(400);
    expect(unknown.statusCode).toBe(404);

    const item = (await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { predictionId: { S: prediction.predictionId } } }))).Item;
    expect(item?.actualRings).toEqual({ N: '12' });
    expect(item?.modelVersion).toEqual({ S: '5' });
  });
});
