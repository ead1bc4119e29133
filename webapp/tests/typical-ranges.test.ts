import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
// @ts-expect-error plain ES module script without types
import { DATA_FILE, OUTPUT, computeRanges, render } from '../scripts/typical-ranges.mjs';
import { MEASURE_INPUTS } from '../src/form-model';

describe('typical ranges', () => {
  test('the committed file is what the generator computes from data/abalone.data', () => {
    // The webapp's tests run in its folder (npm test --prefix webapp).
    const committed = readFileSync(resolve(OUTPUT), 'utf8');
    expect(committed).toBe(render(computeRanges(readFileSync(resolve(DATA_FILE), 'utf8'))));
  });

  test('the form shows the central range, not the minimum-maximum (one 226 mm height outlier)', () => {
    const typical = Object.fromEntries(MEASURE_INPUTS.map((m) => [m.name, m.typical]));
    expect(typical).toEqual({
      lengthMm: [39, 147],
      diameterMm: [28, 116],
      heightMm: [9, 44],
      wholeWeightG: [7.2, 428.9],
      shuckedWeightG: [2.7, 199.6],
      visceraWeightG: [1.6, 95.2],
      shellWeightG: [2.1, 124],
    });
  });
});
