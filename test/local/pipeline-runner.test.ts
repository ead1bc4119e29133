/**
 * Local mode runs a job step only on an image whose container contract it reproduces, and says which otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLocalExecutor, finalMetricValue, LocalPipelineRunner, parseImageUri } from '../../src/local/pipeline-runner';
import { LocalModelRegistry } from '../../src/local/registry';
import { buildAbaloneTrainingDefinition, PipelineDefinition, ProcessingStep, TrainingStep } from '../../src/training-pipeline/definition';
import { PYTHON, plainConfig } from '../training-pipeline/support';

const PYTORCH = '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.0-cpu-py310';

function step<T extends PipelineDefinition['Steps'][number]>(definition: PipelineDefinition, type: T['Type']): T {
  return definition.Steps.find((s) => s.Type === type) as T;
}

describe('local executors by step type and image', () => {
  test('parses registry/repository:tag image URIs', () => {
    expect(parseImageUri('683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1')).toEqual({ repository: 'sagemaker-xgboost', tag: '1.7-1' });
    expect(parseImageUri('local/sagemaker-scikit-learn:1.2-1-cpu-py3')).toEqual({ repository: 'sagemaker-scikit-learn', tag: '1.2-1-cpu-py3' });
    expect(parseImageUri('no tag')).toBeUndefined();
  });

  test('the abalone definition\'s job steps all have an executor', () => {
    const definition = buildAbaloneTrainingDefinition(plainConfig());
    const jobs = definition.Steps.filter((s): s is ProcessingStep | TrainingStep => s.Type === 'Processing' || s.Type === 'Training');
    expect(jobs.map((s) => s.Type).sort()).toEqual(['Processing', 'Processing', 'Training']);
    for (const job of jobs) expect(() => checkLocalExecutor(job)).not.toThrow();
  });

  test('a training step on another image is refused, naming the image and what local mode runs', () => {
    const training = step<TrainingStep>(buildAbaloneTrainingDefinition(plainConfig({ xgboostImageUri: PYTORCH })), 'Training');
    expect(() => checkLocalExecutor(training)).toThrow(
      `local mode cannot run training image ${PYTORCH}: it runs sagemaker-xgboost:1.7-1 (the built-in XGBoost algorithm's local stand-in)`);
  });

  test('another XGBoost version is refused too: the stand-in follows the 1.7-1 contract', () => {
    const training = step<TrainingStep>(buildAbaloneTrainingDefinition(plainConfig({ xgboostImageUri: 'local/sagemaker-xgboost:1.5-1' })), 'Training');
    expect(() => checkLocalExecutor(training)).toThrow(/cannot run training image local\/sagemaker-xgboost:1.5-1/);
  });

  test('a processing job gets the step\'s Environment, container paths mapped into its sandbox, PYTHONPATH before this machine\'s', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-environment-'));
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = '/somewhere/site-packages';
    try {
      const definition = {
        Version: '2020-12-01',
        Metadata: {},
        Parameters: [],
        Steps: [{
          Name: 'ShowEnvironment',
          Type: 'Processing',
          Arguments: {
            ProcessingResources: { ClusterConfig: { InstanceType: 'ml.t3.medium', InstanceCount: 1, VolumeSizeInGB: 30 } },
            AppSpecification: {
              ImageUri: 'local/sagemaker-scikit-learn:1.2-1-cpu-py3',
              ContainerEntrypoint: ['python3', '-c', 'import json, os, sys; json.dump({k: os.environ[k] for k in ("PYTHONPATH", "MODE")}, open(sys.argv[1], "w"))'],
              ContainerArguments: ['/opt/ml/processing/out/environment.json'],
            },
            Environment: { PYTHONPATH: '/opt/ml/processing/input/shared/modules.zip', MODE: 'test' },
            RoleArn: 'local',
            ProcessingInputs: [],
            ProcessingOutputConfig: {
              Outputs: [{ OutputName: 'out', AppManaged: false, S3Output: { S3Uri: 'local://artifacts/out', LocalPath: '/opt/ml/processing/out', S3UploadMode: 'EndOfJob' } }],
            },
            NetworkConfig: { EnableNetworkIsolation: true },
            StoppingCondition: { MaxRuntimeInSeconds: 60 },
          },
        }],
      } as PipelineDefinition;
      const runner = new LocalPipelineRunner(definition, {
        roots: { artifacts: path.join(work, 'artifacts') },
        workDir: work,
        python: PYTHON,
        xgboostTrainScript: '/nonexistent/train.py',
        registry: new LocalModelRegistry(path.join(work, 'registry')),
        executionId: 'test',
      });
      expect((await runner.run()).status).toBe('Succeeded');
      expect(JSON.parse(fs.readFileSync(path.join(work, 'artifacts', 'out', 'environment.json'), 'utf8'))).toEqual({
        PYTHONPATH: `${path.join(work, 'jobs', 'ShowEnvironment', 'input', 'shared', 'modules.zip')}:/somewhere/site-packages`,
        MODE: 'test',
      });
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test('a run whose processing image has no executor fails that step before running anything', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-executors-'));
    try {
      const definition = buildAbaloneTrainingDefinition(plainConfig({ sklearnImageUri: PYTORCH, inputManifestUri: 'local://data/manifest.json' }));
      const runner = new LocalPipelineRunner(definition, {
        roots: { data: path.join(work, 'data') },
        workDir: work,
        python: '/nonexistent/python',
        xgboostTrainScript: '/nonexistent/train.py',
        registry: new LocalModelRegistry(path.join(work, 'registry')),
        executionId: 'test',
      });
      const result = await runner.run();
      expect(result.status).toBe('Failed');
      expect(result.failureReason).toBe(`PreprocessData: local mode cannot run processing image ${PYTORCH}: it runs `
        + 'sagemaker-scikit-learn:1.2-1-cpu-py3, sagemaker-xgboost:1.7-1 (the Python entrypoint with the local interpreter)');
      expect(result.steps.map((s) => [s.step, s.status])).toEqual([['PreprocessData', 'Failed']]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('finalMetricValue', () => {
  const regex = '.*\\[[0-9]+\\].*#011validation-rmse:(\\S+)';

  test('reads the last value of the metric the way SageMaker reads the log (a tab recorded as #011)', () => {
    const log = ['Train matrix has 10 rows and 3 columns', '[0]\ttrain-rmse:3.1\tvalidation-rmse:3.5', '[1]\ttrain-rmse:2.0\tvalidation-rmse:2.75', 'saved'].join('\n');
    expect(finalMetricValue(log, regex)).toBe(2.75);
  });

  test('finds nothing in a log without the metric, or with it separated by spaces rather than a tab', () => {
    expect(finalMetricValue('[0]\ttrain-rmse:3.1\n', regex)).toBeUndefined();
    expect(finalMetricValue('[0] validation-rmse:3.1\n', regex)).toBeUndefined();
  });
});
