import Ajv from 'ajv';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { readReference, resolveIntrinsics } from './support';
import {
  DRIFT_DEFAULTS, DRIFT_REPORT, MODEL_QUALITY_DEFAULTS, MODEL_QUALITY_PARAMETER_NAMES, MODEL_QUALITY_REPORT, MONITORING_INPUTS,
  MONITORING_PARAMETER_NAMES, driftReportS3Uri, modelQualityReportS3Uri,
} from '../../src/contracts/monitoring';
import {
  ConditionStep, MonitoringLocations, PipelineDefinition, ProcessingStep, buildMonitoringDefinition, executionOrder, findDefinitionProblems,
  modelQualityReportExpression, monitoringPipelineSpec, monitoringReportS3Uri, references,
} from '../../src/training-pipeline/definition';
import { SKLEARN_IMAGE } from '../../src/training-pipeline/definition/images';

const schema = readReference('pipeline-definition.schema.json');
const validateSchema = new Ajv({ strict: false, allErrors: true }).compile(schema);

function plainLocations(overrides: Partial<MonitoringLocations> = {}): MonitoringLocations {
  return {
    roleArn: 'arn:aws:iam::123456789012:role/MonitoringRole',
    outputS3Uri: 's3://artifact-bucket/monitoring-executions',
    sklearnImageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
    monitorScript: { s3Uri: 's3://assets/abc123.py', fileName: 'abc123.py' },
    sharedModules: { s3Uri: 's3://assets/def456.zip', fileName: 'def456.zip' },
    ...overrides,
  };
}

/** Built inside a stack from CDK tokens (bucket name, role ARN, key ARN), as a construct would, then resolved. */
function fromTokens(): PipelineDefinition {
  const stack = new Stack(new App(), 'Test');
  const bucket = new s3.Bucket(stack, 'Artifacts');
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const definition = buildMonitoringDefinition(monitoringPipelineSpec({ psiThreshold: 0.25 }, {
    roleArn: role.roleArn,
    outputS3Uri: `s3://${bucket.bucketName}/monitoring`,
    sklearnImageUri: `683313688378.dkr.ecr.${stack.region}.${stack.urlSuffix}/${SKLEARN_IMAGE.repository}:${SKLEARN_IMAGE.tag}`,
    monitorScript: { s3Uri: `s3://${bucket.bucketName}/code/monitor_drift.py`, fileName: 'monitor_drift.py' },
    sharedModules: { s3Uri: `s3://${bucket.bucketName}/code/shared.zip`, fileName: 'shared.zip' },
    kmsKeyId: key.keyArn,
  }));
  return JSON.parse(resolveIntrinsics(stack.resolve(stack.toJsonString(definition)), {}));
}

/** Every `Parameters.X` the definition reads is declared. */
function undeclared(definition: PipelineDefinition): string[] {
  const text = JSON.stringify(definition);
  return [...text.matchAll(/"Get":"Parameters\.([^"]+)"/g)]
    .map(([, name]) => name)
    .filter((name) => !definition.Parameters.some((p) => p.Name === name));
}

const variants: Array<[string, PipelineDefinition]> = [
  ['from plain strings (local mode)', buildMonitoringDefinition(monitoringPipelineSpec({}, plainLocations()))],
  ['from CDK tokens with a KMS key', fromTokens()],
];

