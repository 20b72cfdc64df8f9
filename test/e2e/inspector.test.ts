// The sample inspector in browser mode on real Fashion-MNIST (Debian's dataset-fashion-mnist): a
// study of random and mix-cd (r = 0.1, small MLP, short runs) is trained by the app's own host,
// then in Chromium the two runs are picked in History and opened side by side. Checked: the
// heatmap (bins x evals), alpha against the probe's true CD rate, where the budget went (mix-cd's
// CD share above random's, and equal to each run's stored rehearsal precision), the gallery's
// thumbnails (pixel for pixel the Fashion-MNIST images), filters, and a sample's detail.
// Screenshots at 1280x800 go to test-results/inspector-*.png.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist, type FashionMnist } from '../../src-main/data/fashionMnist.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';
import { Api } from '../helpers/pageApi.js';
import { root, startBrowserMode } from '../helpers/startApp.js';
import { REAL_DATA_F0, REAL_DATA_F0_CACHE, ensureRealDataF0 } from '../helpers/realDataF0.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-inspector-e2e-'));
const shots = path.join(root, 'test-results');
const STEPS = 300;
const EVAL_EVERY = 50;
const EVALS = STEPS / EVAL_EVERY + 1;

let app: ChildProcess;
let browser: Browser | undefined;
let url: string;
let api: Api;
let data: FashionMnist;
let mix: RunSummary;
let random: RunSummary;

