// Adds up the JUnit reports every test runner of the build writes into test-reports/ and prints one line.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2] ?? 'test-reports';
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.xml')) : [];
let tests = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  const xml = fs.readFileSync(path.join(dir, file), 'utf8');
  // One <testcase> per test; failures and errors nest inside it, skips as <skipped/>.
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  for (const c of cases) {
    tests += 1;
    if (/<(failure|error)\b/.test(c)) failed += 1;
    else if (/<skipped\b/.test(c)) skipped += 1;
  }
}
if (tests === 0) {
  console.error(`No test results found in ${dir}/`);
  process.exit(1);
}
console.log(`tests: ${tests - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
