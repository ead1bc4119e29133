/**
 * Runs a SageMaker pipeline definition on this machine: the same steps, scripts, parameters and condition the
 * cloud runs, with local folders in place of S3 and of the containers' `/opt/ml/...` paths.
 *
 * URIs in the definition use the `local://<root>/<path>` scheme; {@link LocalRunContext.roots} maps each root to
 * a folder. Each job step goes to the local executor of its type and image ({@link LOCAL_EXECUTORS}): processing
 * steps on the scikit-learn or XGBoost image run their Python entrypoint with the configured interpreter and the
 * step's `Environment` (its container paths mapped like the inputs, so `PYTHONPATH` names the mounted archive), a
 * training step on the built-in XGBoost 1.7-1 image runs its local stand-in (`ml/local_xgboost_train.py`), and
 * any other image fails the step naming it. RegisterModel writes to a {@link LocalModelRegistry}.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { LocalModelRegistry, RegisteredModel } from './registry';
import {
  Comparison, ConditionStep, Expression, FailStep, PipelineDefinition, PipelineStep, ProcessingStep, RegisterModelStep,
  TrainingStep, TuningStep, xgboostMetricRegex,
} from '../training-pipeline/definition';
import { BuiltInImage, SKLEARN_IMAGE, XGBOOST_IMAGE } from '../training-pipeline/definition/images';

/** Where things are and how to run them. */
export interface LocalRunContext {
  /** `local://<root>/…` → folder. */
  readonly roots: Record<string, string>;
  /** Working folder of this run: job sandboxes live under it. */
  readonly workDir: string;
  /** Python interpreter with scikit-learn 1.2, xgboost 1.7 and pandas 1.5. */
  readonly python: string;
  /** The local stand-in for the built-in XGBoost algorithm. */
  readonly xgboostTrainScript: string;
  readonly registry: LocalModelRegistry;
  readonly executionId: string;
  /** Values for the definition's parameters; the others take their defaults. */
  readonly parameters?: Record<string, string | number>;
  /** Called as steps start and end. */
  readonly onProgress?: (event: StepEvent) => void;
  /**
   * Proposes the hyperparameters of tuning trials (`ml/local_tuner.py`); needed only by definitions with a Tuning step.
   */
  readonly tunerScript?: string;
  /** Seed of the tuning strategies. @default 0 */
  readonly tuningSeed?: number;
  /** Most trials at once, below the step's MaxParallelTrainingJobs. @default the number of cores */
  readonly maxParallelTrials?: number;
  /** Called as tuning trials end. */
  readonly onTrial?: (trial: TrialRecord) => void;
}

/** One training job of a Tuning step. */
export interface TrialRecord {
  readonly step: string;
  /** 1-based, in the order the trials started. */
  readonly number: number;
  readonly trainingJobName: string;
  readonly status: 'Completed' | 'Failed';
  /** The tuned values, as the job received them. */
  readonly hyperparameters: Record<string, string>;
  /** The objective metric's last value in the job's log. */
  readonly objective?: number;
  readonly durationMs: number;
  readonly failureReason?: string;
}

/** Progress of one step. */
export interface StepEvent {
  readonly step: string;
  readonly type: PipelineStep['Type'];
  readonly status: 'Executing' | 'Succeeded' | 'Failed';
  readonly durationMs?: number;
  readonly message?: string;
}

/** How a run ended. */
export interface LocalRunResult {
  readonly status: 'Succeeded' | 'Failed';
  readonly steps: StepEvent[];
  /** The Fail step's message, or the failing job's error. */
  readonly failureReason?: string;
  /** Values the run's condition steps compared, by step: `{ CheckQuality: [{ left, right, type, holds }] }`. */
  readonly conditions: Record<string, ConditionOutcome[]>;
  /** Property files read during the run, by `<step>.<file>`. */
  readonly propertyFiles: Record<string, unknown>;
  readonly registeredModel?: RegisteredModel;
  /** The training jobs of the run's Tuning steps, by step, in the order they started. */
  readonly trials: Record<string, TrialRecord[]>;
}

/** One evaluated comparison of a condition step. */
export interface ConditionOutcome {
  readonly type: Comparison['Type'];
  readonly left: unknown;
  readonly right: unknown;
  readonly holds: boolean;
}

