/**
 * What the form knows about an abalone, derived from the prediction API contract:
 * field names, units and limits come from the shared schema, never from copies.
 */
import { DATASET_SCALE_DIVISOR, MEASURES, SEX_CODES } from '../../src/contracts/abalone-data';
import { PREDICTION_INSTANCE_SCHEMA } from '../../src/contracts/prediction-api';
import { TYPICAL_RANGES } from './typical-ranges';

/** One abalone as the API expects it: `sex` plus the seven measures in mm and g. */
export type PredictionInstance = { sex: string } & Record<string, string | number>;

/** Raw text of every field, keyed by API field name (`sex`, `lengthMm`, …). */
export type FormValues = Record<string, string>;

/** Problems keyed by API field name. */
export type FieldMessages = Record<string, string>;

export interface MeasureInput {
  readonly name: string;
  readonly label: string;
  readonly unit: 'mm' | 'g';
  readonly min: number;
  readonly max: number;
  readonly step: number;
  /** The central range of the UCI data (1st to 99th percentile), in human units, rounded to 1 mm or 0.1 g. */
  readonly typical?: readonly [number, number];
}

const SEX_LABELS: Readonly<Record<string, string>> = { F: 'Female', M: 'Male', I: 'Infant' };

export const SEX_OPTIONS = SEX_CODES.map((code) => ({ code, label: SEX_LABELS[code] ?? code }));

/** Dataset scale to human units, without floating-point noise (0.2245 × 200 = 44.9). */
export function toHumanUnits(datasetValue: number): number {
  return Math.round(datasetValue * DATASET_SCALE_DIVISOR * 1000) / 1000;
}

type SchemaProperty = { minimum?: unknown; maximum?: unknown };
const schemaProperties = PREDICTION_INSTANCE_SCHEMA.properties as Record<string, SchemaProperty | undefined>;

function schemaBound(field: string, key: 'minimum' | 'maximum'): number {
  const value = schemaProperties[field]?.[key];
  if (typeof value !== 'number') throw new Error(`The prediction schema has no numeric ${key} for ${field}`);
  return value;
}

export const MEASURE_INPUTS: readonly MeasureInput[] = MEASURES.map((m) => {
  const range = TYPICAL_RANGES[m.column];
  const round = (v: number) => (m.unit === 'mm' ? Math.round(toHumanUnits(v)) : Math.round(toHumanUnits(v) * 10) / 10);
  return {
    name: m.apiField,
    label: m.label,
    unit: m.unit,
    min: schemaBound(m.apiField, 'minimum'),
    max: schemaBound(m.apiField, 'maximum'),
    // The UCI data has 1 mm and 0.1 g resolution.
    step: m.unit === 'mm' ? 0.5 : 0.1,
    typical: range ? [round(range[0]), round(range[1])] : undefined,
  };
});

export const FIELD_ORDER: readonly string[] = ['sex', ...MEASURE_INPUTS.map((m) => m.name)];

export function fieldLabel(name: string): string {
  if (name === 'sex') return 'Sex';
  return MEASURE_INPUTS.find((m) => m.name === name)?.label ?? name;
}

export function emptyValues(): FormValues {
  return Object.fromEntries(FIELD_ORDER.map((name) => [name, '']));
}

/** Real rows of the UCI data (sex + seven measures, dataset scale), offered as examples. */
const EXAMPLE_ROWS: readonly (readonly [string, ...number[]])[] = [
  ['M', 0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15],
  ['F', 0.53, 0.42, 0.135, 0.677, 0.2565, 0.1415, 0.21],
  ['I', 0.33, 0.255, 0.08, 0.205, 0.0895, 0.0395, 0.055],
];

export const EXAMPLE_COUNT = EXAMPLE_ROWS.length;

/** The `index`-th example abalone, converted to the form's units. */
export function exampleValues(index: number): FormValues {
  const [sex, ...measures] = EXAMPLE_ROWS[index % EXAMPLE_ROWS.length];
  const values: FormValues = { sex };
  MEASURE_INPUTS.forEach((m, i) => {
    values[m.name] = String(toHumanUnits(measures[i]));
  });
  return values;
}

