import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MAX_RINGS, MEASURES, RAW_COLUMNS } from '../../src/contracts/abalone-data';
import {
  formatError,
  RawDataValidationResult,
  RawDataValidator,
  RawDataValidatorOptions,
  summarizeErrors,
  validateRawData,
} from '../../src/data-ingest/runtime/raw-data-validator';

const HEADER = RAW_COLUMNS.join(',');
const GOOD_ROW = 'M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15';
const GOOD_ROW_2 = 'F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9';

/** The full UCI dataset: ABALONE_DATA, or ../shared/data/abalone.data beside the repository. */
function datasetPath(): string {
  const candidates = [process.env.ABALONE_DATA, path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'abalone.data')]
    .filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`The UCI abalone dataset is missing: looked for ${candidates.join(' and ')}. ` +
      'Download abalone.data from https://archive.ics.uci.edu/ml/machine-learning-databases/abalone/ and set ABALONE_DATA to its path.');
  }
  return found;
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Validates text or bytes fed in fixed-size chunks (1 byte stresses every boundary). */
function validate(content: string | Uint8Array, chunkSize = 64 * 1024, options: RawDataValidatorOptions = {}): RawDataValidationResult {
  const all = typeof content === 'string' ? bytes(content) : content;
  const validator = new RawDataValidator(options);
  for (let i = 0; i < all.length; i += chunkSize) {
    validator.push(all.subarray(i, i + chunkSize));
  }
  return validator.finish();
}

function withRow(row: string): string {
  return `${GOOD_ROW}\n${row}\n${GOOD_ROW_2}\n`;
}

describe('RawDataValidator on valid data', () => {
  test('validates the full UCI dataset: 4177 rows, SHA-256 of the bytes', async () => {
    const data = readFileSync(datasetPath());
    const chunks = function* () {
      for (let i = 0; i < data.length; i += 1000) yield data.subarray(i, i + 1000); // chunk edges mid-line
    };
    const result = await validateRawData(chunks());
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ valid: true, rows: 4177, hasHeader: false, size: data.length });
    expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test('the result does not depend on chunking', () => {
    const content = `${HEADER}\r\n${GOOD_ROW}\r\n${GOOD_ROW_2}\r\n`;
    const whole = validate(content);
    for (const size of [1, 2, 3, 7, 50]) {
      expect(validate(content, size)).toEqual(whole);
    }
    expect(whole).toMatchObject({ valid: true, rows: 2, hasHeader: true });
  });

  test('tolerates the contract header row as the first line', () => {
    expect(validate(`${HEADER}\n${GOOD_ROW}\n`)).toMatchObject({ valid: true, rows: 1, hasHeader: true });
  });

  test('tolerates CRLF line endings, a missing final newline and trailing blank lines', () => {
    expect(validate(`${GOOD_ROW}\r\n${GOOD_ROW_2}\r\n`)).toMatchObject({ valid: true, rows: 2 });
    expect(validate(`${GOOD_ROW}\n${GOOD_ROW_2}`)).toMatchObject({ valid: true, rows: 2 });
    expect(validate(`${GOOD_ROW}\n${GOOD_ROW_2}\n\n\r\n  \n`)).toMatchObject({ valid: true, rows: 2 });
  });

  test('accepts the bounds: measures of 0 and at the maximum, rings 1 and MAX_RINGS', () => {
    const atMax = MEASURES.map((m) => String(m.maxDatasetValue)).join(',');
    const zeros = MEASURES.map(() => '0').join(',');
    expect(validate(`I,${zeros},1\nF,${atMax},${MAX_RINGS}\n`)).toMatchObject({ valid: true, rows: 2 });
  });
});

