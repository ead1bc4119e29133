/**
 * Feedback as training data: every prediction in the predictions table that has feedback becomes one raw data row
 * (the prediction's inputs on the dataset's scale, its actual rings as the label) in the file of the prediction's UTC
 * day, `<raw prefix>feedback/yyyy-mm-dd.csv`, which DataIngest then validates, quarantines and manifests like any
 * upload.
 *
 * Each run rewrites a day's file with all of that day's current rows, and only when its content changed (the
 * SHA-256 in its metadata): a second feedback for a prediction replaces its row, and a prediction is in one file
 * once, however many runs see it. A day whose predictions may already have been removed by the table's TTL is
 * "closed": its file is written once if missing and then never again, so the TTL cannot shrink training data.
 */
import { createHash } from 'node:crypto';
import { AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MEASURES } from '../../../contracts/abalone-data';
import { FEEDBACK_TRAINING_SHA256_METADATA, feedbackTrainingKey } from '../../../contracts/feedback-training-export';
import { PREDICTION_ITEM_ATTRIBUTES as A, PREDICTION_KEY_ATTRIBUTE } from '../../../contracts/predict-function';
import { RawDataValidator } from '../../../data-ingest/runtime/raw-data-validator';
import { PredictionInstance, toDatasetRow } from '../api/dataset-row';

const DAY_MS = 24 * 3600 * 1000;
/** HEAD/PUT requests in flight at once. */
const WRITE_CONCURRENCY = 8;

/** What {@link exportFeedbackAsTrainingData} needs. */
export interface FeedbackTrainingExportDependencies {
  readonly dynamodb: Pick<DynamoDBClient, 'send'>;
  readonly s3: Pick<S3Client, 'send'>;
  readonly tableName: string;
  readonly bucketName: string;
  /** DataIngest's raw data prefix, e.g. `raw/`. */
  readonly rawPrefix: string;
  /** Seconds a prediction accepts feedback (the table's TTL). */
  readonly retentionSeconds: number;
  /** SSE-KMS with this key; absent: the bucket's default encryption. */
  readonly kmsKeyArn?: string;
  readonly now?: () => Date;
  /** Items per Scan page. @default - DynamoDB's 1 MB pages */
  readonly scanPageSize?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, detail?: Record<string, unknown>) => void;
}

/** What happened to one day's file. */
export interface FeedbackTrainingFile {
  readonly key: string;
  readonly rows: number;
  /** `written`; `unchanged` (same content as the current object); `closed` (past its day's feedback window, left as it is). */
  readonly outcome: 'written' | 'unchanged' | 'closed';
}

/** The report of one run, for the log and tests. */
export interface FeedbackTrainingExportReport {
  /** Items with feedback the Scan returned. */
  readonly predictionsWithFeedback: number;
  /** Rows exported (in files written or unchanged or closed). */
  readonly rows: number;
  /** Items left out because their row would be outside the raw data contract, by reason. */
  readonly dropped: number;
  readonly droppedReasons: { readonly [reason: string]: number };
  readonly files: readonly FeedbackTrainingFile[];
}

/** One row of a day's file, with what orders it. */
interface Row {
  readonly createdAt: string;
  readonly predictionId: string;
  readonly line: string;
}

/** The raw data row of one item, or why it has none. */
export function trainingRowOf(item: Record<string, AttributeValue>): { readonly line: string } | { readonly drop: string } {
  const input = item[A.input]?.M;
  const rings = item[A.actualRings]?.N;
  if (!input) return { drop: 'no input' };
  if (rings === undefined) return { drop: 'no feedback' };
  const sex = input.sex?.S;
  if (sex === undefined) return { drop: 'input lacks sex' };
  const instance: Record<string, string | number> = { sex };
  for (const m of MEASURES) {
    const value = input[m.apiField]?.N;
    if (value === undefined) return { drop: `input lacks ${m.apiField}` };
    instance[m.apiField] = Number(value);
  }
  const line = [...toDatasetRow(instance as PredictionInstance), rings].join(',');
  // DataIngest's own validator, on the row alone: a row it would reject is dropped here, not the whole file there.
  const validator = new RawDataValidator({ maxErrors: 1 });
  validator.push(Buffer.from(`${line}\n`));
  const result = validator.finish();
  return result.valid ? { line } : { drop: result.errors[0]?.column ? `${result.errors[0].column} outside the contract` : 'row outside the contract' };
}

