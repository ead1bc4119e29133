/**
 * The UCI Abalone data the package ships as local mode's default: the UCI file unchanged, with its attribution and
 * checksum beside it, and local mode refusing a copy that does not match.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ABALONE_DATASET_FILE, ABALONE_DATASET_SHA256 } from '../../src/contracts/abalone-dataset';
import { DEFAULT_DATA_FILE, DataRejectedError, localRun, verifiedDefaultData } from '../../src/local/local-run';
import { checkPython } from '../../src/local/python';

const ROOT = path.resolve(__dirname, '..', '..');
const SHIPPED = path.join(ROOT, ABALONE_DATASET_FILE);
const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

/** The UCI file the other tests read: ABALONE_DATA, or ../shared/data/abalone.data beside the repository. */
function uciFile(): string {
  const candidates = [process.env.ABALONE_DATA, path.resolve(ROOT, '..', 'shared', 'data', 'abalone.data')].filter((c): c is string => !!c);
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error(`The UCI abalone dataset is missing: looked for ${candidates.join(' and ')}. Set ABALONE_DATA to its path.`);
  return found;
}

describe('the shipped dataset', () => {
  test('is the UCI file byte for byte, with the recorded SHA-256', () => {
    const shipped = fs.readFileSync(SHIPPED);
    const uci = fs.readFileSync(uciFile());
    expect(sha256(shipped)).toBe(sha256(uci));
    expect(shipped.equals(uci)).toBe(true);
    expect(sha256(shipped)).toBe(ABALONE_DATASET_SHA256);
  });

  test('travels with its attribution: creators, source, CC BY 4.0 and the checksum', () => {
    const readme = fs.readFileSync(path.join(path.dirname(SHIPPED), 'README.md'), 'utf8');
    expect(readme).toContain('CC BY 4.0');
    expect(readme).toContain('https://creativecommons.org/licenses/by/4.0/');
    expect(readme).toContain('https://archive.ics.uci.edu/dataset/1/abalone');
    expect(readme).toMatch(/Nash.*Sellers.*Talbot.*Cawthorn.*Ford/s);
    expect(readme).toContain(ABALONE_DATASET_SHA256);
  });

  test('is in the npm package, once', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }));
    const files: string[] = pack.files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining([ABALONE_DATASET_FILE, 'data/README.md']));
    expect(files.filter((f) => path.basename(f) === path.basename(ABALONE_DATASET_FILE))).toEqual([ABALONE_DATASET_FILE]);
  });
});

describe('local mode\'s default data', () => {
  let temp: string;
  beforeEach(() => {
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-default-data-'));
  });
  afterEach(() => fs.rmSync(temp, { recursive: true, force: true }));

  test('is the shipped file, verified', () => {
    expect(DEFAULT_DATA_FILE).toBe(SHIPPED);
    expect(verifiedDefaultData()).toBe(SHIPPED);
  });

  test('fails, naming both checksums, when the file does not match', () => {
    const damaged = path.join(temp, 'abalone.data');
    const content = fs.readFileSync(SHIPPED);
    content[content.length - 2] = '3'.charCodeAt(0); // the last row's rings, 12 -> 13: still valid data
    fs.writeFileSync(damaged, content);

    expect(() => verifiedDefaultData(damaged)).toThrow(DataRejectedError);
    expect(() => verifiedDefaultData(damaged)).toThrow(
      `The package's default data ${damaged} is damaged: its SHA-256 is ${sha256(content)}, expected ${ABALONE_DATASET_SHA256}. `
      + 'Reinstall the package, or pass --data FILE|DIR|URL.');
  });

  test('fails clearly when the file is missing', () => {
    const missing = path.join(temp, 'abalone.data');
    expect(() => verifiedDefaultData(missing)).toThrow(
      `The package's default data ${missing} cannot be read (ENOENT): reinstall the package, or pass --data FILE|DIR|URL.`);
  });

  test('local run without data trains on it, with no download', async () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const report = await localRun({ home: temp, python: await checkPython() });

    expect(fetchSpy).not.toHaveBeenCalled();
    expect(report.status).toBe('Succeeded');
    expect(report.gate.passed).toBe(true);
    expect(fs.readFileSync(path.join(report.outDir, 'data', 'abalone.data')).equals(fs.readFileSync(SHIPPED))).toBe(true);
  }, 240_000);
});
