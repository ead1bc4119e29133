/**
 * `POST /predictions/{id}/feedback`: the abalone's actual rings, attached to the stored prediction.
 */
import { ApiRequest, ApiResponse, CorsPolicy, badRequest, errorResponse, jsonResponse, readJsonBody } from './http';
import { Logger } from './predict';
import { compileSchema } from './schema-validator';
import { messageOf } from '../../../contracts/error-messages';
import { FEEDBACK_REQUEST_SCHEMA } from '../../../contracts/prediction-api';
import type { FeedbackResponse } from '../../../contracts/prediction-api';

/** Where feedback is kept. */
export interface FeedbackStore {
  /** Attaches the actual rings; false when no live prediction has this id. */
  attachFeedback(predictionId: string, actualRings: number, at: Date): Promise<boolean>;
}

/** What {@link handleFeedback} needs. */
export interface FeedbackDependencies {
  readonly store: FeedbackStore;
  readonly cors: CorsPolicy;
  readonly log?: Logger;
  readonly now?: () => Date;
}

/** Prediction ids are random UUIDs; anything else cannot name a stored prediction. */
const PREDICTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const validateFeedback = compileSchema(FEEDBACK_REQUEST_SCHEMA, { rootField: 'body' });

/** Answers `POST /predictions/{id}/feedback`. Never throws. */
export async function handleFeedback(request: ApiRequest, predictionId: string | undefined, deps: FeedbackDependencies): Promise<ApiResponse> {
  const { cors } = deps;
  const body = readJsonBody(request, cors);
  if (!body.ok) return body.response;
  const errors = validateFeedback(body.value);
  if (errors.length > 0) return badRequest(errors, request, cors);
  const notFound = () => errorResponse(404, 'No prediction with this id (it may have expired).', request, cors);
  if (predictionId === undefined || !PREDICTION_ID.test(predictionId)) return notFound();

  const actualRings = (body.value as { actualRings: number }).actualRings;
  try {
    const found = await deps.store.attachFeedback(predictionId, actualRings, deps.now?.() ?? new Date());
    if (!found) return notFound();
  } catch (e) {
    deps.log?.('error', 'Could not store feedback', { error: messageOf(e) });
    return errorResponse(500, 'The feedback could not be stored. Try again later.', request, cors);
  }
  const answer: FeedbackResponse = { predictionId, actualRings };
  return jsonResponse(200, answer, request, cors);
}
