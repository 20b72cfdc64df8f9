// The History and Export views in browser mode, on small generated data: a tiny study (random and
// mix-cd) and a lone run are started over the API socket, then in Chromium the runs are found,
// filtered, sorted, tagged, one deleted after its confirmation, two picked for comparison, and the
// study exported in every format (each file's contents checked). Nothing on the page logs an
// error. Screenshots at 1280x800 go to test-results/.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig, type RunConfigInput } from '../../shared/config.js';
import type { StudyFile } from '../../shared/export/configs.js';
import { expandGrid } from '../../shared/studyGrid.js';
import type { RunSummary } from '../../shared/results.js';
import { writeIdxData } from '../helpers/idxData.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';
import { Api } from '../helpers/pageApi.js';
import { root, startBrowserMode } from '../helpers/startApp.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-history-'));
const dataDir = path.join(work, 'data');
const shots = path.join(root, 'test-results');

let app: ChildProcess;
let browser: Browser | undefined;
let url: string;
let api: Api;

/** Tiny and fast: a run takes about a second once f0 is cached. */
function config(strategy: 'none' | 'random' | 'mix-cd'): RunConfigInput {
  return {
    dataDir,
    backend: 'wasm',
    seed: 1,
    model: { arch: 'mlp', hidden: [32] },
    pretrain: { epochs: 2, batchSize: 32, optimizer: { name: 'adam', lr: 3e-3 } },
    finetune: { steps: 40, batchSize: 32, evalEvery: 20 },
    rehearsal: { strategy, budget: 0.25, probe: 50 },
  };
}

const rowsOf = (page: Page) => page.locator('[data-test="runs-table"] tbody tr');
const strategies = async (page: Page) =>
  (await page.locator('[data-test="cell-strategy"]').allTextContents()).map((t) => t.trim());

async function downloaded(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator(`[data-test="${button}"]`).click(),
  ]);
  const file = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
  const started = await startBrowserMode({ db: path.join(work, 'history.db'), cacheDir: path.join(work, 'cache') });
  ({ app, url } = started);
  api = await Api.open(url);
}, 300_000);

