import { createHash } from 'node:crypto';
import { DataManifestFile } from '../../src/contracts/data-layout';
import { configFromEnv } from '../../src/data-ingest/runtime/manifest-config';
import {
  buildDataManifest,
  buildTrainingManifest,
  checkRawPrefix,
  decodeEventKey,
  isRawDataKey,
  parseDataManifest,
  quarantineKeys,
  removeFile,
  sameManifestContent,
  serializeDataManifest,
  unquoteETag,
  upsertFile,
  validatedKey,
} from '../../src/data-ingest/runtime/manifest-logic';
import { snsSubject } from '../../src/data-ingest/runtime/notifications';
import { copySource } from '../../src/data-ingest/runtime/s3-objects';

function file(sourceKey: string, sha: string, rows = 10): DataManifestFile {
  return { sourceKey, sourceVersionId: `v-${sourceKey}`, eTag: 'e', size: 100, rows, sha256: sha, dataKey: validatedKey(sha) };
}
const T = new Date('2026-01-02T03:04:05.000Z');

describe('keys', () => {
  test('decodes S3 event keys (+ for space, percent-encoding)', () => {
    expect(decodeEventKey('raw/my+file%2B1.csv')).toBe('raw/my file+1.csv');
    expect(decodeEventKey('raw/%C3%A9t%C3%A9.csv')).toBe('raw/été.csv');
    expect(decodeEventKey('raw/bad%E0.csv')).toBe('raw/bad%E0.csv');
  });

  test('recognises raw data keys only', () => {
    expect(isRawDataKey('raw/a.csv', 'raw/')).toBe(true);
    expect(isRawDataKey('raw/sub/a.data', 'raw/')).toBe(true);
    expect(isRawDataKey('raw/a.txt', 'raw/')).toBe(false);
    expect(isRawDataKey('raw/', 'raw/')).toBe(false);
    expect(isRawDataKey('other/a.csv', 'raw/')).toBe(false);
    expect(isRawDataKey('validated/abc.csv', 'raw/')).toBe(false);
  });

  test('quarantine keys keep the path below the raw prefix', () => {
    expect(quarantineKeys('raw/2024/a b.csv', 'raw/', 'v1')).toEqual({ objectKey: 'quarantine/2024/a b.csv/v1.csv', reportKey: 'quarantine/2024/a b.csv/v1.error.json' });
    expect(quarantineKeys('raw/x.data', 'raw/', 'null')).toEqual({ objectKey: 'quarantine/x.data/null.data', reportKey: 'quarantine/x.data/null.error.json' });
    // Each version of a key has its own place.
    expect(quarantineKeys('raw/x.csv', 'raw/', 'v2').reportKey).not.toBe(quarantineKeys('raw/x.csv', 'raw/', 'v3').reportKey);
  });

  test('copy sources are URL-encoded and pinned to the version', () => {
    expect(copySource('bkt', 'raw/a b+c/é.csv', 'v1/x')).toBe('bkt/raw/a%20b%2Bc/%C3%A9.csv?versionId=v1%2Fx');
  });

  test('ETags lose their quotes', () => {
    expect(unquoteETag('"abc"')).toBe('abc');
    expect(unquoteETag(undefined)).toBe('');
  });

  test('raw prefixes that would make the function read its own output are refused', () => {
    expect(checkRawPrefix('raw/')).toEqual([]);
    expect(checkRawPrefix('')).not.toEqual([]);
    expect(checkRawPrefix('raw')).not.toEqual([]);
    expect(checkRawPrefix('validated/')).not.toEqual([]);
    expect(checkRawPrefix('manifest/raw/')).not.toEqual([]);
  });
});

describe('configFromEnv', () => {
  test('defaults', () => {
    expect(configFromEnv({})).toEqual({ rawPrefix: 'raw/', maxFileSizeBytes: 100 * 1024 * 1024, topicArn: undefined, kmsKeyArn: undefined });
  });

  test('reads every variable', () => {
    expect(configFromEnv({
      RAW_PREFIX: 'incoming/', MAX_FILE_SIZE_BYTES: '1000', INGEST_TOPIC_ARN: 'arn:aws:sns:us-east-1:1:t', KMS_KEY_ARN: 'arn:aws:kms:us-east-1:1:key/k',
    })).toEqual({ rawPrefix: 'incoming/', maxFileSizeBytes: 1000, topicArn: 'arn:aws:sns:us-east-1:1:t', kmsKeyArn: 'arn:aws:kms:us-east-1:1:key/k' });
  });

  test('fails on a bad size or prefix, naming the variable', () => {
    expect(() => configFromEnv({ MAX_FILE_SIZE_BYTES: 'lots' })).toThrow(/MAX_FILE_SIZE_BYTES must be a positive integer, got "lots"/);
    expect(() => configFromEnv({ RAW_PREFIX: 'quarantine/' })).toThrow(/overlaps "quarantine\/"/);
  });
});