describe.each(variants)('monitoring definition %s', (_, definition) => {
  test('validates against the SageMaker pipeline definition schema', () => {
    const valid = validateSchema(definition);
    expect(validateSchema.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  test('every reference resolves: declared parameters, no dangling step references', () => {
    expect(findDefinitionProblems(definition)).toEqual([]);
    expect(undeclared(definition)).toEqual([]);
    expect(references(definition).filter((r) => r.get.startsWith('Steps.'))).toEqual([]);
    expect([...executionOrder(definition)].sort())
      .toEqual([DRIFT_REPORT.stepName, MODEL_QUALITY_REPORT.conditionStepName, MODEL_QUALITY_REPORT.stepName].sort());
  });

  test('parameter names match EventBridge\'s pattern', () => {
    for (const p of definition.Parameters) expect(p.Name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
  });

  test.each([0, 1])('job %i is network-isolated and runs the monitoring script on the scikit-learn 1.2-1 image', (index) => {
    const step = index === 0 ? definition.Steps[0] as ProcessingStep : (definition.Steps[1] as ConditionStep).Arguments.IfSteps[0] as ProcessingStep;
    expect(step.Arguments.NetworkConfig).toEqual({ EnableNetworkIsolation: true });
    expect(step.Arguments.AppSpecification.ImageUri).toMatch(/\/sagemaker-scikit-learn:1\.2-1-cpu-py3$/);
    const [python, script] = step.Arguments.AppSpecification.ContainerEntrypoint;
    expect(python).toBe('python3');
    expect(script.startsWith(`${MONITORING_INPUTS.code.localPath}/`)).toBe(true);
    expect(step.Arguments.Environment?.PYTHONPATH).toMatch(new RegExp(`^${MONITORING_INPUTS.shared.localPath}/[^/]+\\.zip$`));
  });
});

describe('monitoring parameters', () => {
  test('are the contract\'s names; thresholds default to DRIFT_DEFAULTS, the window and package have no default', () => {
    const definition = buildMonitoringDefinition(monitoringPipelineSpec({}, plainLocations()));
    const n = MONITORING_PARAMETER_NAMES;
    const q = MODEL_QUALITY_PARAMETER_NAMES;
    const output = 's3://artifact-bucket/monitoring-executions';
    expect(definition.Parameters).toEqual([
      { Name: n.endpointName, Type: 'String' },
      { Name: n.modelPackageArn, Type: 'String' },
      { Name: n.profileS3Uri, Type: 'String' },
      { Name: n.captureS3Prefix, Type: 'String' },
      { Name: n.windowStart, Type: 'String' },
      { Name: n.psiThreshold, Type: 'Float', DefaultValue: DRIFT_DEFAULTS.psiThreshold },
      { Name: n.ksPValueThreshold, Type: 'Float', DefaultValue: DRIFT_DEFAULTS.ksPValueThreshold },
      { Name: n.driftedShareThreshold, Type: 'Float', DefaultValue: DRIFT_DEFAULTS.driftedShareThreshold },
      { Name: n.minRecords, Type: 'Integer', DefaultValue: DRIFT_DEFAULTS.minRecords },
      // The quality step is skipped unless the starter passes HasGroundTruth=1; the S3 inputs default to a valid URI.
      { Name: q.hasGroundTruth, Type: 'Integer', DefaultValue: 0 },
      { Name: q.qualityCaptureS3Prefix, Type: 'String', DefaultValue: output },
      { Name: q.groundTruthS3Prefix, Type: 'String', DefaultValue: output },
      { Name: q.registeredMetricsS3Uri, Type: 'String', DefaultValue: output },
      { Name: q.qualityWindowStart, Type: 'String', DefaultValue: '' },
      { Name: q.mseTolerance, Type: 'Float', DefaultValue: MODEL_QUALITY_DEFAULTS.mseTolerance },
      { Name: q.minLabels, Type: 'Integer', DefaultValue: MODEL_QUALITY_DEFAULTS.minLabels },
    ]);
    expect(MODEL_QUALITY_DEFAULTS).toEqual({ mseTolerance: 0.25, minLabels: 200 });
  });

  test('take the settings as defaults', () => {
    const definition = buildMonitoringDefinition(monitoringPipelineSpec(
      { psiThreshold: 0.1, ksPValueThreshold: 0.01, driftedShareThreshold: 0.5, minRecords: 50, processingInstanceType: 'ml.m5.large', mseTolerance: 0.5, minLabels: 30 },
      plainLocations()));
    const byName = Object.fromEntries(definition.Parameters.map((p) => [p.Name, p.DefaultValue]));
    expect(byName).toMatchObject({
      PsiThreshold: 0.1, KsPValueThreshold: 0.01, DriftedShareThreshold: 0.5, MinRecords: 50, MseTolerance: 0.5, MinLabels: 30,
    });
    expect((definition.Steps[0] as ProcessingStep).Arguments.ProcessingResources.ClusterConfig.InstanceType).toBe('ml.m5.large');
  });

  test.each([
    ['psiThreshold', { psiThreshold: 0 }],
    ['ksPValueThreshold', { ksPValueThreshold: 1 }],
    ['driftedShareThreshold', { driftedShareThreshold: 1.5 }],
    ['minRecords', { minRecords: 10.5 }],
    ['minRecords', { minRecords: Number.NaN }],
    ['mseTolerance', { mseTolerance: 0 }],
    ['minLabels', { minLabels: 1 }],
  ])('an out-of-range %s fails naming it', (name, settings) => {
    expect(() => monitoringPipelineSpec(settings, plainLocations())).toThrow(new RegExp(`${name} is [^;]+; it must be`));
  });
});

describe('MonitorDrift', () => {
  const step = buildMonitoringDefinition(monitoringPipelineSpec({}, plainLocations({ kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' })))
    .Steps[0] as ProcessingStep;

  test('mounts the script, the shared modules, the capture window (a prefix) and the profile (one object)', () => {
    expect(step.Arguments.ProcessingInputs.map((i) => [i.InputName, i.S3Input.S3Uri, i.S3Input.LocalPath, i.S3Input.S3DataType])).toEqual([
      ['code', 's3://assets/abc123.py', '/opt/ml/processing/input/code', 'S3Prefix'],
      ['shared', 's3://assets/def456.zip', '/opt/ml/processing/input/shared', 'S3Prefix'],
      ['captures', { Get: 'Parameters.CaptureS3Prefix' }, '/opt/ml/processing/input/captures', 'S3Prefix'],
      ['profile', { Get: 'Parameters.TrainingProfileS3Uri' }, '/opt/ml/processing/input/profile', 'S3Prefix'],
    ]);
    expect(step.Arguments.AppSpecification.ContainerEntrypoint).toEqual(['python3', '/opt/ml/processing/input/code/abc123.py']);
    expect(step.Arguments.Environment).toEqual({ PYTHONPATH: '/opt/ml/processing/input/shared/def456.zip' });
  });

  test('passes every parameter to the script, numbers as text', () => {
    const args = step.Arguments.AppSpecification.ContainerArguments!;
    const byFlag = Object.fromEntries(args.flatMap((a, i) => (typeof a === 'string' && a.startsWith('--') ? [[a, args[i + 1]]] : [])));
    const text = (name: string) => ({ 'Std:Join': { On: '', Values: [{ Get: `Parameters.${name}` }] } });
    expect(byFlag).toEqual({
      '--captures-dir': '/opt/ml/processing/input/captures',
      '--profile': '/opt/ml/processing/input/profile',
      '--output-dir': '/opt/ml/processing/report',
      '--endpoint-name': { Get: 'Parameters.EndpointName' },
      '--model-package-arn': { Get: 'Parameters.ModelPackageArn' },
      '--window-start': { Get: 'Parameters.WindowStart' },
      '--psi-threshold': text('PsiThreshold'),
      '--ks-p-value-threshold': text('KsPValueThreshold'),
      '--drifted-share-threshold': text('DriftedShareThreshold'),
      '--min-records': text('MinRecords'),
    });
  });

  test('writes the report under the output location by execution id, encrypted with the key', () => {
    expect(step.Arguments.ProcessingOutputConfig).toEqual({
      Outputs: [{
        OutputName: 'report',
        AppManaged: false,
        S3Output: {
          S3Uri: {
            'Std:Join': {
              On: '/',
              Values: ['s3://artifact-bucket/monitoring-executions', { Get: 'Execution.PipelineExecutionId' }, 'MonitorDrift', 'report'],
            },
          },
          LocalPath: '/opt/ml/processing/report',
          S3UploadMode: 'EndOfJob',
        },
      }],
      KmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k',
    });
    expect(step.Arguments.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toBe('arn:aws:kms:us-east-1:123456789012:key/k');
  });

  test('the report expression and the contract\'s plain-string URI name the same object', () => {
    const evaluate = (v: any): string => {
      if (typeof v === 'string') return v;
      if (v.Get === 'Execution.PipelineExecutionId') return 'exec-123';
      return v['Std:Join'].Values.map(evaluate).join(v['Std:Join'].On);
    };
    const evaluated = evaluate(monitoringReportS3Uri(plainLocations()));
    expect(evaluated).toBe(driftReportS3Uri('s3://artifact-bucket/monitoring-executions/', 'exec-123'));
    expect(evaluated).toBe('s3://artifact-bucket/monitoring-executions/exec-123/MonitorDrift/report/drift-report.json');
  });

  test('without a key, no KMS fields', () => {
    const plain = buildMonitoringDefinition(monitoringPipelineSpec({}, plainLocations())).Steps[0] as ProcessingStep;
    expect(plain.Arguments.ProcessingOutputConfig.KmsKeyId).toBeUndefined();
    expect(plain.Arguments.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toBeUndefined();
  });
});

describe('HasGroundTruth and MonitorModelQuality', () => {
  const definition = buildMonitoringDefinition(monitoringPipelineSpec({}, plainLocations({ kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k' })));
  const condition = definition.Steps[1] as ConditionStep;
  const step = condition.Arguments.IfSteps[0] as ProcessingStep;

  test('the quality step runs only when HasGroundTruth = 1, beside MonitorDrift (no dependency between them)', () => {
    expect(condition.Name).toBe('HasGroundTruth');
    expect(condition.Arguments.Conditions).toEqual([{ Type: 'Equals', LeftValue: { Get: 'Parameters.HasGroundTruth' }, RightValue: 1 }]);
    expect(condition.Arguments.IfSteps.map((s) => s.Name)).toEqual(['MonitorModelQuality']);
    expect(condition.Arguments.ElseSteps).toEqual([]);
    expect(JSON.stringify(definition)).not.toContain('Steps.');
  });

  test('mounts the script, the shared modules, the day\'s captures, the ground truth and the registered report', () => {
    expect(step.Arguments.ProcessingInputs.map((i) => [i.InputName, i.S3Input.S3Uri, i.S3Input.LocalPath, i.S3Input.S3DataType])).toEqual([
      ['code', 's3://assets/abc123.py', '/opt/ml/processing/input/code', 'S3Prefix'],
      ['shared', 's3://assets/def456.zip', '/opt/ml/processing/input/shared', 'S3Prefix'],
      ['captures', { Get: 'Parameters.QualityCaptureS3Prefix' }, '/opt/ml/processing/input/captures', 'S3Prefix'],
      ['ground-truth', { Get: 'Parameters.GroundTruthS3Prefix' }, '/opt/ml/processing/input/ground-truth', 'S3Prefix'],
      ['registered-metrics', { Get: 'Parameters.RegisteredMetricsS3Uri' }, '/opt/ml/processing/input/registered-metrics', 'S3Prefix'],
    ]);
    expect(step.Arguments.AppSpecification.ContainerEntrypoint).toEqual(['python3', '/opt/ml/processing/input/code/abc123.py']);
  });

  test('runs the script\'s quality mode with every quality parameter, numbers as text', () => {
    const args = step.Arguments.AppSpecification.ContainerArguments!;
    expect(args[0]).toBe('quality');
    const byFlag = Object.fromEntries(args.flatMap((a, i) => (typeof a === 'string' && a.startsWith('--') ? [[a, args[i + 1]]] : [])));
    const text = (name: string) => ({ 'Std:Join': { On: '', Values: [{ Get: `Parameters.${name}` }] } });
    expect(byFlag).toEqual({
      '--captures-dir': '/opt/ml/processing/input/captures',
      '--ground-truth-dir': '/opt/ml/processing/input/ground-truth',
      '--registered-metrics': '/opt/ml/processing/input/registered-metrics',
      '--output-dir': '/opt/ml/processing/quality',
      '--endpoint-name': { Get: 'Parameters.EndpointName' },
      '--model-package-arn': { Get: 'Parameters.ModelPackageArn' },
      '--window-start': { Get: 'Parameters.QualityWindowStart' },
      '--mse-tolerance': text('MseTolerance'),
      '--min-labels': text('MinLabels'),
    });
  });

  test('writes its report under the output location by execution id, encrypted; the contract names the same object', () => {
    expect(step.Arguments.ProcessingOutputConfig.Outputs[0].OutputName).toBe('quality');
    expect(step.Arguments.ProcessingOutputConfig.KmsKeyId).toBe('arn:aws:kms:us-east-1:123456789012:key/k');
    const evaluate = (v: any): string => {
      if (typeof v === 'string') return v;
      if (v.Get === 'Execution.PipelineExecutionId') return 'exec-123';
      return v['Std:Join'].Values.map(evaluate).join(v['Std:Join'].On);
    };
    expect(`${evaluate(step.Arguments.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri)}/${MODEL_QUALITY_REPORT.fileName}`)
      .toBe(modelQualityReportS3Uri('s3://artifact-bucket/monitoring-executions', 'exec-123'));
    expect(evaluate(modelQualityReportExpression(plainLocations())))
      .toBe('s3://artifact-bucket/monitoring-executions/exec-123/MonitorModelQuality/quality/model-quality-report.json');
  });
});
