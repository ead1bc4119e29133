import { App, Aspects, CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
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
      mseThreshold: 6,
      trainingInstanceType: 'ml.m5.large',
      approvalEmails: this.node.tryGetContext('approvalEmail') ? [this.node.tryGetContext('approvalEmail')] : undefined,
      // A sandbox: delete the data with the stack. Keep the default (RETAIN) for real data.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new CfnOutput(this, 'SiteUrl', { value: this.mlops.webFrontend.siteUrl, description: 'The web app' });
    new CfnOutput(this, 'ApiUrl', { value: this.mlops.modelServing.apiUrl, description: 'POST ${ApiUrl}predictions' });
    new CfnOutput(this, 'DataBucket', { value: this.mlops.dataIngest.dataBucket.bucketName, description: 'Upload raw/*.csv here' });
    new CfnOutput(this, 'ReleasePipelineName', { value: this.mlops.releasePipeline.pipelineName });
  }
}

const app = new App();
new AbaloneMlopsStack(app, 'AbaloneMlops', {
  description: 'MLOps system for the UCI Abalone age model (cdk-mlops-abalone-pipeline example)',
});
// Fails the synth on any unacknowledged cdk-nag AwsSolutions finding.
Aspects.of(app).add(new AwsSolutionsChecks());
