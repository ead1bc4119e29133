/**
 * Browser tests of the built app in a real Chromium. Against the bundled test server by default;
 * set E2E_BASE_URL to drive any server that implements the same contract.
 */
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { RETRY_AFTER_SECONDS } from '../../src/contracts/prediction-api';
import { fakeAge, MODEL_VERSION, startTestServer, type TestServer } from './server';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = '/tmp/webapp.png';
const SCREENSHOT_NARROW = '/tmp/webapp-360.png';

const EXAMPLE = {
  sex: 'Male',
  measures: {
    'Length (mm)': '91',
    'Diameter (mm)': '73',
    'Height (mm)': '19',
    'Whole weight (g)': '102.8',
    'Shucked weight (g)': '44.9',
    'Viscera weight (g)': '20.2',
    'Shell weight (g)': '30',
  } as Record<string, string>,
};

interface Env {
  readonly baseUrl: string;
  /** Only when the runner started its own server. */
  readonly server?: TestServer;
}

interface Scenario {
  readonly name: string;
  readonly viewport?: { width: number; height: number };
  run(page: Page, env: Env): Promise<void>;
}

/** Retries `assertion` until it passes or `timeoutMs` runs out, then throws its last error. */
async function eventually(assertion: () => Promise<void> | void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function expectText(locator: Locator, expected: string | RegExp): Promise<void> {
  await eventually(async () => {
    const text = (await locator.innerText()).replace(/\s+/g, ' ');
    const ok = typeof expected === 'string' ? text.includes(expected) : expected.test(text);
    if (!ok) throw new Error(`expected ${String(expected)} in "${text}"`);
  });
}

/** The texts an element's aria-describedby points at. */
async function description(locator: Locator): Promise<string> {
  return locator.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' | '),
  );
}

async function expectDescription(locator: Locator, expected: string): Promise<void> {
  await eventually(async () => {
    const text = await description(locator);
    if (!text.includes(expected)) throw new Error(`expected "${expected}" in the description "${text}"`);
  });
}

