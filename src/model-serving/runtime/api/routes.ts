/**
 * Routes of the prediction API behind API Gateway's Lambda proxy integration.
 */
import { FeedbackStore, handleFeedback } from './feedback';
import { ApiRequest, ApiResponse, CorsPolicy, errorResponse } from './http';
import { Logger, ModelBackend, PredictionRecorder, handlePredict } from './predict';
import { messageOf } from '../../../contracts/error-messages';

/** Resource path of predictions. */
export const PREDICTIONS_PATH = '/predictions';

/** Resource path of feedback on one prediction. */
export const FEEDBACK_PATH = '/predictions/{id}/feedback';

/** An API Gateway proxy event, reduced to what the routes read. */
export interface RouteRequest extends ApiRequest {
  readonly resource?: string;
  readonly httpMethod?: string;
  readonly pathParameters?: { readonly [name: string]: string | undefined } | null;
}

/** What {@link route} needs. */
export interface RouteDependencies {
  readonly backend: ModelBackend;
  readonly cors: CorsPolicy;
  /** Absent when feedback is turned off: the feedback route answers 404 and nothing is recorded. */
  readonly store?: PredictionRecorder & FeedbackStore;
  readonly log?: Logger;
}

/** Dispatches one request. Never throws: an unexpected failure answers 500 without detail. */
export async function route(request: RouteRequest, deps: RouteDependencies): Promise<ApiResponse> {
  try {
    if (request.httpMethod === 'POST' && request.resource === PREDICTIONS_PATH) {
      return await handlePredict(request, { backend: deps.backend, cors: deps.cors, recorder: deps.store, log: deps.log });
    }
    if (request.httpMethod === 'POST' && request.resource === FEEDBACK_PATH && deps.store) {
      return await handleFeedback(request, request.pathParameters?.id, { store: deps.store, cors: deps.cors, log: deps.log });
    }
    return errorResponse(404, 'Not found.', request, deps.cors);
  } catch (e) {
    deps.log?.('error', 'Unexpected failure', { error: messageOf(e) });
    return errorResponse(500, 'Internal error. Try again later.', request, deps.cors);
  }
}
