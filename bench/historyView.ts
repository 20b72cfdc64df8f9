// The History view at scale: 10,000 runs listed, filtered, searched and sorted in headless
// Chromium, against a fake host that answers runs.list with synthetic runs (tags included). The
// figure is main-thread time (Chrome's TaskDuration over the action, from the DevTools protocol),
// the goal 200 ms per action. Also used by test/e2e/historyScale.test.ts.
import type { Page } from 'playwright-core';
import { DEFAULT_RUN_CONFIG, STRATEGIES, type RunConfig } from '../shared/config.js';
import type { EventMessage, ResponseMessage, RunListItem, StudySummary } from '../shared/contract.js';
import type { HostConnection } from '../src-main/server/browserServer.js';
import { catalog } from '../src-main/host/catalog.js';

/** `count` runs, newest first as runs.list answers: strategies, budgets, seeds and tags cycle. */
export function syntheticHistory(count: number): RunListItem[] {
  const runs: RunListItem[] = [];
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
  runs: RunListItem[],
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
        params?: { id?: number; filter?: { status?: string | string[] } };
      };
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const ok = (result: unknown): ResponseMessage => ({ id, ok: true, result });
      switch (method) {
        case 'runs.list': {
          // The monitor asks for the running and queued ones only.
          const status = params?.filter?.status;
          const wanted = status === undefined ? null : new Set(Array.isArray(status) ? status : [status]);
          return ok(wanted ? runs.filter((r) => wanted.has(r.status)) : runs);
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

/** Chrome's main-thread task time so far, in ms. */
async function taskMs(page: Page, cdp: { send(method: string): Promise<unknown> }): Promise<number> {
  void page;
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN) * 1000;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the view says `text` in its count line, then a moment for the last paint. */
async function shown(page: Page, text: string): Promise<void> {
  const count = page.locator('[data-test="shown-count"]');
  for (let i = 0; i < 600; i++) {
    if ((await count.textContent().catch(() => ''))?.includes(text)) {
      await pause(150);
      return;
    }
    await pause(50);
  }
  throw new Error(`History never showed "${text}"; it shows "${await count.textContent()}".`);
}

export interface HistoryTimings {
  /** Opening the page at #/: boot, runs.list's answer parsed, the table drawn. */
  list: number;
  filter: number;
  search: number;
  sort: number;
  /** Table rows in the page after the sort (windowed: a few dozen, not `count`). */
  rowsInPage: number;
}

/** Opens `${url}#/` (a fake host with `count` runs behind it) and times each action. */
export async function timeHistory(page: Page, url: string, count: number): Promise<HistoryTimings> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const timed = async (act: () => Promise<void>, text: string) => {
    const before = await taskMs(page, cdp);
    await act();
    await shown(page, text);
    return (await taskMs(page, cdp)) - before;
  };
  // Opening the view: the page's boot, runs.list's answer parsed, the table drawn.
  const list = await timed(async () => void (await page.goto(`${url}#/`)), `${count} of ${count} runs shown`);
  const mixCd = Math.floor(count / 3) + (count % 3 >= 2 ? 1 : 0);
  const filter = await timed(
    async () => void (await page.locator('[data-test="filter-strategy"]').selectOption('mix-cd')),
    `${mixCd} of ${count} runs shown`,
  );
  await page.locator('[data-test="filter-strategy"]').selectOption('');
  await shown(page, `${count} of ${count} runs shown`);
  const tagged = Math.floor(count / 10);
  const search = await timed(
    () => page.locator('[data-test="search"]').fill('batch-'),
    `${tagged} of ${count} runs shown`,
  );
  await page.locator('[data-test="search"]').fill('');
  await shown(page, `${count} of ${count} runs shown`);
  const sort = await timed(async () => {
    await page.locator('[data-test="sort-finalPretrainAcc"]').click();
    await page.locator('th[aria-sort="ascending"] [data-test="sort-finalPretrainAcc"]').waitFor();
  }, `${count} of ${count} runs shown`);
  const rowsInPage = await page.locator('[data-test="runs-table"] tbody tr[data-run]').count();
  await cdp.detach();
  return { list, filter, search, sort, rowsInPage };
}