afterAll(async () => {
  api?.socket.terminate();
  await browser?.close();
  if (app && app.exitCode === null) app.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('history and export views in browser mode', () => {
  it('filters, sorts, tags, deletes and picks runs, and exports a study in every format', async () => {
    const { studyId, runIds } = await api.call('studies.start', {
      base: config('mix-cd'),
      strategies: ['random', 'mix-cd'],
      budgets: [0.25],
      seeds: [1],
      name: 'history e2e',
    });
    expect(runIds).toHaveLength(2);
    const { runId: loneId } = await api.call('runs.start', { config: config('none') });
    const all = [...runIds, loneId];
    await expect
      .poll(
        async () =>
          (await api.call('runs.list', {})).filter((r) => all.includes(r.id) && r.status === 'finished').length,
        { timeout: 180_000, interval: 500 },
      )
      .toBe(3);
    const study = await api.call('studies.get', { id: studyId });
    const byStrategy = new Map<string, RunSummary>(study.runs.map((r) => [r.config.rehearsal.strategy, r]));
    const mixId = byStrategy.get('mix-cd')!.id;
    const randomId = byStrategy.get('random')!.id;

    browser = await launchChromium();
    const { page, problems } = await watchedPage(browser);
    await page.goto(url);

    // History: every run, the study as a group. The full table by default; the compact one
    // (7 columns) on request, then back to details (every column, picking, tagging, deleting).
    await rowsOf(page).nth(2).waitFor({ timeout: 15_000 });
    expect(await rowsOf(page).count()).toBe(3);
    // Steps, seed and lr are columns in both modes (100- and 1,500-step runs must not look alike).
    expect(await rowsOf(page).first().locator('td').count()).toBe(15);
    await page.locator('[data-test="details"]').uncheck();
    expect(await rowsOf(page).first().locator('td').count()).toBe(10);
    await page.locator('[data-test="details"]').check();
    expect(await page.locator('[data-test="runs-table"] thead th').allTextContents()).toEqual([
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
    for (const id of all) expect(await page.locator(`[data-test="run-${id}"]`).count()).toBe(1);
    await page.locator(`[data-test="study-${studyId}"]`).waitFor();
    expect(await page.locator(`[data-test="study-${studyId}"]`).textContent()).toContain('2 runs');
    expect(await page.locator(`[data-test="run-${mixId}"] td`).nth(9).textContent()).toBe('history e2e');

    // Filter by strategy, then the text search, then clear.
    await page.locator('[data-test="filter-strategy"]').selectOption('mix-cd');
    await expect.poll(() => rowsOf(page).count()).toBe(1);
    expect(await strategies(page)).toEqual(['mix-cd']);
    await page.locator('[data-test="filter-strategy"]').selectOption('');
    await page.locator('[data-test="search"]').fill('history e2e');
    await expect.poll(() => rowsOf(page).count()).toBe(2);
    await page.locator('[data-test="clear-filters"]').click();
    await expect.poll(() => rowsOf(page).count()).toBe(3);

    // Sort by strategy, ascending then descending; by id it is newest first.
    await page.locator('[data-test="sort-strategy"]').click();
    expect(await strategies(page)).toEqual(['mix-cd', 'none', 'random']);
    await page.locator('[data-test="sort-strategy"]').click();
    expect(await strategies(page)).toEqual(['random', 'none', 'mix-cd']);
    await page.locator('[data-test="sort-id"]').click();
    await page.locator('[data-test="sort-id"]').click();
    expect(await rowsOf(page).first().getAttribute('data-run')).toBe(String(Math.max(...all)));

    // Tag one inline: the host stores the comma list, and the tag filter offers it.
    const mixRow = page.locator(`[data-test="run-${mixId}"]`);
    await mixRow.locator('[data-test="tag-edit"]').click();
    await mixRow.locator('[data-test="tag-input"]').fill('paper, keep ,paper');
    await mixRow.locator('[data-test="tag-save"]').click();
    await mixRow.locator('[data-test="tag-input"]').waitFor({ state: 'detached' });
    expect((await mixRow.locator('.tag').allTextContents()).sort()).toEqual(['keep', 'paper']);
    expect((await api.call('runs.get', { id: mixId })).tags).toEqual(['keep', 'paper']);
    await page.locator('[data-test="filter-tag"]').selectOption('keep');
    await expect.poll(() => rowsOf(page).count()).toBe(1);
    await page.locator('[data-test="filter-tag"]').selectOption('');

    // Delete the lone run: nothing happens before the confirmation; Keep keeps it.
    const loneRow = page.locator(`[data-test="run-${loneId}"]`);
    await loneRow.locator('[data-test="delete"]').click();
    await loneRow.locator('[data-test="confirm-delete"]').waitFor();
    await loneRow.locator('[data-test="confirm-no"]').click();
    expect(await loneRow.locator('[data-test="confirm-delete"]').count()).toBe(0);
    await loneRow.locator('[data-test="delete"]').click();
    await loneRow.locator('[data-test="confirm-yes"]').click();
    await loneRow.waitFor({ state: 'detached' });
    expect((await api.call('runs.list', {})).map((r) => r.id).sort()).toEqual([...runIds].sort());

    // A run still queued or running: the host refuses, and the page shows its sentence.
    const { runId: longId } = await api.call('runs.start', {
      config: { ...config('none'), finetune: { steps: 20_000, batchSize: 32, evalEvery: 5000 } },
    });
    const longRow = page.locator(`[data-test="run-${longId}"]`);
    await longRow.locator('[data-test="delete"]').click({ timeout: 15_000 });
    await longRow.locator('[data-test="confirm-yes"]').click();
    const refusal = page.locator('[data-test="history-problem"]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(new RegExp(`^Run ${longId} is (queued|running): cancel it first`));
    await api.call('runs.cancel', { id: longId });
    await expect.poll(() => longRow.locator('td').nth(1).textContent()).toBe('cancelled');
    await longRow.locator('[data-test="delete"]').click();
    await longRow.locator('[data-test="confirm-yes"]').click();
    await longRow.waitFor({ state: 'detached' });
    expect(await refusal.count()).toBe(0);

    // Pick the two study runs and compare them.
    await mixRow.locator('[data-test="pick"]').check();
    await page.locator(`[data-test="run-${randomId}"] [data-test="pick"]`).check();
    expect(await page.locator('[data-test="compare-selected"]').isEnabled()).toBe(true);
    await page.screenshot({ path: path.join(shots, 'history.png') });
    await page.locator('[data-test="compare-selected"]').click();
    const ids = [mixId, randomId].sort((a, b) => a - b).join(',');
    await page.waitForURL((u) => u.hash === `#/compare?runs=${ids}`);
    await page.locator('[data-test="tab-compare"][aria-current="page"]').waitFor();

    // Export: the study from its group's link.
    await page.goto(url.replace(/\?.*$/, '') + '#/');
    await page.locator(`[data-test="study-${studyId}"] [data-test="open-export"]`).click();
    await page.waitForURL((u) => u.hash === `#/export?study=${studyId}`);
    const pivot = page.locator('[data-test="pivot"]');
    await pivot.waitFor({ timeout: 15_000 });
    expect(await pivot.locator('tbody tr').count()).toBe(2);
    expect(await pivot.locator('[data-test="best"]').count()).toBeGreaterThanOrEqual(1);
    await page.locator('[data-test="export-metric"]').selectOption('finetuneTestAcc');
    await expect.poll(() => pivot.locator('thead').textContent()).toContain('r = 0.25');
    await page.screenshot({ path: path.join(shots, 'export.png') });

    const finetune = (id: number) => study.runs.find((r) => r.id === id)!.final.finetuneTestAcc;
    const csv = await downloaded(page, 'download-csv');
    expect(csv.name).toBe(`study-${studyId}-finetuneTestAcc.csv`);
    const csvLines = csv.text.trim().split('\n');
    expect(csvLines[0]).toBe('strategy,r = 0.25 mean,r = 0.25 sd,r = 0.25 n');
    const csvRows = new Map(csvLines.slice(1).map((line) => [line.split(',')[0], line.split(',').slice(1)]));
    expect(Number(csvRows.get('random')![0])).toBeCloseTo(finetune(randomId), 12);
    expect(Number(csvRows.get('mix-cd')![0])).toBeCloseTo(finetune(mixId), 12);
    expect(csvRows.get('mix-cd')![2]).toBe('1');

    const md = await downloaded(page, 'download-md');
    expect(md.text).toMatch(/\| \*\*\d\.\d{3}\*\* \|/);
    expect(md.text).toContain('| strategy | r = 0.25 |');

    const tex = await downloaded(page, 'download-tex');
    expect(tex.text).toContain('\\toprule');
    expect(tex.text).toContain('\\textbf{');
    expect(tex.text).toContain('\\bottomrule');

    const json = JSON.parse((await downloaded(page, 'download-json')).text) as {
      metric: string;
      rows: { strategy: string; cells: ({ mean: number; runs: number[] } | null)[] }[];
    };
    expect(json.metric).toBe('finetuneTestAcc');
    expect(json.rows.map((r) => r.strategy)).toEqual(['random', 'mix-cd']);
    for (const row of json.rows) {
      const id = byStrategy.get(row.strategy)!.id;
      expect(row.cells[0]!.runs).toEqual([id]);
      expect(row.cells[0]!.mean).toBe(finetune(id));
    }

    const series = (await downloaded(page, 'download-series')).text.trim().split('\n');
    expect(series[0]).toBe('runId,strategy,budget,seed,step,pretrainTestAcc,finetuneTestAcc,cdRate,rehearsalPrecision');
    expect(series.length - 1).toBe(study.runs.reduce((n, r) => n + r.series.length, 0));
    expect(new Set(series.slice(1).map((line) => Number(line.split(',')[0])))).toEqual(new Set(runIds));
    expect(
      series.slice(1).every((line) =>
        line
          .split(',')
          .slice(5, 7)
          .every((v) => Number.isFinite(Number(v)) && v !== ''),
      ),
    ).toBe(true);

    // Re-runnable (issue 11): a study file `mixcd study --config` takes, expanding to exactly these runs.
    const studyFile = JSON.parse((await downloaded(page, 'download-configs')).text) as StudyFile;
    expect(studyFile.grid).toEqual({ strategies: ['random', 'mix-cd'], budgets: [0.25], seeds: [1] });
    const key = (c: RunConfig) => `${c.rehearsal.strategy}/${c.rehearsal.budget}/${c.seed}`;
    expect(expandGrid(parseRunConfig(studyFile.base), studyFile.grid).map(key).sort()).toEqual(
      study.runs.map((r) => key(r.config)).sort(),
    );

    expect(problems).toEqual([]);
  }, 300_000);
});
