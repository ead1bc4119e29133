/**
 * The prediction API contract: one JSON schema (draft 4, the dialect API Gateway models accept),
 * used by the API Gateway request model, the predict handler and the web form.
 */
import { DATASET_SCALE_DIVISOR, MAX_RINGS, MEASURES, SEX_CODES } from './abalone-data';

/** Most instances one batch request may carry. */
export const MAX_BATCH_INSTANCES = 100;

/** Largest request body, in bytes, before the API answers 413. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

/** Seconds a client should wait before retrying while no model is deployed (503). */
export const RETRY_AFTER_SECONDS = 30;

/** Upper bound of a measure in human units (mm or g). */
export function humanMaximum(column: string): number {
  const spec = MEASURES.find((m) => m.column === column);
  if (!spec) throw new Error(`Unknown measure column: ${column}`);
  return Math.round(spec.maxDatasetValue * DATASET_SCALE_DIVISOR * 1000) / 1000;
}

/** JSON schema of one abalone in human units. */
export const PREDICTION_INSTANCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['sex', ...MEASURES.map((m) => m.apiField)],
  properties: {
    sex: { type: 'string', enum: [...SEX_CODES], description: 'M (male), F (female) or I (infant)' },
    ...Object.fromEntries(MEASURES.map((m) => [m.apiField, {
      type: 'number',
      minimum: 0,
      maximum: humanMaximum(m.column),
      description: `${m.label} in ${m.unit === 'mm' ? 'millimetres' : 'grams'}`,
    }])),
  },
};

/** JSON schema of a prediction request: one instance, or `{ instances: [...] }`. */
export const PREDICTION_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'PredictionRequest',
  oneOf: [
    PREDICTION_INSTANCE_SCHEMA,
    {
      type: 'object',
      additionalProperties: false,
      required: ['instances'],
      properties: {
        instances: { type: 'array', minItems: 1, maxItems: MAX_BATCH_INSTANCES, items: PREDICTION_INSTANCE_SCHEMA },
      },
    },
  ],
};

/** JSON schema of a feedback request: the abalone's actual ring count. */
export const FEEDBACK_REQUEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-04/schema#',
  title: 'FeedbackRequest',
  type: 'object',
  additionalProperties: false,
  required: ['actualRings'],
  properties: {
    actualRings: { type: 'integer', minimum: 1, maximum: MAX_RINGS },
  },
};

/** One field-level problem in a 400 answer. `field` is a path such as `lengthMm` or `instances[2].sex`. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Body of every error answer (400, 404, 413, 502, 503). `errors` is present on 400. */
export interface ErrorResponse {
  readonly message: string;
  readonly errors?: FieldError[];
}

/** Answer for one instance. */
export interface Prediction {
  readonly predictionId: string;
  readonly rings: number;
  readonly ageYears: number;
  readonly modelVersion: string;
}

/** Answer for a batch, in the order of `instances`. */
export interface BatchPredictionResponse {
  readonly predictions: Prediction[];
}

/** Answer to `POST /predictions/{id}/feedback`. */
export interface FeedbackResponse {
  readonly predictionId: string;
  readonly actualRings: number;
}
