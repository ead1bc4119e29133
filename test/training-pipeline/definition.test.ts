import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Ajv from 'ajv';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { PYTHON, pipelineInputs, plainConfig, readReference, requirePythonWithXgboost, synthesizedDefinition } from './support';
import { TRAINING_PROFILE } from '../../src/contracts/monitoring';
import { TrainingPipeline } from '../../src/training-pipeline';
import {
  ConditionStep, EVALUATION_METRIC_PATHS, FailStep, PARAMETER_NAMES, PipelineDefinition, ProcessingStep, RegisterModelStep,
  STEP_NAMES, SHARED_PYTHON_MODULES, TrainingStep, TuningStep,
  abaloneTrainingSpec, allSteps, buildAbaloneTrainingDefinition, executionOrder, findDefinitionProblems, references,
} from '../../src/training-pipeline/definition';

const schema = readReference('pipeline-definition.schema.json');
const validateSchema = new Ajv({ strict: false, allErrors: true }).compile(schema);

function synthesize(gateProps = {}, pipelineProps = {}): PipelineDefinition {
  const stack = new Stack(new App(), 'Test');
  new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack, gateProps), ...pipelineProps });
  return synthesizedDefinition(Template.fromStack(stack));
}

function step<T>(definition: PipelineDefinition, name: string): T {
  const found = allSteps(definition).find((s) => s.Name === name);
  if (!found) throw new Error(`no step ${name}`);
  return found as unknown as T;
}

/** Independent of the library's own checker: every Steps.X reference against the steps and outputs declared. */
function dangling(definition: PipelineDefinition): string[] {
  const text = JSON.stringify(definition);
  const steps = new Map(allSteps(definition).map((s) => [s.Name, s as any]));
  const problems: string[] = [];
  for (const [, ref] of text.matchAll(/"Get":"(Steps\.[^"]+)"/g)) {
    const [, name, rest] = /^Steps\.([^.]+)\.(.*)$/.exec(ref)!;
    const target = steps.get(name);
    if (!target) {
      problems.push(`${ref}: no step ${name}`);
      continue;
    }
    const output = /^ProcessingOutputConfig\.Outputs\['(.+)'\]\.S3Output\.S3Uri$/.exec(rest);
    const file = /^PropertyFiles\.(.+)$/.exec(rest);
    if (output) {
      const names = (target.Arguments.ProcessingOutputConfig?.Outputs ?? []).map((o: any) => o.OutputName);
      if (!names.includes(output[1])) problems.push(`${ref}: ${name} has no output ${output[1]}`);
    } else if (file) {
      const names = (target.PropertyFiles ?? []).map((f: any) => f.PropertyFileName);
      if (!names.includes(file[1])) problems.push(`${ref}: ${name} has no property file ${file[1]}`);
    } else if (rest === 'ModelArtifacts.S3ModelArtifacts') {
      if (target.Type !== 'Training') problems.push(`${ref}: ${name} is not a training step`);
    } else if (/^(HyperParameterTuningJobName|BestTrainingJob\.(TrainingJobName|FinalHyperParameterTuningJobObjectiveMetric\.Value|TunedHyperParameters\['.+'\]))$/.test(rest)) {
      if (target.Type !== 'Tuning') problems.push(`${ref}: ${name} is not a tuning step`);
      const tuned = /\['(.+)'\]$/.exec(rest);
      const ranges = target.Arguments.HyperParameterTuningJobConfig?.ParameterRanges ?? {};
      const names = [...(ranges.ContinuousParameterRanges ?? []), ...(ranges.IntegerParameterRanges ?? [])].map((r: any) => r.Name);
      if (tuned && !names.includes(tuned[1])) problems.push(`${ref}: ${name} does not tune ${tuned[1]}`);
    } else {
      problems.push(`${ref}: unknown property`);
    }
  }
  for (const [, name] of text.matchAll(/"Get":"Parameters\.([^"]+)"/g)) {
    if (!definition.Parameters.some((p) => p.Name === name)) problems.push(`Parameters.${name}: not declared`);
  }
  return problems;
}

const variants: Array<[string, PipelineDefinition]> = [
  ['synthesized, defaults', synthesize()],
  ['synthesized, every gate bound and a KMS key', (() => {
    const stack = new Stack(new App(), 'Test');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack, { maxMae: 1.6, minR2: 0.5 }), encryptionKey: key });
    return synthesizedDefinition(Template.fromStack(stack));
  })()],
  ['built from plain strings (local mode)', buildAbaloneTrainingDefinition(plainConfig())],
  ['built from plain strings without a default manifest', buildAbaloneTrainingDefinition(plainConfig({ inputManifestUri: undefined }))],
];

