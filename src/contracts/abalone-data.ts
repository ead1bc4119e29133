/**
 * The raw data contract (UCI Abalone): one definition used by the manifest function, the
 * prediction API and, through the consistency test, the Python scripts.
 *
 * Measures are stored on the dataset's scale: millimetres and grams divided by 200.
 */

/** Human units (mm, g) are divided by this to reach the dataset's scale. */
export const DATASET_SCALE_DIVISOR = 200;

/** Sex codes of the dataset: male, female, infant. */
export const SEX_CODES: readonly string[] = ['M', 'F', 'I'];

/** One continuous measure of an abalone. */
export interface MeasureSpec {
  /** Column name in the raw CSV (and the header row a file may carry). */
  readonly column: string;
  /** Field name in the prediction API, in human units. */
  readonly apiField: string;
  /** Label shown to people. */
  readonly label: string;
  /** Human unit of the API field. */
  readonly unit: 'mm' | 'g';
  /**
   * Largest plausible value on the dataset's scale. The UCI maxima are well below these
   * (length 0.815, height 1.13, whole weight 2.8255), so real outliers still pass while
   * values in the wrong unit (e.g. millimetres in a raw file) are rejected.
   */
  readonly maxDatasetValue: number;
}

/** The seven measures, in the raw CSV's column order. The minimum of each is 0 (the UCI data has heights of 0). */
export const MEASURES: readonly MeasureSpec[] = [
  { column: 'length', apiField: 'lengthMm', label: 'Length', unit: 'mm', maxDatasetValue: 1.25 },
  { column: 'diameter', apiField: 'diameterMm', label: 'Diameter', unit: 'mm', maxDatasetValue: 1.0 },
  { column: 'height', apiField: 'heightMm', label: 'Height', unit: 'mm', maxDatasetValue: 1.25 },
  { column: 'whole_weight', apiField: 'wholeWeightG', label: 'Whole weight', unit: 'g', maxDatasetValue: 5.0 },
  { column: 'shucked_weight', apiField: 'shuckedWeightG', label: 'Shucked weight', unit: 'g', maxDatasetValue: 3.0 },
  { column: 'viscera_weight', apiField: 'visceraWeightG', label: 'Viscera weight', unit: 'g', maxDatasetValue: 1.5 },
  { column: 'shell_weight', apiField: 'shellWeightG', label: 'Shell weight', unit: 'g', maxDatasetValue: 2.0 },
];

/** Rings are a positive integer up to this bound (the UCI maximum is 29). */
export const MAX_RINGS = 100;

/** Age in years is rings plus this offset (abalone.names). */
export const AGE_OFFSET_YEARS = 1.5;

/** The nine raw CSV columns, in order. */
export const RAW_COLUMNS: readonly string[] = ['sex', ...MEASURES.map((m) => m.column), 'rings'];
