/**
 * Checks a pipeline definition for what no JSON schema can express (every property reference points at a step
 * and an output that exist, parameters are declared, names are unique) and orders its steps by their data
 * dependencies, the way SageMaker builds the DAG.
 */
import { EXECUTION_VARIABLES } from './expressions';
import { PipelineDefinition, PipelineStep } from './types';

/** A `Get` found in a step, with where it was found. */
export interface Reference {
  /** The step whose arguments contain it. */
  readonly inStep: string;
  /** The `Get` string, e.g. `Steps.TrainModel.ModelArtifacts.S3ModelArtifacts`. */
  readonly get: string;
}

const NAME = /^[A-Za-z0-9\-_]{1,64}$/;
const STEP_REF = /^Steps\.([A-Za-z0-9\-_]{1,64})\.(.+)$/;
const OUTPUT_PATH = /^ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$/;
const PROPERTY_FILE_PATH = /^PropertyFiles\.([A-Za-z0-9\-_]+)$/;
const TUNED_HYPERPARAMETER_PATH = /^BestTrainingJob\.TunedHyperParameters\['([^']+)'\]$/;
const TRAINING_JOB_SUMMARY_PATH = /^TrainingJobSummaries\[(\d+)\]\.TrainingJobName$/;
/** Properties of a Tuning step that need no more checking than the step's type. */
const TUNING_PATHS: readonly string[] = [
  'HyperParameterTuningJobName', 'BestTrainingJob.TrainingJobName', 'BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value',
];
/** SageMaker lists at most the top 50 training jobs of a tuning step (Dev Guide, build-and-manage-steps). */
const MAX_TRAINING_JOB_SUMMARIES = 50;

/** Every step, condition branches included, in document order. */
export function allSteps(definition: PipelineDefinition): PipelineStep[] {
  const result: PipelineStep[] = [];
  const visit = (steps: PipelineStep[]) => {
    for (const step of steps) {
      result.push(step);
      if (step.Type === 'Condition') {
        visit(step.Arguments.IfSteps);
        visit(step.Arguments.ElseSteps);
      }
    }
  };
  visit(definition.Steps);
  return result;
}

/** Every `Get` in each step's own fields (a condition's branches count as their own steps). */
export function references(definition: PipelineDefinition): Reference[] {
  const result: Reference[] = [];
  const walk = (inStep: string, value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach((v) => walk(inStep, v));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'Get' && typeof v === 'string') result.push({ inStep, get: v });
        else walk(inStep, v);
      }
    }
  };
  for (const step of allSteps(definition)) {
    const { Name, ...rest } = step;
    if (step.Type === 'Condition') {
      walk(Name, { ...rest, Arguments: { Conditions: step.Arguments.Conditions } });
    } else {
      walk(Name, rest);
    }
  }
  return result;
}

/** The names of the steps a step reads from, directly. Branch steps also depend on their condition step. */
export function stepDependencies(definition: PipelineDefinition): Map<string, Set<string>> {
  const deps = new Map<string, Set<string>>();
  for (const step of allSteps(definition)) deps.set(step.Name, new Set());
  for (const ref of references(definition)) {
    const match = STEP_REF.exec(ref.get);
    if (match && deps.has(match[1]) && match[1] !== ref.inStep) deps.get(ref.inStep)!.add(match[1]);
  }
  for (const step of allSteps(definition)) {
    if (step.Type === 'Condition') {
      for (const branch of [...step.Arguments.IfSteps, ...step.Arguments.ElseSteps]) deps.get(branch.Name)!.add(step.Name);
    }
  }
  return deps;
}

/** Step names in an order that respects every dependency (ties in document order). Throws on a cycle. */
export function executionOrder(definition: PipelineDefinition): string[] {
  const deps = stepDependencies(definition);
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < deps.size) {
    const ready = [...deps.keys()].find((name) => !done.has(name) && [...deps.get(name)!].every((d) => done.has(d)));
    if (ready === undefined) {
      const stuck = [...deps.keys()].filter((n) => !done.has(n));
      throw new Error(`pipeline steps depend on each other in a cycle: ${stuck.join(', ')}`);
    }
    order.push(ready);
    done.add(ready);
  }
  return order;
}

