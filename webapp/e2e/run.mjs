// Node 20 cannot run TypeScript: bundle the e2e sources (and the contract they import) first.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.E2E_SITE_ROOT ??= fileURLToPath(new URL('../../assets/webapp', import.meta.url));
if (!process.env.E2E_BASE_URL && !existsSync(join(process.env.E2E_SITE_ROOT, 'index.html'))) {
  console.error(`No built app in ${process.env.E2E_SITE_ROOT}: run "npm run build" first.`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const outfile = fileURLToPath(new URL('../node_modules/.cache/e2e/main.mjs', import.meta.url));
await build({
  entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
