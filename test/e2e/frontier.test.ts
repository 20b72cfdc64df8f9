// The Compare view's equal-compute panel in browser mode (issue 16), on synthetic runs from a fake
// host: two strategies at two compute budgets, two seeds each. Both frontier charts draw, the
// "compute needed to keep X% of f0" table has a row per strategy, and the figure downloads as SVG.
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChunk, fakeCompareHost, rendererDir, syntheticRun } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

let id = 40;
const atBudget = (strategy: 'random' | 'mix-cd', R: number, seed: number) => {
  const run = syntheticRun({ id: id++, strategy, budget: R, seed }, 10);
  run.config.rehearsal.computeBudget = R;
  run.compute = { ...run.compute, units: 3 * 1500 * (128 + Math.round(R * 128)) };
  return run;
};
const runs = [0.05, 0.25].flatMap((R) =>
  [1, 2].flatMap((seed) => [atBudget('random', R, seed), atBudget('mix-cd', R, seed)]),
);

let server: BrowserServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!compareChunk())
    throw new Error(`${rendererDir} has no Compare chunk: run npm run build (App.vue must route #/compare).`);
  server = await startBrowserServer({ host: fakeCompareHost(runs), rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('compare view at equal compute', () => {
  it('draws accuracy against total compute with the Pareto frontier, and the keep table', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/compare?runs=${runs.map((r) => r.id).join(',')}`);
    const section = page.locator('[data-test="compare"][data-rendered-ms]');
    await section.waitFor({ timeout: 30_000 });
    expect(await section.getAttribute('data-charts')).toBe('6'); // 3 curves, the trade-off, 2 frontiers
    for (const key of ['frontier-pretrain', 'frontier-finetune']) {
      const figure = page.locator(`[data-test="compare-chart-${key}"]`);
      expect(await figure.getAttribute('data-rendered')).toBe('true');
      expect(Number(await figure.locator('.echart').getAttribute('data-points'))).toBeGreaterThan(0);
    }
    const rows = page.locator('[data-test="frontier-row"]');
    expect(await rows.count()).toBe(2);
    expect(await page.locator('[data-test="frontier-table"]').textContent()).toContain('keep 90%');

    const [svg] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-test="svg-frontier-pretrain"]').click(),
    ]);
    const text = readFileSync(await svg.path(), 'utf8');
    expect(text).toContain('<svg');
    expect(text).toContain('Pareto frontier');
    expect(text).toContain('Retention against total compute');
    expect(problems).toEqual([]);
    await page.close();
  });
});