/** Reads every item with feedback (a Scan with a filter, page by page). */
async function* itemsWithFeedback(deps: FeedbackTrainingExportDependencies): AsyncGenerator<Record<string, AttributeValue>> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await deps.dynamodb.send(new ScanCommand({
      TableName: deps.tableName,
      FilterExpression: 'attribute_exists(#rings)',
      ProjectionExpression: '#id, #createdAt, #input, #rings',
      ExpressionAttributeNames: { '#id': PREDICTION_KEY_ATTRIBUTE, '#createdAt': A.createdAt, '#input': A.input, '#rings': A.actualRings },
      ExclusiveStartKey: startKey,
      Limit: deps.scanPageSize,
    }));
    for (const item of page.Items ?? []) yield item;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Writes the day files of every prediction with feedback; returns what it did. */
export async function exportFeedbackAsTrainingData(deps: FeedbackTrainingExportDependencies): Promise<FeedbackTrainingExportReport> {
  const log = deps.log ?? (() => undefined);
  const now = (deps.now ?? (() => new Date()))();
  const days = new Map<number, Row[]>();
  const droppedReasons: Record<string, number> = {};
  let predictionsWithFeedback = 0;
  for await (const item of itemsWithFeedback(deps)) {
    predictionsWithFeedback++;
    const createdAt = item[A.createdAt]?.S;
    const predictedAt = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
    const found = Number.isNaN(predictedAt) ? { drop: 'no prediction time' } : trainingRowOf(item);
    if ('drop' in found) {
      droppedReasons[found.drop] = (droppedReasons[found.drop] ?? 0) + 1;
      continue;
    }
    const day = Math.floor(predictedAt / DAY_MS) * DAY_MS;
    const rows = days.get(day) ?? [];
    rows.push({ createdAt: createdAt!, predictionId: item[PREDICTION_KEY_ATTRIBUTE]?.S ?? '', line: found.line });
    days.set(day, rows);
  }

  const pending = [...days.entries()].sort(([a], [b]) => a - b);
  const files: FeedbackTrainingFile[] = [];
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const [day, rows] = next;
      files.push(await writeDay(deps, new Date(day), rows, now));
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, pending.length) }, worker));
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const dropped = Object.values(droppedReasons).reduce((sum, n) => sum + n, 0);
  if (dropped > 0) log('warn', 'Feedback left out of the training data', { dropped, reasons: droppedReasons });
  return { predictionsWithFeedback, rows: files.reduce((sum, f) => sum + f.rows, 0), dropped, droppedReasons, files };
}

async function writeDay(deps: FeedbackTrainingExportDependencies, day: Date, rows: Row[], now: Date): Promise<FeedbackTrainingFile> {
  const key = feedbackTrainingKey(deps.rawPrefix, day);
  // The earliest prediction of the day expires retention after the day starts: from then on the TTL may remove rows.
  const closed = day.getTime() + deps.retentionSeconds * 1000 <= now.getTime();
  rows.sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.predictionId, b.predictionId));
  const body = rows.map((r) => r.line).join('\n') + '\n';
  const sha256 = createHash('sha256').update(body).digest('hex');
  const current = await currentSha256(deps, key);
  if (current !== undefined && (closed || current === sha256)) {
    return { key, rows: rows.length, outcome: closed ? 'closed' : 'unchanged' };
  }
  await deps.s3.send(new PutObjectCommand({
    Bucket: deps.bucketName,
    Key: key,
    Body: body,
    ContentType: 'text/csv',
    Metadata: { [FEEDBACK_TRAINING_SHA256_METADATA]: sha256 },
    ...(deps.kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: deps.kmsKeyArn } : {}),
  }));
  return { key, rows: rows.length, outcome: 'written' };
}

/** The content hash the current object carries; undefined when there is no object. */
async function currentSha256(deps: FeedbackTrainingExportDependencies, key: string): Promise<string | undefined> {
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucketName, Key: key }));
    // An object written by someone else (no hash) counts as different content.
    return head.Metadata?.[FEEDBACK_TRAINING_SHA256_METADATA] ?? '';
  } catch (e) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((e as Error).name === 'NotFound' || status === 404) return undefined;
    throw e;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
