/**
 * The two handlers as Lambda runs them: clients built from the environment (pointed at moto_server), one short
 * step per invocation, the continuation token carried from one invocation to the next. CodePipeline's job and
 * execution APIs, and SageMaker's ListPipelineExecutionSteps (none of which moto has), are mocked per client class.
 */
import type { PutJobSuccessResultCommandInput } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreatePipelineCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { Context } from 'aws-lambda';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { jobEvent } from './jobs';
import { DEPLOY_CONFIG_ENV } from '../../src/contracts/endpoint-deploy-config';
import { DEPLOY_ACTION_ENV, TRAIN_ACTION_CONFIG_ENV } from '../../src/contracts/release-actions';
import { createGroup, createPackage, ENDPOINT, testConfig } from '../model-serving/deploy/harness';
import { MOTO_CREDENTIALS, MOTO_REGION, useMotoServer } from '../support/moto-server';

const moto = useMotoServer();
const saved = { ...process.env };
const EXECUTION_ID = '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

type Handlers = {
  train: typeof import('../../src/release-pipeline/runtime/train-action.lambda');
  deploy: typeof import('../../src/release-pipeline/runtime/deploy-action.lambda');
  /** The endpoint's deploy function, which the Deploy action invokes through the Lambda API. */
  deployFunction: typeof import('../../src/model-serving/runtime/deploy/deploy.lambda');
};
const DEPLOY_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:abalone-deploy';
let handlers: Handlers;
// The SDK modules as the handlers see them (jest.isolateModules gives them their own copies to mock).
let codepipelineSdk: typeof import('@aws-sdk/client-codepipeline');
let sagemakerSdk: typeof import('@aws-sdk/client-sagemaker');
let lambdaSdk: typeof import('@aws-sdk/client-lambda');
let cpMock: AwsStub<any, any, any>;
let lambdaMock: AwsStub<any, any, any>;
let invocations: Array<{ functionName?: string; event: unknown }>;
let smMock: AwsStub<any, any, any>;
let replies: Array<{ success?: PutJobSuccessResultCommandInput; failure?: unknown }>;
let steps: unknown[];

beforeAll(() => {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    [TRAIN_ACTION_CONFIG_ENV]: JSON.stringify({ trainingPipelineName: 'abalone-training', releasePipelineName: 'abalone-release', debounceSeconds: 0, mseThreshold: 6 }),
    [DEPLOY_CONFIG_ENV]: JSON.stringify(testConfig()),
    [DEPLOY_ACTION_ENV.DEPLOY_FUNCTION]: DEPLOY_FUNCTION_ARN,
  });
  delete process.env.AWS_PROFILE;
  // The handlers build their clients when loaded: load them (and the SDK copies they use) after the environment is set.
  /* eslint-disable @typescript-eslint/no-require-imports */
  jest.isolateModules(() => {
    codepipelineSdk = require('@aws-sdk/client-codepipeline');
    sagemakerSdk = require('@aws-sdk/client-sagemaker');
    lambdaSdk = require('@aws-sdk/client-lambda');
    handlers = {
      train: require('../../src/release-pipeline/runtime/train-action.lambda'),
      deploy: require('../../src/release-pipeline/runtime/deploy-action.lambda'),
      deployFunction: require('../../src/model-serving/runtime/deploy/deploy.lambda'),
    };
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
});
afterAll(() => {
  process.env = saved;
});

beforeEach(async () => {
  await moto.reset();
  replies = [];
  steps = [];
  const { CodePipelineClient, ListPipelineExecutionsCommand, PutJobFailureResultCommand, PutJobSuccessResultCommand } = codepipelineSdk;
  cpMock = mockClient(CodePipelineClient);
  cpMock.on(PutJobSuccessResultCommand).callsFake(async (input) => {
    replies.push({ success: input });
    return {};
  });
  cpMock.on(PutJobFailureResultCommand).callsFake(async (input) => {
    replies.push({ failure: input });
    return {};
  });
  cpMock.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [{ pipelineExecutionId: EXECUTION_ID, status: 'InProgress', startTime: new Date(0) }] });
  smMock = mockClient(sagemakerSdk.SageMakerClient);
  (smMock.send as unknown as { callThrough(): void }).callThrough();
  smMock.on(sagemakerSdk.ListPipelineExecutionStepsCommand).callsFake(async () => ({ PipelineExecutionSteps: steps }));
  // Lambda's Invoke as the service runs it: the JSON payload to the deploy function's handler, its answer back as
  // JSON, an exception as FunctionError with {errorType, errorMessage}.
  invocations = [];
  lambdaMock = mockClient(lambdaSdk.LambdaClient);
  lambdaMock.on(lambdaSdk.InvokeCommand).callsFake(async (input) => {
    const event = JSON.parse(Buffer.from(input.Payload).toString('utf8'));
    invocations.push({ functionName: input.FunctionName, event });
    try {
      const answer = await handlers.deployFunction.handler(event, { getRemainingTimeInMillis: () => 60_000 } as Context);
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify(answer)) };
    } catch (error) {
      const { name, message } = error as Error;
      return { StatusCode: 200, FunctionError: 'Unhandled', Payload: Buffer.from(JSON.stringify({ errorType: name, errorMessage: message })) };
    }
  });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  lambdaMock.restore();
  cpMock.restore();
  smMock.restore();
  jest.restoreAllMocks();
});

