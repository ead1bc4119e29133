import { App, Aspects, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
// A dev dependency of this library; a dependency of your own app.
// eslint-disable-next-line import/no-extraneous-dependencies
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-mlops-abalone-pipeline';
import {
  ApiAuthorization, DataIngest, IModelRegistry, ModelRegistry, ModelServing, QualityGate, ReleasePipeline, TrainingPipeline,
} from '../src';

/** The three accounts of the example (replace them with yours). */
export const ACCOUNTS = { tooling: '111111111111', staging: '222222222222', production: '333333333333' } as const;
export const REGION = 'eu-west-1';
const GROUP_NAME = 'AbaloneModelPackageGroup';

/** Data, training, registry and the release pipeline: the tooling account. */
export class ToolingStack extends Stack {
  public readonly trainingPipeline: TrainingPipeline;
  public readonly modelRegistry: ModelRegistry;
  public readonly dataIngest: DataIngest;

  constructor(scope: Construct, id: string, props: StackProps) {
    super(scope, id, props);
    const consumers = [ACCOUNTS.staging, ACCOUNTS.production];
    this.dataIngest = new DataIngest(this, 'DataIngest');
    this.modelRegistry = new ModelRegistry(this, 'ModelRegistry', { modelPackageGroupName: GROUP_NAME, consumerAccounts: consumers });
    // SageMaker deploys a model version in another account only from artifacts under a customer managed key.
    const key = new kms.Key(this, 'ArtifactKey', { description: 'Encrypts the abalone training artifacts', enableKeyRotation: true });
    this.trainingPipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      dataBucket: this.dataIngest.dataBucket,
      qualityGate: new QualityGate(this, 'QualityGate', { mseThreshold: 6 }),
      modelRegistry: this.modelRegistry,
      encryptionKey: key,
      consumerAccounts: consumers,
      accessLogsBucket: this.dataIngest.accessLogsBucket,
    });
  }
}

/** Props of {@link EndpointStack}. */
export interface EndpointStackProps extends StackProps {
  readonly tooling: ToolingStack;
  readonly staging?: boolean;
}

/** An endpoint and its API in a target account, serving the tooling account's model versions. */
export class EndpointStack extends Stack {
  public readonly serving: ModelServing;

  constructor(scope: Construct, id: string, props: EndpointStackProps) {
    super(scope, id, props);
    const registry: IModelRegistry = ModelRegistry.fromModelPackageGroupAttributes(this, 'ModelRegistry', {
      modelPackageGroupName: GROUP_NAME,
      account: ACCOUNTS.tooling,
    });
    // The training bucket of the tooling account: the model role may read its execution outputs and decrypt them
    // through S3. Its key's ARN is unknown here at synth, so the grant names the tooling account's keys; add
    // `encryptionKey: kms.Key.fromKeyArn(this, 'ArtifactKey', '<key ARN>')` to name the one key.
    const artifacts = s3.Bucket.fromBucketAttributes(this, 'TrainingArtifacts', {
      bucketName: props.tooling.trainingPipeline.artifactBucket.bucketName,
      account: ACCOUNTS.tooling,
      region: REGION,
    });
    this.serving = new ModelServing(this, 'Serving', {
      modelRegistry: registry,
      artifactBucket: artifacts,
      // Captures are written to the artifact bucket, which here is the tooling account's: it shares reads only.
      endpointDataCapture: { enabled: false },
      ...(props.staging ? {
        endpointInstanceCount: 1,
        endpointAutoScaling: false,
        feedback: false,
        // The acceptance test calls it as the web app does.
        authorization: ApiAuthorization.NONE,
      } : {}),
    });
    new CfnOutput(this, 'ApiUrl', { value: this.serving.apiUrl });
  }
}

/** The three stacks, and the release pipeline in the tooling stack deploying to the other two. */
export function buildMultiAccountApp(app: App) {
  const tooling = new ToolingStack(app, 'AbaloneTooling', { env: { account: ACCOUNTS.tooling, region: REGION } });
  const staging = new EndpointStack(app, 'AbaloneStaging', { env: { account: ACCOUNTS.staging, region: REGION }, tooling, staging: true });
  const production = new EndpointStack(app, 'AbaloneProduction', { env: { account: ACCOUNTS.production, region: REGION }, tooling });
  const release = new ReleasePipeline(tooling, 'ReleasePipeline', {
    trainingPipeline: tooling.trainingPipeline,
    dataBucket: tooling.dataIngest.dataBucket,
    dataManifestKey: tooling.dataIngest.dataManifestKey,
    deploymentTarget: production.serving,
    stagingTarget: staging.serving,
    stagingApiUrl: staging.serving.apiUrl,
  });
  return { tooling, staging, production, release };
}

if (require.main === module) {
  const app = new App();
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  buildMultiAccountApp(app);
  app.synth();
}
