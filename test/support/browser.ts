// Browser helpers for tests: playwright-core driving Debian's Chromium (/usr/bin/chromium; never a downloaded
// browser), headless, with nothing phoning home. Screenshots go to test-artifacts/ (gitignored). Every launch is
// closed by the caller's finally (or withBrowser), so no Chromium outlives its test.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.BORG_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS_DIR = join(fileURLToPath(new URL('../..', import.meta.url)), 'test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** withBrowser runs f with a fresh page (1400x900) and always closes the browser. */
export async function withBrowser<T>(f: (page: Page, browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    return await f(page, browser);
  } finally {
    await browser.close();
  }
}

/** screenshot saves a full-page PNG under test-artifacts/<group>/<name>.png and returns its path. */
export async function screenshot(page: Page, group: string, name: string): Promise<string> {
  const dir = join(ARTIFACTS_DIR, group);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** collectPageErrors records uncaught script errors and dialogs (an alert() means injected script ran). */
export function collectPageErrors(page: Page): { errors: string[]; dialogs: string[] } {
  const out = { errors: [] as string[], dialogs: [] as string[] };
  page.on('pageerror', (e) => out.errors.push(e.message));
  page.on('dialog', (d) => {
    out.dialogs.push(d.message());
    void d.dismiss();
  });
  return out;
}
