/**
 * A real headless Chromium against `local serve` and a freshly trained, approved model: the web app's own e2e
 * scenarios, and the age the page shows for the UCI example abalone.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { EXAMPLE, EXAMPLE_CSV, ROOT, SLOW, ServeProcess, WEBAPP_DIR, pythonReference, removeTempDirs, round2, startServeCli, tempDir, trainAndApprove } from './support';

jest.setTimeout(SLOW);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The web app's own dependency: the package itself does not depend on a browser driver.
const requireFromWebapp = createRequire(path.join(ROOT, 'webapp', 'package.json'));

let home: string;
let serve: ServeProcess;

beforeAll(async () => {
  if (!fs.existsSync(path.join(WEBAPP_DIR, 'index.html'))) throw new Error(`The web app is not built (${WEBAPP_DIR}): run the build first`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
  home = tempDir('browser');
  await trainAndApprove(home);
  serve = await startServeCli(home);
});

afterAll(async () => {
  await serve?.stop();
  removeTempDirs();
});

test('the web app\'s e2e scenarios pass against local serve', async () => {
  const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('npm', ['run', 'e2e', '--prefix', 'webapp', '--silent'], {
      cwd: ROOT, env: { ...process.env, E2E_BASE_URL: serve.url, CHROMIUM_PATH: CHROMIUM }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
  expect(result.output).toContain(`e2e against ${serve.url}\n`);
  expect(result.output).toMatch(/\b[1-9]\d* passed, 0 failed/);
  expect(result.code).toBe(0);
});

test('the page shows a plausible age for the example abalone, the one the model computes', async () => {
  const { chromium } = requireFromWebapp('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(serve.url);
    await page.getByRole('radio', { name: 'Male', exact: true }).check();
    const labels: Record<string, number> = {
      'Length (mm)': EXAMPLE.lengthMm,
      'Diameter (mm)': EXAMPLE.diameterMm,
      'Height (mm)': EXAMPLE.heightMm,
      'Whole weight (g)': EXAMPLE.wholeWeightG,
      'Shucked weight (g)': EXAMPLE.shuckedWeightG,
      'Viscera weight (g)': EXAMPLE.visceraWeightG,
      'Shell weight (g)': EXAMPLE.shellWeightG,
    };
    for (const [label, value] of Object.entries(labels)) await page.getByLabel(label, { exact: true }).fill(String(value));
    await page.getByRole('button', { name: 'Predict age' }).click();
    const result = page.getByRole('region', { name: 'Predicted age' });
    const ageText = await result.locator('.age-value').innerText();
    const ageYears = Number(ageText);
    expect(ageYears).toBeGreaterThanOrEqual(2);
    expect(ageYears).toBeLessThanOrEqual(30);
    expect(await result.getByRole('status').innerText()).toContain('Model version: AbaloneModelPackageGroup/1');

    const [rings] = await pythonReference(home, 1, [EXAMPLE_CSV]);
    expect(ageText).toBe((round2(round2(rings) + 1.5)).toFixed(1));
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
});
