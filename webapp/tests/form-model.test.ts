import { describe, expect, it } from 'vitest';
import { MEASURES, SEX_CODES } from '../../src/contracts/abalone-data';
import { PREDICTION_INSTANCE_SCHEMA } from '../../src/contracts/prediction-api';
import {
  FIELD_ORDER,
  MEASURE_INPUTS,
  consistencyWarnings,
  emptyValues,
  exampleValues,
  parseDecimal,
  validateForm,
  validateMeasure,
  validateSex,
} from '../src/form-model';

const properties = PREDICTION_INSTANCE_SCHEMA.properties as unknown as Record<string, { minimum: number; maximum: number }>;

describe('fields follow the contract', () => {
  it('has one input per measure, with the schema limits', () => {
    expect(MEASURE_INPUTS.map((m) => m.name)).toEqual(MEASURES.map((m) => m.apiField));
    for (const m of MEASURE_INPUTS) {
      expect(m.min).toBe(properties[m.name].minimum);
      expect(m.max).toBe(properties[m.name].maximum);
    }
  });

  it('sends exactly the fields the schema requires', () => {
    expect([...FIELD_ORDER].sort()).toEqual([...PREDICTION_INSTANCE_SCHEMA.required].sort());
  });

  it('accepts only the contract sex codes', () => {
    for (const code of SEX_CODES) expect(validateSex(code)).toBeUndefined();
    expect(validateSex('')).toMatch(/choose the sex/i);
    expect(validateSex('X')).toMatch(/choose the sex/i);
  });
});

describe.each(MEASURE_INPUTS.map((m) => [m.label, m] as const))('%s', (_label, spec) => {
  it('rejects an empty value', () => {
    expect(validateMeasure(spec, '')).toBe(`Enter the ${spec.label.toLowerCase()} in ${spec.unit}.`);
    expect(validateMeasure(spec, '   ')).toMatch(/^Enter the/);
  });

  it.each(['abc', '1..2', '0x10', '12mm', '1e'])('rejects the non-number %j', (text) => {
    expect(validateMeasure(spec, text)).toMatch(/must be a number/);
  });

  it('rejects what the browser could not parse', () => {
    expect(validateMeasure(spec, '', true)).toMatch(/must be a number/);
  });

  it('rejects a negative value', () => {
    expect(validateMeasure(spec, '-1')).toBe(`${spec.label} can't be negative.`);
    expect(validateMeasure(spec, '-0.1')).toMatch(/negative/);
  });

  it('rejects a value over the maximum', () => {
    expect(validateMeasure(spec, String(spec.max + 0.1))).toMatch(new RegExp(`at most ${spec.max} ${spec.unit}`));
  });

  it('accepts both bounds and a decimal comma', () => {
    expect(validateMeasure(spec, '0')).toBeUndefined();
    expect(validateMeasure(spec, String(spec.max))).toBeUndefined();
    expect(validateMeasure(spec, '10,5')).toBeUndefined();
  });
});

describe('validateForm', () => {
  it('reports every missing field on an empty form', () => {
    expect(Object.keys(validateForm(emptyValues()).errors)).toEqual([...FIELD_ORDER]);
  });

  it('turns valid text into numbers', () => {
    const { errors, instance } = validateForm({ ...exampleValues(0), lengthMm: ' 91,5 ' });
    expect(errors).toEqual({});
    expect(instance).toEqual({
      sex: 'M',
      lengthMm: 91.5,
      diameterMm: 73,
      heightMm: 19,
      wholeWeightG: 102.8,
      shuckedWeightG: 44.9,
      visceraWeightG: 20.2,
      shellWeightG: 30,
    });
  });

  it('parses decimals strictly', () => {
    expect(parseDecimal('.5')).toBe(0.5);
    expect(parseDecimal('5.')).toBe(5);
    expect(parseDecimal('')).toBeNaN();
    expect(parseDecimal('Infinity')).toBeNaN();
  });
});

describe('examples', () => {
  it('converts the first UCI row to human units', () => {
    expect(exampleValues(0)).toEqual({
      sex: 'M',
      lengthMm: '91',
      diameterMm: '73',
      heightMm: '19',
      wholeWeightG: '102.8',
      shuckedWeightG: '44.9',
      visceraWeightG: '20.2',
      shellWeightG: '30',
    });
  });

  it('are all valid', () => {
    for (let i = 0; i < 3; i++) expect(validateForm(exampleValues(i)).errors).toEqual({});
  });
});

describe('consistency warnings', () => {
  it('flags parts heavier than the whole and a diameter over the length', () => {
    const values = { ...exampleValues(0), wholeWeightG: '40', shuckedWeightG: '44.9', diameterMm: '95' };
    expect(Object.keys(consistencyWarnings(values)).sort()).toEqual(['diameterMm', 'shuckedWeightG']);
  });

  it('stays quiet for a real abalone and for fields not filled yet', () => {
    expect(consistencyWarnings(exampleValues(0))).toEqual({});
    expect(consistencyWarnings(emptyValues())).toEqual({});
  });
});