function lastReply() {
  const last = replies[replies.length - 1];
  if (!last) throw new Error('no reply');
  return last;
}

describe('train-action.lambda', () => {
  test('starts the SageMaker pipeline, then passes on the registered package and its metrics', async () => {
    const s3 = new S3Client({ ...moto.s3ClientConfig() });
    const sagemaker = new SageMakerClient(moto.clientConfig());
    await s3.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    await s3.send(new PutObjectCommand({
      Bucket: 'artifacts',
      Key: 'release/DataManife/abc',
      Body: JSON.stringify({ schemaVersion: 1, bucket: 'data', files: [], totalRows: 4177, trainingManifestUri: 's3://data/manifest/training/x.json', updatedAt: '' }),
    }));
    await s3.send(new PutObjectCommand({
      Bucket: 'artifacts',
      Key: 'exec/EvaluateModel/evaluation/evaluation.json',
      Body: JSON.stringify({ regression_metrics: { mse: { value: 4.5 }, mae: { value: 1.5 }, r2: { value: 0.56 } } }),
    }));
    await sagemaker.send(new CreatePipelineCommand({ PipelineName: 'abalone-training', PipelineDefinition: '{"Version":"2020-12-01","Steps":[]}', RoleArn: 'arn:aws:iam::123456789012:role/r' }));
    await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'AbaloneModelPackageGroup' }));
    const pkg = await sagemaker.send(new CreateModelPackageCommand({
      ModelPackageGroupName: 'AbaloneModelPackageGroup',
      InferenceSpecification: { Containers: [{ Image: 'image' }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://artifacts/exec/EvaluateModel/evaluation/evaluation.json' } } },
    }));

    const userParameters = JSON.stringify({ pipelineExecutionId: EXECUTION_ID });
    await handlers.train.handler(jobEvent({ userParameters, artifact: { bucket: 'artifacts', key: 'release/DataManife/abc' } }));
    const token = lastReply().success?.continuationToken;
    expect(token).toBeDefined();
    expect(lastReply().success!.executionDetails!.summary).toMatch(/^Started SageMaker pipeline execution arn:aws:sagemaker:us-east-1:123456789012:pipeline\/abalone-training\/execution\//);

    steps = [{ StepName: 'RegisterModel', StepStatus: 'Succeeded', Metadata: { RegisterModel: { Arn: pkg.ModelPackageArn } } }];
    await handlers.train.handler(jobEvent({ userParameters, continuationToken: token }));
    expect(lastReply().success!.outputVariables).toMatchObject({ ModelPackageArn: pkg.ModelPackageArn, Mse: '4.5', Mae: '1.5', R2: '0.56', DataRows: '4177' });
    expect(console.log).toHaveBeenLastCalledWith(expect.not.stringContaining('artifact-secret'));
  });
});

describe('deploy-action.lambda', () => {
  test('has the endpoint\'s deploy function deploy the package over two invocations and reports the endpoint', async () => {
    const sagemaker = new SageMakerClient(moto.clientConfig());
    const clients = { sagemaker, autoScaling: undefined as never };
    await createGroup(clients);
    const arn = await createPackage(clients, 'PendingManualApproval');
    const userParameters = JSON.stringify({ modelPackageArn: arn, approve: true });

    await handlers.deploy.handler(jobEvent({ userParameters }));
    const token = lastReply().success?.continuationToken;
    expect(token).toBeDefined();
    await handlers.deploy.handler(jobEvent({ userParameters, continuationToken: token }));
    expect(lastReply().success!.outputVariables).toEqual({ EndpointName: ENDPOINT, ModelPackageArn: arn, EndpointConfigName: expect.any(String) });
    expect(invocations).toEqual([
      { functionName: DEPLOY_FUNCTION_ARN, event: { modelPackageArn: arn, approve: true, wait: false } },
      {
        functionName: DEPLOY_FUNCTION_ARN,
        event: { state: expect.objectContaining({ v: 1, endpointName: ENDPOINT, modelPackageArn: arn }), wait: false },
      },
    ]);
  });

  test('a token the deploy function refuses fails the job as invalid input, with the function\'s message', async () => {
    const foreign = JSON.stringify({ v: 1, endpointName: 'other', modelPackageArn: '', endpointConfigName: '', operation: 'create', phase: 'waiting', startedAt: 1 });
    // In the envelope the job wrapper puts around every step's token.
    await handlers.deploy.handler(jobEvent({ userParameters: '{}', continuationToken: JSON.stringify({ t: foreign, e: 0 }) }));
    expect(lastReply().failure).toMatchObject({ failureDetails: { message: `invalid input: not a deployment state of endpoint ${ENDPOINT}` } });
  });
});