describe('RawDataValidator rejects', () => {
  test('a row with the wrong number of columns, naming the row', () => {
    const result = validate(withRow('M,0.455,0.365,0.095,0.514,0.2245,0.101,15'));
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([{ row: 2, reason: 'expected 9 columns, found 8' }]);
    expect(validate(withRow(`${GOOD_ROW},1`)).errors).toEqual([{ row: 2, reason: 'expected 9 columns, found 10' }]);
  });

  test.each(['X', 'm', '', ' M', 'Male'])('sex %p', (sex) => {
    const result = validate(withRow(`${sex}${GOOD_ROW.slice(1)}`));
    expect(result.errors).toEqual([{ row: 2, column: 'sex', reason: `${JSON.stringify(sex)} is not one of M, F, I` }]);
  });

  test.each([
    ['abc', '"abc" is not a number'],
    ['NaN', '"NaN" is not a number'],
    ['Infinity', '"Infinity" is not a number'],
    ['0,455', undefined], // a decimal comma shifts the columns
    ['', 'is empty'],
    ['-0.1', '"-0.1" is negative'],
    ['1.3', '"1.3" is above the maximum 1.25 (dataset scale: millimetres and grams divided by 200)'],
    ['91', '"91" is above the maximum 1.25 (dataset scale: millimetres and grams divided by 200)'],
  ])('length %p', (value, reason) => {
    const result = validate(withRow(`M,${value},0.365,0.095,0.514,0.2245,0.101,0.15,15`));
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([reason === undefined
      ? { row: 2, reason: 'expected 9 columns, found 10' }
      : { row: 2, column: 'length', reason }]);
  });

  test('each measure against its own maximum, naming the column', () => {
    MEASURES.forEach((measure, i) => {
      const fields = GOOD_ROW.split(',');
      fields[i + 1] = String(measure.maxDatasetValue + 0.01);
      const result = validate(withRow(fields.join(',')));
      expect(result.errors).toEqual([{ row: 2, column: measure.column, reason: expect.stringContaining(`above the maximum ${measure.maxDatasetValue}`) }]);
    });
  });

  test.each([
    ['0', '"0" must be at least 1'],
    ['-3', '"-3" must be at least 1'],
    ['2.5', '"2.5" is not a whole number'],
    ['15.0', '"15.0" is not a whole number'],
    [String(MAX_RINGS + 1), `"${MAX_RINGS + 1}" is above the maximum ${MAX_RINGS}`],
    ['x', '"x" is not a number'],
    ['', 'is empty'],
  ])('rings %p', (rings, reason) => {
    const result = validate(withRow(`M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,${rings}`));
    expect(result.errors).toEqual([{ row: 2, column: 'rings', reason }]);
  });

  test('several errors in one row, one per column, in column order', () => {
    const result = validate(`${GOOD_ROW}\nQ,-1,0.365,0.095,9,0.2245,0.101,0.15,0\n`);
    expect(result.errors.map((e) => [e.row, e.column])).toEqual([[2, 'sex'], [2, 'length'], [2, 'whole_weight'], [2, 'rings']]);
    expect(result.reason).toBe('4 errors; first: row 2, column sex: "Q" is not one of M, F, I');
  });

  test('an empty file', () => {
    const result = validate('');
    expect(result).toMatchObject({ valid: false, rows: 0, reason: 'file is empty' });
    expect(result.errors).toEqual([{ reason: 'file is empty' }]);
  });

  test('a file of blank lines', () => {
    expect(validate('\n\r\n\n').reason).toBe('file has no data rows');
  });

  test('a header-only file', () => {
    expect(validate(`${HEADER}\n`)).toMatchObject({ valid: false, hasHeader: true, reason: 'file has a header row but no data rows' });
  });

  test('a header with other column names', () => {
    const result = validate(`sex,len,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,rings\n${GOOD_ROW}\n`);
    expect(result.errors).toEqual([{ row: 1, reason: `header row must be exactly "${HEADER}"` }]);
  });

  test('a header row after line 1', () => {
    expect(validate(`${GOOD_ROW}\n${HEADER}\n${GOOD_ROW_2}\n`).errors).toEqual([{ row: 2, reason: 'header row is only allowed as the first line' }]);
  });

  test('a blank line between data rows (but not trailing ones)', () => {
    expect(validate(`${GOOD_ROW}\n\n${GOOD_ROW_2}\n\n`).errors).toEqual([{ row: 2, reason: 'empty line between data rows' }]);
  });

  test('a UTF-8 byte order mark', () => {
    const result = validate(`\uFEFF${GOOD_ROW}\n`);
    expect(result.errors).toEqual([{ row: 1, reason: expect.stringContaining('byte order mark') }]);
  });

  test('binary content (NUL bytes), naming the line, and stops reading', () => {
    const content = new Uint8Array([...bytes(`${GOOD_ROW}\n${GOOD_ROW_2}\n`), 0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x0a]);
    const validator = new RawDataValidator();
    validator.push(content);
    expect(validator.stopped).toBe(true);
    validator.push(bytes(GOOD_ROW)); // ignored
    const result = validator.finish();
    expect(result.errors).toEqual([{ row: 3, reason: 'binary content (NUL byte): not a CSV text file' }]);
    expect(result.sha256).toBeUndefined();
  });

  test('invalid UTF-8, including a sequence split across chunk boundaries', () => {
    // "é" is C3 A9; C3 followed by "," is invalid. Split the bad sequence over two chunks.
    const prefix = bytes(`${GOOD_ROW}\n${GOOD_ROW_2}\nM`);
    const content = new Uint8Array([...prefix, 0xc3, ...bytes(',0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n')]);
    for (const chunkSize of [1, 2, prefix.length + 1, 4096]) {
      const result = validate(content, chunkSize);
      expect(result.errors).toEqual([{ row: 3, reason: 'not valid UTF-8 text' }]);
    }
    // A truncated multi-byte sequence at the very end of the file.
    expect(validate(new Uint8Array([...bytes(`${GOOD_ROW}\n`), 0xe2, 0x82]), 1).errors).toEqual([{ row: 2, reason: 'not valid UTF-8 text' }]);
    // Latin-1 text (a typical export from an old spreadsheet).
    expect(validate(new Uint8Array([...bytes(`${GOOD_ROW}\nM`), 0xe9, 0x0a])).errors).toEqual([{ row: 2, reason: 'not valid UTF-8 text' }]);
  });

  test('a valid multi-byte character split across chunks decodes and is judged as a value, not as bad encoding', () => {
    const row = `É${GOOD_ROW.slice(1)}`; // É is C3 89
    const content = bytes(`${GOOD_ROW}\n${row}\n`);
    const splitAt = bytes(`${GOOD_ROW}\n`).length + 1; // between C3 and 89
    const validator = new RawDataValidator();
    validator.push(content.subarray(0, splitAt));
    validator.push(content.subarray(splitAt));
    expect(validator.finish().errors).toEqual([{ row: 2, column: 'sex', reason: '"É" is not one of M, F, I' }]);
    // ...and one in a trailing blank-ish line position does not break the rows before it.
    expect(validate(`${GOOD_ROW}\n${row}\n`, 1).errors).toEqual([{ row: 2, column: 'sex', reason: '"É" is not one of M, F, I' }]);
  });

  test('a file over the size limit, without reading further', () => {
    const validator = new RawDataValidator({ maxBytes: 60 });
    validator.push(bytes(`${GOOD_ROW}\n`));
    validator.push(bytes(`${GOOD_ROW}\n`));
    expect(validator.stopped).toBe(true);
    expect(validator.finish().errors).toEqual([{ reason: 'file is larger than the limit of 60 bytes' }]);
  });

  test('an over-long line (e.g. a binary or JSON file without line feeds)', () => {
    const result = validate('x'.repeat(10_000), 1000);
    expect(result.errors).toEqual([{ row: 1, reason: 'line is longer than 4096 bytes: not an abalone CSV row' }]);
  });

  test('stops after maxErrors errors and says so', () => {
    const bad = Array.from({ length: 200 }, () => `X${GOOD_ROW.slice(1)}`).join('\n');
    const result = validate(bad, 64);
    expect(result.errors).toHaveLength(50);
    expect(result.errors[49]).toEqual({ row: 50, column: 'sex', reason: '"X" is not one of M, F, I' });
    expect(result.errorsTruncated).toBe(true);
    expect(result.reason).toMatch(/^50\+ errors; first: row 1, column sex/);
    expect(validate(bad, 64, { maxErrors: 3 }).errors).toHaveLength(3);
  });
});

describe('error formatting', () => {
  test('formatError names row and column when known', () => {
    expect(formatError({ row: 7, column: 'rings', reason: 'r' })).toBe('row 7, column rings: r');
    expect(formatError({ row: 7, reason: 'r' })).toBe('row 7: r');
    expect(formatError({ reason: 'r' })).toBe('r');
  });

  test('summarizeErrors', () => {
    expect(summarizeErrors([])).toBe('no errors');
    expect(summarizeErrors([{ reason: 'file is empty' }])).toBe('file is empty');
  });

  test('long values are shortened in messages', () => {
    const result = validate(withRow(`M,${'9'.repeat(100)},0.365,0.095,0.514,0.2245,0.101,0.15,15`));
    expect(result.errors[0].reason).toBe(`"${'9'.repeat(24)}…" is above the maximum 1.25 (dataset scale: millimetres and grams divided by 200)`);
  });
});