describe('file list changes', () => {
  test('upsert replaces the entry of the same key and keeps files sorted by key', () => {
    const files = upsertFile(upsertFile([], file('raw/b.csv', 'b')), file('raw/a.csv', 'a'));
    expect(files.map((f) => f.sourceKey)).toEqual(['raw/a.csv', 'raw/b.csv']);
    const replaced = upsertFile(files, file('raw/b.csv', 'b2'));
    expect(replaced.map((f) => f.sha256)).toEqual(['a', 'b2']);
  });

  test('remove drops only that key', () => {
    expect(removeFile([file('raw/a.csv', 'a'), file('raw/b.csv', 'b')], 'raw/a.csv').map((f) => f.sourceKey)).toEqual(['raw/b.csv']);
    expect(removeFile([], 'raw/a.csv')).toEqual([]);
  });
});

describe('training manifest (SageMaker ManifestFile)', () => {
  test('prefix first, then the distinct validated copies, sorted; content-addressed key', () => {
    const training = buildTrainingManifest('bkt', [file('raw/z.csv', 'bbb'), file('raw/a.csv', 'aaa'), file('raw/dup.csv', 'aaa')]);
    expect(training).toBeDefined();
    expect(JSON.parse(training!.body)).toEqual([{ prefix: 's3://bkt/validated/' }, 'aaa.csv', 'bbb.csv']);
    expect(training!.sha256).toBe(createHash('sha256').update(training!.body).digest('hex'));
    expect(training!.key).toBe(`manifest/training/${training!.sha256}.json`);
  });

  test('none without files', () => {
    expect(buildTrainingManifest('bkt', [])).toBeUndefined();
  });

  test('refuses a data key outside validated/', () => {
    expect(() => buildTrainingManifest('bkt', [{ ...file('raw/a.csv', 'a'), dataKey: 'raw/a.csv' }])).toThrow(/outside validated\//);
  });
});

describe('data manifest document', () => {
  test('is deterministic: files sorted, stable key order, 2-space indent, totals', () => {
    const m = buildDataManifest('bkt', [file('raw/b.csv', 'bbb', 5), file('raw/a.csv', 'aaa', 7)], T);
    const text = serializeDataManifest(m);
    const training = buildTrainingManifest('bkt', m.files)!;
    expect(text).toBe(JSON.stringify({
      schemaVersion: 1,
      bucket: 'bkt',
      files: [file('raw/a.csv', 'aaa', 7), file('raw/b.csv', 'bbb', 5)],
      totalRows: 12,
      trainingManifestUri: `s3://bkt/${training.key}`,
      updatedAt: '2026-01-02T03:04:05.000Z',
    }, undefined, 2) + '\n');
    // Key order of the input does not matter.
    const shuffled = {
      ...m,
      files: m.files.map((f) => ({
        dataKey: f.dataKey, sha256: f.sha256, rows: f.rows, size: f.size, eTag: f.eTag, sourceVersionId: f.sourceVersionId, sourceKey: f.sourceKey,
      })),
    };
    expect(serializeDataManifest(shuffled)).toBe(text);
  });

  test('has no trainingManifestUri without files', () => {
    const m = buildDataManifest('bkt', [], T);
    expect(m).toEqual({ schemaVersion: 1, bucket: 'bkt', files: [], totalRows: 0, updatedAt: T.toISOString() });
    expect(serializeDataManifest(m)).not.toContain('trainingManifestUri');
  });

  test('round-trips through parseDataManifest', () => {
    const m = buildDataManifest('bkt', [file('raw/a.csv', 'aaa')], T);
    expect(parseDataManifest(serializeDataManifest(m))).toEqual(m);
  });

  test('parseDataManifest explains what is wrong', () => {
    expect(() => parseDataManifest('{')).toThrow(/not JSON/);
    expect(() => parseDataManifest('[]')).toThrow(/not a JSON object/);
    expect(() => parseDataManifest('{"schemaVersion":2}')).toThrow(/schemaVersion 2/);
    expect(() => parseDataManifest('{"schemaVersion":1,"bucket":"b","files":[{"sourceKey":"k"}]}')).toThrow(/files\[0\]/);
  });

  test('sameManifestContent ignores the update time; no manifest equals an empty one', () => {
    const a = buildDataManifest('bkt', [file('raw/a.csv', 'aaa')], T);
    expect(sameManifestContent(a, { ...a, updatedAt: 'later' })).toBe(true);
    expect(sameManifestContent(a, buildDataManifest('bkt', [file('raw/a.csv', 'aab')], T))).toBe(false);
    expect(sameManifestContent(undefined, buildDataManifest('bkt', [], T))).toBe(true);
    expect(sameManifestContent(undefined, a)).toBe(false);
    expect(sameManifestContent(undefined, undefined)).toBe(true);
  });
});

describe('snsSubject', () => {
  test('keeps subjects printable ASCII and under 100 characters', () => {
    expect(snsSubject('Abalone data rejected: raw/été.csv')).toBe('Abalone data rejected: raw/?t?.csv');
    const long = snsSubject(`Abalone data rejected: raw/${'x'.repeat(200)}.csv`);
    expect(long.length).toBeLessThan(100);
    expect(long.endsWith('...')).toBe(true);
    expect(snsSubject('a\nb')).toBe('a?b');
  });
});