/** A step failed: its job exited non-zero, or a Fail step ran. */
export class StepFailedError extends Error {
  constructor(readonly step: string, message: string) {
    super(message);
    this.name = 'StepFailedError';
  }
}

type StepProperties = Record<string, unknown>;

/** The job step types that run a container, and how this machine runs each. */
type JobStep = ProcessingStep | TrainingStep | TuningStep;

/** What local mode can run, by step type: the images whose container contract it reproduces. */
export const LOCAL_EXECUTORS: Readonly<Record<JobStep['Type'], { readonly images: readonly BuiltInImage[]; readonly how: string }>> = {
  Processing: { images: [SKLEARN_IMAGE, XGBOOST_IMAGE], how: 'the Python entrypoint with the local interpreter' },
  Training: { images: [XGBOOST_IMAGE], how: 'the built-in XGBoost algorithm\'s local stand-in' },
  Tuning: { images: [XGBOOST_IMAGE], how: 'trials of the built-in XGBoost algorithm\'s local stand-in' },
};

/** `<registry>/<repository>:<tag>` → repository and tag (the registry differs by Region, and is `local` here). */
export function parseImageUri(uri: string): { repository: string; tag: string } | undefined {
  const match = /^(?:[^/]+\/)?([a-z0-9][a-z0-9._/-]*):([A-Za-z0-9._-]+)$/.exec(uri);
  return match ? { repository: match[1], tag: match[2] } : undefined;
}

/** Throws unless local mode has an executor for this step's type and image. */
export function checkLocalExecutor(step: JobStep): void {
  const uri = step.Type === 'Processing' ? step.Arguments.AppSpecification.ImageUri
    : step.Type === 'Training' ? step.Arguments.AlgorithmSpecification.TrainingImage
      : step.Arguments.TrainingJobDefinition.AlgorithmSpecification.TrainingImage;
  const image = parseImageUri(uri);
  const supported = LOCAL_EXECUTORS[step.Type].images;
  if (!image || !supported.some((s) => s.repository === image.repository && s.tag === image.tag)) {
    const names = supported.map((s) => `${s.repository}:${s.tag}`).join(', ');
    throw new Error(`local mode cannot run ${step.Type.toLowerCase()} image ${uri}: it runs ${names} (${LOCAL_EXECUTORS[step.Type].how})`);
  }
}

/** Executes a pipeline definition step by step (steps run in definition order, as their data dependencies allow). */
export class LocalPipelineRunner {
  private readonly parameters: Record<string, string | number | boolean>;
  private readonly properties: Record<string, StepProperties> = {};
  private readonly events: StepEvent[] = [];
  private readonly conditions: Record<string, ConditionOutcome[]> = {};
  private readonly propertyFiles: Record<string, unknown> = {};
  private readonly trials: Record<string, TrialRecord[]> = {};
  private registeredModel?: RegisteredModel;

  constructor(private readonly definition: PipelineDefinition, private readonly context: LocalRunContext) {
    this.parameters = resolveParameters(definition, context.parameters ?? {});
  }

  /** Runs every step; never throws for a failing step (the result says so), only for misuse. */
  public async run(): Promise<LocalRunResult> {
    try {
      for (const step of this.definition.Steps) {
        await this.runStep(step);
      }
      return this.result('Succeeded');
    } catch (e) {
      if (e instanceof StepFailedError) return this.result('Failed', e.message);
      throw e;
    }
  }

  private result(status: LocalRunResult['status'], failureReason?: string): LocalRunResult {
    return {
      status,
      steps: this.events.filter((e) => e.status !== 'Executing'),
      failureReason,
      conditions: this.conditions,
      propertyFiles: this.propertyFiles,
      registeredModel: this.registeredModel,
      trials: this.trials,
    };
  }

