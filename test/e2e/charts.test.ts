// The curves in Monitor and Compare, on synthetic runs from a fake host (no training): y axes
// fitted to the data or fixed at 0-1 (one toggle), the retention charts zoomable over the steps,
// the trade-off plot's ticks round, and a series' colour the same in every panel. The axes and
// colours as drawn are read from the chart's data-* attributes (EChart.vue). Screenshots:
// test-results/charts-*.png.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChunk, fakeCompareHost, projectRoot, rendererDir, syntheticRun } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

const shots = path.join(projectRoot, 'test-results');
const runs = [
  syntheticRun({ id: 11, strategy: 'mix-cd', budget: 0.1, seed: 1 }, 40),
  syntheticRun({ id: 12, strategy: 'mix-cd', budget: 0.1, seed: 2 }, 40),
  syntheticRun({ id: 13, strategy: 'random', budget: 0.1, seed: 1 }, 40),
  syntheticRun({ id: 14, strategy: 'random', budget: 0.1, seed: 2 }, 40),
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

/** The drawn y range of a chart, [min, max], once ECharts has drawn it. */
async function yRange(chart: Locator): Promise<[number, number]> {
  await expect.poll(() => chart.getAttribute('data-y-range'), { timeout: 15_000 }).toBeTruthy();
  const [min, max] = (await chart.getAttribute('data-y-range'))!.split(' ').map(Number);
  return [min, max];
}

const colorsOf = async (chart: Locator) =>
  JSON.parse((await chart.getAttribute('data-colors')) ?? '{}') as Record<string, string>;

describe('one colour per strategy in every panel', () => {
  it('draws a mix-cd run in the Monitor in the colour of the mix-cd group in Compare, random likewise', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/compare?runs=11,12,13,14`);
    await page.locator('[data-test="compare"][data-rendered-ms]').waitFor({ timeout: 30_000 });
    const compared = await colorsOf(page.locator('[data-test="compare-chart-retention"] .echart'));
    expect(Object.keys(compared).sort()).toEqual(['mix-cd r=0.1', 'random r=0.1']);
    expect(compared['mix-cd r=0.1']).not.toBe(compared['random r=0.1']);

    // The monitor, two runs watched from History.
    await page.goto(`${server.url}#/`);
    await page.locator('[data-test="run-13"] [data-test="watch"]').click({ timeout: 15_000 });
    await page.locator('[data-test="live-run-13"]').waitFor();
    await page.locator('[data-test="tab-history"]').click();
    await page.locator('[data-test="run-11"] [data-test="watch"]').click({ timeout: 15_000 });
    await page.locator('[data-test="live-run-11"]').waitFor();
    const monitorChart = (key: string) => page.locator(`[data-test="chart-${key}"] .echart`);
    await expect.poll(() => monitorChart('retention').getAttribute('data-points')).toBe('80');
    for (const key of ['retention', 'finetune', 'cd', 'precision']) {
      const colors = await colorsOf(monitorChart(key));
      expect(colors['#11 mix-cd r=0.1 seed 1']).toBe(compared['mix-cd r=0.1']);
      expect(colors['#13 random r=0.1 seed 1']).toBe(compared['random r=0.1']);
    }
    // The run cards carry the same swatch.
    expect(await page.locator('[data-test="live-run-11"] [data-test="live-swatch"]').getAttribute('data-color')).toBe(
      compared['mix-cd r=0.1'],
    );
    await page.screenshot({ path: path.join(shots, 'charts-monitor-colours.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('curves: fitted or fixed y axes, zoom on retention', () => {
  it('Compare: fits the axes to the data, fixes them at 0-1 on request, zooms the retention chart', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/compare?runs=11,12,13,14`);
    await page.locator('[data-test="compare"][data-rendered-ms]').waitFor({ timeout: 30_000 });
    const chart = (key: string) => page.locator(`[data-test="compare-chart-${key}"] .echart`);

    // Fitted by default: the retention curves (about 0.52-0.9, f0 0.88) fill the plot.
    expect(await page.locator('[data-test="y-range-auto"]').isChecked()).toBe(true);
    const [min, max] = await yRange(chart('retention'));
    expect(min).toBeGreaterThan(0.3);
    expect(max).toBeLessThanOrEqual(1);
    expect(max - min).toBeLessThan(0.7);
    // Round ticks, two decimals at most.
    const ticks = (await chart('retention').getAttribute('data-y-ticks'))!.split(' ');
    expect(ticks.every((t) => /^\d\.\d{1,2}$/.test(t))).toBe(true);
    // Zoom: inside + slider on the retention chart only.
    expect(await chart('retention').getAttribute('data-zoom')).toBe('2');
    expect(await chart('finetune').getAttribute('data-zoom')).toBe('0');
    expect(await chart('cd').getAttribute('data-zoom')).toBe('0');
    // The trade-off plot: round ticks, one number of decimals per axis (the finals differ in the
    // third decimal: ticks 0.829, 0.83, 0.831 ... before).
    for (const axis of ['x', 'y']) {
      await expect.poll(() => chart('pareto').getAttribute(`data-${axis}-ticks`)).toBeTruthy();
      const labels = (await chart('pareto').getAttribute(`data-${axis}-ticks`))!.split(' ');
      expect(labels.length).toBeGreaterThanOrEqual(3);
      expect(labels.length).toBeLessThanOrEqual(8);
      expect(new Set(labels.map((t) => t.split('.')[1]?.length ?? 0)).size).toBe(1);
      expect(labels.every((t) => /^\d\.\d{1,2}$/.test(t))).toBe(true);
    }
    await page.screenshot({ path: path.join(shots, 'charts-compare-fitted.png'), fullPage: true });

    // Fixed at 0-1: every curve chart.
    await page.locator('[data-test="y-range-unit"]').check();
    for (const key of ['retention', 'finetune', 'cd'])
      await expect
        .poll(async () => (await chart(key).getAttribute('data-y-range')) ?? '', { timeout: 15_000 })
        .toBe('0 1');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('Monitor: the same toggle and the zoomable retention chart', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/`);
    await page.locator('[data-test="run-11"] [data-test="watch"]').click({ timeout: 15_000 });
    await page.waitForURL(/#\/monitor$/);
    await page.locator('[data-test="live-run-11"]').waitFor();
    const chart = (key: string) => page.locator(`[data-test="chart-${key}"] .echart`);
    await expect.poll(() => chart('retention').getAttribute('data-points')).toBe('40');
    expect(await chart('retention').getAttribute('data-zoom')).toBe('2');
    expect(await chart('finetune').getAttribute('data-zoom')).toBe('0');
    expect(await page.locator('[data-test="y-range-auto"]').isChecked()).toBe(true);
    const [min] = await yRange(chart('retention'));
    expect(min).toBeGreaterThan(0.3);
    await page.screenshot({ path: path.join(shots, 'charts-monitor-fitted.png'), fullPage: true });
    await page.locator('[data-test="y-range-unit"]').check();
    await expect
      .poll(async () => (await chart('retention').getAttribute('data-y-range')) ?? '', { timeout: 15_000 })
      .toBe('0 1');
    expect(problems).toEqual([]);
    await page.close();
  });
});
