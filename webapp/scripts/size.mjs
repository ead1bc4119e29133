// Prints the raw and gzip -9 size of the built JS and CSS, and fails when the JS exceeds its budget.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

const JS_GZIP_BUDGET = 80 * 1024;
const assetsDir = fileURLToPath(new URL('../../assets/webapp/assets', import.meta.url));

let files;
try {
  files = readdirSync(assetsDir).filter((f) => /\.(js|css)$/.test(f)).sort();
} catch {
  console.error(`No build output in ${assetsDir}: run "npm run build" first.`);
  process.exit(1);
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const totals = { js: { raw: 0, gzip: 0 }, css: { raw: 0, gzip: 0 } };
for (const file of files) {
  const content = readFileSync(join(assetsDir, file));
  const gzip = gzipSync(content, { level: constants.Z_BEST_COMPRESSION }).length;
  const total = totals[file.endsWith('.js') ? 'js' : 'css'];
  total.raw += content.length;
  total.gzip += gzip;
  console.log(`${file.padEnd(28)} ${kb(content.length).padStart(10)} raw ${kb(gzip).padStart(10)} gzip -9`);
}
for (const [kind, t] of Object.entries(totals)) {
  console.log(`${`total ${kind}`.padEnd(28)} ${kb(t.raw).padStart(10)} raw ${kb(t.gzip).padStart(10)} gzip -9`);
}
if (totals.js.gzip > JS_GZIP_BUDGET) {
  console.error(`JS is ${kb(totals.js.gzip)} gzipped, over the ${kb(JS_GZIP_BUDGET)} budget.`);
  process.exit(1);
}
