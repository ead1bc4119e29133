/**
 * `POST /predictions`: request validation and conversion, the model backend seam, and the answer.
 * The cloud handler and the local server share this code and differ only in their {@link ModelBackend}.
 */
import { randomUUID } from 'node:crypto';
import { DatasetRow, PredictionInstance, toDatasetRow } from './dataset-row';
import { ApiRequest, ApiResponse, CorsPolicy, badRequest, errorResponse, jsonResponse, readJsonBody, unavailable } from './http';
import { compileSchema } from './schema-validator';
import { AGE_OFFSET_YEARS } from '../../../contracts/abalone-data';
import { messageOf } from '../../../contracts/error-messages';
import type { BatchPredictionResponse, FieldError, Prediction } from '../../../contracts/prediction-api';
import { PREDICTION_REQUEST_SCHEMA } from '../../../contracts/prediction-api';

export type { DatasetRow, PredictionInstance };
export { toDatasetRow };

/** A valid request: its instances, and whether the caller sent a batch. */
export interface PredictionRequest {
  readonly instances: readonly PredictionInstance[];
  readonly batch: boolean;
}


/** What a model answers for a list of rows. */
export interface ModelOutput {
  /** Predicted rings, one per row, in order. */
  readonly rings: readonly number[];
  /** The model package version that answered. */
  readonly modelVersion: string;
}

/** What an invocation is known by in captures (SageMaker `InferenceId`) and stored predictions. */
export interface InvocationContext {
  /** The id of the invocation's first prediction: a batch is one invocation, one capture record. */
  readonly inferenceId: string;
}

/** Where predictions come from: the SageMaker endpoint in the cloud, a local model in local mode. */
export interface ModelBackend {
  predict(rows: readonly DatasetRow[], context: InvocationContext): Promise<ModelOutput>;
}

/** No model is serving yet (answered with 503 and `Retry-After`). */
export class ModelUnavailableError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'ModelUnavailableError';
  }
}

/** The model failed or answered something unusable (answered with 502). */
export class ModelFailureError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'ModelFailureError';
  }
}

/** Records each prediction so feedback can be attached to it later. */
export interface PredictionRecorder {
  record(records: readonly PredictionRecord[]): Promise<void>;
}

/** A prediction with the inputs it was made from. */
export interface PredictionRecord {
  readonly prediction: Prediction;
  readonly instance: PredictionInstance;
  /** The invocation's `InferenceId` (the id of its first prediction). */
  readonly inferenceId: string;
  /** The row of this prediction within its invocation's CSV (0 for single requests). */
  readonly row: number;
}

/** A message the handler logs; kept free of request bodies. */
export type Logger = (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;

const validateRequest = compileSchema(PREDICTION_REQUEST_SCHEMA, { rootField: 'body' });

/** Validates a parsed body against the contract's schema. */
export function parsePredictionRequest(body: unknown): { request?: PredictionRequest; errors: FieldError[] } {
  const errors = validateRequest(body);
  if (errors.length > 0) return { errors };
  const object = body as { instances?: PredictionInstance[] };
  return object.instances !== undefined
    ? { request: { instances: object.instances, batch: true }, errors }
    : { request: { instances: [body as PredictionInstance], batch: false }, errors };
}


/** Headerless CSV, one row per line, as the endpoint's preprocessing container reads it. */
export function toCsv(rows: readonly DatasetRow[]): string {
  return rows.map((r) => r.join(',')).join('\n') + '\n';
}

/**
 * Reads the model's `text/csv` answer: one number per line (XGBoost's `np.savetxt` output); a single
 * comma-separated line is accepted too. Throws {@link ModelFailureError} unless there is exactly one
 * finite number per row.
 */
export function parseModelCsv(body: string, expected: number): number[] {
  const cells = body.split(/[\n,]/).map((c) => c.trim()).filter((c) => c !== '');
  const values = cells.map(Number);
  if (values.length !== expected || values.some((v, i) => !Number.isFinite(v) || !/^[-+0-9.eE]+$/.test(cells[i]))) {
    throw new ModelFailureError(`Model answered ${cells.length} value(s) for ${expected} row(s), or a value that is not a number`);
  }
  return values;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The answer for one instance; `rings` and `ageYears` are rounded to 2 decimals. */
export function buildPrediction(rings: number, modelVersion: string, predictionId: string = randomUUID()): Prediction {
  const rounded = round2(rings);
  return { predictionId, rings: rounded, ageYears: round2(rounded + AGE_OFFSET_YEARS), modelVersion };
}

/** What {@link handlePredict} needs. */
export interface PredictDependencies {
  readonly backend: ModelBackend;
  readonly cors: CorsPolicy;
  /** Absent when feedback is turned off. */
  readonly recorder?: PredictionRecorder;
  readonly log?: Logger;
}

/** Answers `POST /predictions`. Never throws: every failure becomes an answer without internal detail. */
export async function handlePredict(request: ApiRequest, deps: PredictDependencies): Promise<ApiResponse> {
  const { cors } = deps;
  const log = deps.log ?? (() => undefined);
  const body = readJsonBody(request, cors);
  if (!body.ok) return body.response;
  const { request: parsed, errors } = parsePredictionRequest(body.value);
  if (!parsed) return badRequest(errors, request, cors);

  const predictionIds = parsed.instances.map(() => randomUUID());
  const inferenceId = predictionIds[0];
  let output: ModelOutput;
  try {
    output = await deps.backend.predict(parsed.instances.map(toDatasetRow), { inferenceId });
    if (output.rings.length !== parsed.instances.length) {
      throw new ModelFailureError(`Model answered ${output.rings.length} prediction(s) for ${parsed.instances.length} row(s)`);
    }
  } catch (e) {
    if (e instanceof ModelUnavailableError) {
      log('warn', 'No model is serving', { reason: e.message });
      return unavailable(request, cors);
    }
    log('error', 'The model failed', { error: messageOf(e) });
    return errorResponse(502, 'The model failed to answer. Try again later.', request, cors);
  }

  const predictions = output.rings.map((rings, i) => buildPrediction(rings, output.modelVersion, predictionIds[i]));
  if (deps.recorder) {
    try {
      await deps.recorder.record(predictions.map((prediction, row) => ({ prediction, instance: parsed.instances[row], inferenceId, row })));
    } catch (e) {
      // The prediction is still worth answering; only feedback on it will be refused (404).
      log('error', 'Could not record predictions', { error: messageOf(e) });
    }
  }
  const answer: Prediction | BatchPredictionResponse = parsed.batch ? { predictions } : predictions[0];
  return jsonResponse(200, answer, request, cors);
}

