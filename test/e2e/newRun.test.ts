// The New-run form against a fake host (no training): the settings the CLI has beyond the basics
// (optimizer, learning rate, batch size, pretrain seed, probe size, a study's name and budget
// sweep, the fixed prior's rate, oracle-cd's and loss-based's settings) start at the host's
// defaults, are checked as they are typed with the schema's sentence beside each, and reach the
// host as the config of studies.start. Screenshots: test-results/new-run-*.png.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../shared/config.js';
import { fakeHistoryHost, syntheticHistory } from '../../bench/historyView.js';
import { compareChunk, projectRoot, rendererDir } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

const shots = path.join(projectRoot, 'test-results');
const host = fakeHistoryHost(syntheticHistory(5));
let server: BrowserServer;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!compareChunk()) throw new Error(`${rendererDir} has no built renderer: run npm run build first.`);
  mkdirSync(shots, { recursive: true });
  server = await startBrowserServer({ host, rendererDir });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the New-run form covers the CLI', () => {
  it('fills the new settings from the defaults, checks them inline and sends them with a budget sweep', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/new`);
    await page.locator('[data-test="run-form"]').waitFor({ timeout: 15_000 });
    const value = (id: string) => page.locator(`#${id}`).inputValue();
    // The host's defaults.
    expect(await value('f-lr')).toBe('0.01');
    expect(await value('f-optimizer')).toBe('momentum');
    expect(await value('f-batch')).toBe('128');
    expect(await value('f-pretrain-seed')).toBe('0');
    expect(await value('f-probe')).toBe('2000');
    expect(await value('f-prior-rate')).toBe('0.5');
    expect(await value('f-oracle-refresh')).toBe('10');
    expect(await value('f-oracle-pool')).toBe('0');
    expect(await value('f-loss-pool')).toBe('4');
    // Settings of a strategy not picked, or of the fixed prior while pooled, are off.
    expect(await page.locator('#f-prior-rate').isDisabled()).toBe(true);
    expect(await page.locator('#f-oracle-pool').isDisabled()).toBe(true);
    expect(await page.locator('#f-loss-pool').isDisabled()).toBe(true);
    expect(await page.locator('#f-study-name').isDisabled()).toBe(true); // one run: no study

    // Inline checks, each beside its field, Start off meanwhile.
    const wrong: [string, string, string, string][] = [
      ['f-lr', '0', 'lr', 'Must be > 0.'],
      ['f-batch', 'x', 'batchSize', 'Enter a number.'],
      ['f-pretrain-seed', '-1', 'pretrainSeed', 'Must be >= 0.'],
      ['f-probe', '1.5', 'probe', 'Enter a whole number.'],
      ['f-budget', '0.05, 11', 'budget', 'Must be <= 10.'],
      ['f-oracle-refresh', '0', 'oracleRefresh', 'Must be > 0.'],
      ['f-loss-pool', '0.5', 'lossPoolFactor', 'Must be >= 1.'],
    ];
    await page.locator('input[name="strategy-oracle-cd"]').check();
    await page.locator('input[name="strategy-loss-based"]').check();
    await page.locator('input[name="strategy-mix-cd"]').check();
    await page.locator('#f-prior').selectOption('fixed');
    wrong.push(['f-prior-rate', '2', 'priorRate', 'Must be <= 1.']);
    for (const [id, text, field, message] of wrong) {
      await page.locator(`#${id}`).fill(text);
      const error = page.locator(`[data-test="error-${field}"]`);
      await error.waitFor();
      expect(await error.textContent()).toBe(message);
      expect(await page.locator('[data-test="start"]').isDisabled()).toBe(true);
    }
    await page.screenshot({ path: path.join(shots, 'new-run-invalid.png'), fullPage: true });

    // Fixed: a sweep over two budgets and two seeds, none/random/mix-cd/loss-based.
    await page.locator('#f-oracle-refresh').fill('20');
    await page.locator('input[name="strategy-oracle-cd"]').uncheck();
    await page.locator('input[name="strategy-none"]').check();
    expect(await page.locator('input[name="strategy-random"]').isChecked()).toBe(true); // the default
    await page.locator('#f-optimizer').selectOption('adam');
    expect(await value('f-lr')).toBe('0'); // typed over, so it stays the user's
    await page.locator('#f-lr').fill('0.002');
    await page.locator('#f-batch').fill('64');
    await page.locator('#f-pretrain-seed').fill('3');
    await page.locator('#f-probe').fill('500');
    await page.locator('#f-budget').fill('0.05, 0.1');
    await page.locator('#f-seeds').fill('1, 2');
    await page.locator('#f-loss-pool').fill('8');
    await page.locator('#f-prior-rate').fill('0.3');
    await page.locator('#f-study-name').fill('budget sweep');
    expect(await page.locator('[data-test="error-budget"]').count()).toBe(0);
    // none once per seed (2), the others per budget and seed (3 x 2 x 2).
    expect((await page.locator('[data-test="start"]').textContent())?.trim()).toBe('Start 14 runs (study)');
    await page.screenshot({ path: path.join(shots, 'new-run-sweep.png'), fullPage: true });
    await page.locator('[data-test="start"]').click();
    await page.waitForURL(/#\/monitor$/);

    expect(host.starts).toHaveLength(1);
    const { method, params } = host.starts[0] as {
      method: string;
      params: { base: RunConfigInput; strategies: string[]; budgets: number[]; seeds: number[]; name: string };
    };
    expect(method).toBe('studies.start');
    expect(params.strategies.sort()).toEqual(['loss-based', 'mix-cd', 'none', 'random']);
    expect(params.budgets).toEqual([0.05, 0.1]);
    expect(params.seeds).toEqual([1, 2]);
    expect(params.name).toBe('budget sweep');
    expect(params.base.finetune).toMatchObject({ batchSize: 64, optimizer: { name: 'adam', lr: 0.002 } });
    expect(params.base.pretrain).toMatchObject({ seed: 3 });
    expect(params.base.rehearsal).toMatchObject({
      probe: 500,
      mixCd: { prior: 'fixed', priorRate: 0.3 },
      oracleCd: { refreshEvery: 20, pool: 0 },
      lossBased: { poolFactor: 8 },
    });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('moves the learning rate with the optimizer while it is still the usual one', async () => {
    const { page, problems } = await watchedPage(browser!);
    await page.goto(`${server.url}#/new`);
    await page.locator('[data-test="run-form"]').waitFor({ timeout: 15_000 });
    await page.locator('#f-optimizer').selectOption('adamw');
    expect(await page.locator('#f-lr').inputValue()).toBe('0.001');
    await page.locator('#f-optimizer').selectOption('sgd');
    expect(await page.locator('#f-lr').inputValue()).toBe('0.01');
    expect(problems).toEqual([]);
    await page.close();
  });
});
