/**
 * The local prediction backend: a registered model served by `ml/local_serve.py`, which runs the model's
 * containers (the sklearn preprocessor's own inference script, then XGBoost) in one long-lived Python process.
 * Requests that arrive while the worker is busy are sent together as one CSV batch, as an endpoint would see them.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { JsonLinesWorker } from './json-lines-worker';
import { RegisteredModel } from './registry';
import { DatasetRow, ModelBackend, ModelFailureError, ModelOutput, ModelUnavailableError, parseModelCsv, toCsv } from '../model-serving/runtime/api/predict';

export class LocalModelBackend extends JsonLinesWorker<readonly DatasetRow[], ModelOutput> implements ModelBackend {
  /** Starts the worker and waits until the model has loaded; rejects with the worker's reason otherwise. */
  public static async start(python: string, serveScript: string, model: RegisteredModel): Promise<LocalModelBackend> {
    const containers = model.containers.map((c) => ({ image: c.image, environment: c.environment, modelDataPath: c.modelDataPath }));
    const worker = spawn(python, [serveScript, '--containers', JSON.stringify(containers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const backend = new LocalModelBackend(worker, `${model.modelPackageGroupName}/${model.version}`);
    await backend.ready;
    return backend;
  }

  private constructor(worker: ChildProcessWithoutNullStreams, modelVersion: string) {
    super(worker, {
      name: 'the model worker',
      startFailure: 'The model cannot be served',
      request: (batch) => ({ body: toCsv(batch.flat()) }),
      results: (answer, batch) => {
        if (answer.error !== undefined) throw new ModelFailureError(answer.error);
        const rings = parseModelCsv(typeof answer.body === 'string' ? answer.body : '', batch.reduce((n, rows) => n + rows.length, 0));
        let offset = 0;
        return batch.map((rows) => {
          offset += rows.length;
          return { rings: rings.slice(offset - rows.length, offset), modelVersion };
        });
      },
      exitError: (message) => new ModelUnavailableError(message),
    });
  }

  public predict(rows: readonly DatasetRow[]): Promise<ModelOutput> {
    return this.call(rows);
  }
}
