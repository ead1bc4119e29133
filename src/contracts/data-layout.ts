/**
 * Where DataIngest keeps things in the data bucket, and the environment its function reads.
 * One definition for the construct, the function and the consumers of the manifest.
 */

/** Default prefix users upload raw CSV files under. */
export const DEFAULT_RAW_PREFIX = 'raw/';

/** Rejected files and their error reports (`<key>.error.json`). */
export const QUARANTINE_PREFIX = 'quarantine/';

/** Validated copies under content-addressed keys (`<sha256>.csv`): never overwritten, so runs are reproducible. */
export const VALIDATED_PREFIX = 'validated/';

/** The data manifest: every valid data file with its lineage; written last, so it is the change trigger. */
export const DATA_MANIFEST_KEY = 'manifest/data-manifest.json';

/** SageMaker `ManifestFile` documents, content-addressed (`<sha256>.json`), named by the data manifest. */
export const TRAINING_MANIFEST_PREFIX = 'manifest/training/';

/** File name endings accepted under the raw prefix. */
export const DATA_FILE_SUFFIXES: readonly string[] = ['.csv', '.data'];

/** Default largest raw file the function accepts, in bytes. */
export const DEFAULT_MAX_FILE_SIZE_BYTES = 100 * 1024 * 1024;

/** Environment variables of the manifest function. */
export const MANIFEST_FUNCTION_ENV = {
  RAW_PREFIX: 'RAW_PREFIX',
  MAX_FILE_SIZE_BYTES: 'MAX_FILE_SIZE_BYTES',
  TOPIC_ARN: 'INGEST_TOPIC_ARN',
  KMS_KEY_ARN: 'KMS_KEY_ARN',
} as const;

/** One valid data file in the data manifest. */
export interface DataManifestFile {
  /** The uploaded object's key, under the raw prefix. */
  readonly sourceKey: string;
  /** The uploaded object's version that was validated. */
  readonly sourceVersionId: string;
  /** The uploaded object's ETag (quotes removed). */
  readonly eTag: string;
  /** Size in bytes. */
  readonly size: number;
  /** Data rows (a header row is not counted). */
  readonly rows: number;
  /** SHA-256 of the content, hex. */
  readonly sha256: string;
  /** Key of the immutable validated copy the training job reads. */
  readonly dataKey: string;
}

/** The data manifest document at {@link DATA_MANIFEST_KEY}. */
export interface DataManifest {
  readonly schemaVersion: 1;
  readonly bucket: string;
  /** Files sorted by `sourceKey`. */
  readonly files: DataManifestFile[];
  readonly totalRows: number;
  /** `s3://…` of the SageMaker ManifestFile listing the files' validated copies; absent when there are no files. */
  readonly trainingManifestUri?: string;
  /** ISO time of the last change. */
  readonly updatedAt: string;
}

/**
 * A copy of the newest SageMaker ManifestFile at a stable key: the default `InputManifestUri` of the training
 * pipeline for runs started by hand. Release runs pass the content-addressed one named in the data manifest.
 */
export const LATEST_TRAINING_MANIFEST_KEY = 'manifest/training-manifest.json';
