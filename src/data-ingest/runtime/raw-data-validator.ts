/**
 * Streaming validator for raw abalone CSV files (the contract in `../contracts/abalone-data`).
 *
 * Pure: no AWS, no I/O. Feed it the file's bytes in chunks of any size with {@link RawDataValidator.push},
 * then call {@link RawDataValidator.finish}. Memory stays bounded by the longest line, whatever the file size.
 */
import { createHash, Hash } from 'node:crypto';
import { MAX_RINGS, MEASURES, RAW_COLUMNS, SEX_CODES } from '../../contracts/abalone-data';

/** One problem found in a file. */
export interface RawDataError {
  /** 1-based line number in the file (a header row is line 1); absent for problems with the file as a whole. */
  readonly row?: number;
  /** Column name from the contract; absent for problems with a whole line or the whole file. */
  readonly column?: string;
  /** What is wrong, for people. */
  readonly reason: string;
}

/** The outcome of validating one file. */
export interface RawDataValidationResult {
  /** True when the file satisfies the contract and has at least one data row. */
  readonly valid: boolean;
  /** Data rows seen (a header row is not counted). Complete only for valid files. */
  readonly rows: number;
  /** True when line 1 is the contract's header row. */
  readonly hasHeader: boolean;
  /** Bytes read. */
  readonly size: number;
  /** SHA-256 (hex) of the whole content; only for valid files, as an invalid file may not have been read to the end. */
  readonly sha256?: string;
  /** The problems found, in file order, at most `maxErrors`. Empty for valid files. */
  readonly errors: RawDataError[];
  /** True when validation stopped at `maxErrors` errors: the file may have more. */
  readonly errorsTruncated: boolean;
  /** One-line summary of why the file is invalid; absent for valid files. */
  readonly reason?: string;
}

/** Options of {@link RawDataValidator}. */
export interface RawDataValidatorOptions {
  /** Largest accepted file, in bytes. @default - no limit */
  readonly maxBytes?: number;
  /** Stop after this many errors. @default 50 */
  readonly maxErrors?: number;
  /** Longest accepted line, in bytes (a real row is about 50 bytes). @default 4096 */
  readonly maxLineBytes?: number;
}

/** Default for {@link RawDataValidatorOptions.maxErrors}. */
export const DEFAULT_MAX_ERRORS = 50;
/** Default for {@link RawDataValidatorOptions.maxLineBytes}. */
export const DEFAULT_MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const NUL = 0x00;
const COLUMN_COUNT = RAW_COLUMNS.length;
const HEADER_LINE = RAW_COLUMNS.join(',');
const SEX_LIST = SEX_CODES.join(', ');
/** A plain decimal number, optionally with an exponent: what pandas and the XGBoost container read as a float. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Validates one raw data file, chunk by chunk.
 *
 * Lines are split on LF before decoding (LF never occurs inside a UTF-8 multi-byte sequence), so a character
 * split across two chunks decodes correctly and an invalid sequence is reported with its line number.
 */
export class RawDataValidator {
  private readonly maxBytes: number;
  private readonly maxErrors: number;
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly hash: Hash = createHash('sha256');
  private readonly errors: RawDataError[] = [];
  /** Bytes of the current, incomplete line. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Line number of the next line to complete. */
  private lineNo = 1;
  /** Blank lines not yet known to be trailing. */
  private blankRows: number[] = [];
  private size = 0;
  private rows = 0;
  private hasHeader = false;
  private stoppedEarly = false;
  private finished = false;