  private async runStep(step: PipelineStep): Promise<void> {
    const started = Date.now();
    this.emit({ step: step.Name, type: step.Type, status: 'Executing' });
    try {
      switch (step.Type) {
        case 'Processing': checkLocalExecutor(step); await this.runProcessing(step); break;
        case 'Training': checkLocalExecutor(step); await this.runTraining(step); break;
        case 'Tuning': checkLocalExecutor(step); await this.runTuning(step); break;
        case 'Condition': await this.runCondition(step, started); return;
        case 'RegisterModel': this.runRegister(step); break;
        case 'Fail': this.runFail(step); break;
      }
      this.emit({ step: step.Name, type: step.Type, status: 'Succeeded', durationMs: Date.now() - started });
    } catch (e) {
      // A step of a condition's branch failed: that step has reported it, the condition itself succeeded.
      if (e instanceof StepFailedError && e.step !== step.Name) throw e;
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ step: step.Name, type: step.Type, status: 'Failed', durationMs: Date.now() - started, message });
      throw e instanceof StepFailedError ? e : new StepFailedError(step.Name, `${step.Name}: ${message}`);
    }
  }

  private emit(event: StepEvent): void {
    this.events.push(event);
    this.context.onProgress?.(event);
  }

  // ---------------------------------------------------------------- steps

  private async runProcessing(step: ProcessingStep): Promise<void> {
    const args = step.Arguments;
    const sandbox = this.sandbox(step.Name);
    const containerRoot = '/opt/ml/processing';
    const inSandbox = (containerPath: string) => mapContainerPath(containerPath, containerRoot, sandbox);

    for (const input of args.ProcessingInputs) {
      const target = inSandbox(input.S3Input.LocalPath);
      const source = this.resolveString(input.S3Input.S3Uri);
      if (input.S3Input.S3DataType === 'ManifestFile') {
        this.materializeManifest(source, target);
      } else {
        copyInto(this.toLocalPath(source), target);
      }
    }
    for (const output of args.ProcessingOutputConfig.Outputs) {
      fs.mkdirSync(inSandbox(output.S3Output.LocalPath), { recursive: true });
    }

    const [program, ...entryArgs] = args.AppSpecification.ContainerEntrypoint;
    const command = program === 'python3' || program === 'python' ? this.context.python : program;
    const commandArgs = [...entryArgs, ...(args.AppSpecification.ContainerArguments ?? []).map((a) => this.resolveString(a))]
      .map((a) => (a.startsWith(containerRoot) ? inSandbox(a) : a));
    // The job's environment, its container paths (alone or in a ':'-separated list, such as PYTHONPATH) naming the
    // sandbox's folders. It replaces variables of the same name, except that PYTHONPATH keeps this machine's own
    // entries after the job's: the local interpreter may need them to find its packages, as an image needs none.
    const environment = Object.fromEntries(Object.entries(args.Environment ?? {}).map(([name, value]) => {
      const mapped = this.resolveString(value).split(':').map((p) => (p.startsWith(containerRoot) ? inSandbox(p) : p)).join(':');
      const inherited = name === 'PYTHONPATH' ? process.env.PYTHONPATH : undefined;
      return [name, inherited ? `${mapped}:${inherited}` : mapped];
    }));
    await runProcess(command, commandArgs, step.Name, undefined, environment);

    const outputs: Record<string, unknown> = {};
    for (const output of args.ProcessingOutputConfig.Outputs) {
      const uri = this.resolveString(output.S3Output.S3Uri);
      copyInto(inSandbox(output.S3Output.LocalPath), this.toLocalPath(uri));
      outputs[output.OutputName] = { OutputName: output.OutputName, S3Output: { S3Uri: uri, LocalPath: output.S3Output.LocalPath } };
    }
    const propertyFiles: Record<string, unknown> = {};
    for (const file of step.PropertyFiles ?? []) {
      const outputUri = this.resolveString((outputs[file.OutputName] as any).S3Output.S3Uri);
      propertyFiles[file.PropertyFileName] = { ...file, uri: joinUri(outputUri, file.FilePath) };
    }
    this.properties[step.Name] = {
      ProcessingJobName: `${step.Name}-${this.context.executionId}`,
      ProcessingJobStatus: 'Completed',
      ProcessingOutputConfig: { Outputs: outputs },
      PropertyFiles: propertyFiles,
    };
  }

  private async runTraining(step: TrainingStep): Promise<void> {
    const args = step.Arguments;
    const hyperparameters = Object.fromEntries(Object.entries(args.HyperParameters).map(([k, v]) => [k, this.resolveString(v)]));
    const jobName = `${step.Name}-${this.context.executionId}`;
    const artifactsUri = await this.trainingJob(step.Name, args, hyperparameters, jobName, this.sandbox(step.Name));
    this.properties[step.Name] = {
      TrainingJobName: jobName,
      TrainingJobStatus: 'Completed',
      ModelArtifacts: { S3ModelArtifacts: artifactsUri },
    };
  }

  /** One training job of the stand-in in `mlRoot` (its /opt/ml); returns its model's URI. */
  private async trainingJob(
    stepName: string, args: Omit<TrainingStep['Arguments'], 'HyperParameters'>, hyperparameters: Record<string, string>,
    jobName: string, mlRoot: string, log?: string,
  ): Promise<string> {
    const configDir = path.join(mlRoot, 'input', 'config');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'hyperparameters.json'), JSON.stringify(hyperparameters, null, 2));
    const inputDataConfig: Record<string, unknown> = {};
    for (const channel of args.InputDataConfig) {
      const uri = this.resolveString(channel.DataSource.S3DataSource.S3Uri);
      copyInto(this.toLocalPath(uri), path.join(mlRoot, 'input', 'data', channel.ChannelName));
      inputDataConfig[channel.ChannelName] = {
        ContentType: channel.ContentType,
        TrainingInputMode: args.AlgorithmSpecification.TrainingInputMode,
        S3DistributionType: channel.DataSource.S3DataSource.S3DataDistributionType,
        RecordWrapperType: 'None',
      };
    }
    fs.writeFileSync(path.join(configDir, 'inputdataconfig.json'), JSON.stringify(inputDataConfig, null, 2));

    // SageMaker writes <S3OutputPath>/<training job name>/output/model.tar.gz.
    const artifactsUri = joinUri(this.resolveString(args.OutputDataConfig.S3OutputPath), jobName, 'output', 'model.tar.gz');
    const archive = this.toLocalPath(artifactsUri);
    fs.mkdirSync(path.dirname(archive), { recursive: true });
    await runProcess(this.context.python, [this.context.xgboostTrainScript, '--ml-root', mlRoot, '--model-archive', archive], stepName,
      path.join(mlRoot, 'output', 'failure'), {}, log);
    return artifactsUri;
  }

  /**
   * A hyperparameter tuning job: trials of the stand-in with values the local tuner proposes within the step's
   * ranges, at most MaxParallelTrainingJobs (and the cores) at once, each one's objective read from its log with
   * the algorithm's metric regex, as SageMaker reads it. Every trial runs to its own end: the early stopping of
   * training jobs that the cloud may apply (TrainingJobEarlyStoppingType) only saves time there.
   */
  private async runTuning(step: TuningStep): Promise<void> {
    const { HyperParameterTuningJobConfig: config, TrainingJobDefinition: job } = step.Arguments;
    if (!this.context.tunerScript) throw new Error('this run has no local tuner (LocalRunContext.tunerScript) for its Tuning step');
    const objective = config.HyperParameterTuningJobObjective;
    const metricRegex = xgboostMetricRegex(objective.MetricName);
    const ranges = [
      ...config.ParameterRanges.ContinuousParameterRanges.map((r) => ({ ...r, kind: 'Continuous' })),
      ...config.ParameterRanges.IntegerParameterRanges.map((r) => ({ ...r, kind: 'Integer' })),
    ].map((r) => ({ name: r.Name, kind: r.kind, minValue: Number(r.MinValue), maxValue: Number(r.MaxValue), scaling: r.ScalingType }));
    if (config.ParameterRanges.CategoricalParameterRanges.length > 0) throw new Error('local mode does not tune categorical ranges');
    const staticHyperparameters = Object.fromEntries(Object.entries(job.StaticHyperParameters).map(([k, v]) => [k, this.resolveString(v)]));
    const tuningJobName = `${step.Name}-${this.context.executionId}`;
    const parallel = Math.max(1, Math.min(config.ResourceLimits.MaxParallelTrainingJobs, this.context.maxParallelTrials ?? os.cpus().length));
    const sandbox = this.sandbox(step.Name);
    const tuner = new LocalTuner(this.context.python, this.context.tunerScript, {
      strategy: config.Strategy, seed: this.context.tuningSeed ?? 0, objectiveType: objective.Type, ranges,
    }, step.Name);
    const trials: TrialRecord[] = [];
    this.trials[step.Name] = trials;
    const runTrial = async (number: number, tuned: Record<string, string>) => {
      const started = Date.now();
      // SageMaker names them <tuning job>-<NNN>-<suffix>.
      const trainingJobName = `${tuningJobName}-${String(number).padStart(3, '0')}`;
      const mlRoot = path.join(sandbox, trainingJobName);
      const log = path.join(mlRoot, 'output', 'job.log');
      let record: TrialRecord;
      try {
        // SageMaker adds the objective to every training job of a tuning job.
        const hyperparameters = { ...staticHyperparameters, ...tuned, _tuning_objective_metric: objective.MetricName };
        await this.trainingJob(step.Name, job, hyperparameters, trainingJobName, mlRoot, log);
        const value = finalMetricValue(fs.readFileSync(log, 'utf8'), metricRegex);
        if (value === undefined) throw new Error(`the job's log has no ${objective.MetricName} (regex ${metricRegex})`);
        record = { step: step.Name, number, trainingJobName, status: 'Completed', hyperparameters: tuned, objective: value, durationMs: Date.now() - started };
      } catch (e) {
        const reason = (e as Error).message.replace(`${step.Name} failed`, `${trainingJobName} failed`);
        record = { step: step.Name, number, trainingJobName, status: 'Failed', hyperparameters: tuned, durationMs: Date.now() - started, failureReason: reason };
      }
      trials.push(record);
      this.context.onTrial?.(record);
      return record;
    };
    try {
      // The same seed gives the same trials however the jobs interleave and whatever the cores: trial N's
      // proposal knows the objectives of trials 1..N-P (P = MaxParallelTrainingJobs) and sees the later ones as
      // running, so a trial may wait for an older one to end.
      const window = config.ResourceLimits.MaxParallelTrainingJobs;
      const ended: Array<Promise<TrialRecord>> = [];
      const running = new Set<Promise<unknown>>();
      let told = 0;
      for (let number = 1; number <= config.ResourceLimits.MaxNumberOfTrainingJobs; number++) {
        while (running.size >= parallel) await Promise.race(running);
        for (; told < number - window; told++) {
          const record = await ended[told];
          // A tuner that has exited fails the step at the next proposal.
          await tuner.tell(record.number, record.objective).catch(() => undefined);
        }
        const trial = runTrial(number, await tuner.ask(number));
        ended.push(trial);
        const tracked: Promise<unknown> = trial.finally(() => running.delete(tracked));
        running.add(tracked);
      }
      await Promise.all(running);
    } finally {
      tuner.close();
    }
    trials.sort((a, b) => a.number - b.number);
    const sign = objective.Type === 'Minimize' ? 1 : -1;
    const ranked = trials.filter((t) => t.status === 'Completed').sort((a, b) => sign * (a.objective! - b.objective!) || a.number - b.number);
    if (ranked.length === 0) throw new Error(`every training job failed; the last: ${trials[trials.length - 1]?.failureReason}`);
    const summary = (t: TrialRecord) => ({
      TrainingJobName: t.trainingJobName,
      TrainingJobStatus: t.status,
      TunedHyperParameters: t.hyperparameters,
      FinalHyperParameterTuningJobObjectiveMetric: { Type: objective.Type, MetricName: objective.MetricName, Value: t.objective },
    });
    this.properties[step.Name] = {
      HyperParameterTuningJobName: tuningJobName,
      HyperParameterTuningJobStatus: 'Completed',
      BestTrainingJob: summary(ranked[0]),
      // Best first, as SageMaker lists the top jobs.
      TrainingJobSummaries: ranked.map(summary),
    };
  }

  private async runCondition(step: ConditionStep, started: number): Promise<void> {
    const outcomes = step.Arguments.Conditions.map((c) => {
      const left = this.resolve(c.LeftValue);
      const right = this.resolve(c.RightValue);
      return { type: c.Type, left, right, holds: compare(c.Type, left, right) };
    });
    this.conditions[step.Name] = outcomes;
    const holds = outcomes.every((o) => o.holds);
    this.properties[step.Name] = { Outcome: holds };
    this.emit({
      step: step.Name,
      type: step.Type,
      status: 'Succeeded',
      durationMs: Date.now() - started,
      message: `${holds ? 'true' : 'false'}: ${outcomes.map((o) => `${o.left} ${COMPARISON_SYMBOLS[o.type]} ${o.right}`).join(', ')}`,
    });
    for (const next of holds ? step.Arguments.IfSteps : step.Arguments.ElseSteps) {
      await this.runStep(next);
    }
  }

  private runRegister(step: RegisterModelStep): void {
    const args = step.Arguments;
    const metricsUri = this.resolveString(args.ModelMetrics.ModelQuality.Statistics.S3Uri);
    this.registeredModel = this.context.registry.register({
      modelPackageGroupName: args.ModelPackageGroupName,
      description: args.ModelPackageDescription,
      approvalStatus: this.resolveString(args.ModelApprovalStatus),
      containers: args.InferenceSpecification.Containers.map((c) => ({
        image: c.Image,
        environment: c.Environment,
        modelDataPath: this.toLocalPath(this.resolveString(c.ModelDataUrl)),
      })),
      contentType: args.InferenceSpecification.SupportedContentTypes[0],
      metrics: JSON.parse(fs.readFileSync(this.toLocalPath(metricsUri), 'utf8')),
      customerMetadata: Object.fromEntries(Object.entries(args.CustomerMetadataProperties).map(([k, v]) => [k, this.resolveString(v)])),
    });
    this.properties[step.Name] = { ModelPackageArn: this.registeredModel.arn };
  }

  private runFail(step: FailStep): never {
    throw new StepFailedError(step.Name, this.resolveString(step.Arguments.ErrorMessage));
  }

  // ---------------------------------------------------------------- expressions

  /** Evaluates a literal or expression the way SageMaker does at run time. */
  public resolve(value: Expression): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if ('Get' in value) return this.get(value.Get);
    if ('Std:Join' in value) {
      return value['Std:Join'].Values.map((v) => stringify(this.resolve(v))).join(value['Std:Join'].On);
    }
    if ('Std:JsonGet' in value) {
      const file = this.get(value['Std:JsonGet'].PropertyFile.Get) as { uri: string; PropertyFileName: string };
      const document = JSON.parse(fs.readFileSync(this.toLocalPath(file.uri), 'utf8'));
      this.propertyFiles[value['Std:JsonGet'].PropertyFile.Get.replace(/^Steps\.|\.PropertyFiles/g, '')] = document;
      const found = value['Std:JsonGet'].Path.split('.').reduce<any>((node, key) => (node == null ? undefined : node[key]), document);
      if (found === undefined) throw new Error(`Std:JsonGet: ${value['Std:JsonGet'].Path} is not in ${file.uri}`);
      return found;
    }
    throw new Error(`Unsupported expression ${JSON.stringify(value)}`);
  }

  private resolveString(value: Expression): string {
    return stringify(this.resolve(value));
  }

  private get(reference: string): unknown {
    const [scope, ...rest] = reference.split('.');
    if (scope === 'Parameters') {
      const name = rest.join('.');
      if (!(name in this.parameters)) throw new Error(`Parameter ${name} has no value: pass it with --parameter ${name}=VALUE`);
      return this.parameters[name];
    }
    if (scope === 'Execution') {
      const variable = rest.join('.');
      const values: Record<string, string> = {
        PipelineExecutionId: this.context.executionId,
        PipelineExecutionArn: `local:pipeline-execution/${this.context.executionId}`,
        PipelineName: 'local',
        PipelineArn: 'local:pipeline',
        StartDateTime: new Date().toISOString(),
        CurrentDateTime: new Date().toISOString(),
      };
      if (!(variable in values)) throw new Error(`Unknown execution variable ${variable}`);
      return values[variable];
    }
    if (scope === 'Steps') {
      const [stepName, ...pathParts] = rest;
      const properties = this.properties[stepName];
      if (!properties) throw new Error(`${reference} refers to step ${stepName}, which has not run`);
      return readPropertyPath(properties, pathParts.join('.'), reference);
    }
    throw new Error(`Unsupported reference ${reference}`);
  }

  // ---------------------------------------------------------------- files

  /** `local://<root>/<path>` → a path on this machine. */
  public toLocalPath(uri: string): string {
    const match = /^local:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match || !(match[1] in this.context.roots)) {
      throw new Error(`${uri} is not a local URI this run knows (roots: ${Object.keys(this.context.roots).join(', ')})`);
    }
    return path.join(this.context.roots[match[1]], ...match[2].split('/').filter(Boolean));
  }

  /** A SageMaker ManifestFile: `[{"prefix": uri}, "relative/key", …]`; files keep their key path, as SageMaker does. */
  private materializeManifest(manifestUri: string, target: string): void {
    const manifestPath = this.toLocalPath(manifestUri);
    let entries: unknown;
    try {
      entries = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read the manifest ${manifestUri}: ${(e as Error).message}`);
    }
    if (!Array.isArray(entries) || typeof entries[0]?.prefix !== 'string' || entries.slice(1).some((e) => typeof e !== 'string')) {
      throw new Error(`${manifestUri} is not a SageMaker ManifestFile ([{"prefix": "..."}, "key", ...])`);
    }
    const prefix: string = entries[0].prefix;
    fs.mkdirSync(target, { recursive: true });
    for (const key of entries.slice(1) as string[]) {
      const source = this.toLocalPath(prefix.endsWith('/') ? `${prefix}${key}` : `${prefix}/${key}`);
      const prefixPath = prefix.replace(/^local:\/\/[^/]+\/?/, '');
      const destination = path.join(target, ...`${prefixPath}/${key}`.split('/').filter(Boolean));
      fs.mkdirSync(path.dirname(destination), { recursive: true });
      fs.copyFileSync(source, destination);
    }
  }

  private sandbox(stepName: string): string {
    const dir = path.join(this.context.workDir, 'jobs', stepName);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
}

const COMPARISON_SYMBOLS: Record<Comparison['Type'], string> = {
  LessThanOrEqualTo: '<=', GreaterThanOrEqualTo: '>=', LessThan: '<', GreaterThan: '>', Equals: '==',
};

function compare(type: Comparison['Type'], left: unknown, right: unknown): boolean {
  if (type === 'Equals') return left === right || Number(left) === Number(right);
  const a = Number(left);
  const b = Number(right);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`cannot compare ${String(left)} with ${String(right)}`);
  switch (type) {
    case 'LessThanOrEqualTo': return a <= b;
    case 'GreaterThanOrEqualTo': return a >= b;
    case 'LessThan': return a < b;
    case 'GreaterThan': return a > b;
  }
}

function resolveParameters(definition: PipelineDefinition, given: Record<string, string | number>): Record<string, string | number | boolean> {
  const declared = new Map(definition.Parameters.map((p) => [p.Name, p]));
  for (const name of Object.keys(given)) {
    if (!declared.has(name)) {
      throw new Error(`Unknown pipeline parameter ${name}; the definition declares ${[...declared.keys()].join(', ')}`);
    }
  }
  const values: Record<string, string | number | boolean> = {};
  for (const p of definition.Parameters) {
    const raw = p.Name in given ? given[p.Name] : p.DefaultValue;
    if (raw === undefined) continue;
    let value: string | number | boolean = raw;
    if (p.Type === 'Integer' || p.Type === 'Float') {
      value = Number(raw);
      if (!Number.isFinite(value) || (p.Type === 'Integer' && !Number.isInteger(value))) {
        throw new Error(`Parameter ${p.Name} must be ${p.Type === 'Integer' ? 'an integer' : 'a number'}, got ${String(raw)}`);
      }
    }
    if (p.EnumValues && !p.EnumValues.includes(String(value))) {
      throw new Error(`Parameter ${p.Name} must be one of ${p.EnumValues.join(', ')}, got ${String(raw)}`);
    }
    values[p.Name] = value;
  }
  return values;
}

/** Reads `A.B['key'].C` from step properties. */
function readPropertyPath(properties: StepProperties, propertyPath: string, reference: string): unknown {
  const parts = propertyPath.match(/[^.[\]']+|\['[^']*'\]/g) ?? [];
  let node: any = properties;
  for (const raw of parts) {
    const key = raw.startsWith("['") ? raw.slice(2, -2) : raw;
    if (node == null || !(key in node)) throw new Error(`${reference} does not exist`);
    node = node[key];
  }
  return node;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`expected a text value, got ${JSON.stringify(value)}`);
}

function joinUri(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ''), ...segments].join('/');
}

/** Maps a container path (`/opt/ml/processing/x`) into the sandbox standing in for its root. */
function mapContainerPath(containerPath: string, containerRoot: string, sandbox: string): string {
  if (containerPath !== containerRoot && !containerPath.startsWith(`${containerRoot}/`)) {
    throw new Error(`${containerPath} is outside ${containerRoot}`);
  }
  return path.join(sandbox, containerPath.slice(containerRoot.length));
}

/** Copies a file into a folder, or a folder's content into a folder (S3 prefix semantics). */
function copyInto(source: string, targetDir: string): void {
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist`);
  fs.mkdirSync(targetDir, { recursive: true });
  if (fs.statSync(source).isDirectory()) {
    fs.cpSync(source, targetDir, { recursive: true });
  } else if (source !== path.join(targetDir, path.basename(source))) {
    fs.copyFileSync(source, path.join(targetDir, path.basename(source)));
  }
}

