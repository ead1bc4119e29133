/** The Deploy action's Lambda invoke of the deploy function: answers, function errors and what is sent. */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DeployFunctionError, lambdaInvoker } from '../../src/release-pipeline/runtime/deploy-action';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:222222222222:function:abalone-deploy';
const lambda = mockClient(LambdaClient);
afterEach(() => lambda.reset());

const bytes = (text: string) => Buffer.from(text);

test('sends the event as JSON to the named function, synchronously, and reads the answer', async () => {
  const answer = { status: 'IN_PROGRESS', endpointName: 'e', modelPackageArn: 'arn', endpointConfigName: 'c', state: { v: 1 } };
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(JSON.stringify(answer)) as never });
  const invoke = lambdaInvoker(new LambdaClient({ region: 'eu-west-1' }), FUNCTION_ARN);
  await expect(invoke({ modelPackageArn: 'arn', approve: true, wait: false })).resolves.toEqual(answer);
  const [call] = lambda.commandCalls(InvokeCommand);
  expect(call.args[0].input.FunctionName).toBe(FUNCTION_ARN);
  expect(call.args[0].input.InvocationType).toBeUndefined(); // RequestResponse, Lambda's default
  expect(JSON.parse(Buffer.from(call.args[0].input.Payload as Uint8Array).toString())).toEqual({ modelPackageArn: 'arn', approve: true, wait: false });
});

test('a function error throws DeployFunctionError with the function\'s message', async () => {
  lambda.on(InvokeCommand).resolves({
    StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes(JSON.stringify({ errorType: 'Error', errorMessage: 'not a deployment state of endpoint e' })) as never,
  });
  const invoke = lambdaInvoker(new LambdaClient({ region: 'eu-west-1' }), FUNCTION_ARN);
  const error = await invoke({ state: {} as never, wait: false }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeployFunctionError);
  expect((error as Error).message).toBe('not a deployment state of endpoint e');
});

test('a function error without a JSON body keeps the raw text, or names the error kind', async () => {
  const invoke = lambdaInvoker(new LambdaClient({ region: 'eu-west-1' }), FUNCTION_ARN);
  lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: bytes('Task timed out after 60.00 seconds') as never })
    .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled' });
  await expect(invoke({ wait: false })).rejects.toThrow(new DeployFunctionError('Task timed out after 60.00 seconds'));
  await expect(invoke({ wait: false })).rejects.toThrow('the deploy function failed (Unhandled)');
});

test('Lambda API errors (such as AccessDenied) propagate, so the job wrapper retries or fails them', async () => {
  lambda.on(InvokeCommand).rejects(Object.assign(new Error('not authorized to perform: lambda:InvokeFunction'), { name: 'AccessDeniedException' }));
  const invoke = lambdaInvoker(new LambdaClient({ region: 'eu-west-1' }), FUNCTION_ARN);
  await expect(invoke({ wait: false })).rejects.toMatchObject({ name: 'AccessDeniedException' });
});
