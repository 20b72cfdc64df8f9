// History and Monitor against a fake host with synthetic runs (no training): 10,000 runs are
// listed with one runs.list (list items with their tags, no runs.get per run) into a windowed
// table, and listed, filtered, searched and sorted in under 200 ms of main-thread time each; the
// table shows steps, seed, lr and why a run failed; a finished run opened with "curves" is shown
// at its last step; after a reload the monitor names the run that ended last; the router keeps
// bookmarked addresses. Screenshots go to test-results/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeHistoryHost, syntheticHistory, timeHistory, timeOpen, type ActionMs } from '../../bench/historyView.js';
import { compareChunk, projectRoot, rendererDir } from '../../bench/renderer.js';
import { startBrowserServer, type BrowserServer } from '../../src-main/server/browserServer.js';
import { launchChromium, watchedPage } from '../helpers/browser.js';

const shots = path.join(projectRoot, 'test-results');
let browser: Browser | undefined;
const servers: BrowserServer[] = [];

beforeAll(async () => {
  if (!compareChunk()) throw new Error(`${rendererDir} has no built renderer: run npm run build first.`);
  mkdirSync(shots, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) await server.close();
});

describe('history at scale', () => {
  it('lists 10,000 runs with one request, windowed, and filters, searches and sorts them', async () => {
    const host = fakeHistoryHost(syntheticHistory(10_000));
    const server = await startBrowserServer({ host, rendererDir });
    servers.push(server);
    const { page, problems } = await watchedPage(browser!);
    const timings = await timeHistory(page, server.url, 10_000);
    // The page's boot alone, for scale: the same page over a one-run history.
    const small = await startBrowserServer({ host: fakeHistoryHost(syntheticHistory(1)), rendererDir });
    servers.push(small);
    const boot = await timeOpen((await watchedPage(browser!)).page, small.url, 1);
    const ms = (v: ActionMs) => `${v.cpu.toFixed(0)} (wall ${v.task.toFixed(0)})`;
    console.log(
      `history, 10,000 runs, main-thread ms, CPU (and wall): list ${ms(timings.list)}, filter ${ms(timings.filter)}, ` +
        `search ${ms(timings.search)}, sort ${ms(timings.sort)}; open ${ms(timings.open)}, ` +
        `the same page over 1 run ${ms(boot)}; ${timings.rowsInPage} rows in the page`,
    );
    // The goal (issue 11): listed, filtered, searched and sorted in under 200 ms of main-thread time
    // each: the thread's CPU time (the wall time of its tasks on a shared 2-core machine also counts
    // the other jobs; it is printed above, and held to a looser bound against a gross regression).
    for (const action of [timings.list, timings.filter, timings.search, timings.sort]) {
      expect(action.cpu).toBeLessThan(200);
      expect(action.task).toBeLessThan(1000);
    }
    await page.screenshot({ path: path.join(shots, 'history-10000.png') });
    // The tags came with runs.list: not one runs.get per run (that made History quadratic).
    expect(host.calls.get('runs.get') ?? 0).toBe(0);
    expect(host.calls.get('runs.list')).toBeGreaterThanOrEqual(1);
    // Windowed: the rows in view and a few around, not 10,000.
    expect(timings.rowsInPage).toBeGreaterThan(10);
    expect(timings.rowsInPage).toBeLessThan(100);
    // Tagged runs are found by the search: the tags are in the table without a request each.
    expect(timings.search.cpu).toBeGreaterThan(0);
    // Scrolled to the end, the last run of the sorted table is drawn.
    await page.locator('[data-test="runs-scroll"]').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await expect.poll(() => page.locator('[data-test="runs-table"] tbody tr[data-run]').count()).toBeLessThan(100);
    expect(problems).toEqual([]);
  });
});

