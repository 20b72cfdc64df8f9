// The compare view in browser mode, on synthetic runs from a fake host (2 settings x 2 seeds):
// the four charts draw, the group legend shows n=2 each, PNG and SVG downloads work, a study
// address works too, and nothing on the page logs an error. Screenshot: test-results/compare.png.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChunk, fakeCompareHost, projectRoot, rendererDir, syntheticRun } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

const shots = path.join(projectRoot, 'test-results');
const runs = [
  syntheticRun({ id: 11, strategy: 'mix-cd', budget: 0.1, seed: 1 }, 60),
  syntheticRun({ id: 12, strategy: 'mix-cd', budget: 0.1, seed: 2 }, 60),
  syntheticRun({ id: 13, strategy: 'random', budget: 0.1, seed: 1 }, 60),
  syntheticRun({ id: 14, strategy: 'random', budget: 0.1, seed: 2 }, 60),
];

let server: BrowserServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!compareChunk())
    throw new Error(`${rendererDir} has no Compare chunk: run npm run build (router.ts must route #/compare).`);
  mkdirSync(shots, { recursive: true });
  server = await startBrowserServer({ host: fakeCompareHost(runs), rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const CHARTS = ['retention', 'finetune', 'cd', 'pareto'];

describe('compare view in browser mode', () => {
  it('draws bands and the Pareto plot for 2 settings x 2 seeds, with downloads', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/compare?runs=11,12,13,14`);
    const section = page.locator('[data-test="compare"][data-rendered-ms]');
    await section.waitFor({ timeout: 30_000 });
    expect(Number(await section.getAttribute('data-rendered-ms'))).toBeGreaterThan(0);
    expect(await section.getAttribute('data-charts')).toBe('4');

    for (const key of CHARTS) {
      const figure = page.locator(`[data-test="compare-chart-${key}"]`);
      expect(await figure.getAttribute('data-rendered')).toBe('true');
      expect(Number(await figure.locator('.echart').getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await figure.locator('canvas').count()).toBeGreaterThan(0);
    }
    // Two groups of two seeds: lower, width and mean series of 60 points each, per group.
    expect(
      Number(await page.locator('[data-test="compare-chart-retention"] .echart').getAttribute('data-points')),
    ).toBe(2 * 3 * 60);

    const groups = page.locator('[data-test="compare-group"]');
    expect(await groups.count()).toBe(2);
    for (let i = 0; i < 2; i++) {
      expect(await groups.nth(i).getAttribute('data-n')).toBe('2');
      expect(await groups.nth(i).textContent()).toContain('n=2');
    }
    expect(await groups.first().textContent()).toContain('mix-cd r=0.1');
    expect(await groups.nth(1).textContent()).toContain('random r=0.1');

    const [png] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-test="png-retention"]').click(),
    ]);
    expect(png.suggestedFilename()).toBe('mixcd-runs-11-12-13-14-retention.png');
    const pngBytes = readFileSync(await png.path());
    expect(pngBytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(pngBytes.length).toBeGreaterThan(5_000);

    const [svg] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="svg-pareto"]').click()]);
    expect(svg.suggestedFilename()).toBe('mixcd-runs-11-12-13-14-pareto.svg');
    const svgText = readFileSync(await svg.path(), 'utf8');
    expect(svgText).toContain('<svg');
    expect(svgText).toContain('mix-cd r=0.1 (n=2)');
    expect(svgText).toContain('Final accuracy trade-off'); // downloads carry the title the page shows as a caption

    await page.screenshot({ path: path.join(shots, 'compare.png') });
    await page.screenshot({ path: path.join(shots, 'compare-full.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens a study by id, and says so in a sentence when an id is unknown', async () => {
    const { page, problems } = await watchedPage(browser!);
    // The page's own hash navigation (no reload), as the app's links do it.
    const setHash = (hash: string) =>
      page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);
    await page.goto(`${server.url}#/compare?study=1`);
    await page.locator('[data-test="compare"][data-rendered-ms]').waitFor({ timeout: 30_000 });
    expect(await page.locator('h2').first().textContent()).toContain('synthetic study');
    expect(await page.locator('[data-test="compare-group"]').count()).toBe(2);

    await setHash('#/compare?runs=11,99');
    await page.locator('[data-test="compare-partial"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-test="compare-partial"]').textContent()).toBe(
      'Could not load run 99 (There is no run 99.); the other runs are shown.',
    );

    await setHash('#/compare?runs=abc');
    await page.locator('[data-test="compare-problem"]').waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-test="compare-problem"]').textContent()).toContain('"abc" is not a run id');
    expect(problems).toEqual([]);
    await page.close();
  });
});
