/**
 * The source reads top-down: index → constructs → definition builder → contracts, with each construct's runtime
 * code beside it. eslint's import zones say which way imports may go; this test checks that the folders form no
 * cycle, which the zones alone do not rule out (two construct folders could import each other).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', 'src');

/** The folder a source file belongs to, as the layering names them. */
export function unitOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return 'root';
  if (parts[1] === 'runtime' || parts[1] === 'definition') return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => fs.existsSync(candidate));
}

/** Folder → the folders its files import (relative imports and re-exports, type-only ones included). */
export function folderGraph(files: string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const from = unitOf(file);
    if (!graph.has(from)) graph.set(from, new Set());
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)) {
      const target = resolveImport(file, match[1] ?? match[2]);
      if (target === undefined) throw new Error(`${path.relative(SRC, file)} imports ${match[1] ?? match[2]}, which does not resolve`);
      const to = unitOf(target);
      if (to !== from) graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** Every cycle's folders (strongly connected components of more than one folder). */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}

describe('the folders of src/', () => {
  const graph = folderGraph(sourceFiles(SRC));

  test('import each other without a cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  test('contracts import no other folder; the definition builder only contracts', () => {
    expect([...graph.get('contracts') ?? []]).toEqual([]);
    expect([...graph.get('training-pipeline/definition') ?? []].filter((u) => u !== 'contracts')).toEqual([]);
  });

  test('no construct folder imports runtime or local-mode code', () => {
    const constructUnits = [...graph.keys()].filter((u) => !u.endsWith('/runtime') && u !== 'local');
    for (const unit of constructUnits) {
      expect({ unit, imports: [...graph.get(unit)!].filter((u) => u.endsWith('/runtime') || u === 'local') }).toEqual({ unit, imports: [] });
    }
  });

  test('the cycle check finds a cycle when there is one', () => {
    const withCycle = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
    expect(cycles(withCycle)).toEqual([['a', 'b', 'c']]);
  });
});
