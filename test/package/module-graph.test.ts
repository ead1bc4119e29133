/**
 * The built package loads with only its declared dependencies: every module reachable from `main` and the `bin`
 * imports Node built-ins, peer/declared dependencies or its own files. Runs on lib/ as `npx projen build` leaves it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryPointMissingError, formatProblem, walkModuleGraph } from './module-graph';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the built package', () => {
  test('imports nothing beyond Node built-ins and its dependencies and peerDependencies, from main and every bin', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const graph = walkModuleGraph(ROOT);
    if (graph.problems.length > 0) {
      throw new Error(`Loading the installed package would fail:\n\n${graph.problems.map(formatProblem).join('\n\n')}`);
    }
    // The walk really covers the construct code and local mode.
    expect(graph.modules).toEqual(expect.arrayContaining([manifest.main, ...Object.values(manifest.bin), 'lib/mlops-abalone-pipeline.js']));
    expect(graph.modules.length).toBeGreaterThan(20);
  });
});

describe('the module graph walker', () => {
  let temp: string;
  let dir: string;
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  };
  beforeEach(() => {
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'abalone-module-graph-'));
    dir = path.join(temp, 'package');
  });
  afterEach(() => fs.rmSync(temp, { recursive: true, force: true }));

  test('reports an undeclared package with the shortest chain back to the entry point', () => {
    write('package.json', JSON.stringify({
      name: 'fixture',
      main: 'lib/index.js',
      bin: { tool: 'lib/cli.js' },
      dependencies: { dep: '1' },
      peerDependencies: { '@scope/peer': '1' },
      devDependencies: { leaky: '1' },
    }));
    write('lib/index.js', [
      'const fs = require("node:fs"); const path = require("path"); require("fs/promises");',
      'require("dep/sub"); require("@scope/peer/x"); exports.a = require("./a");',
    ].join('\n'));
    write('lib/a.js', 'exports.lazy = () => require("./deep/b.js");');
    write('lib/deep/b.js', 'module.exports = require("leaky");');
    write('lib/cli.js', 'import("@scope/other/y").then(() => require.resolve("./a"));');

    const graph = walkModuleGraph(dir);

    expect([...graph.modules].sort()).toEqual(['lib/a.js', 'lib/cli.js', 'lib/deep/b.js', 'lib/index.js']);
    expect(graph.problems.map(formatProblem)).toEqual([
      [
        "lib/cli.js imports '@scope/other/y': @scope/other is neither a Node built-in nor in dependencies or peerDependencies",
        'Import chain:',
        '- lib/cli.js (package.json bin tool)',
      ].join('\n'),
      [
        "lib/deep/b.js imports 'leaky': leaky is neither a Node built-in nor in dependencies or peerDependencies",
        'Import chain:',
        '- lib/deep/b.js',
        '- lib/a.js',
        '- lib/index.js (package.json main)',
      ].join('\n'),
    ]);
  });

  test('reports a missing relative file, a module outside the package and a computed require', () => {
    write('package.json', JSON.stringify({ name: 'fixture', main: 'lib/index.js' }));
    write('lib/index.js', 'require("./gone"); require("../../outside"); require(process.env.NAME);');
    write('../outside.js', '');

    const reasons = walkModuleGraph(dir).problems.map((p) => `${p.specifier}: ${p.reason}`);

    expect(reasons).toEqual([
      './gone: no such file in the package',
      expect.stringMatching(/^\.\.\/\.\.\/outside: resolves outside the package, to /),
      '(computed): the module name is computed at run time, so it cannot be checked',
    ]);
  });

  test('fails, rather than passing, when an entry point has not been built', () => {
    write('package.json', JSON.stringify({ name: 'fixture', main: 'lib/index.js', bin: 'lib/cli.js' }));
    write('lib/index.js', '');

    expect(() => walkModuleGraph(dir)).toThrow(EntryPointMissingError);
    expect(() => walkModuleGraph(dir)).toThrow(`lib/cli.js (package.json bin fixture) does not exist in ${dir}: build the library first (npx projen compile).`);
  });
});
