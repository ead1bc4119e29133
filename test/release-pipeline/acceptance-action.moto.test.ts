/**
 * The AcceptanceTest action end to end: the model package (its metrics and recorded test split) in SageMaker and S3
 * on moto_server over HTTP, a staging API on a local HTTP server, CodePipeline's job API through aws-sdk-client-mock.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateModelPackageCommand, CreateModelPackageGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { fakeCodePipeline, FakeCodePipeline, jobEvent } from './jobs';
import { ACCEPTANCE_ACTION_ENV, AcceptanceActionConfig } from '../../src/contracts/acceptance-test';
import { acceptanceStep, parseAcceptanceActionConfig } from '../../src/release-pipeline/runtime/acceptance-action';
import { runJob } from '../../src/release-pipeline/runtime/codepipeline-job';
import { useMotoServer } from '../support/moto-server';

const moto = useMotoServer();
const BUCKET = 'training-artifacts';
const GROUP = 'AbaloneModelPackageGroup';
const SPLIT_KEY = 'pipeline-executions/exec-1/PreprocessData/heldout/test.csv';
const REPORT_KEY = 'pipeline-executions/exec-1/EvaluateModel/evaluation/evaluation.json';

/** 40 test rows; the staging API below answers each with its true rings + 2 (MSE 4, MAE 2). */
const ROWS = Array.from({ length: 40 }, (_, i) => `${['M', 'F', 'I'][i % 3]},${(0.3 + i * 0.005).toFixed(3)},0.3,0.1,0.5,0.2,0.1,0.15,${5 + (i % 15)}`);

let server: http.Server;
let apiUrl: string;
let requests: Array<{ url?: string; body: any }>;
let offset: number;
let cp: FakeCodePipeline;
let sagemaker: SageMakerClient;
let s3: S3Client;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const instance = JSON.parse(body);
      requests.push({ url: req.url, body: instance });
      const row = ROWS.find((r) => Math.abs(Number(r.split(',')[1]) * 200 - instance.lengthMm) < 1e-6)!;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ rings: Number(row.split(',')[8]) + offset }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  await moto.reset();
  requests = [];
  offset = 2;
  cp = fakeCodePipeline();
  sagemaker = new SageMakerClient(moto.clientConfig());
  s3 = new S3Client(moto.s3ClientConfig());
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: SPLIT_KEY, Body: `${ROWS.join('\n')}\n` }));
  const report = { regression_metrics: { mse: { value: 4 }, mae: { value: 2 }, r2: { value: 0.5 } } };
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: REPORT_KEY, Body: JSON.stringify(report) }));
  await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
});
afterEach(() => cp.restore());

