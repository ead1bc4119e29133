import { App, Aspects, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
// In your own app: import { MlopsAbalonePipeline } from 'cdk-mlops-abalone-pipeline';
import { MlopsAbalonePipeline } from '../src';

/** A stack holding the whole abalone MLOps system. */
export class AbaloneMlopsStack extends Stack {
  public readonly mlops: MlopsAbalonePipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.mlops = new MlopsAbalonePipeline(this, 'Abalone', {
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}

const app = new App();
new AbaloneMlopsStack(app, 'AbaloneMlops', {
  description: 'MLOps system for the UCI Abalone age model (cdk-mlops-abalone-pipeline example)',
});
// Fails the synth on any unacknowledged cdk-nag AwsSolutions finding.
Aspects.of(app).add(new AwsSolutionsChecks());