describe.each(variants)('definition %s', (_, definition) => {
  test('validates against the SageMaker pipeline definition schema', () => {
    const valid = validateSchema(definition);
    expect(validateSchema.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  test('every property reference points at a step and an output that exist', () => {
    expect(dangling(definition)).toEqual([]);
    expect(findDefinitionProblems(definition)).toEqual([]);
    expect(references(definition).length).toBeGreaterThan(10);
  });

  test('parameter names have no underscores and match EventBridge\'s pattern', () => {
    for (const p of definition.Parameters) {
      expect(p.Name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/);
    }
  });

  test('runs preprocess → train → evaluate → gate → register | fail', () => {
    expect(executionOrder(definition)).toEqual([
      STEP_NAMES.preprocess, STEP_NAMES.train, STEP_NAMES.evaluate, STEP_NAMES.checkQuality, STEP_NAMES.register, STEP_NAMES.fail,
    ]);
  });

  test('stays far below the definition size limits', () => {
    expect(JSON.stringify(definition).length).toBeLessThan(20_000);
  });
});

describe('parameters', () => {
  test('are the documented ones, with defaults from the props', () => {
    const definition = synthesize({ mseThreshold: 5.5 }, {
      processingInstanceType: 'ml.m5.large',
      processingInstanceCount: 1,
      trainingInstanceType: 'ml.m5.xlarge',
      trainingInstanceCount: 1,
      splitSeed: 7,
      inputManifestUri: 's3://other-bucket/manifests/m.json',
    });
    expect(definition.Parameters).toEqual([
      { Name: 'InputManifestUri', Type: 'String', DefaultValue: 's3://other-bucket/manifests/m.json' },
      { Name: 'ProcessingInstanceType', Type: 'String', DefaultValue: 'ml.m5.large' },
      { Name: 'ProcessingInstanceCount', Type: 'Integer', DefaultValue: 1 },
      { Name: 'TrainingInstanceType', Type: 'String', DefaultValue: 'ml.m5.xlarge' },
      { Name: 'TrainingInstanceCount', Type: 'Integer', DefaultValue: 1 },
      { Name: 'SplitSeed', Type: 'Integer', DefaultValue: 7 },
      { Name: 'MseThreshold', Type: 'Float', DefaultValue: 5.5 },
      {
        Name: 'ModelApprovalStatus',
        Type: 'String',
        DefaultValue: 'PendingManualApproval',
        EnumValues: ['PendingManualApproval', 'Approved', 'Rejected'],
      },
    ]);
  });

  test('default to the latest training manifest of the data bucket, ml.t3.medium, ml.m4.xlarge, 6.0', () => {
    const byName = Object.fromEntries(synthesize().Parameters.map((p) => [p.Name, p.DefaultValue]));
    expect(byName).toMatchObject({
      InputManifestUri: expect.stringMatching(/^s3:\/\/ref-databucket[0-9a-f]{8}\/manifest\/training-manifest\.json$/),
      ProcessingInstanceType: 'ml.t3.medium',
      TrainingInstanceType: 'ml.m4.xlarge',
      MseThreshold: 6,
      SplitSeed: 42,
    });
  });

  test('MaeThreshold and R2Threshold exist only when those bounds are configured', () => {
    expect(synthesize().Parameters.map((p) => p.Name)).not.toEqual(expect.arrayContaining(['MaeThreshold']));
    expect(synthesize().Parameters.map((p) => p.Name)).not.toEqual(expect.arrayContaining(['R2Threshold']));
    const both = synthesize({ maxMae: 1.5, minR2: 0.4 }).Parameters;
    expect(both).toEqual(expect.arrayContaining([
      { Name: 'MaeThreshold', Type: 'Float', DefaultValue: 1.5 },
      { Name: 'R2Threshold', Type: 'Float', DefaultValue: 0.4 },
    ]));
  });

  test('every declared parameter is used by some step', () => {
    const definition = buildAbaloneTrainingDefinition(plainConfig({
      gate: { mseThreshold: 6, maxMae: 2, minR2: 0.5, modelPackageGroupName: 'G', modelApprovalStatus: 'Approved' },
    }));
    const used = new Set(references(definition).map((r) => r.get));
    for (const p of definition.Parameters) expect(used).toContain(`Parameters.${p.Name}`);
  });

  test('names are exported for local mode', () => {
    expect(Object.values(PARAMETER_NAMES)).toEqual([
      'InputManifestUri', 'ProcessingInstanceType', 'ProcessingInstanceCount', 'TrainingInstanceType', 'TrainingInstanceCount',
      'SplitSeed', 'MseThreshold', 'MaeThreshold', 'R2Threshold', 'ModelApprovalStatus',
    ]);
  });
});

describe('PreprocessData', () => {
  const definition = synthesize();
  const preprocess = step<ProcessingStep>(definition, 'PreprocessData');

  test('reads the manifest as a ManifestFile input with File mode and FullyReplicated set explicitly', () => {
    expect(preprocess.Arguments.ProcessingInputs[0]).toEqual({
      InputName: 'data',
      AppManaged: false,
      S3Input: {
        S3Uri: { Get: 'Parameters.InputManifestUri' },
        LocalPath: '/opt/ml/processing/input/data',
        S3DataType: 'ManifestFile',
        S3InputMode: 'File',
        S3DataDistributionType: 'FullyReplicated',
        S3CompressionType: 'None',
      },
    });
  });

  test('runs preprocess.py from the code input in the scikit-learn 1.2-1 image with the split seed parameter', () => {
    const { AppSpecification, ProcessingInputs } = preprocess.Arguments;
    expect(AppSpecification.ImageUri).toBe('683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3');
    const code = ProcessingInputs.find((i) => i.InputName === 'code')!;
    const inference = ProcessingInputs.find((i) => i.InputName === 'inference')!;
    const codeFile = String(code.S3Input.S3Uri).split('/').pop();
    const inferenceFile = String(inference.S3Input.S3Uri).split('/').pop();
    expect(code.S3Input.S3Uri).toMatch(/^s3:\/\/cdk-hnb659fds-assets-123456789012-us-east-1\/[0-9a-f]{64}\.py$/);
    expect(code.S3Input.LocalPath).toBe('/opt/ml/processing/input/code');
    expect(inference.S3Input.LocalPath).toBe('/opt/ml/processing/input/inference');
    expect(AppSpecification.ContainerEntrypoint).toEqual(['python3', `/opt/ml/processing/input/code/${codeFile}`]);
    expect(AppSpecification.ContainerArguments).toEqual([
      '--input-dir', '/opt/ml/processing/input/data',
      '--output-dir', '/opt/ml/processing',
      '--seed', { 'Std:Join': { On: '', Values: [{ Get: 'Parameters.SplitSeed' }] } },
      '--inference-script', `/opt/ml/processing/input/inference/${inferenceFile}`,
    ]);
  });

  test('writes train, validation, test, model and the training profile to per-execution prefixes of the artifact bucket', () => {
    const outputs = preprocess.Arguments.ProcessingOutputConfig.Outputs;
    expect(outputs.map((o) => [o.OutputName, o.S3Output.LocalPath]).slice(0, 5)).toEqual([
      ['train', '/opt/ml/processing/train'],
      ['validation', '/opt/ml/processing/validation'],
      ['test', '/opt/ml/processing/test'],
      ['model', '/opt/ml/processing/model'],
      [TRAINING_PROFILE.outputName, TRAINING_PROFILE.localPath],
    ]);
    expect(outputs[4].S3Output.S3Uri).toEqual({
      'Std:Join': {
        On: '/',
        Values: ['s3://ref-trainingartifactbucketc5e0e4f0/pipeline-executions', { Get: 'Execution.PipelineExecutionId' }, 'PreprocessData', 'profile'],
      },
    });
    expect(outputs[0].S3Output.S3Uri).toEqual({
      'Std:Join': {
        On: '/',
        Values: ['s3://ref-trainingartifactbucketc5e0e4f0/pipeline-executions', { Get: 'Execution.PipelineExecutionId' }, 'PreprocessData', 'train'],
      },
    });
  });

  test('uses the instance parameters and network isolation', () => {
    expect(preprocess.Arguments.ProcessingResources.ClusterConfig).toEqual({
      InstanceType: { Get: 'Parameters.ProcessingInstanceType' },
      InstanceCount: { Get: 'Parameters.ProcessingInstanceCount' },
      VolumeSizeInGB: 30,
    });
    expect(preprocess.Arguments.NetworkConfig).toEqual({ EnableNetworkIsolation: true });
  });
});

describe('the modules the scripts share', () => {
  const definition = synthesize();
  const jobs = [step<ProcessingStep>(definition, 'PreprocessData'), step<ProcessingStep>(definition, 'EvaluateModel')];

  test.each(jobs.map((j) => [j.Name, j]))('%s mounts their zip archive as its shared input and puts it on PYTHONPATH', (_, job) => {
    const shared = job.Arguments.ProcessingInputs.find((i) => i.InputName === 'shared')!;
    expect(shared.S3Input).toEqual({
      S3Uri: expect.stringMatching(/^s3:\/\/cdk-hnb659fds-assets-123456789012-us-east-1\/[0-9a-f]{64}\.zip$/),
      LocalPath: '/opt/ml/processing/input/shared',
      S3DataType: 'S3Prefix',
      S3InputMode: 'File',
      S3DataDistributionType: 'FullyReplicated',
      S3CompressionType: 'None',
    });
    // SageMaker names the downloaded object after its key's last segment.
    const archive = String(shared.S3Input.S3Uri).split('/').pop();
    expect(job.Arguments.Environment).toEqual({ PYTHONPATH: `/opt/ml/processing/input/shared/${archive}` });
  });

  test('both jobs mount the same archive, and the modules are the generated contract', () => {
    const uris = jobs.map((j) => j.Arguments.ProcessingInputs.find((i) => i.InputName === 'shared')!.S3Input.S3Uri);
    expect(new Set(uris).size).toBe(1);
    expect(SHARED_PYTHON_MODULES).toEqual(['abalone_contract.py']);
  });

  test('the inputs the jobs had are unchanged, and the shared input comes last', () => {
    expect(jobs.map((j) => j.Arguments.ProcessingInputs.map((i) => [i.InputName, i.S3Input.LocalPath]))).toEqual([
      [
        ['data', '/opt/ml/processing/input/data'], ['code', '/opt/ml/processing/input/code'],
        ['inference', '/opt/ml/processing/input/inference'], ['shared', '/opt/ml/processing/input/shared'],
      ],
      [
        ['model', '/opt/ml/processing/model'], ['test', '/opt/ml/processing/test'], ['code', '/opt/ml/processing/input/code'],
        ['shared', '/opt/ml/processing/input/shared'],
      ],
    ]);
  });
});

describe('TrainModel', () => {
  const train = step<TrainingStep>(synthesize({}, { xgboostMaxDepth: 7, xgboostNumRound: 80 }), 'TrainModel');

  test('runs the built-in XGBoost 1.7-1 with the props\' hyperparameters, rmse and early stopping', () => {
    expect(train.Arguments.AlgorithmSpecification).toEqual({
      TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      TrainingInputMode: 'File',
    });
    expect(train.Arguments.HyperParameters).toEqual({
      objective: 'reg:squarederror',
      eval_metric: 'rmse',
      num_round: '80',
      early_stopping_rounds: '10',
      max_depth: '7',
      eta: '0.2',
      gamma: '4',
      min_child_weight: '6',
      subsample: '0.7',
    });
  });

  test('reads train and validation as text/csv channels from the preprocessing outputs', () => {
    expect(train.Arguments.InputDataConfig).toEqual(['train', 'validation'].map((name) => ({
      ChannelName: name,
      ContentType: 'text/csv',
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: { Get: `Steps.PreprocessData.ProcessingOutputConfig.Outputs['${name}'].S3Output.S3Uri` },
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    })));
  });

  test('uses the training instance parameters', () => {
    expect(train.Arguments.ResourceConfig).toEqual({
      InstanceType: { Get: 'Parameters.TrainingInstanceType' },
      InstanceCount: { Get: 'Parameters.TrainingInstanceCount' },
      VolumeSizeInGB: 30,
    });
    expect(train.Arguments.EnableNetworkIsolation).toBe(true);
  });
});

describe('EvaluateModel', () => {
  const evaluate = step<ProcessingStep>(synthesize(), 'EvaluateModel');

  test('evaluates the trained model on the test split in the XGBoost image', () => {
    expect(evaluate.Arguments.AppSpecification.ImageUri).toBe('683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1');
    expect(evaluate.Arguments.AppSpecification.ContainerArguments).toEqual([
      '--model-dir', '/opt/ml/processing/model', '--test-dir', '/opt/ml/processing/test', '--output-dir', '/opt/ml/processing/evaluation',
    ]);
    expect(evaluate.Arguments.ProcessingInputs.slice(0, 2).map((i) => [i.S3Input.S3Uri, i.S3Input.LocalPath])).toEqual([
      [{ Get: 'Steps.TrainModel.ModelArtifacts.S3ModelArtifacts' }, '/opt/ml/processing/model'],
      [{ Get: 'Steps.PreprocessData.ProcessingOutputConfig.Outputs[\'test\'].S3Output.S3Uri' }, '/opt/ml/processing/test'],
    ]);
  });

  test('declares evaluation.json as the EvaluationReport property file of its evaluation output', () => {
    expect(evaluate.PropertyFiles).toEqual([{ PropertyFileName: 'EvaluationReport', OutputName: 'evaluation', FilePath: 'evaluation.json' }]);
    expect(evaluate.Arguments.ProcessingOutputConfig.Outputs.map((o) => o.S3Output.LocalPath)).toEqual(['/opt/ml/processing/evaluation']);
  });
});

describe('CheckQuality', () => {
  test('with only the MSE bound: MSE ≤ MseThreshold, else a Fail step naming MSE and threshold', () => {
    const definition = synthesize();
    const check = step<ConditionStep>(definition, 'CheckQuality');
    const mse = { 'Std:JsonGet': { PropertyFile: { Get: 'Steps.EvaluateModel.PropertyFiles.EvaluationReport' }, Path: 'regression_metrics.mse.value' } };
    expect(check.Arguments.Conditions).toEqual([{ Type: 'LessThanOrEqualTo', LeftValue: mse, RightValue: { Get: 'Parameters.MseThreshold' } }]);
    expect(check.Arguments.IfSteps.map((s) => s.Name)).toEqual(['RegisterModel']);
    expect(check.Arguments.ElseSteps.map((s) => s.Name)).toEqual(['FailQualityGate']);
    expect(step<FailStep>(definition, 'FailQualityGate').Arguments.ErrorMessage).toEqual({
      'Std:Join': { On: '', Values: ['Quality gate failed: MSE ', mse, ' > threshold ', { Get: 'Parameters.MseThreshold' }] },
    });
  });

  test('with MAE and R² bounds: all three conditions, and the message lists each metric with its bound', () => {
    const definition = synthesize({ maxMae: 1.5, minR2: 0.4 });
    const check = step<ConditionStep>(definition, 'CheckQuality');
    expect(check.Arguments.Conditions.map((c) => [c.Type, (c.LeftValue as any)['Std:JsonGet'].Path, c.RightValue])).toEqual([
      ['LessThanOrEqualTo', 'regression_metrics.mse.value', { Get: 'Parameters.MseThreshold' }],
      ['LessThanOrEqualTo', 'regression_metrics.mae.value', { Get: 'Parameters.MaeThreshold' }],
      ['GreaterThanOrEqualTo', 'regression_metrics.r2.value', { Get: 'Parameters.R2Threshold' }],
    ]);
    const message = step<FailStep>(definition, 'FailQualityGate').Arguments.ErrorMessage as any;
    const literal = message['Std:Join'].Values.filter((v: unknown) => typeof v === 'string').join('|');
    expect(literal).toBe('Quality gate failed (every bound must hold):| MSE | (max |)|, MAE | (max |)|, R2 | (min |)');
  });
});

describe('RegisterModel', () => {
  const register = step<RegisterModelStep>(synthesize(), 'RegisterModel');

  test('registers a PipelineModel: sklearn preprocessor archive, then the XGBoost artifacts, text/csv', () => {
    expect(register.Arguments.ModelPackageGroupName).toBe('AbaloneModelPackageGroup');
    expect(register.Arguments.InferenceSpecification).toEqual({
      Containers: [
        {
          Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3',
          ModelDataUrl: { 'Std:Join': { On: '/', Values: [{ Get: 'Steps.PreprocessData.ProcessingOutputConfig.Outputs[\'model\'].S3Output.S3Uri' }, 'model.tar.gz'] } },
          Environment: { SAGEMAKER_PROGRAM: 'inference.py', SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code', SAGEMAKER_CONTAINER_LOG_LEVEL: '20' },
        },
        {
          Image: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
          ModelDataUrl: { Get: 'Steps.TrainModel.ModelArtifacts.S3ModelArtifacts' },
          Environment: {},
        },
      ],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    });
  });

  test('attaches evaluation.json as model-quality metrics and records the manifest and execution', () => {
    expect(register.Arguments.ModelMetrics).toEqual({
      ModelQuality: {
        Statistics: {
          ContentType: 'application/json',
          S3Uri: { 'Std:Join': { On: '/', Values: [{ Get: 'Steps.EvaluateModel.ProcessingOutputConfig.Outputs[\'evaluation\'].S3Output.S3Uri' }, 'evaluation.json'] } },
        },
      },
    });
    expect(register.Arguments.CustomerMetadataProperties).toMatchObject({
      InputManifestUri: { Get: 'Parameters.InputManifestUri' },
      SplitSeed: { 'Std:Join': { On: '', Values: [{ Get: 'Parameters.SplitSeed' }] } },
      PipelineExecutionArn: { Get: 'Execution.PipelineExecutionArn' },
      [TRAINING_PROFILE.metadataKey]: {
        'Std:Join': { On: '/', Values: [{ Get: 'Steps.PreprocessData.ProcessingOutputConfig.Outputs[\'profile\'].S3Output.S3Uri' }, 'training-profile.json'] },
      },
    });
    expect(register.Arguments.ModelApprovalStatus).toEqual({ Get: 'Parameters.ModelApprovalStatus' });
  });
});

describe('encryption key', () => {
  test('encrypts job volumes and outputs when given, and is absent otherwise', () => {
    const stack = new Stack(new App(), 'Test');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack), encryptionKey: key });
    const definition = synthesizedDefinition(Template.fromStack(stack));
    const keyArn = 'arn:aws:iam::123456789012:role/Key961B73FD'; // the placeholder for the key's GetAtt Arn
    const preprocess = step<ProcessingStep>(definition, 'PreprocessData');
    const train = step<TrainingStep>(definition, 'TrainModel');
    expect(preprocess.Arguments.ProcessingResources.ClusterConfig.VolumeKmsKeyId).toBe(keyArn);
    expect(preprocess.Arguments.ProcessingOutputConfig.KmsKeyId).toBe(keyArn);
    expect(train.Arguments.OutputDataConfig.KmsKeyId).toBe(keyArn);
    expect(train.Arguments.ResourceConfig.VolumeKmsKeyId).toBe(keyArn);
    expect(JSON.stringify(synthesize())).not.toMatch(/KmsKeyId/);
  });
});

describe('findDefinitionProblems', () => {
  const good = () => JSON.parse(JSON.stringify(buildAbaloneTrainingDefinition(plainConfig()))) as any;

  test('reports a reference to a step that does not exist', () => {
    const d = good();
    d.Steps[1].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri = { Get: 'Steps.Nope.ProcessingOutputConfig.Outputs[\'train\'].S3Output.S3Uri' };
    expect(findDefinitionProblems(d)).toEqual([expect.stringContaining('refers to a step that does not exist')]);
  });

  test('reports a reference to an output the step does not declare', () => {
    const d = good();
    d.Steps[1].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3Uri = { Get: 'Steps.PreprocessData.ProcessingOutputConfig.Outputs[\'nope\'].S3Output.S3Uri' };
    expect(findDefinitionProblems(d)).toEqual([expect.stringContaining('refers to an output PreprocessData does not declare')]);
  });

  test('reports an undeclared parameter, a parameter with an underscore and a property file on a missing output', () => {
    const d = good();
    d.Steps[0].Arguments.ProcessingResources.ClusterConfig.InstanceType = { Get: 'Parameters.Missing' };
    d.Parameters.push({ Name: 'Split_Seed', Type: 'Integer', DefaultValue: 1 });
    d.Steps[2].PropertyFiles[0].OutputName = 'nope';
    expect(findDefinitionProblems(d)).toEqual(expect.arrayContaining([
      expect.stringContaining('undeclared parameter'),
      expect.stringContaining('"Split_Seed" must be letters, digits and hyphens'),
      expect.stringContaining('property file EvaluationReport names output nope'),
    ]));
  });

  test('reports model artifacts of a step that is not a training step, duplicate names and cycles', () => {
    const d = good();
    d.Steps[2].Arguments.ProcessingInputs[0].S3Input.S3Uri = { Get: 'Steps.PreprocessData.ModelArtifacts.S3ModelArtifacts' };
    d.Steps[0].Arguments.ProcessingInputs[1].S3Input.S3Uri = { Get: 'Steps.TrainModel.ModelArtifacts.S3ModelArtifacts' };
    d.Steps[3].Arguments.ElseSteps[0].Name = 'RegisterModel';
    expect(findDefinitionProblems(d)).toEqual(expect.arrayContaining([
      expect.stringContaining('only training steps have model artifacts'),
      expect.stringContaining('step name RegisterModel is used more than once'),
      expect.stringContaining('cycle'),
    ]));
  });
});

describe('evaluation.json paths', () => {
  // Runs the real ml/evaluate.py on a tiny model saved the way the XGBoost 1.7-1 container saves it.
  const report = (() => {
    requirePythonWithXgboost();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluate-'));
    const prepare = `
import io, os, sys, tarfile
import numpy as np, xgboost as xgb
root = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(60, 10)); y = 3 * x[:, 0] + rng.normal(scale=0.1, size=60) + 10
booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(x, label=y), num_boost_round=5)
os.makedirs(os.path.join(root, "model")); os.makedirs(os.path.join(root, "test"))
booster.save_model(os.path.join(root, "xgboost-model"))
with tarfile.open(os.path.join(root, "model", "model.tar.gz"), "w:gz") as tar:
    tar.add(os.path.join(root, "xgboost-model"), arcname="xgboost-model")
np.savetxt(os.path.join(root, "test", "test.csv"), np.column_stack([y, x])[:20], delimiter=",")
`;
    const run = (args: string[]) => {
      const result = spawnSync(PYTHON, args, { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
    };
    run(['-c', prepare, dir]);
    const evaluate = path.resolve(__dirname, '..', '..', 'ml', 'evaluate.py');
    run([evaluate, '--model-dir', path.join(dir, 'model'), '--test-dir', path.join(dir, 'test'), '--output-dir', path.join(dir, 'evaluation')]);
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'evaluation', 'evaluation.json'), 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    return written;
  })();

  const lookup = (p: string) => p.split('.').reduce((o: any, k) => (o === undefined ? undefined : o[k]), report);

  test('every Std:JsonGet path in the definition reads a number from what evaluate.py writes', () => {
    const definition = synthesize({ maxMae: 2, minR2: 0 });
    const paths = [...JSON.stringify(definition).matchAll(/"Std:JsonGet":\{"PropertyFile":\{"Get":"([^"]+)"\},"Path":"([^"]+)"\}/g)]
      .map(([, file, p]) => { expect(file).toBe('Steps.EvaluateModel.PropertyFiles.EvaluationReport'); return p; });
    expect(new Set(paths)).toEqual(new Set(Object.values(EVALUATION_METRIC_PATHS)));
    for (const p of paths) expect(typeof lookup(p)).toBe('number');
  });

  test('the report is the model-quality shape: mse value and standard deviation, mae, r2', () => {
    expect(report).toEqual({
      regression_metrics: {
        mse: { value: expect.any(Number), standard_deviation: expect.any(Number) },
        mae: { value: expect.any(Number) },
        r2: { value: expect.any(Number) },
      },
    });
  });
});

describe('abaloneTrainingSpec: the one mapping from settings to the builder', () => {
  const {
    preprocessScript, evaluateScript, inferenceScript, sharedModules, roleArn, artifactS3Uri, sklearnImageUri, xgboostImageUri,
  } = plainConfig();
  const locations = { preprocessScript, evaluateScript, inferenceScript, sharedModules, roleArn, artifactS3Uri, sklearnImageUri, xgboostImageUri };

  test('unset settings, and settings given as undefined, keep the builder\'s defaults', () => {
    const spec = abaloneTrainingSpec({ xgboostMaxDepth: 3, xgboostEta: undefined, trainingInstanceType: undefined }, locations);
    expect(spec.hyperparameters).toEqual({ maxDepth: 3 });
    expect(spec).not.toHaveProperty('trainingInstanceType');
    const definition = buildAbaloneTrainingDefinition(spec);
    const training = definition.Steps.find((s) => s.Type === 'Training') as any;
    expect(training.Arguments.HyperParameters).toMatchObject({ max_depth: '3', eta: '0.2', num_round: '50' });
    expect(definition.Parameters.find((p) => p.Name === 'TrainingInstanceType')?.DefaultValue).toBe('ml.m4.xlarge');
    expect(spec.gate).toEqual({ mseThreshold: 6, modelPackageGroupName: 'AbaloneModelPackageGroup', modelApprovalStatus: 'PendingManualApproval' });
  });

  test('the construct and local mode build the same steps and parameters from the same settings', () => {
    const stack = new Stack(new App(), 'Spec');
    new TrainingPipeline(stack, 'Training', { ...pipelineInputs(stack, { mseThreshold: 5.5, maxMae: 1.8 }), xgboostNumRound: 80 });
    const synthesized = synthesizedDefinition(Template.fromStack(stack));
    const local = buildAbaloneTrainingDefinition(abaloneTrainingSpec({ mseThreshold: 5.5, maxMae: 1.8, xgboostNumRound: 80 }, locations));
    expect(synthesized.Parameters.filter((p) => p.Name !== 'InputManifestUri')).toEqual(local.Parameters.filter((p) => p.Name !== 'InputManifestUri'));
    const hyperparameters = (d: typeof local) => (d.Steps.find((s) => s.Type === 'Training') as any).Arguments.HyperParameters;
    expect(hyperparameters(synthesized)).toEqual(hyperparameters(local));
    expect(synthesized.Steps.map((s) => s.Name)).toEqual(local.Steps.map((s) => s.Name));
  });
});

describe('tuning', () => {
  const definition = synthesize({}, { tuning: {} });
  const tune = step<TuningStep>(definition, 'TuneModel');
  const config = tune.Arguments.HyperParameterTuningJobConfig;
  const evaluate = step<ProcessingStep>(definition, 'EvaluateModel');
  const register = step<RegisterModelStep>(definition, 'RegisterModel');
  const bestModel = {
    'Std:Join': {
      On: '/',
      Values: [
        's3://ref-trainingartifactbucketc5e0e4f0/pipeline-executions', { Get: 'Execution.PipelineExecutionId' }, 'TuneModel',
        { Get: 'Steps.TuneModel.BestTrainingJob.TrainingJobName' }, 'output', 'model.tar.gz',
      ],
    },
  };

  test('is valid against the schema, and every reference resolves', () => {
    expect(validateSchema(definition) ? [] : validateSchema.errors).toEqual([]);
    expect(findDefinitionProblems(definition)).toEqual([]);
    expect(dangling(definition)).toEqual([]);
    expect(executionOrder(definition)).toEqual(['PreprocessData', 'TuneModel', 'EvaluateModel', 'CheckQuality', 'RegisterModel', 'FailQualityGate']);
  });

  test('replaces TrainModel: Bayesian, 20 jobs 2 at a time, validation:rmse minimised, training jobs stopped early', () => {
    expect(allSteps(definition).map((s) => s.Name)).not.toContain('TrainModel');
    expect(config.Strategy).toBe('Bayesian');
    expect(config.ResourceLimits).toEqual({ MaxNumberOfTrainingJobs: 20, MaxParallelTrainingJobs: 2 });
    expect(config.HyperParameterTuningJobObjective).toEqual({ Type: 'Minimize', MetricName: 'validation:rmse' });
    expect(config.TrainingJobEarlyStoppingType).toBe('Auto');
  });

  test('tunes eta on a log scale, depth, child weight, subsample and gamma; rounds are a bound with early stopping', () => {
    expect(config.ParameterRanges).toEqual({
      ContinuousParameterRanges: [
        { Name: 'eta', MinValue: '0.01', MaxValue: '0.1', ScalingType: 'Logarithmic' },
        { Name: 'min_child_weight', MinValue: '2', MaxValue: '30', ScalingType: 'Logarithmic' },
        { Name: 'subsample', MinValue: '0.5', MaxValue: '0.9', ScalingType: 'Linear' },
        { Name: 'gamma', MinValue: '0', MaxValue: '5', ScalingType: 'Linear' },
      ],
      IntegerParameterRanges: [{ Name: 'max_depth', MinValue: '2', MaxValue: '6', ScalingType: 'Linear' }],
      CategoricalParameterRanges: [],
    });
    expect(tune.Arguments.TrainingJobDefinition.StaticHyperParameters).toEqual({
      objective: 'reg:squarederror', eval_metric: 'rmse', num_round: '1000', early_stopping_rounds: '20',
    });
  });

  test('the training jobs are TrainModel\'s: same image, channels, resources, role and isolation', () => {
    const untuned = step<TrainingStep>(synthesize(), 'TrainModel').Arguments;
    const { StaticHyperParameters, OutputDataConfig, ...job } = tune.Arguments.TrainingJobDefinition;
    const { HyperParameters, OutputDataConfig: untunedOutput, ...untunedJob } = untuned;
    expect(job).toEqual(untunedJob);
    expect(JSON.stringify(OutputDataConfig)).toBe(JSON.stringify(untunedOutput).replace('TrainModel', 'TuneModel'));
  });

  test('the best training job\'s model is evaluated and registered', () => {
    const modelInput = evaluate.Arguments.ProcessingInputs.find((i) => i.InputName === 'model')!;
    expect(modelInput.S3Input.S3Uri).toEqual(bestModel);
    expect(register.Arguments.InferenceSpecification.Containers[1].ModelDataUrl).toEqual(bestModel);
  });

  test('the model package records the tuning job, the best job, its objective and its tuned values', () => {
    const metadata = register.Arguments.CustomerMetadataProperties;
    expect(metadata).toMatchObject({
      'TuningJobName': { Get: 'Steps.TuneModel.HyperParameterTuningJobName' },
      'BestTrainingJobName': { Get: 'Steps.TuneModel.BestTrainingJob.TrainingJobName' },
      'BestTrainingJobObjective': { 'Std:Join': { On: '', Values: [{ Get: 'Steps.TuneModel.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value' }] } },
      'TunedHyperparameter.eta': { Get: 'Steps.TuneModel.BestTrainingJob.TunedHyperParameters[\'eta\']' },
      'TunedHyperparameter.max_depth': { Get: 'Steps.TuneModel.BestTrainingJob.TunedHyperParameters[\'max_depth\']' },
    });
    expect(Object.keys(metadata).filter((k) => k.startsWith('TunedHyperparameter.')).sort()).toEqual(
      ['eta', 'gamma', 'max_depth', 'min_child_weight', 'subsample'].map((n) => `TunedHyperparameter.${n}`));
  });

  test('custom settings: Random, alpha and lambda, other bounds and limits', () => {
    const d = buildAbaloneTrainingDefinition(plainConfig({
      tuning: { strategy: 'Random', maxJobs: 8, maxParallelJobs: 4, alpha: { minValue: 0.01, maxValue: 10, scaling: 'Logarithmic' }, lambda: { minValue: 0, maxValue: 5 }, numRound: 300, earlyStoppingRounds: 5, earlyStopTrainingJobs: false },
    }));
    const t = step<TuningStep>(d, 'TuneModel').Arguments;
    expect(t.HyperParameterTuningJobConfig.Strategy).toBe('Random');
    expect(t.HyperParameterTuningJobConfig.ResourceLimits).toEqual({ MaxNumberOfTrainingJobs: 8, MaxParallelTrainingJobs: 4 });
    expect(t.HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType).toBe('Off');
    expect(t.HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges.slice(-2)).toEqual([
      { Name: 'alpha', MinValue: '0.01', MaxValue: '10', ScalingType: 'Logarithmic' },
      { Name: 'lambda', MinValue: '0', MaxValue: '5', ScalingType: 'Auto' },
    ]);
    expect(t.TrainingJobDefinition.StaticHyperParameters).toMatchObject({ num_round: '300', early_stopping_rounds: '5' });
    expect(validateSchema(d) ? [] : validateSchema.errors).toEqual([]);
    expect(findDefinitionProblems(d)).toEqual([]);
  });

  test.each([
    [{ strategy: 'Grid' }, 'tuning.strategy is "Grid"; it must be one of Bayesian, Random'],
    [{ maxJobs: 4, maxParallelJobs: 5 }, 'tuning.maxParallelJobs is 5; it must be an integer from 1 to 4'],
    [{ eta: { minValue: 0.3, maxValue: 0.1 } }, 'tuning.eta: minValue 0.3 must be below maxValue 0.1'],
    [{ eta: { minValue: 0.1, maxValue: 1.5 } }, 'tuning.eta.maxValue is 1.5; eta must be in [0, 1]'],
    [{ subsample: { minValue: 0, maxValue: 1 } }, 'tuning.subsample.minValue is 0; subsample must be in (0, 1]'],
    [{ maxDepth: { minValue: 1.5, maxValue: 4 } }, 'tuning.maxDepth.minValue is 1.5; max_depth must be an integer in [0, +inf)'],
    [{ maxDepth: { minValue: 1, maxValue: 4, scaling: 'ReverseLogarithmic' } }, 'tuning.maxDepth: ReverseLogarithmic scaling is for continuous ranges'],
    [{ gamma: { minValue: 0, maxValue: 4, scaling: 'Logarithmic' } }, 'tuning.gamma: Logarithmic scaling needs minValue above 0'],
    [{ gamma: { minValue: 0, maxValue: 4, scaling: 'Cubic' } }, 'tuning.gamma.scaling is "Cubic"'],
    [{ numRound: 10, earlyStoppingRounds: 10 }, 'tuning.earlyStoppingRounds is 10; it must be an integer from 1 to 9'],
  ])('bad settings %j fail naming the field', (tuning, message) => {
    expect(() => buildAbaloneTrainingDefinition(plainConfig({ tuning }))).toThrow(message);
  });

  test('the checker rejects tuning properties of other steps and of hyperparameters not tuned', () => {
    const d = JSON.parse(JSON.stringify(definition));
    const reg = allSteps(d).find((s) => s.Name === 'RegisterModel') as any;
    reg.Arguments.CustomerMetadataProperties.X = { Get: 'Steps.TuneModel.BestTrainingJob.TunedHyperParameters[\'alpha\']' };
    reg.Arguments.CustomerMetadataProperties.Y = { Get: 'Steps.PreprocessData.BestTrainingJob.TrainingJobName' };
    reg.Arguments.CustomerMetadataProperties.Z = { Get: 'Steps.TuneModel.TrainingJobSummaries[20].TrainingJobName' };
    expect(findDefinitionProblems(d)).toEqual([
      'RegisterModel: Steps.TuneModel.BestTrainingJob.TunedHyperParameters[\'alpha\']: TuneModel does not tune alpha',
      'RegisterModel: Steps.PreprocessData.BestTrainingJob.TrainingJobName: only tuning steps have this property',
      'RegisterModel: Steps.TuneModel.TrainingJobSummaries[20].TrainingJobName: TuneModel lists at most 20 training jobs',
    ]);
  });
});