describe('history columns, monitor and router', () => {
  it(
    'shows steps, seed, lr and errors; a finished run at its last step; the ' + 'last ended run after a reload',
    async () => {
      const runs = syntheticHistory(100);
      const server = await startBrowserServer({ host: fakeHistoryHost(runs), rendererDir });
      servers.push(server);
      const { page, problems } = await watchedPage(browser!);
      await page.goto(`${server.url}#/`);
      const row = (id: number) => page.locator(`[data-test="run-${id}"]`);
      await row(100).waitFor({ timeout: 15_000 });

      // Steps, seed and learning rate tell a 100-step run from a 1,500-step one.
      expect(await row(99).locator('[data-test="cell-steps"]').textContent()).toBe('100');
      expect(await row(100).locator('[data-test="cell-steps"]').textContent()).toBe('1500');
      expect(await row(99).locator('[data-test="cell-seed"]').textContent()).toBe(String(1 + (99 % 5)));
      expect(await row(99).locator('[data-test="cell-lr"]').textContent()).toBe('0.01');
      // Why run 97 failed is on its row.
      expect(await row(97).locator('[data-test="run-error"]').textContent()).toContain('ran out of memory');

      // Details mode: a long study name stays on one line; a delete confirmation stays inside the table's box.
      const studyCell = (await row(100).locator('td.study').boundingBox())!;
      expect(studyCell.height).toBeLessThan(50);
      await row(100).locator('[data-test="delete"]').click();
      const confirm = row(100).locator('[data-test="confirm-delete"]');
      const box = (await confirm.boundingBox())!;
      const scroller = (await page.locator('[data-test="runs-scroll"]').boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(scroller.x + scroller.width + 1);
      expect(box.x + box.width).toBeLessThanOrEqual(1280);
      await page.screenshot({ path: path.join(shots, 'history-details.png') });
      await row(100).locator('[data-test="confirm-no"]').click();

      // The pick boxes of ids 1-9 line up with the others'.
      await page.locator('[data-test="runs-scroll"]').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await row(5).waitFor();
      const x5 = (await row(5).locator('[data-test="pick"]').boundingBox())!.x;
      const x12 = (await row(12).locator('[data-test="pick"]').boundingBox())!.x;
      expect(Math.abs(x5 - x12)).toBeLessThan(1);
      const id5 = (await row(5).locator('.id').boundingBox())!;
      const id12 = (await row(12).locator('.id').boundingBox())!;
      expect(Math.abs(id5.x + id5.width - (id12.x + id12.width))).toBeLessThan(1);

      // "curves" on a finished run: the monitor shows it at its last step, with a full bar.
      await row(12).locator('[data-test="watch"]').click();
      await page.waitForURL(/#\/monitor$/);
      const card = page.locator('[data-test="live-run-12"]');
      await card.waitFor();
      expect(await card.locator('[data-test="live-status"]').textContent()).toBe('finished');
      expect((await card.locator('[data-test="live-step"]').textContent())?.trim()).toBe('step 1500 / 1500');
      const bar = card.locator('[data-test="live-bar"]');
      expect(await bar.getAttribute('value')).toBe(await bar.getAttribute('max'));
      await page.screenshot({ path: path.join(shots, 'monitor-finished.png') });

      // A reload forgets what was watched, but names the run that ended last, with its curves a click away.
      await page.reload();
      const last = page.locator('[data-test="monitor-last-ended"]');
      await last.waitFor();
      expect(await last.textContent()).toContain('#100');
      await page.locator('[data-test="monitor-show-last"]').click();
      await page.locator('[data-test="live-run-100"]').waitFor();

      // The form says why the group rule is unavailable instead of letting a run fail on it.
      await page.locator('[data-test="tab-new"]').click();
      await page.locator('[data-test="run-form"]').waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-test="rule-group"]').isDisabled()).toBe(true);
      expect(await page.locator('[data-test="rule-group"]').textContent()).toContain('no group column');
      expect(await page.locator('[data-test="rule-group-why"]').textContent()).toMatch(/IDX images\) have none/);
      // The monitor names its precision as what it is: since the previous evaluation.
      await page.locator('[data-test="tab-monitor"]').click();
      await page.locator('[data-test="live-run-100"]').waitFor(); // still watched from above
      expect(await page.locator('[data-test="chart-precision"] figcaption').textContent()).toContain(
        'since the previous evaluation',
      );

      // The router: a mistyped address opens the history; a bookmarked compare address opens Compare with its runs.
      await page.goto(`${server.url}#/no-such-view`);
      await page.waitForURL((u) => u.hash === '#/');
      await row(100).waitFor();
      await page.goto(`${server.url}#/compare?runs=zz`);
      expect(
        await page.locator('[data-test="compare-problem"], [data-test="compare-empty"]').first().textContent(),
      ).toMatch(/not a run id/);
      expect(problems).toEqual([]);
    },
  );
});