async function createPackage(options: { split?: boolean } = {}): Promise<string> {
  const out = await sagemaker.send(new CreateModelPackageCommand({
    ModelPackageGroupName: GROUP,
    ModelApprovalStatus: 'Approved',
    InferenceSpecification: {
      Containers: [{ Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1', ModelDataUrl: `s3://${BUCKET}/model.tar.gz` }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `s3://${BUCKET}/${REPORT_KEY}` } } },
    ...(options.split === false ? {} : { CustomerMetadataProperties: { TestSplitS3Uri: `s3://${BUCKET}/${SPLIT_KEY}` } }),
  }));
  return out.ModelPackageArn!;
}

function config(overrides: Partial<AcceptanceActionConfig> = {}): AcceptanceActionConfig {
  return parseAcceptanceActionConfig(JSON.stringify({
    apiUrl,
    mseTolerance: 0.1,
    maeTolerance: 0.1,
    maxNon2xx: 0,
    p99LatencyMs: 1000,
    concurrency: 4,
    requestTimeoutMs: 5000,
    requestsPerSecond: 400,
    timeBudgetSeconds: 840,
    ...overrides,
  }));
}

const run = (userParameters: string, c = config()) =>
  runJob(jobEvent({ userParameters }), cp.client, (input) => acceptanceStep({ sagemaker, s3 }, c, input));

test('replays the package\'s recorded test split through the staging API and passes on its registered metrics', async () => {
  const arn = await createPackage();
  await run(JSON.stringify({ modelPackageArn: arn }));
  const reply = cp.lastReply();
  expect(reply.failure).toBeUndefined();
  expect(reply.success!.outputVariables).toEqual({
    ModelPackageArn: arn,
    Requests: '40',
    Mse: '4',
    Mae: '2',
    Non2xx: '0',
    P50LatencyMs: expect.stringMatching(/^[0-9.]+$/),
    P99LatencyMs: expect.stringMatching(/^[0-9.]+$/),
    Summary: expect.stringMatching(/^40 requests: MSE 4 \(registered 4 ± 10%\), MAE 2 \(registered 2 ± 10%\), 0 non-2xx \(max 0\), p50 [0-9.]+ ms, p99 [0-9.]+ ms \(max 1000 ms\)$/),
  });
  expect(reply.success!.continuationToken).toBeUndefined();
  expect(requests).toHaveLength(40);
  expect(requests.every((r) => r.url === '/prod/predictions')).toBe(true);
  expect(requests.map((r) => r.body.lengthMm).sort((a, b) => a - b)[0]).toBe(60);
});

test('fails the job naming the metric, the measured value, the bound and the package when the API disagrees', async () => {
  const arn = await createPackage();
  offset = 4;
  await run(JSON.stringify({ modelPackageArn: arn }));
  const failure = cp.lastReply().failure!;
  expect(failure.failureDetails!.type).toBe('JobFailed');
  expect(failure.failureDetails!.message).toBe('Acceptance test failed: MSE 16 is outside 4 ± 10% (3.6 to 4.4); MAE 4 is outside 2 ± 10% (1.8 to 2.2) '
    + `(model package ${arn}, staging API ${apiUrl})`);
});

test('a package without a recorded test split fails with a message saying so', async () => {
  const arn = await createPackage({ split: false });
  await run(JSON.stringify({ modelPackageArn: arn }));
  expect(cp.lastReply().failure!.failureDetails!.message).toBe(
    `Model package ${arn} records no held-out test split (CustomerMetadataProperties.TestSplitS3Uri): train it again with this version of the training pipeline.`);
  expect(requests).toHaveLength(0);
});

test('an unresolved or missing package ARN is a configuration error', async () => {
  await run(JSON.stringify({ modelPackageArn: '#{StagingDeploy.ModelPackageArn}' }));
  expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError' });
  await run('');
  expect(cp.lastReply().failure!.failureDetails).toMatchObject({ type: 'ConfigurationError' });
});

test('a test that cannot finish within the time budget at the configured rate fails before sending anything', async () => {
  const arn = await createPackage();
  await run(JSON.stringify({ modelPackageArn: arn }), config({ requestsPerSecond: 1, timeBudgetSeconds: 30 }));
  expect(cp.lastReply().failure!.failureDetails).toMatchObject({
    type: 'ConfigurationError',
    message: expect.stringContaining('has 40 rows: at 1 requests per second the test needs 40 s, more than the action\'s 30 s'),
  });
  expect(requests).toHaveLength(0);
});

test('the configuration is checked, naming each bad field', () => {
  expect(() => parseAcceptanceActionConfig(undefined)).toThrow(`${ACCEPTANCE_ACTION_ENV.CONFIG} is not set`);
  expect(() => parseAcceptanceActionConfig(JSON.stringify({ apiUrl: 'ftp://x', mseTolerance: -1 }))).toThrow(
    /ACCEPTANCE_ACTION_CONFIG\.mseTolerance is -1: .*ACCEPTANCE_ACTION_CONFIG\.maeTolerance is missing.*requestsPerSecond must be a number > 0.*apiUrl is missing or not http\(s\)/);
});
