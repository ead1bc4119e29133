/**
 * The acceptance test contract: where the training pipeline keeps the model's held-out test split, what the
 * acceptance test checks and the names its figures travel under. Shared by the training pipeline definition, the
 * release pipeline's AcceptanceTest action, `preprocess.py` and local mode. Runtime-free.
 */

/**
 * The held-out test split in raw form: the rows of the test split the evaluation step scored, as the raw data
 * contract has them (`sex,length,…,shell_weight,rings`, the dataset's scale, no header). `preprocess.py` writes it
 * beside its other outputs; the model package records its URI, so each version is accepted on its own test data.
 */
export const HELD_OUT_TEST_SPLIT = {
  /** PreprocessData's output that holds the file. */
  outputName: 'heldout',
  localPath: '/opt/ml/processing/heldout',
  fileName: 'test.csv',
  /** The model package's CustomerMetadataProperties key whose value is the file's S3 URI. */
  metadataKey: 'TestSplitS3Uri',
} as const;

/** Bounds of an acceptance test. */
export interface AcceptanceBounds {
  /** Largest relative difference between the served MSE and the registered one (0.1 = 10%). */
  readonly mseTolerance: number;
  /** Largest relative difference between the served MAE and the registered one. */
  readonly maeTolerance: number;
  /** Most answers other than 2xx (including timeouts and connection errors). */
  readonly maxNon2xx: number;
  /** Largest 99th percentile of the request latency, in milliseconds, as the client measures it. */
  readonly p99LatencyMs: number;
}

/** How the test calls the API. */
export interface AcceptanceClientSettings {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** A request not answered within this many milliseconds counts as a failed one. */
  readonly requestTimeoutMs: number;
}

/**
 * Defaults. The served metrics come from the same rows the evaluation step scored, so they differ from the registered
 * ones only by the API's rounding of `rings` to 2 decimals (well under 1%); 10% leaves room for that and nothing
 * like a unit error (a ×200 input error multiplies the MSE many times over). Every request of the test is a client's
 * request: none may fail. 1 second at p99 is far above a healthy endpoint behind API Gateway (tens of ms) and below
 * what a person waits for a form.
 */
export const ACCEPTANCE_DEFAULTS: AcceptanceBounds & AcceptanceClientSettings = {
  mseTolerance: 0.1,
  maeTolerance: 0.1,
  maxNon2xx: 0,
  p99LatencyMs: 1000,
  concurrency: 4,
  requestTimeoutMs: 10_000,
};

/** Output variables of the AcceptanceTest action (`#{Acceptance.<name>}`), set when it passes. */
export const ACCEPTANCE_OUTPUT_VARIABLES = {
  /** The package that passed: the production deploy deploys exactly this one. */
  modelPackageArn: 'ModelPackageArn',
  requests: 'Requests',
  mse: 'Mse',
  mae: 'Mae',
  non2xx: 'Non2xx',
  p50LatencyMs: 'P50LatencyMs',
  p99LatencyMs: 'P99LatencyMs',
  /** Every figure next to its bound, e.g. `MSE 4.52 (registered 4.51 ± 10%), …`. */
  summary: 'Summary',
} as const;

/** The AcceptanceTest action's environment. */
export const ACCEPTANCE_ACTION_ENV = {
  /** JSON {@link AcceptanceActionConfig}. */
  CONFIG: 'ACCEPTANCE_ACTION_CONFIG',
} as const;

/** What the AcceptanceTest action knows at deploy time. */
export interface AcceptanceActionConfig extends AcceptanceBounds, AcceptanceClientSettings {
  /** The staging API's base URL (`https://…/prod/`); the test posts to `<apiUrl>predictions`. */
  readonly apiUrl: string;
  /** Most requests started per second (within the staging API's throttling). */
  readonly requestsPerSecond: number;
  /** The test must fit in this many seconds at `requestsPerSecond` (the function's timeout, less a margin). */
  readonly timeBudgetSeconds: number;
}

/** The AcceptanceTest action's UserParameters (JSON). */
export interface AcceptanceActionParameters {
  /** The package the staging endpoint was deployed with (`#{Staging.ModelPackageArn}`). */
  readonly modelPackageArn: string;
}

/** Checks bounds and client settings; returns one message per bad field, named with `prefix`. */
export function acceptanceSettingProblems(value: Partial<AcceptanceBounds & AcceptanceClientSettings>, prefix = ''): string[] {
  const problems: string[] = [];
  const check = (field: keyof (AcceptanceBounds & AcceptanceClientSettings), ok: (n: number) => boolean, allowed: string) => {
    const n = value[field];
    if (n !== undefined && (typeof n !== 'number' || !Number.isFinite(n) || !ok(n))) {
      problems.push(`${prefix}${field} is ${JSON.stringify(n)}: ${allowed}`);
    }
  };
  check('mseTolerance', (n) => n >= 0, 'it must be a number >= 0 (a fraction of the registered MSE)');
  check('maeTolerance', (n) => n >= 0, 'it must be a number >= 0 (a fraction of the registered MAE)');
  check('maxNon2xx', (n) => Number.isInteger(n) && n >= 0, 'it must be a whole number >= 0');
  check('p99LatencyMs', (n) => n > 0, 'it must be a number of milliseconds > 0');
  check('concurrency', (n) => Number.isInteger(n) && n >= 1 && n <= 64, 'it must be a whole number from 1 to 64');
  check('requestTimeoutMs', (n) => Number.isInteger(n) && n >= 1 && n <= 60_000, 'it must be whole milliseconds from 1 to 60000');
  return problems;
}

/** Variable namespaces of the staged promotion's actions (`#{Acceptance.ModelPackageArn}`). */
export const PROMOTION_NAMESPACES = {
  stagingDeploy: 'StagingDeploy',
  acceptance: 'Acceptance',
} as const;
