import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelRegistry } from '../../src/model-registry';
import { QualityGate } from '../../src/quality-gate';
import { AbaloneTrainingDefinitionConfig, PipelineDefinition } from '../../src/training-pipeline/definition';

/** The shared SageMaker reference folder (schema, images.json), read at test time and never copied. */
export const REFERENCE_DIR = process.env.SAGEMAKER_REFERENCE_DIR
  ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'reference', 'sagemaker');

export function readReference(name: string): any {
  const file = path.join(REFERENCE_DIR, name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: these tests read the SageMaker reference data from ../shared/reference/sagemaker `
      + '(or SAGEMAKER_REFERENCE_DIR)');
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The interpreter with the SageMaker containers' library versions (Debian: python3-xgboost, python3-sklearn). */
export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

export function requirePythonWithXgboost(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, xgboost; print(xgboost.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`${PYTHON} cannot import xgboost (${(probe.stderr || String(probe.error)).trim()}): these tests run ml/evaluate.py; `
      + 'install python3-xgboost (Debian) or point PYTHON at an interpreter with xgboost 1.7');
  }
}

/** A builder config of plain strings, as local mode would pass. */
export function plainConfig(overrides: Partial<AbaloneTrainingDefinitionConfig> = {}): AbaloneTrainingDefinitionConfig {
  return {
    roleArn: 'arn:aws:iam::123456789012:role/PipelineRole',
    artifactS3Uri: 's3://artifact-bucket/pipeline-executions',
    inputManifestUri: 's3://data-bucket/manifest/training-manifest.json',
    sklearnImageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
    xgboostImageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    preprocessScript: { s3Uri: 's3://assets/preprocess.py', fileName: 'preprocess.py' },
    evaluateScript: { s3Uri: 's3://assets/evaluate.py', fileName: 'evaluate.py' },
    inferenceScript: { s3Uri: 's3://assets/inference.py', fileName: 'inference.py' },
    sharedModules: { s3Uri: 's3://assets/shared-modules.zip', fileName: 'shared-modules.zip' },
    gate: {
      mseThreshold: 6,
      modelPackageGroupName: 'AbaloneModelPackageGroup',
      modelApprovalStatus: 'PendingManualApproval',
    },
    ...overrides,
  };
}

/** A stack with a data bucket, a quality gate and a model registry, the three things a TrainingPipeline needs. */
export function pipelineInputs(stack: Stack, gateProps = {}) {
  return {
    dataBucket: new s3.Bucket(stack, 'DataBucket', { enforceSSL: true, serverAccessLogsPrefix: 'access-logs/' }),
    qualityGate: new QualityGate(stack, 'Gate', gateProps),
    modelRegistry: new ModelRegistry(stack, 'Registry'),
  };
}

/**
 * The definition as deployed: the template's PipelineDefinitionBody with every CloudFormation function replaced by
 * a plausible value for us-east-1, then parsed.
 */
export function synthesizedDefinition(template: Template): PipelineDefinition {
  const json = template.toJSON();
  const pipelines = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::SageMaker::Pipeline');
  if (pipelines.length !== 1) throw new Error(`expected one pipeline, found ${pipelines.length}`);
  const body = pipelines[0].Properties.PipelineDefinition.PipelineDefinitionBody;
  return JSON.parse(resolveIntrinsics(body, json.Mappings ?? {}));
}

const PSEUDO: Record<string, string> = {
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

export function resolveIntrinsics(node: any, mappings: Record<string, any>): string {
  if (typeof node === 'string') return node;
  if (node['Fn::Join']) {
    const [on, values] = node['Fn::Join'];
    return values.map((v: any) => resolveIntrinsics(v, mappings)).join(on);
  }
  if (node.Ref) return PSEUDO[node.Ref] ?? `ref-${String(node.Ref).toLowerCase()}`;
  if (node['Fn::GetAtt']) {
    const [id, attribute] = node['Fn::GetAtt'];
    if (attribute !== 'Arn') throw new Error(`unexpected attribute ${attribute}`);
    return `arn:aws:iam::123456789012:role/${id}`;
  }
  if (node['Fn::FindInMap']) {
    const [map, key, attribute] = node['Fn::FindInMap'];
    return mappings[map][resolveIntrinsics(key, mappings)][attribute];
  }
  if (node['Fn::Sub']) {
    return String(node['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_, name: string) => PSEUDO[name] ?? `sub-${name}`);
  }
  throw new Error(`cannot resolve ${JSON.stringify(node)}`);
}
