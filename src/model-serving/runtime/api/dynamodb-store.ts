/**
 * Predictions and their feedback in DynamoDB: one item per prediction, keyed by `predictionId`,
 * expiring through the table's TTL attribute.
 */
import {
  AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  UpdateItemCommand,
  WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { FeedbackStore } from './feedback';
import type { PredictionRecord, PredictionRecorder } from './predict';
import { PREDICTION_ITEM_ATTRIBUTES as A, PREDICTION_KEY_ATTRIBUTE, PREDICTION_TTL_ATTRIBUTE } from '../../../contracts/predict-function';

/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 4;

/** Options of {@link DynamoDbPredictionStore}. */
export interface DynamoDbPredictionStoreOptions {
  readonly tableName: string;
  readonly client: Pick<DynamoDBClient, 'send'>;
  /** How long a prediction stays available for feedback, in seconds. */
  readonly ttlSeconds: number;
  readonly now?: () => Date;
  /** Pause before retrying unprocessed items; attempt counts from 1. */
  readonly backoff?: (attempt: number) => Promise<void>;
}

/** Records predictions (with their inputs) and attaches feedback to them. */
export class DynamoDbPredictionStore implements PredictionRecorder, FeedbackStore {
  private readonly now: () => Date;
  private readonly backoff: (attempt: number) => Promise<void>;

  constructor(private readonly options: DynamoDbPredictionStoreOptions) {
    this.now = options.now ?? (() => new Date());
    this.backoff = options.backoff ?? ((attempt) => new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt)));
  }

  public async record(records: readonly PredictionRecord[]): Promise<void> {
    const now = this.now();
    const expiresAt = Math.floor(now.getTime() / 1000) + this.options.ttlSeconds;
    const requests: WriteRequest[] = records.map((r) => ({ PutRequest: { Item: toItem(r, now, expiresAt) } }));
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_SIZE) chunks.push(requests.slice(i, i + BATCH_SIZE));
    await Promise.all(chunks.map((chunk) => this.writeChunk(chunk)));
  }

  public async attachFeedback(predictionId: string, actualRings: number, at: Date): Promise<boolean> {
    try {
      await this.options.client.send(new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { [PREDICTION_KEY_ATTRIBUTE]: { S: predictionId } },
        // TTL deletes lazily: an expired item may still be there, but it is no longer a valid target.
        ConditionExpression: 'attribute_exists(#id) AND #ttl > :now',
        UpdateExpression: 'SET #rings = :rings, #at = :at',
        ExpressionAttributeNames: { '#id': PREDICTION_KEY_ATTRIBUTE, '#ttl': PREDICTION_TTL_ATTRIBUTE, '#rings': A.actualRings, '#at': A.feedbackAt },
        ExpressionAttributeValues: {
          ':rings': { N: String(actualRings) },
          ':at': { S: at.toISOString() },
          ':now': { N: String(Math.floor(at.getTime() / 1000)) },
        },
      }));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  private async writeChunk(chunk: WriteRequest[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_BATCH_ATTEMPTS) throw new Error(`${pending.length} prediction(s) left unprocessed by DynamoDB`);
      if (attempt > 1) await this.backoff(attempt - 1);
      const answer = await this.options.client.send(new BatchWriteItemCommand({
        RequestItems: { [this.options.tableName]: pending },
      }));
      pending = answer.UnprocessedItems?.[this.options.tableName] ?? [];
    }
  }
}

function toItem(record: PredictionRecord, now: Date, expiresAt: number): Record<string, AttributeValue> {
  const p = record.prediction;
  const input: Record<string, AttributeValue> = {};
  for (const [field, value] of Object.entries(record.instance)) {
    input[field] = typeof value === 'number' ? { N: String(value) } : { S: value };
  }
  return {
    [PREDICTION_KEY_ATTRIBUTE]: { S: p.predictionId },
    [PREDICTION_TTL_ATTRIBUTE]: { N: String(expiresAt) },
    [A.createdAt]: { S: now.toISOString() },
    [A.modelVersion]: { S: p.modelVersion },
    [A.rings]: { N: String(p.rings) },
    [A.ageYears]: { N: String(p.ageYears) },
    [A.input]: { M: input },
    [A.inferenceId]: { S: record.inferenceId },
    [A.row]: { N: String(record.row) },
  };
}
