/**
 * The zip archive local mode mounts in its processing jobs: valid for Python's zipfile (CRCs included), importable
 * from PYTHONPATH as the cloud jobs import the asset's zip, and the same bytes for the same files.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeTempDirs, tempDir } from './support';
import { writeSharedModulesArchive } from '../../src/local/local-run';
import { checkPython } from '../../src/local/python';
import { crc32, zipArchive } from '../../src/local/zip-archive';

afterAll(removeTempDirs);

const ML = path.resolve(__dirname, '..', '..', 'ml');

describe('zipArchive', () => {
  test('CRC-32 is the zip one', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  test('Python reads every entry back, and its CRC checks pass', async () => {
    const dir = tempDir('zip');
    const entries = [
      { name: 'a.py', data: Buffer.from('VALUE = "ä"\n') },
      { name: 'pkg/b.txt', data: Buffer.alloc(70_000, 'x') },
      { name: 'empty', data: Buffer.alloc(0) },
    ];
    fs.writeFileSync(path.join(dir, 'x.zip'), zipArchive(entries));
    const read = execFileSync(await checkPython(), ['-c', [
      'import json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'print(json.dumps({i.filename: [len(z.read(i)), i.date_time[:3]] for i in z.infolist()}))',
    ].join('\n'), path.join(dir, 'x.zip')], { encoding: 'utf8' });
    expect(JSON.parse(read)).toEqual({ 'a.py': [entries[0].data.length, [1980, 1, 1]], 'pkg/b.txt': [70_000, [1980, 1, 1]], 'empty': [0, [1980, 1, 1]] });
  });

  test('the same files make the same bytes', () => {
    const entries = [{ name: 'm.py', data: Buffer.from('X = 1\n') }];
    expect(zipArchive(entries)).toEqual(zipArchive(entries));
  });

  test('refuses names that leave the archive', () => {
    expect(() => zipArchive([{ name: '../x.py', data: Buffer.alloc(1) }])).toThrow('must be a relative path');
    expect(() => zipArchive([{ name: '/x.py', data: Buffer.alloc(1) }])).toThrow('must be a relative path');
  });
});

describe('the shared modules\' archive of a run', () => {
  test('Python imports the generated contract from it on PYTHONPATH, and it holds nothing else', async () => {
    const dir = tempDir('shared');
    const archive = writeSharedModulesArchive(dir);
    expect(archive).toBe(path.join(dir, 'shared-modules.zip'));
    const out = execFileSync(await checkPython(), ['-c', [
      'import json, zipfile, abalone_contract as c',
      'print(json.dumps([c.__file__, zipfile.ZipFile(c.__loader__.archive).namelist(), c.__loader__.get_data(c.__file__).decode()]))',
    ].join('\n')], { encoding: 'utf8', cwd: dir, env: { ...process.env, PYTHONPATH: archive } });
    const [file, names, source] = JSON.parse(out);
    expect(file).toBe(path.join(archive, 'abalone_contract.py'));
    expect(names).toEqual(['abalone_contract.py']);
    expect(source).toBe(fs.readFileSync(path.join(ML, 'abalone_contract.py'), 'utf8'));
  });
});