/** Real data, a small MLP and a short finetune: a few seconds a run on wasm. */
const base: RunConfigInput = {
  ...REAL_DATA_F0, // the shared real-data f0 (pretrained once per test run)
  finetune: { steps: STEPS, evalEvery: EVAL_EVERY },
  rehearsal: { strategy: 'mix-cd', budget: 0.1, probe: 2000 },
};

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  // The real files, found where the app finds them (the test fails here, by name, without them).
  data = loadFashionMnist();
  await ensureRealDataF0();
  ({ app, url } = await startBrowserMode({ db: path.join(work, 'history.db'), cacheDir: REAL_DATA_F0_CACHE }));
  api = await Api.open(url);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  api?.close();
  await browser?.close();
  if (app && app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const percent = async (page: Page, test: string) =>
  Number((await page.locator(`[data-test="${test}"]`).textContent())!.replace('%', '')) / 100;

/** A minimal view of a canvas (the test project compiles without the DOM library). */
interface Canvas2d {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}

/** A canvas's pixels as the page drew them (grey images: the red channel). */
function greyPixels(canvas: ReturnType<Page['locator']>): Promise<number[]> {
  return canvas.evaluate((element) => {
    const c = element as unknown as Canvas2d;
    const image = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return Array.from({ length: c.width * c.height }, (_, i) => image.data[4 * i]);
  });
}

const imageOf = (index: number) => Array.from(data.train.images.subarray(index * 784, (index + 1) * 784));

describe('sample inspector on real Fashion-MNIST', () => {
  it('opens a mix-cd and a random run side by side: bins, budget, gallery, detail', async () => {
    // The study, trained by the app's host as if started from the form.
    const { runIds } = await api.call('studies.start', {
      base: base as never,
      strategies: ['random', 'mix-cd'],
      budgets: [0.1],
      seeds: [1],
    });
    await expect
      .poll(
        async () =>
          (await api.call('runs.list', {})).filter((r) => runIds.includes(r.id) && r.status === 'finished').length,
        { timeout: 300_000, interval: 1000 },
      )
      .toBe(2);
    const runs = await Promise.all(runIds.map((id) => api.call('runs.get', { id })));
    random = runs.find((r) => r.config.rehearsal.strategy === 'random')!;
    mix = runs.find((r) => r.config.rehearsal.strategy === 'mix-cd')!;

    const { page, problems } = await watchedPage(browser!);
    await page.goto(url);
    // From History: pick the study's two runs, open them side by side.
    await page.locator(`[data-test="run-${mix.id}"] [data-test="pick"]`).check();
    await page.locator(`[data-test="run-${random.id}"] [data-test="pick"]`).check();
    await page.locator('[data-test="inspect-pair"]').click();
    await page.locator('[data-test="inspector"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    const shown = await page
      .locator('[data-test="inspected-run"]')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-run'), e.getAttribute('data-strategy')]));
    expect(shown).toEqual(
      expect.arrayContaining([
        [String(mix.id), 'mix-cd'],
        [String(random.id), 'random'],
      ]),
    );

    // Bins over time: class-loss, 10 classes x 10 loss bins, one heatmap cell per bin and eval.
    const heatmap = page.locator('[data-test="bin-heatmap"]');
    await heatmap.locator('canvas').first().waitFor();
    expect(Number(await heatmap.locator('.echart').getAttribute('data-points'))).toBe(100 * EVALS);
    const correlation = page.locator('[data-test="bin-correlation"]');
    expect(await correlation.textContent()).toMatch(new RegExp(`Pearson r = 0\\.\\d+ over \\d+ bins at step ${STEPS}`));
    // The estimate tracks the truth: alpha and the probe's per-bin CD rate correlate clearly.
    expect(Number(await correlation.getAttribute('data-r'))).toBeGreaterThan(0.3);
    expect(await page.locator('[data-test="bin-estimates"] canvas').count()).toBeGreaterThan(0);

    // Where the budget went: mix-cd spends a larger share on forgotten samples than random, and
    // each share is the run's own stored rehearsal precision (CD among rehearsed).
    const mixCd = await percent(page, `budget-share-${mix.id}-collateral-damage`);
    const randomCd = await percent(page, `budget-share-${random.id}-collateral-damage`);
    expect(mixCd).toBeGreaterThan(randomCd);
    // ... and more than CD's share of its own pretrain set (as its probe saw it).
    expect(mixCd).toBeGreaterThan(await percent(page, `budget-pretrain-${mix.id}-collateral-damage`));
    expect(mixCd).toBeCloseTo(mix.final.rehearsalPrecision!, 3);
    expect(randomCd).toBeCloseTo(random.final.rehearsalPrecision!, 3);
    // mix-cd draws only prior-correct samples; random draws from all of P.
    expect(await percent(page, `budget-share-${mix.id}-unlearned`)).toBe(0);
    expect(await percent(page, `budget-share-${random.id}-unlearned`)).toBeGreaterThan(0);
    // The same question for the whole study, per strategy.
    const studyCd = (strategy: string) =>
      page.locator(`[data-test="study-share-${strategy}-0.1-collateral-damage"]`).getAttribute('data-value');
    await page.locator('[data-test="study-budget"]').waitFor();
    expect(Number(await studyCd('mix-cd'))).toBeCloseTo(mix.final.rehearsalPrecision!, 10);
    expect(Number(await studyCd('random'))).toBeCloseTo(random.final.rehearsalPrecision!, 10);
    await page.locator('[data-test="budget-table"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(shots, 'inspector-budget.png') });
    await page.locator('[data-test="dist-class"] canvas').first().waitFor();
    await page.locator('[data-test="dist-bin"] canvas').first().waitFor();
    await page.screenshot({ path: path.join(shots, 'inspector-top.png') });

    // The gallery: most rehearsed first, thumbnails are the Fashion-MNIST images themselves.
    const gallery = page.locator('[data-test="gallery"]');
    await gallery.scrollIntoViewIfNeeded();
    const cards = gallery.locator('[data-test="sample-card"]');
    // Generous timeouts: on a loaded machine 60 thumbnails (one inspect.data request) take seconds.
    await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(60);
    await expect
      .poll(() => gallery.locator('[data-test="thumb"][data-drawn="true"]').count(), { timeout: 30_000 })
      .toBe(60);
    const counts = await cards.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    for (const k of [0, 17, 59]) {
      const card = cards.nth(k);
      const index = Number(await card.getAttribute('data-index'));
      expect(await greyPixels(card.locator('[data-test="thumb"]'))).toEqual(imageOf(index));
      expect(await card.textContent()).toContain(FASHION_MNIST_CLASSES[data.train.labels[index]]);
    }
    await page.screenshot({ path: path.join(shots, 'inspector-gallery.png') });

    // Filters: forgotten samples of one class.
    const total = Number(await page.locator('[data-test="match-count"]').getAttribute('data-total'));
    await page.locator('[data-test="filter-category"]').selectOption('collateral-damage');
    await expect
      .poll(async () => Number(await page.locator('[data-test="match-count"]').getAttribute('data-total')))
      .toBeLessThan(total);
    await page.locator('[data-test="filter-class"]').selectOption({ label: 'Shirt' });
    await expect.poll(async () => gallery.getAttribute('data-loading')).not.toBe('true');
    const filtered = await cards.evaluateAll((els) => els.map((e) => [e.getAttribute('data-category'), e.textContent]));
    expect(filtered.length).toBeGreaterThan(0);
    for (const [category, text] of filtered) {
      expect(category).toBe('collateral-damage');
      expect(text).toContain('Shirt');
    }

    // A sample's detail: image, label, prior loss, bin, the steps it was rehearsed at, its timeline.
    const card = cards.first();
    const index = Number(await card.getAttribute('data-index'));
    const count = Number(await card.getAttribute('data-count'));
    await card.click();
    const detail = page.locator('[data-test="sample-detail"]');
    await detail.waitFor();
    expect(await detail.getAttribute('data-index')).toBe(String(index));
    expect(await detail.locator('[data-test="detail-label"]').textContent()).toContain('Shirt');
    expect(Number(await detail.locator('[data-test="rehearsal-steps"]').getAttribute('data-count'))).toBe(count);
    // Readable bin names (issue 11): class name, quantile range, the end losses in one format.
    const binName = /^bin \d+: class \d+ \(.+\), prior loss \d+–\d+th pct \(.+\)$/;
    expect(await detail.locator('[data-test="detail-bin"]').textContent()).toMatch(binName);
    const binOptions = await page.locator('[data-test="filter-bin"] option').allTextContents();
    const named = binOptions.filter((o) => o.startsWith('bin '));
    expect(named.length).toBeGreaterThan(50);
    for (const option of named) {
      expect(option.trim().replace(/ \(\d+\)$/, '')).toMatch(binName);
      expect(option).not.toMatch(/l0 |\.\.|0\.00–0\.00/);
    }
    expect(Number((await detail.locator('[data-test="detail-loss"]').textContent())!.trim())).toBeGreaterThanOrEqual(0);
    expect(await greyPixels(detail.locator('[data-test="detail-image"]'))).toEqual(imageOf(index));
    await detail.locator('[data-test="sample-timeline"] canvas').first().waitFor();
    await page.screenshot({ path: path.join(shots, 'inspector-detail.png') });
    await page.screenshot({ path: path.join(shots, 'inspector-full.png'), fullPage: true });

    // The random run's gallery: it rehearsed samples f0 got wrong, which mix-cd never draws.
    await detail.locator('[data-test="detail-close"]').click();
    await page.locator('[data-test="filter-class"]').selectOption('');
    await page.locator('[data-test="filter-category"]').selectOption('unlearned');
    await expect
      .poll(async () => Number(await page.locator('[data-test="match-count"]').getAttribute('data-total')))
      .toBe(0);
    await page.locator(`[data-test="gallery-run-${random.id}"]`).click();
    await expect.poll(() => gallery.getAttribute('data-run')).toBe(String(random.id));
    await expect
      .poll(async () => Number(await page.locator('[data-test="match-count"]').getAttribute('data-total')))
      .toBeGreaterThan(0);
    await expect
      .poll(() => gallery.locator('[data-test="thumb"][data-drawn="true"]').count())
      .toBe(await cards.count());
    expect(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-category')))).toEqual(
      Array(await cards.count()).fill('unlearned'),
    );
    const unlearned = cards.first();
    expect(await greyPixels(unlearned.locator('[data-test="thumb"]'))).toEqual(
      imageOf(Number(await unlearned.getAttribute('data-index'))),
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 420_000);
});
