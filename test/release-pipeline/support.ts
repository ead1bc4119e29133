import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DataIngest } from '../../src/data-ingest';
import { ModelRegistry } from '../../src/model-registry';
import { EndpointDeployment } from '../../src/model-serving/endpoint-deployment';
import { QualityGate, QualityGateProps } from '../../src/quality-gate';
import { ReleasePipelineProps } from '../../src/release-pipeline';
import { TrainingPipeline } from '../../src/training-pipeline';

/** The parts a ReleasePipeline is wired to, built the way the L3 builds them. */
export function releaseInputs(stack: Stack, gateProps: QualityGateProps = {}) {
  const dataIngest = new DataIngest(stack, 'DataIngest');
  const qualityGate = new QualityGate(stack, 'Gate', gateProps);
  const modelRegistry = new ModelRegistry(stack, 'Registry');
  const trainingPipeline = new TrainingPipeline(stack, 'Training', { dataBucket: dataIngest.dataBucket, qualityGate, modelRegistry });
  const endpoint = new EndpointDeployment(stack, 'Endpoint', {
    modelRegistry,
    artifactBucket: trainingPipeline.artifactBucket as s3.IBucket,
    endpointName: 'abalone-endpoint',
  });
  const props: ReleasePipelineProps = {
    trainingPipeline,
    deploymentTarget: endpoint,
    dataBucket: dataIngest.dataBucket,
    dataManifestKey: dataIngest.dataManifestKey,
  };
  return { dataIngest, qualityGate, modelRegistry, trainingPipeline, endpoint, props };
}
