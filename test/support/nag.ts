import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

/** Adds cdk-nag's AwsSolutions pack to the stack; call before any assertion synthesizes it. */
export function addNagChecks(stack: Stack): void {
  Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
}

/** Every unacknowledged AwsSolutions finding (errors and warnings) as `path: message` lines. */
export function nagFindings(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  const pattern = Match.stringLikeRegexp('AwsSolutions-.*');
  return [...annotations.findError('*', pattern), ...annotations.findWarning('*', pattern)]
    .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}