const UNIT_WORDS = { mm: 'millimetres', g: 'grams' } as const;
const NUMBER_PATTERN = /^[+-]?(\d+[.,]?\d*|[.,]\d+)(e[+-]?\d+)?$/i;

/** A decimal number typed by a person (a decimal comma is accepted), or NaN. */
export function parseDecimal(text: string): number {
  const trimmed = text.trim();
  if (!NUMBER_PATTERN.test(trimmed)) return Number.NaN;
  return Number(trimmed.replace(',', '.'));
}

export function validateSex(value: string): string | undefined {
  if (SEX_CODES.includes(value)) return undefined;
  const labels = SEX_OPTIONS.map((o) => o.label.toLowerCase());
  return `Choose the sex: ${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}.`;
}

/**
 * `badInput` is the browser's signal that a number field holds text it could not parse
 * (its value then reads as empty).
 */
export function validateMeasure(spec: MeasureInput, raw: string, badInput = false): string | undefined {
  const label = spec.label;
  if (badInput) return `${label} must be a number, in ${UNIT_WORDS[spec.unit]}.`;
  if (raw.trim() === '') return `Enter the ${label.toLowerCase()} in ${spec.unit}.`;
  const value = parseDecimal(raw);
  if (!Number.isFinite(value)) return `${label} must be a number, in ${UNIT_WORDS[spec.unit]}.`;
  if (value < spec.min) {
    return spec.min === 0 ? `${label} can't be negative.` : `${label} must be at least ${spec.min} ${spec.unit}.`;
  }
  if (value > spec.max) {
    return `${label} must be at most ${spec.max} ${spec.unit}. Is it in ${UNIT_WORDS[spec.unit]}?`;
  }
  return undefined;
}

export function validateField(name: string, raw: string, badInput = false): string | undefined {
  if (name === 'sex') return validateSex(raw);
  const spec = MEASURE_INPUTS.find((m) => m.name === name);
  return spec ? validateMeasure(spec, raw, badInput) : undefined;
}

export interface FormCheck {
  readonly errors: FieldMessages;
  /** Present only when there are no errors. */
  readonly instance?: PredictionInstance;
}

export function validateForm(values: FormValues, badInputs: Record<string, boolean> = {}): FormCheck {
  const errors: FieldMessages = {};
  for (const name of FIELD_ORDER) {
    const message = validateField(name, values[name] ?? '', badInputs[name] ?? false);
    if (message) errors[name] = message;
  }
  if (Object.keys(errors).length > 0) return { errors };
  const instance: PredictionInstance = { sex: values.sex };
  for (const m of MEASURE_INPUTS) instance[m.name] = parseDecimal(values[m.name]);
  return { errors, instance };
}

/**
 * Plausibility checks across fields. They only warn: the UCI data itself has rows that break
 * them, and the model still answers.
 */
export function consistencyWarnings(values: FormValues): FieldMessages {
  const number = (name: string) => {
    const spec = MEASURE_INPUTS.find((m) => m.name === name);
    const raw = values[name] ?? '';
    return spec && !validateMeasure(spec, raw) ? parseDecimal(raw) : undefined;
  };
  const warnings: FieldMessages = {};
  const length = number('lengthMm');
  const diameter = number('diameterMm');
  if (length !== undefined && diameter !== undefined && diameter > length) {
    warnings.diameterMm = 'Larger than the length, which is the longest measure. Check the two values.';
  }
  const whole = number('wholeWeightG');
  if (whole !== undefined) {
    for (const part of ['shuckedWeightG', 'visceraWeightG', 'shellWeightG']) {
      const weight = number(part);
      if (weight !== undefined && weight > whole) {
        warnings[part] = 'Heavier than the whole abalone. Check the weights.';
      }
    }
  }
  return warnings;
}
