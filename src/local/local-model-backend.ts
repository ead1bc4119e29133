/**
 * The local prediction backend: a registered model served by `ml/local_serve.py`, which runs the model's
 * containers (the sklearn preprocessor's own inference script, then XGBoost) in one long-lived Python process.
 * Requests that arrive while the worker is busy are sent together as one CSV batch, as an endpoint would see them.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RegisteredModel } from './registry';
import { FeedbackStore } from '../model-serving/runtime/api/feedback';
import { DatasetRow, ModelBackend, ModelFailureError, ModelOutput, ModelUnavailableError, parseModelCsv, toCsv, PredictionRecord, PredictionRecorder } from '../model-serving/runtime/api/predict';

interface Pending {
  readonly rows: readonly DatasetRow[];
  readonly resolve: (output: ModelOutput) => void;
  readonly reject: (error: Error) => void;
}

interface WorkerAnswer {
  readonly id?: number;
  readonly body?: string;
  readonly error?: string;
  readonly ready?: boolean;
}

export class LocalModelBackend implements ModelBackend {
  /** Starts the worker and waits until the model has loaded; rejects with the worker's reason otherwise. */
  public static async start(python: string, serveScript: string, model: RegisteredModel): Promise<LocalModelBackend> {
    const containers = model.containers.map((c) => ({ image: c.image, environment: c.environment, modelDataPath: c.modelDataPath }));
    const worker = spawn(python, [serveScript, '--containers', JSON.stringify(containers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const backend = new LocalModelBackend(worker, `${model.modelPackageGroupName}/${model.version}`);
    await backend.ready;
    return backend;
  }

  private readonly ready: Promise<void>;
  private queue: Pending[] = [];
  private inFlight?: { id: number; batch: Pending[] };
  private nextId = 1;
  private exited?: string;
  private stderr = '';

  private constructor(private readonly worker: ChildProcessWithoutNullStreams, private readonly modelVersion: string) {
    let markReady: () => void;
    let failStart: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => { markReady = resolve; failStart = reject; });
    const lines = createInterface({ input: worker.stdout });
    lines.on('line', (line) => {
      let answer: WorkerAnswer;
      try {
        answer = JSON.parse(line);
      } catch {
        return; // not protocol: a library printing to stdout
      }
      if (answer.ready) return markReady();
      if (answer.id === undefined) return failStart(new Error(`The model cannot be served: ${answer.error}`));
      this.settle(answer);
    });
    worker.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4096); });
    worker.on('error', (e) => failStart(new Error(`Cannot start ${worker.spawnfile}: ${e.message}`)));
    worker.on('exit', (code) => {
      this.exited = `the model worker exited (code ${code})`;
      failStart(new Error(`The model cannot be served: ${this.stderr.trim().split('\n').slice(-3).join(' ') || this.exited}`));
      const pending = [...(this.inFlight?.batch ?? []), ...this.queue];
      this.inFlight = undefined;
      this.queue = [];
      for (const p of pending) p.reject(new ModelUnavailableError(this.exited));
    });
  }

  public predict(rows: readonly DatasetRow[]): Promise<ModelOutput> {
    if (this.exited) return Promise.reject(new ModelUnavailableError(this.exited));
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.flush();
    });
  }

  /** Stops the worker. */
  public async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.stdin.end();
    await exited;
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const id = this.nextId++;
    this.inFlight = { id, batch };
    this.worker.stdin.write(`${JSON.stringify({ id, body: toCsv(batch.flatMap((p) => p.rows)) })}\n`);
  }

  private settle(answer: WorkerAnswer): void {
    const inFlight = this.inFlight;
    if (!inFlight || inFlight.id !== answer.id) return;
    this.inFlight = undefined;
    const total = inFlight.batch.reduce((n, p) => n + p.rows.length, 0);
    try {
      if (answer.error !== undefined) throw new ModelFailureError(answer.error);
      const rings = parseModelCsv(answer.body ?? '', total);
      let offset = 0;
      for (const p of inFlight.batch) {
        p.resolve({ rings: rings.slice(offset, offset + p.rows.length), modelVersion: this.modelVersion });
        offset += p.rows.length;
      }
    } catch (e) {
      for (const p of inFlight.batch) p.reject(e as Error);
    }
    this.flush();
  }
}

/** Predictions and their feedback, kept in memory for the life of the local server. */
export class InMemoryPredictionStore implements PredictionRecorder, FeedbackStore {
  private readonly records = new Map<string, PredictionRecord & { actualRings?: number; feedbackAt?: string }>();

  public async record(records: readonly PredictionRecord[]): Promise<void> {
    for (const r of records) this.records.set(r.prediction.predictionId, { ...r });
  }

  public async attachFeedback(predictionId: string, actualRings: number, at: Date): Promise<boolean> {
    const record = this.records.get(predictionId);
    if (!record) return false;
    this.records.set(predictionId, { ...record, actualRings, feedbackAt: at.toISOString() });
    return true;
  }

  /** The stored record of a prediction, with feedback when given. */
  public get(predictionId: string) {
    return this.records.get(predictionId);
  }
}