  constructor(options: RawDataValidatorOptions = {}) {
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.maxErrors = Math.max(1, options.maxErrors ?? DEFAULT_MAX_ERRORS);
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  /** True once the file is known to be invalid and further bytes cannot change the outcome: stop reading. */
  public get stopped(): boolean {
    return this.stoppedEarly;
  }

  /** Feeds the next chunk of the file. Chunks after {@link stopped} turns true are ignored. */
  public push(chunk: Uint8Array): void {
    if (this.finished) {
      throw new Error('RawDataValidator: push() after finish()');
    }
    if (this.stoppedEarly || chunk.length === 0) {
      return;
    }
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.fileError(`file is larger than the limit of ${this.maxBytes} bytes`);
      this.stoppedEarly = true;
      return;
    }
    this.hash.update(chunk);

    const nul = chunk.indexOf(NUL);
    if (nul !== -1) {
      this.addError({ row: this.lineNo + countLineFeeds(chunk, 0, nul), reason: 'binary content (NUL byte): not a CSV text file' });
      this.stoppedEarly = true;
      return;
    }

    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf === -1) {
      this.appendPending(chunk);
      return;
    }
    // Everything up to the last LF completes lines: decode that span in one go.
    const head = chunk.subarray(0, lastLf + 1);
    const span = this.pendingBytes === 0 ? head : concat([...this.pending, head], this.pendingBytes + head.length);
    this.pending = [];
    this.pendingBytes = 0;
    this.processSpan(span);
    if (!this.stoppedEarly && lastLf + 1 < chunk.length) {
      this.appendPending(chunk.subarray(lastLf + 1));
    }
  }

  /** Ends the file and returns the outcome. */
  public finish(): RawDataValidationResult {
    if (!this.finished) {
      this.finished = true;
      if (!this.stoppedEarly && this.pendingBytes > 0) {
        // The last line has no line feed.
        this.processSpan(concat(this.pending, this.pendingBytes));
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (!this.stoppedEarly && this.errors.length === 0) {
        // Blank lines still pending here are trailing ones: tolerated.
        if (this.size === 0) {
          this.fileError('file is empty');
        } else if (this.rows === 0) {
          this.fileError(this.hasHeader ? 'file has a header row but no data rows' : 'file has no data rows');
        }
      }
    }
    const valid = this.errors.length === 0;
    return {
      valid,
      rows: this.rows,
      hasHeader: this.hasHeader,
      size: this.size,
      sha256: valid ? this.hash.copy().digest('hex') : undefined,
      errors: [...this.errors],
      errorsTruncated: this.stoppedEarly && this.errors.length >= this.maxErrors,
      reason: valid ? undefined : summarizeErrors(this.errors, this.stoppedEarly && this.errors.length >= this.maxErrors),
    };
  }

  private appendPending(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.maxLineBytes) {
      this.addError({ row: this.lineNo, reason: `line is longer than ${this.maxLineBytes} bytes: not an abalone CSV row` });
      this.stoppedEarly = true;
    }
  }

  /** Decodes and checks complete lines (`span` ends with LF, or is the file's last line). */
  private processSpan(span: Uint8Array): void {
    let text: string;
    try {
      text = this.decoder.decode(span);
    } catch {
      this.addError({ row: this.lineNo + firstUndecodableLine(span), reason: 'not valid UTF-8 text' });
      this.stoppedEarly = true;
      return;
    }
    const lines = text.split('\n');
    if (span[span.length - 1] === LF) {
      lines.pop(); // the empty remainder after the final LF
    }
    for (const line of lines) {
      if (line.length > this.maxLineBytes) {
        this.addError({ row: this.lineNo, reason: `line is longer than ${this.maxLineBytes} bytes: not an abalone CSV row` });
        this.stoppedEarly = true;
        return;
      }
      this.checkLine(line.endsWith('\r') ? line.slice(0, -1) : line, this.lineNo);
      this.lineNo++;
      if (this.stoppedEarly) {
        return;
      }
    }
  }

  private checkLine(rawLine: string, row: number): void {
    let line = rawLine;
    if (row === 1 && line.startsWith('\uFEFF')) {
      this.addError({ row, reason: 'file starts with a UTF-8 byte order mark (BOM): save it as UTF-8 without BOM' });
      line = line.slice(1);
    }
    if (line.trim() === '') {
      this.blankRows.push(row);
      return;
    }
    for (const blank of this.blankRows) {
      this.addError({ row: blank, reason: 'empty line between data rows' });
    }
    this.blankRows = [];

    if (line === HEADER_LINE) {
      if (row === 1) {
        this.hasHeader = true;
      } else {
        this.addError({ row, reason: 'header row is only allowed as the first line' });
      }
      return;
    }
    const fields = line.split(',');
    if (row === 1 && fields[0].trim().toLowerCase() === 'sex') {
      this.addError({ row, reason: `header row must be exactly "${HEADER_LINE}"` });
      return;
    }
    this.rows++;
    if (fields.length !== COLUMN_COUNT) {
      this.addError({ row, reason: `expected ${COLUMN_COUNT} columns, found ${fields.length}` });
      return;
    }
    const sex = fields[0];
    if (!SEX_CODES.includes(sex)) {
      this.addError({ row, column: RAW_COLUMNS[0], reason: `${show(sex)} is not one of ${SEX_LIST}` });
    }
    for (let i = 0; i < MEASURES.length; i++) {
      const reason = checkMeasure(fields[i + 1], MEASURES[i].maxDatasetValue);
      if (reason) {
        this.addError({ row, column: MEASURES[i].column, reason });
      }
    }
    const ringsReason = checkRings(fields[COLUMN_COUNT - 1]);
    if (ringsReason) {
      this.addError({ row, column: RAW_COLUMNS[COLUMN_COUNT - 1], reason: ringsReason });
    }
  }

  private fileError(reason: string): void {
    this.addError({ reason });
  }

  private addError(error: RawDataError): void {
    if (this.errors.length >= this.maxErrors) {
      this.stoppedEarly = true;
      return;
    }
    this.errors.push(error);
    if (this.errors.length >= this.maxErrors) {
      this.stoppedEarly = true;
    }
  }
}

