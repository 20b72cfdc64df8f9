// `npm start` where the desktop window cannot open (no Electron binary here, or --browser): it
// must say why in one sentence, print the URL, and that URL must give a working page in headless
// Chromium: no console errors, the empty state, then the runs table, and a sentence when the
// server goes away.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { openHistory } from '../../src-main/store/database.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';
import { electronInstalled, root, startBrowserMode } from '../helpers/startApp.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-e2e-'));
const db = path.join(work, 'history.db');
const shots = path.join(root, 'test-results');
// Where Electron could run, ask for browser mode explicitly; here the binary is absent.

let app: ChildProcess;
let exited: Promise<number | null>;
let stdout: () => string = () => '';
let browser: Browser | undefined;

let url: string;

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  const started = await startBrowserMode({ db: db, cacheDir: path.join(work, 'cache') });
  ({ app, url, exited } = started);
  stdout = started.stdout;
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('npm start in browser mode', () => {
  it('says in one sentence why the desktop window is not used, then prints the URL', () => {
    const lines = stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      electronInstalled
        ? 'Browser mode was asked for (--browser), so the workbench is served to a browser instead:'
        : 'The Electron binary is not installed (its download needs internet), so ' +
            'the workbench is served to a browser instead:',
    );
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('gives a working page in headless Chromium, then closes cleanly on SIGINT', async () => {
    browser = await launchChromium();
    const { page, problems } = await watchedPage(browser);

    await page.goto(url);
    await expect(page.locator('h1').textContent()).resolves.toBe('mix-cd workbench');
    const empty = page.locator('[data-test="empty-state"]');
    await empty.waitFor({ timeout: 15_000 });
    expect(await empty.textContent()).toContain('mixcd run');
    // The token leaves the address bar at once.
    expect(page.url()).not.toContain('token');
    expect(page.url().startsWith(url.replace(/\?token=.*$/, ''))).toBe(true);
    await page.screenshot({ path: path.join(shots, 'browser-mode-empty.png') });

    // A finished run appears in the table on Reload (the CLI writes the same history).
    const history = openHistory(db);
    try {
      const id = history.createRun({
        config: parseRunConfig({ scenario: 'rot90', rehearsal: { strategy: 'mix-cd', budget: 0.1 } }),
      });
      history.markRunning(id, { backend: 'wasm', device: 'cpu (wasm, SIMD)', dataFingerprint: 'test' });
      history.finishRun(id, {
        status: 'finished',
        compute: { forwardPasses: 1, backwardPasses: 1, extraForwardPasses: 0, wallSeconds: 1 },
        prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.2 },
        final: { pretrainTestAcc: 0.8123, finetuneTestAcc: 0.8766, cdRate: 0.1, rehearsalPrecision: 0.5 },
      });
    } finally {
      history.close();
    }
    await page.getByRole('button', { name: 'Reload' }).click();
    const row = page.locator('[data-test="runs-table"] tbody tr');
    await row.first().waitFor({ timeout: 15_000 });
    // The full history table: the row the test wrote, cell by cell (the creation time aside).
    const cells = (await row.first().locator('td').allTextContents()).map((text) => text.trim());
    expect(cells.slice(0, 2)).toEqual(['1', 'finished']);
    expect(cells.slice(3, 13)).toEqual(['rot90', 'mix-cd', '0.1', '1500', '1', '0.01', '—', 'wasm', '0.812', '0.877']);
    expect(
      (await page.locator('[data-test="runs-table"] th').allTextContents()).map((text) =>
        text.replace(/[▲▼]/g, '').trim(),
      ),
    ).toEqual([
      'id',
      'status',
      'created',
      'scenario',
      'strategy',
      'budget r',
      'steps',
      'seed',
      'lr',
      'study',
      'backend',
      'final pretrain-test acc',
      'final finetune-test acc',
      'tags',
      'actions',
    ]);

    // A reload without the token in the address still works (cookie for the page, sessionStorage for the socket).
    await page.reload();
    await row.first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(shots, 'browser-mode.png') });
    expect(problems).toEqual([]);

    // Stopping the server: the process exits 0 and the page says so in a sentence.
    app.kill('SIGINT');
    expect(await exited).toBe(0);
    const gone = page.locator('[data-test="connection-problem"]');
    await gone.waitFor({ timeout: 15_000 });
    expect(await gone.textContent()).toMatch(
      /^The connection to the workbench server at 127\.0\.0\.1:\d+ was lost; reconnecting\.\.\.$/,
    );
  });
});
