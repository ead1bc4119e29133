/**
 * The copy of the UCI Abalone dataset the package ships (attribution in `data/README.md`): local mode's default
 * data. Its checksum is recorded so local mode can tell a damaged copy from the real one.
 */

/** The shipped file, relative to the package's root folder. */
export const ABALONE_DATASET_FILE = 'data/abalone.data';

/** SHA-256 of the shipped file, which is the UCI file unchanged. */
export const ABALONE_DATASET_SHA256 = 'de37cdcdcaaa50c309d514f248f7c2302a5f1f88c168905eba23fe2fbc78449f';
