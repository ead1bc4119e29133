/** The retrain function; CodePipeline's execution APIs go through aws-sdk-client-mock (moto does not implement them). */
import { CodePipelineClient, ListPipelineExecutionsCommand, PipelineExecutionSummary, StartPipelineExecutionCommand } from '@aws-sdk/client-codepipeline';
import { mockClient } from 'aws-sdk-client-mock';
import { parseRetrainOnDriftConfig } from '../../src/contracts/drift-monitoring-functions';
import { retrainOnDrift } from '../../src/model-monitoring/runtime/retrain-on-drift';

const codepipeline = mockClient(CodePipelineClient);
const config = { releasePipelineName: 'abalone-release', cooldownSeconds: 24 * 3600 };
const NOW = Date.parse('2026-11-26T12:20:00Z');
const trigger = { eventId: '6a7e8f9a-1b2c-3d4e-5f60-718293a4b5c6', alarmName: 'DriftAlarm' };
const hoursAgo = (h: number) => new Date(NOW - h * 3_600_000);
const execution = (id: string, h: number, status: PipelineExecutionSummary['status'] = 'Succeeded', triggerType = 'CloudWatchEvent'): PipelineExecutionSummary =>
  ({ pipelineExecutionId: id, status, startTime: hoursAgo(h), trigger: { triggerType: triggerType as any } });

beforeEach(() => {
  codepipeline.reset();
  codepipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: 'new-execution' });
});
afterAll(() => codepipeline.restore());

const client = () => new CodePipelineClient({ region: 'us-east-1' });

test('no execution within the cooldown: starts the release pipeline once, deduplicated by the event id', async () => {
  codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [execution('old', 30), execution('older', 50)] });
  const outcome = await retrainOnDrift(client(), config, trigger, NOW);
  expect(outcome).toEqual({ started: true, pipelineExecutionId: 'new-execution' });
  const start = codepipeline.commandCalls(StartPipelineExecutionCommand);
  expect(start).toHaveLength(1);
  expect(start[0].args[0].input).toEqual({ name: 'abalone-release', clientRequestToken: `drift-${trigger.eventId}` });
});

test('the cooldown is honoured: a start 3 hours ago (its own or anyone\'s) means no new start', async () => {
  codepipeline.on(ListPipelineExecutionsCommand).resolves({
    pipelineExecutionSummaries: [execution('recent', 3, 'Succeeded', 'StartPipelineExecution'), execution('old', 30)],
  });
  const outcome = await retrainOnDrift(client(), config, trigger, NOW);
  expect(outcome.started).toBe(false);
  expect((outcome as any).reason).toMatch(/execution recent \(Succeeded, StartPipelineExecution\) started at 2026-11-26T09:20:00.000Z, within the 86400 s cooldown/);
  expect(codepipeline.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test('an execution in progress, however old, means no new start', async () => {
  codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [execution('waiting', 72, 'InProgress')] });
  const outcome = await retrainOnDrift(client(), config, trigger, NOW);
  expect((outcome as any).reason).toMatch(/execution waiting .* is in progress/);
  expect(codepipeline.commandCalls(StartPipelineExecutionCommand)).toHaveLength(0);
});

test('one page decides: the newest execution is older than the cooldown, so it starts', async () => {
  codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [execution('a', 25.5, 'Superseded')], nextToken: 'more' });
  expect((await retrainOnDrift(client(), config, trigger, NOW)).started).toBe(true);
  expect(codepipeline.commandCalls(ListPipelineExecutionsCommand)).toHaveLength(1);
  expect(codepipeline.commandCalls(ListPipelineExecutionsCommand)[0].args[0].input).toEqual({ pipelineName: 'abalone-release', maxResults: 25 });
});

test('a cooldown of 0 starts on every alarm (still one start per event)', async () => {
  codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [execution('just-finished', 0.01)] });
  expect((await retrainOnDrift(client(), { ...config, cooldownSeconds: 0 }, trigger, NOW)).started).toBe(true);
});

test('the configuration is checked, naming the bad field', () => {
  expect(parseRetrainOnDriftConfig(JSON.stringify(config))).toEqual(config);
  expect(() => parseRetrainOnDriftConfig('{"releasePipelineName":"p","cooldownSeconds":-1}')).toThrow(/cooldownSeconds is missing or invalid/);
});
