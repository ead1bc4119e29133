/**
 * Walks the module graph of a built package from its entry points (package.json `main` and every `bin`) and finds
 * the imports an installed copy cannot satisfy: a bare package that is neither a Node built-in nor in
 * `dependencies`/`peerDependencies`, a relative import whose file is missing, or a `require` of a computed name.
 *
 *   npx ts-node --transpile-only test/package/module-graph.ts [PACKAGE_DIR]
 */
import * as fs from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

export interface ModuleGraphProblem {
  /** The module holding the import, relative to the package root. */
  readonly file: string;
  /** What it imports, as written. */
  readonly specifier: string;
  /** Why an installed package cannot load it. */
  readonly reason: string;
  /** The modules that lead to `file`, from `file` back to an entry point (as Node prints a require stack). */
  readonly chain: readonly string[];
}

export interface ModuleGraph {
  /** Every module reached, relative to the package root. */
  readonly modules: readonly string[];
  readonly problems: readonly ModuleGraphProblem[];
}

/** A package's entry point is missing: the package has not been built. */
export class EntryPointMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryPointMissingError';
  }
}

/** Walks the graph of the package in `packageDir` (its package.json and built files). */
export function walkModuleGraph(packageDir: string): ModuleGraph {
  const root = path.resolve(packageDir);
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const rel = (file: string) => path.relative(root, file).split(path.sep).join('/');

  const entries: Array<[file: string, label: string]> = [];
  if (manifest.main) entries.push([manifest.main, 'package.json main']);
  const bins = typeof manifest.bin === 'string' ? { [manifest.name]: manifest.bin } : manifest.bin ?? {};
  for (const [name, file] of Object.entries<string>(bins)) entries.push([file, `package.json bin ${name}`]);
  if (entries.length === 0) throw new EntryPointMissingError(`${root}/package.json declares neither main nor bin`);

  // Breadth first, so each chain is a shortest one; `parent` records how each module was first reached.
  const parent = new Map<string, string | undefined>();
  const labels = new Map<string, string>();
  const queue: string[] = [];
  for (const [entry, label] of entries) {
    const file = path.resolve(root, entry);
    if (!fs.existsSync(file)) {
      throw new EntryPointMissingError(`${entry} (${label}) does not exist in ${root}: build the library first (npx projen compile).`);
    }
    if (!parent.has(file)) {
      parent.set(file, undefined);
      labels.set(file, label);
      queue.push(file);
    }
  }
  const chainOf = (file: string) => {
    const chain: string[] = [];
    for (let f: string | undefined = file; f !== undefined; f = parent.get(f)) {
      chain.push(labels.has(f) ? `${rel(f)} (${labels.get(f)})` : rel(f));
    }
    return chain;
  };

  const problems: ModuleGraphProblem[] = [];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const file = next;
    const problem = (specifier: string, reason: string) => problems.push({ file: rel(file), specifier, reason, chain: chainOf(file) });
    const resolve = createRequire(file).resolve;
    for (const specifier of importsOf(file)) {
      if (specifier === undefined) {
        problem('(computed)', 'the module name is computed at run time, so it cannot be checked');
      } else if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
        let target: string;
        try {
          target = resolve(specifier);
        } catch {
          problem(specifier, 'no such file in the package');
          continue;
        }
        if (!target.startsWith(root + path.sep)) {
          problem(specifier, `resolves outside the package, to ${target}`);
        } else if (/\.[cm]?js$/.test(target) && !parent.has(target)) {
          parent.set(target, file);
          queue.push(target);
        }
      } else if (!isBuiltin(specifier) && !declared.has(packageName(specifier))) {
        problem(specifier, `${packageName(specifier)} is neither a Node built-in nor in dependencies or peerDependencies`);
      }
    }
  }
  return { modules: [...parent.keys()].map(rel), problems };
}

/** One problem, worded like Node's "Cannot find module" error. */
export function formatProblem(p: ModuleGraphProblem): string {
  return [`${p.file} imports '${p.specifier}': ${p.reason}`, 'Import chain:', ...p.chain.map((f) => `- ${f}`)].join('\n');
}

/** The module names a CommonJS or ES module loads: `require`, `require.resolve`, `import`, `export … from`. */
function importsOf(file: string): Array<string | undefined> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const found: Array<string | undefined> = [];
  const nameOf = (node: ts.Node | undefined) => (node && ts.isStringLiteralLike(node) ? node.text : undefined);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isResolve = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)
        && callee.expression.text === 'require' && callee.name.text === 'resolve';
      if ((isRequire || isResolve || callee.kind === ts.SyntaxKind.ImportKeyword) && node.arguments.length > 0) {
        found.push(nameOf(node.arguments[0]));
      }
    } else if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      found.push(nameOf(node.moduleSpecifier));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

if (require.main === module) {
  const dir = process.argv[2] ?? path.resolve(__dirname, '..', '..');
  try {
    const graph = walkModuleGraph(dir);
    for (const p of graph.problems) process.stderr.write(`${formatProblem(p)}\n\n`);
    process.stdout.write(`${graph.modules.length} modules reached from the entry points of ${path.resolve(dir)}; ${graph.problems.length} undeclared or unresolvable imports\n`);
    process.exitCode = graph.problems.length > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
