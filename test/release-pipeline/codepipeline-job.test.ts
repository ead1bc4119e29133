import { fakeCodePipeline, FakeCodePipeline, jobEvent } from './jobs';
import { JobInput, JobOutcome, MAX_CONSECUTIVE_ERRORS, runJob } from '../../src/release-pipeline/runtime/codepipeline-job';

let cp: FakeCodePipeline;
beforeEach(() => {
  cp = fakeCodePipeline();
});
afterEach(() => cp.restore());

/** Runs one invocation with a step that records its input and answers `outcome` (or throws it). */
async function invoke(outcome: JobOutcome | Error, options: Parameters<typeof jobEvent>[0] = {}) {
  const seen: JobInput[] = [];
  const event = jobEvent(options);
  const result = await runJob(event, cp.client, async (input) => {
    seen.push(input);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  });
  return { result, input: seen[0], jobId: event['CodePipeline.job'].id };
}

describe('runJob', () => {
  test('an unfinished step replies PutJobSuccessResult with a continuation token and no output variables', async () => {
    const { jobId, input } = await invoke({ kind: 'in-progress', token: 'step-state', summary: 'working', externalExecutionId: 'arn:x' }, { userParameters: '{"a":1}' });
    expect(input).toMatchObject({ jobId, userParameters: '{"a":1}', continuationToken: undefined });
    expect(cp.replies()).toHaveLength(1);
    const success = cp.lastReply().success!;
    expect(success).toEqual({
      jobId,
      continuationToken: JSON.stringify({ t: 'step-state', e: 0 }),
      executionDetails: { summary: 'working', externalExecutionId: 'arn:x' },
    });
  });

  test('a continuation gives the step its own token back', async () => {
    await invoke({ kind: 'in-progress', token: 'first', summary: '' });
    const token = cp.lastReply().success!.continuationToken!;
    const { input } = await invoke({ kind: 'succeeded', summary: 'done' }, { continuationToken: token });
    expect(input.continuationToken).toBe('first');
  });

  test('the final success carries the output variables and no continuation token', async () => {
    await invoke({ kind: 'succeeded', summary: 'done', outputVariables: { ModelPackageArn: 'arn:pkg/1', Mse: '4.5' } });
    const success = cp.lastReply().success!;
    expect(success.continuationToken).toBeUndefined();
    expect(success.outputVariables).toEqual({ ModelPackageArn: 'arn:pkg/1', Mse: '4.5' });
  });

  test('a failure replies PutJobFailureResult with the message, JobFailed by default', async () => {
    await invoke({ kind: 'failed', message: 'MSE 7.31 > threshold 6.0', externalExecutionId: 'arn:exec' });
    expect(cp.lastReply().failure!.failureDetails).toEqual({ type: 'JobFailed', message: 'MSE 7.31 > threshold 6.0', externalExecutionId: 'arn:exec' });
    await invoke({ kind: 'failed', message: 'bad parameters', failureType: 'ConfigurationError' });
    expect(cp.lastReply().failure!.failureDetails!.type).toBe('ConfigurationError');
  });

  test('an abandoned job gets no reply', async () => {
    await invoke({ kind: 'abandoned', summary: 'stopped itself' });
    expect(cp.replies()).toEqual([]);
  });

  test('keeps messages, summaries and ids within the API limits', async () => {
    await invoke({ kind: 'failed', message: 'x'.repeat(6000), externalExecutionId: 'e'.repeat(2000) });
    const failure = cp.lastReply().failure!.failureDetails!;
    expect(failure.message).toHaveLength(5000);
    expect(failure.message!.endsWith('…')).toBe(true);
    expect(failure.externalExecutionId).toHaveLength(1500);
    await invoke({ kind: 'in-progress', token: 't', summary: 's'.repeat(3000) });
    expect(cp.lastReply().success!.executionDetails!.summary).toHaveLength(2048);
  });

  test('refuses a token too long for CodePipeline', async () => {
    await expect(invoke({ kind: 'in-progress', token: 't'.repeat(2040), summary: '' })).rejects.toThrow(/continuation token is \d+ characters; CodePipeline takes 2048/);
  });

  test('turns output variables CodePipeline would reject into a failure that says why', async () => {
    await invoke({ kind: 'succeeded', summary: 'done', outputVariables: { 'R²': '0.5' } });
    expect(cp.lastReply().failure!.failureDetails!.message).toMatch(/done — but output variable names "R²" do not match/);
    await invoke({ kind: 'succeeded', summary: 'done', outputVariables: { Big: 'x'.repeat(130_000) } });
    expect(cp.lastReply().failure!.failureDetails!.message).toMatch(/output variables take \d+ bytes; CodePipeline takes 122880/);
  });

  test('an unexpected error on the first invocation fails the job', async () => {
    await invoke(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(cp.lastReply().failure!.failureDetails).toEqual({ type: 'JobFailed', message: 'Unexpected error: ThrottlingException: Rate exceeded' });
  });

  test('an unexpected error while continuing keeps the job alive with the same token, up to a limit in a row', async () => {
    await invoke({ kind: 'in-progress', token: 'waiting', summary: '' });
    let token = cp.lastReply().success!.continuationToken!;
    for (let i = 1; i <= MAX_CONSECUTIVE_ERRORS; i++) {
      const { input } = await invoke(new Error('socket hang up'), { continuationToken: token });
      expect(input.continuationToken).toBe('waiting');
      const success = cp.lastReply().success!;
      expect(success.executionDetails!.summary).toBe(`Retrying after an error (${i} of ${MAX_CONSECUTIVE_ERRORS}): Error: socket hang up`);
      token = success.continuationToken!;
      expect(JSON.parse(token)).toEqual({ t: 'waiting', e: i });
    }
    await invoke(new Error('socket hang up'), { continuationToken: token });
    expect(cp.lastReply().failure!.failureDetails!.message).toBe('Unexpected error: Error: socket hang up');
  });

  test('a successful step resets the error count', async () => {
    await invoke(new Error('blip'), { continuationToken: JSON.stringify({ t: 'waiting', e: 3 }) });
    expect(JSON.parse(cp.lastReply().success!.continuationToken!)).toEqual({ t: 'waiting', e: 4 });
    await invoke({ kind: 'in-progress', token: 'waiting', summary: 'ok' }, { continuationToken: cp.lastReply().success!.continuationToken! });
    expect(JSON.parse(cp.lastReply().success!.continuationToken!)).toEqual({ t: 'waiting', e: 0 });
  });

  test('a continuation token it did not write fails the job without running the step', async () => {
    const { input } = await invoke({ kind: 'succeeded', summary: 'never' }, { continuationToken: 'not-json' });
    expect(input).toBeUndefined();
    expect(cp.lastReply().failure!.failureDetails!.message).toBe('The continuation token is not one this action wrote.');
  });

  test('refuses an event that is not a CodePipeline job', async () => {
    await expect(runJob({} as never, cp.client, async () => ({ kind: 'abandoned', summary: '' }))).rejects.toThrow('not a CodePipeline job event');
  });
});
