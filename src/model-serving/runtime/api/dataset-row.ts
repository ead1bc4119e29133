/**
 * An API instance (human units) as the model sees it (the dataset's scale). Its own module, without the request
 * validator, so that functions which only convert stored instances do not bundle the validator.
 */
import { DATASET_SCALE_DIVISOR, MEASURES } from '../../../contracts/abalone-data';

/** One abalone in human units, as the API receives it. */
export interface PredictionInstance {
  readonly sex: string;
  readonly [apiField: string]: string | number;
}

/**
 * One abalone on the dataset's scale in the raw CSV's column order, without rings:
 * `sex, length, diameter, height, whole_weight, shucked_weight, viscera_weight, shell_weight`.
 */
export type DatasetRow = readonly [string, ...number[]];

const MEASURE_FIELDS = MEASURES.map((m) => m.apiField);

/**
 * Human units (mm, g) to the dataset's scale, in the raw CSV's column order. Rounded to 12 decimals so that
 * binary noise (20.2 / 200 = 0.10099999999999999) does not reach the CSV; dataset values are at most a few units.
 */
export function toDatasetRow(instance: PredictionInstance): DatasetRow {
  const row: [string, ...number[]] = [instance.sex];
  for (const field of MEASURE_FIELDS) row.push(Math.round(((instance[field] as number) / DATASET_SCALE_DIVISOR) * 1e12) / 1e12);
  return row;
}
