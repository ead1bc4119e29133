/**
 * A long-lived child process spoken to in JSON lines, as local mode's Python workers are: it first prints
 * `{"ready": true}` (or `{"error": ...}` without an id when it cannot start), then answers each request line
 * `{"id": n, ...}` with a line of the same id. One request is in flight at a time; calls made meanwhile go to the
 * process together in the next one. The model backend and the prediction store extend it.
 */
import { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A line the process prints: the ready signal, a start failure, or the answer to request `id`. */
export interface WorkerAnswer {
  readonly id?: number;
  readonly ready?: boolean;
  readonly error?: string;
  readonly [field: string]: unknown;
}

export interface JsonLinesWorkerOptions<Item, Result> {
  /** The process in errors, e.g. `the model worker`: `<name> exited (code 1)`. */
  readonly name: string;
  /** What a failed start means, e.g. `The model cannot be served`: `<startFailure>: <reason>`. */
  readonly startFailure: string;
  /** The request's fields besides `id`, for the calls sent together. */
  readonly request: (items: readonly Item[]) => Record<string, unknown>;
  /** Each call's result from the answer, in order; what it throws rejects all of them. */
  readonly results: (answer: WorkerAnswer, items: readonly Item[]) => readonly Result[];
  /** The error calls get once the process has exited (default: an Error). */
  readonly exitError?: (message: string) => Error;
}

interface Pending<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: Error) => void;
}

export abstract class JsonLinesWorker<Item, Result> {
  /** Resolves on the process's ready line; rejects with its reason when it cannot start. */
  protected readonly ready: Promise<void>;
  private queue: Pending<Item, Result>[] = [];
  private inFlight?: { id: number; batch: Pending<Item, Result>[] };
  private nextId = 1;
  private exited?: string;
  private stderr = '';

  /** `worker` spawned with its three standard streams piped. */
  protected constructor(private readonly worker: ChildProcessWithoutNullStreams, private readonly options: JsonLinesWorkerOptions<Item, Result>) {
    let markReady: () => void;
    let failStart: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => { markReady = resolve; failStart = reject; });
    createInterface({ input: worker.stdout }).on('line', (line) => {
      let answer: WorkerAnswer;
      try {
        answer = JSON.parse(line);
      } catch {
        return; // not protocol: a library printing to stdout
      }
      if (answer.ready) return markReady();
      if (answer.id === undefined) return failStart(new Error(`${options.startFailure}: ${answer.error}`));
      this.settle(answer);
    });
    worker.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4096); });
    worker.on('error', (e) => failStart(new Error(`Cannot start ${worker.spawnfile}: ${e.message}`)));
    worker.on('exit', (code) => {
      const exited = `${options.name} exited (code ${code})`;
      this.exited = exited;
      failStart(new Error(`${options.startFailure}: ${this.stderr.trim().split('\n').slice(-3).join(' ') || exited}`));
      const pending = [...(this.inFlight?.batch ?? []), ...this.queue];
      this.inFlight = undefined;
      this.queue = [];
      for (const p of pending) p.reject(this.exitError(exited));
    });
  }

  /** Sends `item` with whatever else is waiting; resolves with its result. */
  protected call(item: Item): Promise<Result> {
    if (this.exited) return Promise.reject(this.exitError(this.exited));
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flush();
    });
  }

  /** Ends the process's input and waits until it has exited (after answering what it was sent). */
  public async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.stdin.end();
    await exited;
  }

  private exitError(message: string): Error {
    return this.options.exitError ? this.options.exitError(message) : new Error(message);
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const id = this.nextId++;
    this.inFlight = { id, batch };
    this.worker.stdin.write(`${JSON.stringify({ id, ...this.options.request(batch.map((p) => p.item)) })}\n`);
  }

  private settle(answer: WorkerAnswer): void {
    const inFlight = this.inFlight;
    if (!inFlight || inFlight.id !== answer.id) return;
    this.inFlight = undefined;
    try {
      const results = this.options.results(answer, inFlight.batch.map((p) => p.item));
      inFlight.batch.forEach((p, i) => p.resolve(results[i]));
    } catch (e) {
      for (const p of inFlight.batch) p.reject(e as Error);
    }
    this.flush();
  }
}
