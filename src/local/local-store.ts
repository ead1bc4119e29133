/**
 * Local mode's prediction store: every invocation, prediction and feedback of `local serve`, in an SQLite database in
 * the local home (`<home>/serve.sqlite3`), kept by `ml/local_store.py serve`, a long-lived Python process (Python's
 * standard-library `sqlite3`: the server already needs Python, and a native Node addon would not ship portably).
 * Writes asked for while one is in flight go to it together, as one transaction; each promise resolves once its
 * transaction has committed.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { JsonLinesWorker } from './json-lines-worker';
import { ML_DIR } from './local-run';
import { FeedbackStore } from '../model-serving/runtime/api/feedback';
import {
  DatasetRow, InvocationContext, ModelBackend, ModelOutput, PredictionRecord, PredictionRecorder, toCsv, toDatasetRow,
} from '../model-serving/runtime/api/predict';

/** The database file in local mode's home. */
export const STORE_FILE = 'serve.sqlite3';

/** The store's Python side: the process `local serve` writes through, and the exports `local monitor` and `local feedback` run. */
export const STORE_SCRIPT = path.join(ML_DIR, 'local_store.py');

/** One call of the model, as an endpoint's Data Capture sees it. */
export interface CapturedInvocation {
  readonly receivedAt: string;
  readonly modelVersion: string;
  /** The text/csv sent to the model. */
  readonly inputCsv: string;
  /** The text/csv it answered, one prediction a line at full precision. */
  readonly outputCsv: string;
}

type StoreOp =
  | { op: 'record'; invocations: unknown[]; predictions: unknown[] }
  | { op: 'feedback'; predictionId: string; actualRings: number; at: string };

type StoreResult = { found?: boolean };

export class LocalPredictionStore extends JsonLinesWorker<StoreOp, StoreResult> implements PredictionRecorder, FeedbackStore {
  /** Starts the store process on `file` (created, with its folder, when missing; migrated when older). */
  public static async open(python: string, storeScript: string, file: string): Promise<LocalPredictionStore> {
    const worker = spawn(python, [storeScript, 'serve', '--db', file], { stdio: ['pipe', 'pipe', 'pipe'] });
    const store = new LocalPredictionStore(worker, file);
    await store.ready;
    return store;
  }

  private readonly captures = new Map<string, CapturedInvocation>();

  private constructor(worker: ChildProcessWithoutNullStreams, public readonly file: string) {
    super(worker, {
      name: 'the prediction store',
      startFailure: 'The prediction store cannot be opened',
      request: (ops) => ({ ops }),
      results: (answer, ops) => {
        const results = answer.results;
        if (answer.error !== undefined || !Array.isArray(results) || results.length !== ops.length) {
          throw new Error(`The prediction store failed: ${answer.error ?? 'wrong number of results'}`);
        }
        return results as StoreResult[];
      },
    });
  }

  /** Keeps what the model was sent and answered for an invocation until its predictions are recorded. */
  public capture(inferenceId: string, invocation: CapturedInvocation): void {
    this.captures.set(inferenceId, invocation);
  }

  public async record(records: readonly PredictionRecord[]): Promise<void> {
    const invocations = new Map<string, CapturedInvocation & { inferenceId: string }>();
    for (const r of records) {
      if (invocations.has(r.inferenceId)) continue;
      const captured = this.captures.get(r.inferenceId);
      this.captures.delete(r.inferenceId);
      if (!captured) throw new Error(`No captured invocation for inference id ${r.inferenceId}`);
      invocations.set(r.inferenceId, { inferenceId: r.inferenceId, ...captured });
    }
    const predictions = records.map((r) => ({
      predictionId: r.prediction.predictionId,
      inferenceId: r.inferenceId,
      row: r.row,
      instance: r.instance,
      datasetRow: toDatasetRow(r.instance),
      rings: r.prediction.rings,
      ageYears: r.prediction.ageYears,
      modelVersion: r.prediction.modelVersion,
      createdAt: invocations.get(r.inferenceId)!.receivedAt,
    }));
    await this.send({ op: 'record', invocations: [...invocations.values()], predictions });
  }

  public async attachFeedback(predictionId: string, actualRings: number, at: Date): Promise<boolean> {
    const result = await this.send({ op: 'feedback', predictionId, actualRings, at: at.toISOString() });
    return result.found === true;
  }

  private send(op: StoreOp): Promise<StoreResult> {
    return this.call(op);
  }
}

/**
 * The backend, with each successful invocation's CSV in and out handed to the store, which writes it with the
 * invocation's predictions (the capture an endpoint would make).
 */
export function capturingBackend(backend: ModelBackend, store: LocalPredictionStore): ModelBackend {
  return {
    predict: async (rows: readonly DatasetRow[], context: InvocationContext): Promise<ModelOutput> => {
      const receivedAt = new Date().toISOString();
      const output = await backend.predict(rows, context);
      if (output.rings.length === rows.length) {
        store.capture(context.inferenceId, {
          receivedAt, modelVersion: output.modelVersion, inputCsv: toCsv(rows), outputCsv: `${output.rings.join('\n')}\n`,
        });
      }
      return output;
    },
  };
}
