/**
 * The Tuning step: a SageMaker hyperparameter tuning job over the built-in XGBoost algorithm, minimising the
 * validation RMSE the algorithm logs. Pure: the construct and local mode build and read the same step.
 */
import { execution, join, stepProperty } from './expressions';
import { ParameterRange, ScalingType, StringValue, TrainingStep, TuningStep } from './types';

/** A range as the construct's props and local mode give it. */
export interface TuningRangeSettings {
  readonly minValue: number;
  readonly maxValue: number;
  /** `Auto`, `Linear`, `Logarithmic` or `ReverseLogarithmic` (continuous ranges only). */
  readonly scaling?: string;
}

/** Tuning settings under the names the construct's `tuning` prop gives them; unset ones take {@link DEFAULT_TUNING}. */
export interface TuningSettings {
  readonly strategy?: string;
  readonly maxJobs?: number;
  readonly maxParallelJobs?: number;
  readonly eta?: TuningRangeSettings;
  readonly maxDepth?: TuningRangeSettings;
  readonly minChildWeight?: TuningRangeSettings;
  readonly subsample?: TuningRangeSettings;
  readonly gamma?: TuningRangeSettings;
  readonly alpha?: TuningRangeSettings;
  readonly lambda?: TuningRangeSettings;
  readonly numRound?: number;
  readonly earlyStoppingRounds?: number;
  readonly earlyStopTrainingJobs?: boolean;
}

type RangeSetting = 'eta' | 'maxDepth' | 'minChildWeight' | 'subsample' | 'gamma' | 'alpha' | 'lambda';

/** A resolved range. */
export interface TunedRange {
  /** The XGBoost hyperparameter. */
  readonly name: string;
  readonly kind: 'Continuous' | 'Integer';
  readonly minValue: number;
  readonly maxValue: number;
  readonly scaling: ScalingType;
}

/** Resolved tuning: what the step is built from. */
export interface TuningConfig {
  readonly strategy: 'Bayesian' | 'Random';
  readonly maxJobs: number;
  readonly maxParallelJobs: number;
  readonly ranges: TunedRange[];
  readonly numRound: number;
  readonly earlyStoppingRounds: number;
  readonly earlyStopTrainingJobs: boolean;
}

/**
 * Defaults, measured on the UCI data over 20 split seeds (bench/ml/tuning_over_seeds.py runs 1-10): ranges that
 * regularise (a learning rate of at most 0.1 over many early-stopped rounds, trees of depth 6 at most with heavier
 * leaves, always row-subsampled). The validation split the objective is measured on holds 15% of the rows, so 20
 * jobs over wider ranges (eta to 0.3, depth to 8) found settings that won there and lost on held-out data. `alpha`
 * and `lambda` are not tuned by default: adding them (0.01-10 and 0.1-100, log) did not lower the held-out MSE.
 */
export const DEFAULT_TUNING = {
  strategy: 'Bayesian',
  maxJobs: 20,
  maxParallelJobs: 2,
  ranges: {
    eta: { minValue: 0.01, maxValue: 0.1, scaling: 'Logarithmic' },
    maxDepth: { minValue: 2, maxValue: 6, scaling: 'Linear' },
    minChildWeight: { minValue: 2, maxValue: 30, scaling: 'Logarithmic' },
    subsample: { minValue: 0.5, maxValue: 0.9, scaling: 'Linear' },
    gamma: { minValue: 0, maxValue: 5, scaling: 'Linear' },
  } as Partial<Record<RangeSetting, TuningRangeSettings>>,
  /** A generous upper bound: early stopping on the validation channel ends each job. */
  numRound: 1000,
  earlyStoppingRounds: 20,
  earlyStopTrainingJobs: true,
} as const;

/** The objective: the built-in algorithm's `validation:rmse` metric, lowest wins. */
export const TUNING_OBJECTIVE = { metricName: 'validation:rmse', type: 'Minimize' } as const;

/**
 * The regex SageMaker applies to the XGBoost 1.7-1 algorithm's log for a `validation:<m>` metric
 * (sagemaker-xgboost-container `algorithm_mode/metrics.py`); `#011` is a tab as the log records it.
 */