async function expectFocused(locator: Locator): Promise<void> {
  await eventually(async () => {
    if (!(await locator.evaluate((el) => el === document.activeElement))) throw new Error('element is not focused');
  });
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function open(page: Page, env: Env): Promise<void> {
  await page.goto(env.baseUrl);
  await page.getByRole('button', { name: 'Predict age' }).waitFor();
}

async function fillExample(page: Page): Promise<void> {
  await page.getByRole('radio', { name: EXAMPLE.sex, exact: true }).check();
  for (const [label, value] of Object.entries(EXAMPLE.measures)) await page.getByLabel(label, { exact: true }).fill(value);
}

const result = (page: Page) => page.getByRole('region', { name: 'Predicted age' });
const expectedAge = () => fakeAge({ shellWeightG: Number(EXAMPLE.measures['Shell weight (g)']) }).toFixed(1);

async function expectAge(page: Page, env: Env): Promise<void> {
  const status = result(page).getByRole('status');
  try {
    if (env.server) {
      await expectText(status, `${expectedAge()} years`);
      await expectText(status, `Model version: ${MODEL_VERSION}`);
    } else {
      await expectText(status, /\d+\.\d years .*rings predicted.*Model version: \S+/);
    }
  } catch (error) {
    const alert = await result(page).locator('[role=alert]').textContent({ timeout: 1_000 }).catch(() => '');
    throw alert ? new Error(`${(error as Error).message}; the page says: ${alert}`) : error;
  }
}

const scenarios: Scenario[] = [
  {
    name: 'fill the form, see the age, send feedback',
    viewport: { width: 1100, height: 900 },
    async run(page, env) {
      await open(page, env);
      await fillExample(page);
      await page.getByRole('button', { name: 'Predict age' }).click();
      await expectAge(page, env);
      const rings = page.getByLabel('Actual ring count');
      if (env.server || (await rings.count()) > 0) {
        await rings.fill('11');
        await page.getByRole('button', { name: 'Send ring count' }).click();
        await expectText(page.getByRole('form', { name: 'Know the real age?' }).getByRole('status'), 'Thank you: 11 rings recorded');
      }
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    },
  },
  {
    name: 'keyboard only: example abalone, then predict',
    async run(page, env) {
      await open(page, env);
      const pressUntilFocused = async (name: string) => {
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press('Tab');
          const text = await page.evaluate(() => document.activeElement?.textContent ?? '');
          if (text.trim() === name) return;
        }
        throw new Error(`"${name}" is not reachable with Tab`);
      };
      await pressUntilFocused('Example abalone');
      await page.keyboard.press('Enter');
      await pressUntilFocused('Predict age');
      await page.keyboard.press('Enter');
      await expectAge(page, env);
    },
  },
  {
    name: 'bad values, see the messages',
    async run(page, env) {
      const sent: string[] = [];
      page.on('request', (r) => r.method() === 'POST' && sent.push(r.url()));
      await open(page, env);
      await page.getByRole('button', { name: 'Predict age' }).click();
      await expectFocused(page.getByRole('radio').first());
      await expectText(page.locator('form'), 'Check the 8 highlighted fields.');
      const length = page.getByLabel('Length (mm)', { exact: true });
      assert((await length.getAttribute('aria-invalid')) === 'true', 'an empty length should be invalid');
      await expectDescription(length, 'Enter the length in mm.');

      await length.fill('-5');
      await expectDescription(length, "Length can't be negative.");
      const whole = page.getByLabel('Whole weight (g)', { exact: true });
      await whole.fill('9999');
      await whole.blur();
      await expectDescription(whole, 'Whole weight must be at most 1000 g.');
      const height = page.getByLabel('Height (mm)', { exact: true });
      await height.focus();
      await page.keyboard.type('1e');
      await height.blur();
      await expectDescription(height, 'Height must be a number');
      await page.getByRole('button', { name: 'Predict age' }).click();
      await expectFocused(page.getByRole('radio').first());
      assert(sent.length === 0, `nothing should be sent, but saw ${sent.join(', ')}`);
    },
  },
  {
    name: "the server's per-field 400 appears next to the field",
    async run(page, env) {
      await open(page, env);
      // Bypass the form's own checks so the server has to judge the value.
      await page.route('**/predictions', async (route) => {
        const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
        await route.continue({ postData: JSON.stringify({ ...body, lengthMm: 9999 }) });
      });
      await fillExample(page);
      await page.getByRole('button', { name: 'Predict age' }).click();
      const length = page.getByLabel('Length (mm)', { exact: true });
      await expectFocused(length);
      assert((await length.getAttribute('aria-invalid')) === 'true', 'length should be marked invalid');
      await expectDescription(length, '250');
      await expectText(result(page).getByRole('alert'), 'Check the length.');
    },
  },
  {
    name: 'no model deployed: 503, see the retry message, retry',
    async run(page, env) {
      await open(page, env);
      if (env.server) {
        env.server.setUnavailable(true);
      } else {
        await page.route('**/predictions', (route) =>
          route.fulfill({
            status: 503,
            headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
            contentType: 'application/json',
            body: JSON.stringify({ message: 'No model is deployed yet' }),
          }),
        );
      }
      await fillExample(page);
      await page.getByRole('button', { name: 'Predict age' }).click();
      const alert = result(page).getByRole('alert');
      await expectText(alert, 'No model is deployed yet');
      await expectText(alert, new RegExp(`Try again in ${RETRY_AFTER_SECONDS} seconds \\(at \\d{1,2}:\\d{2}:\\d{2}`));
      if (env.server) env.server.setUnavailable(false);
      else await page.unroute('**/predictions');
      await page.getByRole('button', { name: 'Try again' }).click();
      await expectAge(page, env);
    },
  },
  {
    name: 'on a 390×844 phone the answer is in view after "Predict age"',
    viewport: { width: 390, height: 844 },
    async run(page, env) {
      await open(page, env);
      await fillExample(page);
      const button = page.getByRole('button', { name: 'Predict age' });
      await button.scrollIntoViewIfNeeded();
      await button.click();
      await expectAge(page, env);
      const status = result(page).getByRole('status');
      await eventually(async () => {
        const box = await status.boundingBox();
        const viewport = page.viewportSize()!;
        assert(box, 'the result has no box');
        assert(box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width,
          `the result (${Math.round(box.y)}–${Math.round(box.y + box.height)} px from the top) is outside the ${viewport.height} px viewport`);
      }, 2_000);
    },
  },
  {
    name: 'usable at 360 px wide',
    viewport: { width: 360, height: 780 },
    async run(page, env) {
      await open(page, env);
      await page.getByRole('button', { name: 'Example abalone' }).click();
      await page.getByRole('button', { name: 'Predict age' }).click();
      await expectAge(page, env);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
      await page.screenshot({ path: SCREENSHOT_NARROW, fullPage: true });
    },
  },
];

async function runScenario(browser: Browser, scenario: Scenario, env: Env): Promise<void> {
  const context = await browser.newContext({ viewport: scenario.viewport ?? { width: 1024, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(5_000);
  // A CSP violation or an uncaught error fails the scenario even when the page looks fine.
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  try {
    await scenario.run(page, env);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  } finally {
    await context.close();
    env.server?.setUnavailable(false);
  }
}

async function main(): Promise<number> {
  const external = process.env.E2E_BASE_URL;
  const siteRoot = process.env.E2E_SITE_ROOT;
  if (!external && !siteRoot) throw new Error('Set E2E_SITE_ROOT to the built app, or E2E_BASE_URL to a running server.');
  const server = external ? undefined : await startTestServer(siteRoot!);
  const env: Env = { baseUrl: external ?? server!.url, server };
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  let passed = 0;
  let failed = 0;
  console.log(`e2e against ${env.baseUrl}${server ? ' (test server)' : ''}`);
  try {
    for (const scenario of scenarios) {
      const started = Date.now();
      try {
        await runScenario(browser, scenario, env);
        passed++;
        console.log(`  ✓ ${scenario.name} (${Date.now() - started} ms)`);
      } catch (error) {
        failed++;
        console.log(`  ✗ ${scenario.name}\n    ${String(error instanceof Error ? error.message : error).replace(/\n/g, '\n    ')}`);
      }
    }
  } finally {
    await browser.close();
    await server?.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  },
);
