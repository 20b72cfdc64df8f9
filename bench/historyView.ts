// The History view at scale: 10,000 runs opened, listed, filtered, searched and sorted in headless
// Chromium, against a fake host that answers runs.list with synthetic runs' list items (tags
// included, or one table of them) and runs.get with the whole run. The figures are the page's
// main-thread time over each action, from Chrome's Performance metrics: the CPU time of the thread
// (ThreadTime) and the wall time of its tasks (TaskDuration, which on a busy machine also counts
// the waits for a core); the goal is 200 ms per action (listing, filtering, searching, sorting;
// opening also boots the page). Also used by test/e2e/historyScale.test.ts.
import type { CDPSession, Page } from 'playwright-core';
import { DEFAULT_RUN_CONFIG, STRATEGIES, type RunConfig } from '../shared/config.js';
import {
  toRunListItem,
  toRunListTable,
  type EventMessage,
  type ResponseMessage,
  type RunDetail,
  type StudySummary,
} from '../shared/contract.js';
import type { HostConnection } from '../src-main/server/browserServer.js';
import { catalog } from '../src-main/host/catalog.js';

/** `count` runs, newest first as runs.list answers: strategies, budgets, seeds and tags cycle. */
export function syntheticHistory(count: number): RunDetail[] {
  const runs: RunDetail[] = [];
  for (let id = count; id >= 1; id--) {
    const config: RunConfig = structuredClone(DEFAULT_RUN_CONFIG);
    config.rehearsal.strategy = STRATEGIES[id % 3];
    config.rehearsal.budget = [0.05, 0.1, 0.2][id % 3];
    config.seed = 1 + (id % 5);
    config.finetune.steps = id % 2 ? 100 : 1500;
    const failed = id % 97 === 0;
    runs.push({
      id,
      studyId: id % 4 === 0 ? 1 + (id % 7) : null,
      status: failed ? 'failed' : 'finished',
      config,
      backend: 'wasm',
      device: 'CPU',
      dataFingerprint: 'synthetic',
      prior: { pretrainTestAcc: 0.88, finetuneTestAcc: 0.1 },
      final: {
        pretrainTestAcc: failed ? NaN : 0.5 + ((id * 7919) % 400) / 1000,
        finetuneTestAcc: failed ? NaN : 0.6 + ((id * 104729) % 300) / 1000,
        cdRate: 0.1,
        rehearsalPrecision: 0.2,
      },
      compute: { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0, wallSeconds: 1 },
      error: failed ? `Run ${id} failed: the trainer ran out of memory (synthetic).` : null,
      createdAt: new Date(Date.UTC(2026, 0, 1) + id * 60_000).toISOString(),
      series: [],
      tags: id % 10 === 0 ? ['paper', `batch-${id % 3}`] : [],
    });
  }
  return runs;
}

/**
 * A host that lists `runs` (with their tags) and counts the requests it gets, by method; runs.start
 * and studies.start are kept in `starts` (params as sent) and answered with runs it already has.
 */
export function fakeHistoryHost(
  runs: RunDetail[],
): HostConnection & { calls: Map<string, number>; starts: { method: string; params: unknown }[] } {
  const calls = new Map<string, number>();
  const starts: { method: string; params: unknown }[] = [];
  const studies: StudySummary[] = [...new Set(runs.map((r) => r.studyId).filter((s) => s !== null))].map((id) => ({
    id: id as number,
    name: `synthetic study ${id}, a long name as people write them: rot90 budget sweep for the paper`,
    createdAt: '2026-01-01T00:00:00.000Z',
    config: {},
  }));
  return {
    calls,
    starts,
    async handle(raw) {
      const { id, method, params } = raw as {
        id: number;
        method: string;
        params?: { id?: number; filter?: { status?: string | string[]; format?: string } };
      };
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const ok = (result: unknown): ResponseMessage => ({ id, ok: true, result });
      switch (method) {
        case 'runs.list': {
          // The monitor asks for the running and queued ones only.
          const status = params?.filter?.status;
          const wanted = status === undefined ? null : new Set(Array.isArray(status) ? status : [status]);
          // As the host lists them: list items (or one table of them), not whole runs.
          const items = (wanted ? runs.filter((r) => wanted.has(r.status)) : runs).map((r) => toRunListItem(r, r.tags));
          return ok(params?.filter?.format === 'table' ? toRunListTable(items) : items);
        }
        case 'studies.list':
          return ok(studies);
        case 'runs.get': {
          const run = runs.find((r) => r.id === params?.id);
          if (run) return ok(run);
          break;
        }
        case 'runs.series':
          return ok([]);
        case 'catalog.get':
          return ok(catalog());
        case 'runs.start':
          starts.push({ method, params });
          return ok({ runId: runs[0].id });
        case 'studies.start':
          starts.push({ method, params });
          return ok({ studyId: 1, runIds: runs.slice(0, 2).map((r) => r.id) });
      }
      return { id, ok: false, error: { code: 'not-found', message: `The fake host does not answer ${method}.` } };
    },
    subscribe(_listener: (event: EventMessage) => void) {
      return () => {};
    },
  };
}

/**
 * The page's main thread so far, in ms: TaskDuration, the wall time of its tasks (what the user
 * waits for, and on a busy machine also the time the thread waited for a core), and ThreadTime,
 * the thread's CPU time (the work itself). Chrome's Performance metrics, over the DevTools protocol.
 */
