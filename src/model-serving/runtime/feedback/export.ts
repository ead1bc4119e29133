/**
 * Feedback to ground truth: reads the predictions table's stream (NEW_IMAGE) and writes one `GroundTruthRecord`
 * per prediction that carries feedback, at `groundTruthKey(predictionId, predictedAt)`. The key depends only on the
 * prediction, so a redelivered record, or a second feedback for the same prediction, overwrites the object.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { messageOf } from '../../../contracts/error-messages';
import { GroundTruthRecord, groundTruthKey } from '../../../contracts/monitoring';
import { PREDICTION_ITEM_ATTRIBUTES as A, PREDICTION_KEY_ATTRIBUTE } from '../../../contracts/predict-function';

/** Writes in flight at once within a batch. */
const WRITE_CONCURRENCY = 16;

/** What {@link exportFeedback} needs. */
export interface FeedbackExportDependencies {
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucketName: string;
  /** SSE-KMS with this key; absent: the bucket's default encryption. */
  readonly kmsKeyArn?: string;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;
}

/** A stream record's ground truth, or why it has none. */
export type GroundTruthOf = { readonly record: GroundTruthRecord } | { readonly skip: string };

/**
 * The ground-truth record of one stream record's new image. Records without feedback (a new prediction, a TTL
 * removal) have none; neither have items that lack what the record needs (written before predictions carried their
 * `inferenceId`): they cannot be joined with captures.
 */
export function groundTruthOf(streamRecord: DynamoDBRecord): GroundTruthOf {
  if (streamRecord.eventName === 'REMOVE') return { skip: 'removed' };
  const image = streamRecord.dynamodb?.NewImage;
  if (!image || image[A.actualRings]?.N === undefined) return { skip: 'no feedback' };
  const s = (name: string) => image[name]?.S;
  const n = (name: string) => number(image[name]);
  const record = {
    predictionId: s(PREDICTION_KEY_ATTRIBUTE),
    inferenceId: s(A.inferenceId),
    row: n(A.row),
    actualRings: n(A.actualRings),
    predictedRings: n(A.rings),
    modelVersion: s(A.modelVersion),
    predictedAt: s(A.createdAt),
    collectedAt: s(A.feedbackAt),
  };
  const missing = Object.entries(record).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) return { skip: `missing ${missing.join(', ')}` };
  if (Number.isNaN(Date.parse(record.predictedAt!))) return { skip: 'predictedAt is not a date' };
  return { record: record as GroundTruthRecord };
}

function number(value: AttributeValue | undefined): number | undefined {
  if (value?.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** The result of one batch, for logs and tests. */
export interface FeedbackExportResult extends DynamoDBBatchResponse {
  readonly written: number;
  readonly skipped: number;
  /** Records that another record of the batch, for the same prediction and later, replaces. */
  readonly superseded: number;
}

/**
 * Exports one batch. Returns the records that failed as `batchItemFailures` (their sequence numbers): Lambda
 * retries the batch from the earliest, so what follows it is written again, in order.
 */
export async function exportFeedback(event: DynamoDBStreamEvent, deps: FeedbackExportDependencies): Promise<FeedbackExportResult> {
  const log = deps.log ?? (() => undefined);
  // A batch holds one shard's records in order, and a prediction's records are all in one shard: the last record
  // of a prediction is its current feedback. Writing only that one keeps parallel writes from reordering them.
  const latest = new Map<string, { sequenceNumber: string; record: GroundTruthRecord }>();
  let skipped = 0;
  let superseded = 0;
  const failures: string[] = [];
  for (const streamRecord of event.Records) {
    const sequenceNumber = streamRecord.dynamodb?.SequenceNumber;
    const found = groundTruthOf(streamRecord);
    if ('skip' in found) {
      skipped++;
      if (found.skip !== 'no feedback' && found.skip !== 'removed') {
        log('warn', 'Feedback not exportable', { reason: found.skip, eventID: streamRecord.eventID });
      }
      continue;
    }
    if (!sequenceNumber) throw new Error(`stream record ${streamRecord.eventID ?? '?'} has no SequenceNumber`);
    if (latest.has(found.record.predictionId)) superseded++;
    latest.set(found.record.predictionId, { sequenceNumber, record: found.record });
  }

  const pending = [...latest.values()];
  let written = 0;
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      try {
        await deps.s3.send(new PutObjectCommand({
          Bucket: deps.bucketName,
          Key: groundTruthKey(next.record.predictionId, new Date(next.record.predictedAt)),
          Body: JSON.stringify(next.record),
          ContentType: 'application/json',
          ...(deps.kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: deps.kmsKeyArn } : {}),
        }));
        written++;
      } catch (e) {
        log('error', 'Could not write ground truth', { predictionId: next.record.predictionId, error: messageOf(e) });
        failures.push(next.sequenceNumber);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, pending.length) }, worker));
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })), written, skipped, superseded };
}