/**
 * The last value of a metric in a job's log, found the way SageMaker finds it: the regex runs on each line as the
 * log records it, control characters written `#` + three octal digits (a tab is `#011`).
 */
export function finalMetricValue(log: string, regex: string): number | undefined {
  const pattern = new RegExp(regex);
  let value: number | undefined;
  for (const line of log.split('\n')) {
    const recorded = line.replace(/[\x00-\x09\x0b-\x1f\x7f]/g, (c) => `#${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
    const match = pattern.exec(recorded);
    const number = match ? Number(match[1]) : NaN;
    if (Number.isFinite(number)) value = number;
  }
  return value;
}

/** The local tuner process (`ml/local_tuner.py`): proposes each trial's values and hears each one's objective. */
class LocalTuner {
  private readonly child;
  private readonly replies: Array<{ resolve: (reply: any) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private closed = false;

  constructor(python: string, script: string, config: object, private readonly stepName: string) {
    this.child = spawn(python, [script, '--config', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4096); });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.replies.shift()?.resolve(JSON.parse(line)));
    const fail = (e: Error) => {
      for (const pending of this.replies.splice(0)) pending.reject(e);
    };
    this.child.on('error', (e) => fail(new StepFailedError(stepName, `${stepName}: cannot run the local tuner: ${e.message}`)));
    this.child.on('close', (code) => {
      if (!this.closed || code !== 0) fail(new StepFailedError(stepName, `${stepName}: the local tuner exited (${code}): ${this.stderr.trim()}`));
    });
  }

  public async ask(trial: number): Promise<Record<string, string>> {
    return (await this.send({ ask: trial })).hyperparameters;
  }

  public async tell(trial: number, value: number | undefined): Promise<void> {
    await this.send(value === undefined ? { tell: trial, failed: true } : { tell: trial, value });
  }

  public close(): void {
    this.closed = true;
    this.child.stdin.end();
  }

  private send(message: object): Promise<any> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null) {
        reject(new StepFailedError(this.stepName, `${this.stepName}: the local tuner exited (${this.child.exitCode}): ${this.stderr.trim()}`));
        return;
      }
      this.replies.push({ resolve, reject });
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
  }
}

/**
 * Runs a job's process; a non-zero exit fails the step with the job's own last words. With `log`, the job's
 * output (stdout and stderr) is also written there in full, as SageMaker keeps a job's log.
 */
function runProcess(
  command: string, args: string[], stepName: string, failureFile?: string, environment: Record<string, string> = {}, log?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...environment } });
    let stderr = '';
    let stdout = '';
    if (log) fs.mkdirSync(path.dirname(log), { recursive: true });
    const logFd = log ? fs.openSync(log, 'w') : undefined;
    const record = (d: Buffer) => { if (logFd !== undefined) fs.writeSync(logFd, d); };
    child.on('close', () => { if (logFd !== undefined) fs.closeSync(logFd); });
    child.stdout.on('data', (d) => { record(d); stdout = (stdout + d).slice(-8192); });
    child.stderr.on('data', (d) => { record(d); stderr = (stderr + d).slice(-8192); });
    child.on('error', (e) => reject(new StepFailedError(stepName, `${stepName}: cannot run ${command}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const failure = failureFile && fs.existsSync(failureFile) ? fs.readFileSync(failureFile, 'utf8').trim() : '';
      const lastWords = failure || stderr.trim().split('\n').slice(-5).join('\n') || stdout.trim().split('\n').slice(-5).join('\n');
      reject(new StepFailedError(stepName, `${stepName} failed (exit ${code}): ${lastWords}`));
    });
  });
}
