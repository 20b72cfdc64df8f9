// Multi-stage runs and scenario files in browser mode, on data the test writes itself: a real
// two-stage run (rot90, then a permutation, over small NumPy images) whose per-task retention
// curves grow live in the Monitor with the stage start marked; a two-stage study in Compare (the
// tasks chart, mean over seeds), History (multi-stage, average accuracy) and Export (per-task
// series CSV); and the sample inspector on a CSV scenario run: class names and rows of values.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../shared/config.js';
import { TASK_SERIES_COLUMNS } from '../../shared/export/accuracyMatrix.js';
import { csvNumber } from '../../shared/export/formats.js';
import type { RunSummary } from '../../shared/results.js';
import { parseScenarioSpec, type ScenarioSpecInput } from '../../shared/scenarioFile.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';
import { Api } from '../helpers/pageApi.js';
import { root, startBrowserMode } from '../helpers/startApp.js';
import { writeTwoStageScenario } from '../helpers/twoStageScenario.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-multistage-e2e-'));
const shots = path.join(root, 'test-results');

// --- two stages over 8x8 NumPy images ---
const { file: twoStageFile, spec: twoStage } = writeTwoStageScenario(work, 400, 120);

// --- a CSV table with named classes and a site column ---
const CLASSES = ['cycle', 'idle', 'walk'];
const rows = Array.from({ length: 240 }, (_, i) => {
  const c = i % 3;
  const x = Array.from({ length: 5 }, (_, k) => Number(((k === c ? 2 : 0) + ((i * 7 + k * 13) % 17) / 17).toFixed(3)));
  return { label: CLASSES[c], site: ['east', 'west'][i % 2], x };
});
const csv = (rs: typeof rows) =>
  ['label,site,a,b,c,d,e', ...rs.map((r) => [r.label, r.site, ...r.x].join(','))].join('\n') + '\n';
mkdirSync(path.join(work, 'table'));
writeFileSync(path.join(work, 'table', 'train.csv'), csv(rows));
writeFileSync(path.join(work, 'table', 'test.csv'), csv(rows.slice(0, 90)));
writeFileSync(
  path.join(work, 'table', 'dataset.json'),
  JSON.stringify({
    name: 'table',
    format: 'csv',
    splits: { train: 'train.csv', test: 'test.csv' },
    groupColumn: 'site',
  }),
);
const csvSpec: ScenarioSpecInput = {
  name: 'table',
  datasets: { t: { path: 'table' } },
  pretrain: { train: { dataset: 't' }, test: { dataset: 't', split: 'test' } },
  stages: [
    {
      name: 'shuffled',
      train: { dataset: 't', transforms: [{ op: 'permute', seed: 3 }] },
      test: { dataset: 't', split: 'test', transforms: [{ op: 'permute', seed: 3 }] },
    },
  ],
};
const csvFile = path.join(work, 'table.json');
writeFileSync(csvFile, JSON.stringify(csvSpec));

function config(file: string, spec: ScenarioSpecInput, over: RunConfigInput = {}): RunConfigInput {
  return {
    backend: 'wasm',
    scenarioFile: { path: file, spec: parseScenarioSpec(spec, file) },
    model: { arch: 'mlp', hidden: [32] },
    pretrain: { epochs: 3, batchSize: 32, optimizer: { name: 'adam', lr: 3e-3 } },
    finetune: { steps: 40, batchSize: 32, evalEvery: 10, optimizer: { name: 'momentum', lr: 0.02, momentum: 0.9 } },
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 100 },
    ...over,
  } as RunConfigInput;
}

let app: ChildProcess;
let browser: Browser | undefined;
let url: string;
let api: Api;

