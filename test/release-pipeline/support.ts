import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataIngest } from '../../src/data-ingest';
import { EndpointDeployment } from '../../src/model-serving/endpoint-deployment';
import { QualityGate, QualityGateProps } from '../../src/quality-gate';
import { ReleasePipelineProps } from '../../src/release-pipeline';
import { TrainingPipeline } from '../../src/training-pipeline';

/** The parts a ReleasePipeline is wired to, built the way the L3 builds them. */
export function releaseInputs(stack: Stack, gateProps: QualityGateProps = {}) {
  const dataIngest = new DataIngest(stack, 'DataIngest');
  const qualityGate = new QualityGate(stack, 'Gate', gateProps);
  const trainingPipeline = new TrainingPipeline(stack, 'Training', { dataBucket: dataIngest.dataBucket, qualityGate });
  const endpoint = new EndpointDeployment(stack, 'Endpoint', {
    modelPackageGroupName: qualityGate.modelPackageGroupName,
    modelPackageGroupArn: stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: qualityGate.modelPackageGroupName.toLowerCase() }),
    artifactBucket: trainingPipeline.artifactBucket as s3.IBucket,
    endpointName: 'abalone-endpoint',
  });
  const props: ReleasePipelineProps = {
    trainingPipeline,
    qualityGate,
    deploymentTarget: endpoint,
    dataBucket: dataIngest.dataBucket,
    dataManifestKey: dataIngest.dataManifestKey,
  };
  return { dataIngest, qualityGate, trainingPipeline, endpoint, props };
}
