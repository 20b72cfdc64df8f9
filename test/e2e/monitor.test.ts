// The run form and the monitor in browser mode, on small generated data: a bad field is named
// beside itself, a tiny run started from the form shows its curves growing and ends finished,
// and nothing on the page logs an error. Screenshots at 1280x800 go to test-results/.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeIdxData } from '../helpers/idxData.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';
import { root, startBrowserMode } from '../helpers/startApp.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-monitor-'));
const dataDir = path.join(work, 'data');
const shots = path.join(root, 'test-results');

let app: ChildProcess;
let browser: Browser | undefined;
let url: string;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
  const started = await startBrowserMode({ db: path.join(work, 'history.db'), cacheDir: path.join(work, 'cache') });
  ({ app, url } = started);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (app && app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('run form and monitor in browser mode', () => {
  it('starts a tiny run from the form and shows its curves live until it finishes', async () => {
    browser = await launchChromium();
    const { page, problems } = await watchedPage(browser);

    await page.goto(url);
    await page.locator('[data-test="empty-state"]').waitFor({ timeout: 15_000 });

    // An empty monitor says what to do next.
    await page.locator('[data-test="tab-monitor"]').click();
    expect(await page.locator('[data-test="monitor-empty"]').textContent()).toContain('Start a run');

    await page.locator('[data-test="tab-new"]').click();
    const form = page.locator('[data-test="run-form"]');
    await form.waitFor({ timeout: 15_000 });
    // The host's defaults fill the form.
    expect(await page.locator('#f-steps').inputValue()).toBe('1500');
    expect(await page.locator('#f-gamma').inputValue()).toBe('0.995');

    // An invalid field: the schema's message beside it, and Start is off until it is fixed.
    await page.locator('#f-budget').fill('-1');
    const budgetError = page.locator('[data-test="error-budget"]');
    await budgetError.waitFor();
    expect(await budgetError.textContent()).toBe('Must be >= 0.');
    expect(await page.locator('[data-test="start"]').isDisabled()).toBe(true);
    await page.screenshot({ path: path.join(shots, 'run-form-invalid.png') });
    await page.locator('#f-budget').fill('0.2');
    await budgetError.waitFor({ state: 'detached' });

    await page.locator('input[name="strategy-random"]').uncheck();
    await page.locator('input[name="strategy-mix-cd"]').check();
    await page.locator('#f-seeds').fill('1');
    await page.locator('#f-steps').fill('40');
    await page.locator('#f-eval').fill('10');
    await page.locator('#f-data').fill(dataDir);
    expect(await page.locator('[data-test="start"]').textContent()).toContain('Start run');
    await page.screenshot({ path: path.join(shots, 'run-form.png') });
    await page.locator('[data-test="start"]').click();

    // The monitor takes over: the run's card, then points on the retention chart.
    await page.waitForURL(/#\/monitor$/);
    const card = page.locator('[data-test^="live-run-"]');
    await card.first().waitFor({ timeout: 15_000 });
    const retention = page.locator('[data-test="chart-retention"] .echart');
    // Polled from here: the page's CSP refuses the string evaluation waitForFunction would need.
    await expect
      .poll(async () => Number(await retention.getAttribute('data-points')), { timeout: 120_000, interval: 250 })
      .toBeGreaterThanOrEqual(1);
    expect(await retention.locator('canvas').count()).toBeGreaterThan(0);

    await page.locator('[data-test^="live-run-"][data-status="finished"]').waitFor({ timeout: 180_000 });
    // Evals at steps 0, 10, 20, 30, 40 (at least the ones after step 0 if it is not evaluated).
    expect(Number(await retention.getAttribute('data-points'))).toBeGreaterThanOrEqual(4);
    for (const key of ['finetune', 'cd', 'precision']) {
      expect(
        Number(await page.locator(`[data-test="chart-${key}"] .echart`).getAttribute('data-points')),
      ).toBeGreaterThanOrEqual(4);
    }
    expect(await card.first().locator('[data-test="live-step"]').textContent()).toContain('step 40 / 40');
    expect((await card.first().locator('[data-test="live-hardware"]').textContent())?.trim()).not.toMatch(
      /^backend (unknown|not chosen yet)$/,
    );
    expect(await card.first().locator('[data-test="cancel"]').count()).toBe(0);
    // Let the last update's line animation end, so the picture shows the whole curve.
    await page.keyboard.press('Home');
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(shots, 'monitor.png') });

    // Each chart downloads as PNG and SVG.
    for (const [format, magic] of [
      ['png', '\x89PNG'],
      ['svg', '<svg'],
    ] as const) {
      const download = page.waitForEvent('download');
      await page.locator(`[data-test="${format}-retention"]`).click();
      const file = await (await download).path();
      expect((await import('node:fs')).readFileSync(file!, 'latin1').slice(0, 200)).toContain(magic);
      expect((await download).suggestedFilename()).toBe(`mixcd-monitor-retention.${format}`);
    }

    // The finished run is in the history too.
    await page.locator('a[href="#/"]').click();
    await page.locator('[data-test="runs-table"] tbody tr').first().waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-test="runs-table"] tbody tr').first().locator('td').nth(1).textContent()).toBe(
      'finished',
    );

    expect(problems).toEqual([]);
  }, 300_000);

  it('starts a small study from the form, shows its runs, and cancels them from the monitor', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(url);
    await page.locator('[data-test="tab-new"]').click();
    await page.locator('[data-test="start"]').waitFor();
    // Two strategies x two seeds: a study of four runs, long enough to be cancelled mid-way.
    await page.locator('input[name="strategy-random"]').check();
    await page.locator('input[name="strategy-mix-cd"]').check();
    await page.locator('#f-seeds').fill('1, 2');
    await page.locator('#f-steps').fill('100000');
    await page.locator('#f-eval').fill('10');
    await page.locator('#f-data').fill(dataDir);
    await page.locator('[data-test="start"]').click();

    await page.waitForURL(/#\/monitor$/);
    const running = page.locator('[data-test^="live-run-"][data-status="running"]');
    await running.first().waitFor({ timeout: 120_000 });
    const retention = page.locator('[data-test="chart-retention"] .echart');
    await expect
      .poll(async () => Number(await retention.getAttribute('data-points')), { timeout: 120_000, interval: 250 })
      .toBeGreaterThanOrEqual(2);
    // Cancel every run of the study from its card: the running one and the queued ones.
    for (let i = 0; i < 4; i++) {
      const cancel = page.locator('[data-test^="live-run-"] [data-test="cancel"]');
      if ((await cancel.count()) === 0) break;
      await cancel.first().click();
      await expect.poll(async () => cancel.count(), { timeout: 10_000, interval: 100 }).toBeLessThan(4 - i);
    }
    await expect
      .poll(async () => page.locator('[data-test^="live-run-"][data-status="cancelled"]').count(), { timeout: 15_000 })
      .toBe(4);
    await page.screenshot({ path: path.join(shots, 'monitor-cancelled.png') });
    expect(problems).toEqual([]);
  }, 300_000);
});