async function finished(id: number, timeout = 180_000): Promise<RunSummary> {
  let run: RunSummary | undefined;
  await expect
    .poll(
      async () => {
        run = await api.call('runs.get', { id });
        return run.status;
      },
      { timeout, interval: 500 },
    )
    .toBe('finished');
  return run!;
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  ({ app, url } = await startBrowserMode({ db: path.join(work, 'history.db'), cacheDir: path.join(work, 'cache') }));
  api = await Api.open(url);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  api?.close();
  await browser?.close();
  if (app && app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('multi-stage runs in the Monitor, Compare, History and Export', () => {
  it("draws every task's accuracy live in the Monitor, the stage start marked", async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${url}#/monitor`);
    await page.locator('[data-test="monitor-empty"]').waitFor({ timeout: 15_000 });
    // Long enough to be watched while it runs: 2 x 600 steps, an eval every 50.
    const { runId } = await api.call('runs.start', {
      config: config(twoStageFile, twoStage, {
        finetune: { steps: 600, batchSize: 32, evalEvery: 50 },
      }) as never,
    });
    const card = page.locator(`[data-test="live-run-${runId}"]`);
    await card.waitFor({ timeout: 15_000 });
    const tasks = page.locator('[data-test="chart-tasks"] .echart');
    // While it runs the points come from run.eval events (the history stores them only at the end).
    let seenRunning = 0;
    await expect
      .poll(
        async () => {
          const status = await card.getAttribute('data-status');
          const points = Number((await tasks.getAttribute('data-points')) ?? 0);
          if (status === 'running' && points > 0) seenRunning = Math.max(seenRunning, points);
          return status === 'finished' ? 'finished' : seenRunning > 0 ? 'seen' : 'waiting';
        },
        { timeout: 180_000, interval: 100 },
      )
      .not.toBe('waiting');
    // Seen while running (not only from the summary at the end), three tasks a point.
    expect(seenRunning).toBeGreaterThan(0);
    expect(seenRunning % 3).toBe(0);
    await page.locator(`[data-test="live-run-${runId}"][data-status="finished"]`).waitFor({ timeout: 180_000 });
    // Global steps 0, 50, ..., 1200: 25 points for each of the 3 tasks.
    expect(Number(await tasks.getAttribute('data-points'))).toBe(75);
    expect(seenRunning).toBeLessThan(75);
    expect(await page.locator('[data-test="chart-tasks"] figcaption').textContent()).toContain(
      "Every task's test accuracy over all stages",
    );
    expect(await tasks.locator('canvas').count()).toBeGreaterThan(0);
    // Downloads come with ChartFigure.
    expect(await page.locator('[data-test="png-tasks"]').count()).toBe(1);
    await page.screenshot({ path: path.join(shots, 'monitor-tasks.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);

  it('shows a two-stage study in Compare, History and Export', async () => {
    const { studyId, runIds } = await api.call('studies.start', {
      base: config(twoStageFile, twoStage) as never,
      strategies: ['none', 'mix-cd'],
      budgets: [0.25],
      seeds: [1, 2],
    });
    const runs = await Promise.all(runIds.map((id) => finished(id)));
    const { page, problems } = await watchedPage(browser!);

    await page.goto(`${url}#/compare?study=${studyId}`);
    const chart = page.locator('[data-test="compare-chart-tasks"]');
    await chart.locator('.echart').waitFor({ timeout: 30_000 });
    // Two groups (none, mix-cd), 3 tasks each, 9 global steps (0..80 by 10): the mean over 2 seeds.
    expect(Number(await chart.locator('.echart').getAttribute('data-points'))).toBe(2 * 3 * 9);
    expect(await chart.locator('figcaption').textContent()).toContain('mean over seeds');
    await page.locator('[data-test="accuracy-matrix"]').waitFor();
    await page.screenshot({ path: path.join(shots, 'compare-tasks.png'), fullPage: true });

    // History: multi-stage, with the average accuracy where single-stage runs show pretrain-test.
    await page.goto(`${url}#/history`);
    const row = page.locator(`[data-test="run-${runs[0].id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('[data-test="cell-multistage"]').textContent()).toBe('multi-stage, 2 stages');
    expect(await row.locator('[data-test="cell-scenario"]').textContent()).toContain('syn-two-stage');
    expect((await row.locator('[data-test="cell-average"]').textContent())!.trim()).toBe(
      `avg ${runs[0].continual!.averageAccuracy.toFixed(3)}`,
    );

    // Export: the per-task series, one line per run, eval and task.
    await page.goto(`${url}#/export?study=${studyId}`);
    const button = page.locator('[data-test="download-task-series"]');
    await button.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const lines = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]).toBe(TASK_SERIES_COLUMNS.join(','));
    // 4 runs x 10 evals (stage 2's step 0 repeats stage 1's last) x 3 tasks.
    expect(lines.length).toBe(1 + 4 * 10 * 3);
    for (const run of runs) {
      const { strategy, budget } = run.config.rehearsal;
      const end = run.continual!.taskSeries.at(-1)!;
      const head = [run.id, strategy, strategy === 'none' ? '' : csvNumber(budget), run.config.seed];
      expect(lines).toContain([...head, 2, 'permute', 40, 80, 'permute', csvNumber(end.accuracy[2])].join(','));
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 400_000);
});

describe('the sample inspector on a CSV scenario run', () => {
  it('names the classes and shows each sample as a row of its values', async () => {
    const { runId } = await api.call('runs.start', {
      config: config(csvFile, csvSpec, {
        rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 100, mixCd: { rule: 'group' } },
      }) as never,
    });
    await finished(runId);
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${url}#/inspect?run=${runId}`);
    await page.locator('[data-test="inspector"][data-loaded="true"]').waitFor({ timeout: 30_000 });
    const cards = page.locator('[data-test="sample-card"]');
    await cards.first().waitFor({ timeout: 30_000 });
    // Each card: the sample's class by name and its row of values as the CSV holds them.
    const values = cards.first().locator('[data-test="row-values"] .value');
    await values.first().waitFor({ timeout: 30_000 });
    const count = Math.min(4, await cards.count());
    for (let k = 0; k < count; k++) {
      const card = cards.nth(k);
      const index = Number(await card.getAttribute('data-index'));
      expect(await card.textContent()).toContain(rows[index].label);
      const shown = await card.locator('[data-test="row-values"] .value').allTextContents();
      expect(shown.map(Number)).toEqual(rows[index].x.map((v) => Number(Math.fround(v).toPrecision(3))));
    }
    // The class filter lists the names.
    const options = await page.locator('[data-test="filter-class"] option').allTextContents();
    expect(options.map((o) => o.trim())).toEqual(expect.arrayContaining(CLASSES));
    await page.screenshot({ path: path.join(shots, 'inspector-csv-rows.png'), fullPage: true });
    // History names the run by its scenario file (its config.scenario holds only the default, rot90).
    await page.goto(`${url}#/history`);
    const row = page.locator(`[data-test="run-${runId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect((await row.locator('[data-test="cell-scenario"]').textContent())?.trim()).toBe('table');
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