/** Everything wrong with the definition's names and references; empty when it is consistent. */
export function findDefinitionProblems(definition: PipelineDefinition): string[] {
  const problems: string[] = [];
  const steps = allSteps(definition);
  const byName = new Map<string, PipelineStep>();
  for (const step of steps) {
    if (!NAME.test(step.Name)) problems.push(`step name ${JSON.stringify(step.Name)} does not match ${NAME}`);
    if (byName.has(step.Name)) problems.push(`step name ${step.Name} is used more than once`);
    byName.set(step.Name, step);
  }

  const parameters = new Set<string>();
  for (const p of definition.Parameters) {
    if (!NAME.test(p.Name) || p.Name.includes('_')) {
      problems.push(`parameter name ${JSON.stringify(p.Name)} must be letters, digits and hyphens (no underscores)`);
    }
    if (parameters.has(p.Name)) problems.push(`parameter ${p.Name} is declared more than once`);
    parameters.add(p.Name);
  }

  for (const step of steps) {
    if (step.Type !== 'Processing') continue;
    const outputs = new Set(step.Arguments.ProcessingOutputConfig.Outputs.map((o) => o.OutputName));
    for (const file of step.PropertyFiles ?? []) {
      if (!outputs.has(file.OutputName)) {
        problems.push(`${step.Name}: property file ${file.PropertyFileName} names output ${file.OutputName}, which the step does not declare`);
      }
    }
  }

  for (const ref of references(definition)) {
    const where = `${ref.inStep}: ${ref.get}`;
    if (ref.get.startsWith('Parameters.')) {
      const name = ref.get.slice('Parameters.'.length);
      if (!parameters.has(name)) problems.push(`${where} refers to an undeclared parameter`);
      continue;
    }
    if (ref.get.startsWith('Execution.')) {
      const variable = ref.get.slice('Execution.'.length);
      if (!(EXECUTION_VARIABLES as readonly string[]).includes(variable)) problems.push(`${where} is not an execution variable`);
      continue;
    }
    const match = STEP_REF.exec(ref.get);
    if (!match) {
      problems.push(`${where} is neither a parameter, an execution variable nor a step property`);
      continue;
    }
    const [, stepName, path] = match;
    const target = byName.get(stepName);
    if (!target) {
      problems.push(`${where} refers to a step that does not exist`);
      continue;
    }
    if (stepName === ref.inStep) {
      problems.push(`${where} refers to its own step`);
      continue;
    }
    const output = OUTPUT_PATH.exec(path);
    const file = PROPERTY_FILE_PATH.exec(path);
    const tuned = TUNED_HYPERPARAMETER_PATH.exec(path);
    const summary = TRAINING_JOB_SUMMARY_PATH.exec(path);
    if (output) {
      const names = target.Type === 'Processing' ? target.Arguments.ProcessingOutputConfig.Outputs.map((o) => o.OutputName) : [];
      if (!names.includes(output[1])) problems.push(`${where} refers to an output ${stepName} does not declare`);
    } else if (file) {
      const names = target.Type === 'Processing' ? (target.PropertyFiles ?? []).map((f) => f.PropertyFileName) : [];
      if (!names.includes(file[1])) problems.push(`${where} refers to a property file ${stepName} does not declare`);
    } else if (path === 'ModelArtifacts.S3ModelArtifacts') {
      if (target.Type !== 'Training') problems.push(`${where}: only training steps have model artifacts`);
    } else if (TUNING_PATHS.includes(path) || tuned || summary) {
      if (target.Type !== 'Tuning') {
        problems.push(`${where}: only tuning steps have this property`);
      } else if (tuned) {
        const ranges = target.Arguments.HyperParameterTuningJobConfig.ParameterRanges;
        const names = [...ranges.ContinuousParameterRanges, ...ranges.IntegerParameterRanges, ...ranges.CategoricalParameterRanges]
          .map((r) => r.Name);
        if (!names.includes(tuned[1])) problems.push(`${where}: ${stepName} does not tune ${tuned[1]}`);
      } else if (summary) {
        const jobs = Math.min(MAX_TRAINING_JOB_SUMMARIES, target.Arguments.HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs);
        if (Number(summary[1]) >= jobs) problems.push(`${where}: ${stepName} lists at most ${jobs} training jobs`);
      }
    } else {
      problems.push(`${where} is a step property this library does not produce`);
    }
  }

  try {
    executionOrder(definition);
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}
