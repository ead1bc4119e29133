import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { MlopsAbalonePipeline } from '../../src';
import { WebFrontend } from '../../src/web-frontend';

/** Warning annotations of the stack, as `path: message`, other than cdk-nag's (there are none without its checks). */
function warnings(stack: Stack): string[] {
  return Annotations.fromStack(stack).findWarning('*', Match.anyValue())
    .map((m) => `${m.id}: ${String(m.entry.data)}`)
    .filter((line) => !/: AwsSolutions-/.test(line));
}

describe('synthesizing with the defaults gives no warnings', () => {
  test('the README example: MlopsAbalonePipeline with mseThreshold, trainingInstanceType and approvalEmails', () => {
    const stack = new Stack(new App(), 'AbaloneMlops');
    new MlopsAbalonePipeline(stack, 'Abalone', {
      mseThreshold: 6,
      trainingInstanceType: 'ml.m5.large',
      approvalEmails: ['ml-approvers@example.com'],
    });
    expect(warnings(stack)).toEqual([]);
  });

  test('WebFrontend alone', () => {
    const stack = new Stack(new App(), 'Web');
    new WebFrontend(stack, 'Web', { apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/' });
    expect(warnings(stack)).toEqual([]);
  });
});