export function xgboostMetricRegex(metricName: string): string {
  const [channel, metric] = metricName.split(':');
  return `.*\\[[0-9]+\\].*#011${channel}-${metric}:(\\S+)`;
}

/** The tuned XGBoost hyperparameters: their kind and the values the container accepts (hyperparameter_validation.py). */
const TUNABLE: Record<RangeSetting, { name: string; kind: TunedRange['kind']; min: number; max?: number; minOpen?: boolean }> = {
  eta: { name: 'eta', kind: 'Continuous', min: 0, max: 1 },
  maxDepth: { name: 'max_depth', kind: 'Integer', min: 0 },
  minChildWeight: { name: 'min_child_weight', kind: 'Continuous', min: 0 },
  subsample: { name: 'subsample', kind: 'Continuous', min: 0, max: 1, minOpen: true },
  gamma: { name: 'gamma', kind: 'Continuous', min: 0 },
  alpha: { name: 'alpha', kind: 'Continuous', min: 0 },
  lambda: { name: 'lambda', kind: 'Continuous', min: 0 },
};

const SCALING_TYPES: readonly ScalingType[] = ['Auto', 'Linear', 'Logarithmic', 'ReverseLogarithmic'];
const STRATEGIES = ['Bayesian', 'Random'] as const;

/** Settings with defaults applied, checked; throws one error naming every bad field (`<prefix>.eta.minValue`, …). */
export function resolveTuning(settings: TuningSettings, prefix = 'tuning'): TuningConfig {
  const problems: string[] = [];
  const strategy = settings.strategy ?? DEFAULT_TUNING.strategy;
  if (!(STRATEGIES as readonly string[]).includes(strategy)) problems.push(`${prefix}.strategy is ${JSON.stringify(strategy)}; it must be one of ${STRATEGIES.join(', ')}`);
  const integer = (field: string, value: number, min: number, max?: number) => {
    if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
      problems.push(`${prefix}.${field} is ${value}; it must be an integer from ${min}${max !== undefined ? ` to ${max}` : ''}`);
    }
  };
  const maxJobs = settings.maxJobs ?? DEFAULT_TUNING.maxJobs;
  const maxParallelJobs = settings.maxParallelJobs ?? Math.min(DEFAULT_TUNING.maxParallelJobs, maxJobs);
  integer('maxJobs', maxJobs, 1);
  integer('maxParallelJobs', maxParallelJobs, 1, Number.isInteger(maxJobs) && maxJobs >= 1 ? maxJobs : undefined);
  const numRound = settings.numRound ?? DEFAULT_TUNING.numRound;
  const earlyStoppingRounds = settings.earlyStoppingRounds ?? DEFAULT_TUNING.earlyStoppingRounds;
  integer('numRound', numRound, 1);
  integer('earlyStoppingRounds', earlyStoppingRounds, 1, Number.isInteger(numRound) ? Math.max(1, numRound - 1) : undefined);

  const ranges: TunedRange[] = [];
  for (const key of Object.keys(TUNABLE) as RangeSetting[]) {
    const given = settings[key] ?? DEFAULT_TUNING.ranges[key];
    if (given === undefined) continue;
    const spec = TUNABLE[key];
    const field = `${prefix}.${key}`;
    const { minValue, maxValue } = given;
    const scaling = (given.scaling ?? 'Auto') as ScalingType;
    const before = problems.length;
    for (const [name, value] of [['minValue', minValue], ['maxValue', maxValue]] as const) {
      const inRange = Number.isFinite(value) && (spec.minOpen ? value > spec.min : value >= spec.min)
        && (spec.max === undefined || value <= spec.max);
      if (!inRange || (spec.kind === 'Integer' && !Number.isInteger(value))) {
        const bounds = `${spec.minOpen ? '(' : '['}${spec.min}, ${spec.max ?? '+inf'}${spec.max === undefined ? ')' : ']'}`;
        problems.push(`${field}.${name} is ${value}; ${spec.name} must be ${spec.kind === 'Integer' ? 'an integer ' : ''}in ${bounds}`);
      }
    }
    if (problems.length === before && !(minValue < maxValue)) problems.push(`${field}: minValue ${minValue} must be below maxValue ${maxValue}`);
    if (!SCALING_TYPES.includes(scaling)) {
      problems.push(`${field}.scaling is ${JSON.stringify(given.scaling)}; it must be one of ${SCALING_TYPES.join(', ')}`);
    } else if (scaling === 'Logarithmic' && !(minValue > 0)) {
      problems.push(`${field}: Logarithmic scaling needs minValue above 0, got ${minValue}`);
    } else if (scaling === 'ReverseLogarithmic' && (spec.kind === 'Integer' || !(minValue >= 0 && maxValue < 1))) {
      problems.push(`${field}: ReverseLogarithmic scaling is for continuous ranges within [0, 1), got ${spec.kind.toLowerCase()} ${minValue}-${maxValue}`);
    }
    ranges.push({ name: spec.name, kind: spec.kind, minValue, maxValue, scaling });
  }
  if (problems.length > 0) throw new Error(`Invalid tuning settings:\n- ${problems.join('\n- ')}`);
  return {
    strategy: strategy as TuningConfig['strategy'],
    maxJobs,
    maxParallelJobs,
    ranges,
    numRound,
    earlyStoppingRounds,
    earlyStopTrainingJobs: settings.earlyStopTrainingJobs ?? DEFAULT_TUNING.earlyStopTrainingJobs,
  };
}

