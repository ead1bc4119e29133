/**
 * `local feedback export`: the predictions `local serve` stored with feedback, as a raw data file to train on. Each
 * row is the prediction's features and the actual rings people reported, in the raw data contract's columns, one row
 * per prediction (a second feedback replaces the first in the store). Each row is validated the way DataIngest
 * validates an upload; rows outside the contract are dropped and counted.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { STORE_FILE, STORE_SCRIPT } from './local-store';
import { formatError, validateRawData } from '../data-ingest/runtime/raw-data-validator';

const execFileAsync = promisify(execFile);

export interface FeedbackExportOptions {
  /** Local mode's home: `serve.sqlite3` is read from it. */
  readonly home: string;
  readonly python: string;
  /** The CSV to write. @default <home>/feedback/feedback-<UTC time>.csv */
  readonly out?: string;
  /** Only feedback collected at or after this ISO 8601 time. @default all stored */
  readonly since?: string;
}

export interface FeedbackExportResult {
  /** The file written (absolute). */
  readonly file: string;
  /** Rows written. */
  readonly rows: number;
  /** Rows outside the raw data contract, left out. */
  readonly dropped: number;
  /** Why, per distinct reason with its count. */
  readonly droppedReasons: string[];
}

/** The store is missing or the export failed: the message says what to do. */
export class FeedbackExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedbackExportError';
  }
}

export async function exportFeedback(options: FeedbackExportOptions): Promise<FeedbackExportResult> {
  const database = path.join(options.home, STORE_FILE);
  if (!fs.existsSync(database)) {
    throw new FeedbackExportError(`No stored feedback: ${database} does not exist (\`cdk-mlops-abalone local serve\` stores predictions and feedback there)`);
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.resolve(options.out ?? path.join(options.home, 'feedback', `feedback-${stamp}.csv`));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-feedback-'));
  try {
    const exported = path.join(scratch, 'feedback.csv');
    const args = [STORE_SCRIPT, 'export-feedback', '--db', database, '--out', exported,
      ...(options.since !== undefined ? ['--since', options.since] : [])];
    try {
      await execFileAsync(options.python, args, { maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
      throw new FeedbackExportError(`Exporting the stored feedback failed: ${stderr.replace(/^ERROR: /, '') || (e as Error).message}`);
    }
    const kept: string[] = [];
    const reasons = new Map<string, number>();
    for (const line of fs.readFileSync(exported, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
      // One row at a time through DataIngest's validator: the file as a whole is then valid too.
      const result = await validateRawData([Buffer.from(`${line}\n`)]);
      if (result.valid) {
        kept.push(line);
      } else {
        const reason = result.errors.length > 0 ? formatError({ ...result.errors[0], row: undefined }) : result.reason ?? 'invalid';
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
    const dropped = [...reasons.values()].reduce((a, b) => a + b, 0);
    return { file, rows: kept.length, dropped, droppedReasons: [...reasons].map(([reason, n]) => `${n} × ${reason}`) };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