async function mainThread(cdp: CDPSession): Promise<ActionMs> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const of = (name: string) => (metrics.find((m) => m.name === name)?.value ?? NaN) * 1000;
  return { task: of('TaskDuration'), cpu: of('ThreadTime') };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What `until` waits for: the count line saying `value`, History listed again (not `value` times), an element. */
type Wait = 'shown' | 'relisted' | 'element';

/** What the user does, done in the page: a click, a choice in a select, text typed into a field. */
type Act = { click: string } | { select: string; value: string } | { type: string; value: string };

/**
 * Does `act` in the page and waits there until `wait` holds (checked on every DOM change), then a
 * moment for the last paint. One evaluation, a DOM event and a MutationObserver: Playwright's own
 * clicks (actionability checks, hit tests) and polls from the test run script on the page's main
 * thread, which is what is being measured.
 */
async function until(page: Page, wait: Wait, value: string, act?: Act): Promise<void> {
  // Page code as text: this file is compiled without the DOM's types.
  await page.evaluate(`new Promise((resolve) => {
    const kind = ${JSON.stringify(wait)};
    const arg = ${JSON.stringify(value)};
    const act = ${JSON.stringify(act ?? null)};
    const holds = () =>
      kind === 'shown'
        ? (document.querySelector('[data-test="shown-count"]')?.textContent ?? '').includes(arg)
        : kind === 'relisted'
          ? (document.querySelector('[data-test="history"]')?.dataset.listed ?? arg) !== arg
          : document.querySelector(arg) !== null;
    const observer = new MutationObserver(() => {
      if (!holds()) return;
      observer.disconnect();
      resolve();
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    if (act && 'click' in act) document.querySelector(act.click).click();
    else if (act) {
      const field = document.querySelector(act.select ?? act.type);
      field.value = act.value;
      field.dispatchEvent(new Event(act.select ? 'change' : 'input', { bubbles: true }));
    }
    if (holds()) {
      observer.disconnect();
      resolve();
    }
  })`);
  await pause(150);
}

export interface ActionMs {
  /** TaskDuration: wall time of the main thread's tasks. */
  task: number;
  /** ThreadTime: the main thread's CPU time. */
  cpu: number;
}

export interface HistoryTimings {
  /** Opening the page at #/: the page's boot (scripts, Vue, the socket), then the list as below. */
  open: ActionMs;
  /** Listing: runs.list asked (Reload), its answer received and parsed, the rows built, the table drawn. */
  list: ActionMs;
  filter: ActionMs;
  search: ActionMs;
  sort: ActionMs;
  /** Table rows in the page after the sort (windowed: a few dozen, not `count`). */
  rowsInPage: number;
}

async function timed(cdp: CDPSession, act: () => Promise<void>): Promise<ActionMs> {
  const before = await mainThread(cdp);
  await act();
  const after = await mainThread(cdp);
  return { task: after.task - before.task, cpu: after.cpu - before.cpu };
}

/** Main-thread ms to open `${url}#/` until its `count` runs are shown (the page's boot included). */
export async function timeOpen(page: Page, url: string, count: number): Promise<ActionMs> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const ms = await timed(cdp, async () => {
    await page.goto(`${url}#/`);
    await page.locator('[data-test="shown-count"]').waitFor({ timeout: 60_000 });
    await until(page, 'shown', `${count} of ${count} runs shown`);
  });
  await cdp.detach();
  return ms;
}

/** Opens `${url}#/` (a fake host with `count` runs behind it) and times each action. */
export async function timeHistory(page: Page, url: string, count: number): Promise<HistoryTimings> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const all = `${count} of ${count} runs shown`;
  // Opening the view: the page's boot, runs.list's answer parsed, the table drawn.
  const open = await timed(cdp, async () => {
    await page.goto(`${url}#/`);
    await page.locator('[data-test="shown-count"]').waitFor({ timeout: 60_000 });
    await until(page, 'shown', all);
  });
  // Listing again (the Reload button, as on coming back to the window): the list's own cost.
  const listed = await page.locator('[data-test="history"]').getAttribute('data-listed');
  const list = await timed(cdp, () => until(page, 'relisted', listed!, { click: '[data-test="reload"]' }));
  const mixCd = Math.floor(count / 3) + (count % 3 >= 2 ? 1 : 0);
  const strategy = '[data-test="filter-strategy"]';
  const filter = await timed(cdp, () =>
    until(page, 'shown', `${mixCd} of ${count} runs shown`, { select: strategy, value: 'mix-cd' }),
  );
  await until(page, 'shown', all, { select: strategy, value: '' });
  const tagged = Math.floor(count / 10);
  const search = await timed(cdp, () =>
    until(page, 'shown', `${tagged} of ${count} runs shown`, { type: '[data-test="search"]', value: 'batch-' }),
  );
  await until(page, 'shown', all, { type: '[data-test="search"]', value: '' });
  const sort = await timed(cdp, () =>
    until(page, 'element', 'th[aria-sort="ascending"] [data-test="sort-finalPretrainAcc"]', {
      click: '[data-test="sort-finalPretrainAcc"]',
    }),
  );
  const rowsInPage = await page.locator('[data-test="runs-table"] tbody tr[data-run]').count();
  await cdp.detach();
  return { open, list, filter, search, sort, rowsInPage };
}