/**
 * The Tuning step over a training job's arguments: the tuned hyperparameters leave its static set, which keeps
 * the objective, the metric early stopping watches and the round bounds.
 */
export function tuningStep(name: string, tuning: TuningConfig, training: TrainingStep['Arguments']): TuningStep {
  const { HyperParameters, ...job } = training;
  const tuned = new Set(tuning.ranges.map((r) => r.name));
  const staticHyperparameters = Object.fromEntries(Object.entries({
    ...HyperParameters,
    num_round: String(tuning.numRound),
    early_stopping_rounds: String(tuning.earlyStoppingRounds),
  }).filter(([key]) => !tuned.has(key)));
  const range = (r: TunedRange): ParameterRange => ({
    Name: r.name, MinValue: String(r.minValue), MaxValue: String(r.maxValue), ScalingType: r.scaling,
  });
  return {
    Name: name,
    Type: 'Tuning',
    Arguments: {
      HyperParameterTuningJobConfig: {
        Strategy: tuning.strategy,
        ResourceLimits: { MaxNumberOfTrainingJobs: tuning.maxJobs, MaxParallelTrainingJobs: tuning.maxParallelJobs },
        TrainingJobEarlyStoppingType: tuning.earlyStopTrainingJobs ? 'Auto' : 'Off',
        HyperParameterTuningJobObjective: { Type: TUNING_OBJECTIVE.type, MetricName: TUNING_OBJECTIVE.metricName },
        ParameterRanges: {
          ContinuousParameterRanges: tuning.ranges.filter((r) => r.kind === 'Continuous').map(range),
          IntegerParameterRanges: tuning.ranges.filter((r) => r.kind === 'Integer').map(range),
          CategoricalParameterRanges: [],
        },
      },
      TrainingJobDefinition: { ...job, StaticHyperParameters: staticHyperparameters },
    },
  };
}

/** Properties of a Tuning step the pipeline reads (DescribeHyperParameterTuningJob's response). */
export const TUNING_PROPERTIES = {
  tuningJobName: 'HyperParameterTuningJobName',
  bestTrainingJobName: 'BestTrainingJob.TrainingJobName',
  bestObjectiveValue: 'BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value',
  /** `BestTrainingJob.TunedHyperParameters['<name>']` */
  tunedHyperparameter: (name: string) => `BestTrainingJob.TunedHyperParameters['${name}']`,
} as const;

/**
 * The best training job's `model.tar.gz`: SageMaker writes each job's model to
 * `<S3OutputPath>/<training job name>/output/model.tar.gz`, and the step's S3OutputPath is
 * `<artifactS3Uri>/<execution id>/<step>` (the SDK's `TuningStep.get_top_model_s3_uri` builds the same Join).
 */
export function bestModelArtifacts(artifactS3Uri: string, stepName: string): StringValue {
  return join('/', [
    artifactS3Uri, execution('PipelineExecutionId'), stepName,
    stepProperty(stepName, TUNING_PROPERTIES.bestTrainingJobName), 'output', 'model.tar.gz',
  ]);
}
