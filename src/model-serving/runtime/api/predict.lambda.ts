import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDbPredictionStore } from './dynamodb-store';
import { modelVersionFromEndpointConfigName } from './model-version';
import { Logger } from './predict';
import { RouteDependencies, route } from './routes';
import { SageMakerBackend } from './sagemaker-backend';
import { readConfig } from '../../../contracts/predict-function';

const config = readConfig(process.env);

// Lambda's JSON log format adds the level, time and request id to each line.
const log: Logger = (level, message, detail) => console[level](message, detail ?? {});

const deps: RouteDependencies = {
  cors: { allowedOrigins: config.allowedOrigins },
  backend: new SageMakerBackend({
    endpointName: config.endpointName,
    // Two attempts must end well within API Gateway's 29 s.
    runtime: new SageMakerRuntimeClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 2_000, requestTimeout: 12_000 } }),
    sagemaker: new SageMakerClient({ maxAttempts: 2 }),
    modelVersionOf: (configName) => modelVersionFromEndpointConfigName(config.endpointName, configName),
    log: (message, detail) => log('warn', message, detail),
  }),
  store: config.tableName
    ? new DynamoDbPredictionStore({ tableName: config.tableName, client: new DynamoDBClient({}), ttlSeconds: config.ttlSeconds })
    : undefined,
  log,
};

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  return route(event, deps);
}