/** Validates a whole file given as chunks (e.g. an S3 object body). Stops reading as soon as the outcome is known. */
export async function validateRawData(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: RawDataValidatorOptions = {},
): Promise<RawDataValidationResult> {
  const validator = new RawDataValidator(options);
  for await (const chunk of chunks) {
    validator.push(chunk);
    if (validator.stopped) {
      break; // leaving the loop closes (destroys) the source stream
    }
  }
  return validator.finish();
}

/** One line summarizing the errors, e.g. for a notification subject or a log line. */
export function summarizeErrors(errors: readonly RawDataError[], truncated = false): string {
  if (errors.length === 0) {
    return 'no errors';
  }
  const first = formatError(errors[0]);
  if (errors.length === 1) {
    return first;
  }
  return `${errors.length}${truncated ? '+' : ''} errors; first: ${first}`;
}

/** `row 12, column sex: "X" is not one of M, F, I` */
export function formatError(error: RawDataError): string {
  const where = [
    error.row !== undefined ? `row ${error.row}` : undefined,
    error.column !== undefined ? `column ${error.column}` : undefined,
  ].filter((part): part is string => part !== undefined);
  return where.length > 0 ? `${where.join(', ')}: ${error.reason}` : error.reason;
}

function checkMeasure(value: string, max: number): string | undefined {
  if (value === '') {
    return 'is empty';
  }
  const n = DECIMAL.test(value) ? parseFloat(value) : Number.NaN; // the pattern guarantees parseFloat reads it all
  if (!Number.isFinite(n)) {
    return `${show(value)} is not a number`;
  }
  if (n < 0) {
    return `${show(value)} is negative`;
  }
  if (n > max) {
    return `${show(value)} is above the maximum ${max} (dataset scale: millimetres and grams divided by 200)`;
  }
  return undefined;
}

function checkRings(value: string): string | undefined {
  if (value === '') {
    return 'is empty';
  }
  if (!INTEGER.test(value)) {
    return DECIMAL.test(value) ? `${show(value)} is not a whole number` : `${show(value)} is not a number`;
  }
  const n = Number(value);
  if (n < 1) {
    return `${show(value)} must be at least 1`;
  }
  if (n > MAX_RINGS) {
    return `${show(value)} is above the maximum ${MAX_RINGS}`;
  }
  return undefined;
}

/** Quotes a field value for an error message, shortened so reports stay small. */
function show(value: string): string {
  return JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value);
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function countLineFeeds(bytes: Uint8Array, start: number, end: number): number {
  let count = 0;
  for (let i = bytes.indexOf(LF, start); i !== -1 && i < end; i = bytes.indexOf(LF, i + 1)) {
    count++;
  }
  return count;
}

/** Index (0-based) of the first line in `span` that is not valid UTF-8 on its own. */
function firstUndecodableLine(span: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let index = 0; start < span.length; index++) {
    const lf = span.indexOf(LF, start);
    const end = lf === -1 ? span.length : lf;
    try {
      decoder.decode(span.subarray(start, end));
    } catch {
      return index;
    }
    start = end + 1;
  }
  return 0;
}
