// The Export view in browser mode, on synthetic runs from a fake host (no training): a study of
// none, random and mix-cd at two budgets, two seeds each. `none` shows its value once (at r = 0),
// not under every budget; several metrics go side by side (rows strategy and r) with readable
// names, and download so. Screenshots: test-results/export-pivot.png, export-metrics.png.
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChunk, fakeCompareHost, projectRoot, rendererDir, syntheticRun } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

const shots = path.join(projectRoot, 'test-results');
const runs = [
  syntheticRun({ id: 1, strategy: 'none', budget: 0, seed: 1 }, 20),
  syntheticRun({ id: 2, strategy: 'none', budget: 0, seed: 2 }, 20),
  ...[0.05, 0.1].flatMap((budget, b) =>
    (['random', 'mix-cd'] as const).flatMap((strategy, s) =>
      [1, 2].map((seed) => syntheticRun({ id: 10 + 4 * b + 2 * s + seed, strategy, budget, seed }, 20)),
    ),
  ),
];

let server: BrowserServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!compareChunk()) throw new Error(`${rendererDir} has no built renderer: run npm run build first.`);
  mkdirSync(shots, { recursive: true });
  server = await startBrowserServer({ host: fakeCompareHost(runs), rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('export view', () => {
  it('shows none once, at r = 0, and the budgets as columns', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/export?study=1`);
    const pivot = page.locator('[data-test="pivot"]');
    await pivot.waitFor({ timeout: 30_000 });
    expect((await pivot.locator('thead th').allTextContents()).map((t) => t.trim())).toEqual([
      'strategy',
      'r = 0',
      'r = 0.05',
      'r = 0.1',
    ]);
    const cells = async (strategy: string) =>
      (await pivot.locator(`tbody tr:has(th:text-is("${strategy}")) td`).allTextContents()).map((t) => t.trim());
    const none = await cells('none');
    expect(none[0]).toMatch(/^0\.\d{3} ± 0\.\d{3}$/);
    expect(none.slice(1)).toEqual(['', '']);
    const random = await cells('random');
    expect(random[0]).toBe('');
    expect(random.slice(1).every((t) => /^0\.\d{3} ± 0\.\d{3}$/.test(t))).toBe(true);
    await page.screenshot({ path: path.join(shots, 'export-pivot.png') });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('puts several metrics side by side, named as a reader says them, and downloads that table', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/export?study=1`);
    await page.locator('[data-test="pivot"]').waitFor({ timeout: 30_000 });
    // The one-metric menu names the metrics readably; the value stays the id.
    expect(await page.locator('[data-test="export-metric"] option[value="pretrainTestAcc"]').textContent()).toBe(
      'pretrain-test acc',
    );
    await page.locator('[data-test="export-layout-several"]').check();
    const table = page.locator('[data-test="metrics-table"]');
    await table.waitFor();
    expect((await table.locator('thead th').allTextContents()).map((t) => t.trim())).toEqual([
      'strategy',
      'r',
      'pretrain-test acc',
      'finetune-test acc',
    ]);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-row')));
    expect(rows).toEqual(['none@null', 'random@0.05', 'random@0.1', 'mix-cd@0.05', 'mix-cd@0.1']);
    // A third metric joins as a column.
    await page.locator('[data-test="export-metrics-cdRate"]').check();
    await expect.poll(() => table.locator('thead th').count()).toBe(5);
    expect(await table.locator('thead th').nth(4).textContent()).toContain('CD rate');
    await page.screenshot({ path: path.join(shots, 'export-metrics.png') });

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-test="download-md"]').click(),
    ]);
    expect(download.suggestedFilename()).toBe('study-1-pretrainTestAcc-finetuneTestAcc-cdRate.md');
    const md = readFileSync(await download.path(), 'utf8');
    expect(md.split('\n')[0]).toBe('| strategy | r | pretrain-test acc | finetune-test acc | CD rate |');
    expect(md).toMatch(/^\| none \| — \| 0\.\d{3} ± 0\.\d{3} \|/m);
    expect(problems).toEqual([]);
    await page.close();
  });
});
