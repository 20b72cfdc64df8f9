// The host as a shell uses it: requests in, events out, one real trainer process per run (the
// built dist/src-main/trainer/main.js), on small IDX files the test writes, with a history file
// and an f0 cache of its own.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../shared/config.js';
import type {
  EventMessage,
  EventName,
  HostEvents,
  MethodName,
  MethodParams,
  MethodResults,
  ResponseMessage,
} from '../../shared/contract.js';
import { createHost } from '../../src-main/host/host.js';
import { openHistory, type History } from '../../src-main/store/database.js';
import { writeIdxData } from '../helpers/idxData.js';
import { processGone, tinyRunConfig } from '../helpers/trainerRuns.js';

const root = path.resolve(__dirname, '../..');
const trainerEntry = path.join(root, 'dist/src-main/trainer/main.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-host-'));
const dataDir = path.join(work, 'data');

beforeAll(() => {
  if (!existsSync(trainerEntry))
    throw new Error(
      `The trainer is not built (${trainerEntry} is missing): run npm run build first (npm test does it).`,
    );
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
});

// After every describe's afterAll (which close their hosts).
afterAll(() => rmSync(work, { recursive: true, force: true }));

function config(steps = 60, overrides: RunConfigInput = {}): RunConfigInput {
  return tinyRunConfig(dataDir, steps, overrides);
}

/** A host with an event log that can be waited on. */
function startHost(name: string, concurrency = 1) {
  const host = createHost({
    historyFile: path.join(work, `${name}.db`),
    cacheDir: path.join(work, `${name}-f0`),
    concurrency,
    trainerEntry,
  });
  const events: EventMessage[] = [];
  /** performance.now() at receipt, per event. */
  const times: number[] = [];
  const waiters: { match: (e: EventMessage) => boolean; resolve: (e: EventMessage) => void }[] = [];
  host.subscribe((event) => {
    events.push(event);
    times.push(performance.now());
    for (const w of waiters.filter((w) => w.match(event))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(event);
    }
  });
  /** The first event (already seen or still to come) that matches. */
  const waitFor = (match: (e: EventMessage) => boolean, what: string, timeoutMs = 60_000): Promise<EventMessage> => {
    const seen = events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  };
  const forRun = (runId: number) => (e: EventMessage) => (e.data as { runId?: number }).runId === runId;
  let nextId = 1;
  return {
    host,
    events,
    times,
    /** The first event of this name for this run that also matches `also`. */
    async event<E extends EventName>(
      name: E,
      runId: number,
      also: (data: HostEvents[E]) => boolean = () => true,
    ): Promise<HostEvents[E]> {
      const found = await waitFor(
        (e) => e.event === name && forRun(runId)(e) && also(e.data as HostEvents[E]),
        `${name} for run ${runId}`,
      );
      return found.data as HostEvents[E];
    },
    /** How the run ended: run.finished, run.failed or run.cancelled. */
    async ended(runId: number): Promise<EventName> {
      const terminal = new Set<EventName>(['run.finished', 'run.failed', 'run.cancelled']);
      return (await waitFor((e) => terminal.has(e.event) && forRun(runId)(e), `end of run ${runId}`)).event;
    },
    /** A request that must succeed. */
    async call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
      const response = await host.handle({ id: nextId++, method, params });
      if (!response.ok) throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
      return response.result as MethodResults[M];
    },
  };
}

const eventsOf = (events: EventMessage[], runId: number) =>
  events.filter((e) => (e.data as { runId?: number }).runId === runId);
const gone = processGone;

describe('host: one run', () => {
  const h = startHost('one');
  afterAll(() => h.host.close());

  it('queues, starts, reports progress and evals, finishes, in that order, and the history holds the run', async () => {
    const { runId } = await h.call('runs.start', { config: config(60) });
    expect(await h.ended(runId)).toBe('run.finished');
    const mine = eventsOf(h.events, runId);
    const names = mine.map((e) => e.event);
    expect(names[0]).toBe('run.queued');
    expect(names[names.length - 1]).toBe('run.finished');
    const started = names.indexOf('run.started');
    expect(started).toBeGreaterThan(0);
    expect(names.filter((n) => n === 'run.started')).toHaveLength(1);
    // Evals and finetuning progress only after started; preparation phases before it.
    const evals = mine.filter((e) => e.event === 'run.eval');
    expect(evals.map((e) => (e.data as HostEvents['run.eval']).point.step)).toEqual([0, 20, 40, 60]);
    expect(mine.findIndex((e) => e.event === 'run.eval')).toBeGreaterThan(started);
    const progress = mine.filter((e) => e.event === 'run.progress').map((e) => e.data as HostEvents['run.progress']);
    expect(progress.map((p) => p.phase)).toEqual(
      expect.arrayContaining(['loading-data', 'pretraining', 'prior-pass', 'finetuning']),
    );
    const firstFinetune = mine.findIndex(
      (e) => e.event === 'run.progress' && (e.data as HostEvents['run.progress']).phase === 'finetuning',
    );
    expect(firstFinetune).toBeGreaterThan(started);
    expect(progress.at(-1)).toMatchObject({ phase: 'finetuning', step: 60, totalSteps: 60 });
    const startedData = mine[started].data as HostEvents['run.started'];
    expect(startedData).toMatchObject({ backend: 'wasm', f0Cached: false });
    expect(startedData.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
    // mix-cd sends its bin trace with every eval.
    expect((evals[1].data as HostEvents['run.eval']).trace?.size.length).toBeGreaterThan(1);

    const finished = mine.at(-1)!.data as HostEvents['run.finished'];
    expect(finished.summary).toMatchObject({ id: runId, status: 'finished', backend: 'wasm' });
    const run = await h.call('runs.get', { id: runId });
    expect(run.status).toBe('finished');
    expect(run.tags).toEqual([]);
    expect(run.series).toEqual(evals.map((e) => (e.data as HostEvents['run.eval']).point));
    expect(run.compute.forwardPasses).toBe(60 * (32 + 8));
    expect(run.final.pretrainTestAcc).toBe(run.series.at(-1)!.pretrainTestAcc);
    expect(await h.call('runs.series', { id: runId })).toEqual(run.series);
  });

  it('serves telemetry, the most-rehearsed samples, tags, the catalog and the status', async () => {
    const [{ id }] = await h.call('runs.list', {});
    const telemetry = await h.call('runs.telemetry', { id });
    expect(telemetry.binTraces.map((t) => t.step)).toEqual([0, 20, 40, 60]);
    expect(telemetry.probes).toHaveLength(4);
    expect(Array.isArray(telemetry.probes[0].indices)).toBe(true);
    expect(telemetry.probes[0].categories).toHaveLength(50);
    expect(telemetry.categoryNames).toContain('collateral-damage');

    const samples = await h.call('runs.samples', { id, top: 5 });
    expect(samples.notes).toEqual([]);
    expect(samples.pretrainSize).toBe(800);
    expect(samples.rehearsals).toBe(60 * 8);
    expect(samples.samples).toHaveLength(5);
    const counts = samples.samples.map((s) => s.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    for (const s of samples.samples) {
      expect(s.class).toBeGreaterThanOrEqual(0);
      expect(s.className).toBeTypeOf('string');
      expect(s.bin).toBeGreaterThanOrEqual(0);
      expect(s.priorLoss).toBeGreaterThan(0);
    }

    expect(await h.call('runs.tag', { id, tags: ['baseline', 'tiny'] })).toEqual({ id, tags: ['baseline', 'tiny'] });
    expect((await h.call('runs.list', { filter: { tag: 'tiny' } })).map((r) => r.id)).toEqual([id]);
    expect(await h.call('runs.list', { filter: { tag: 'other' } })).toEqual([]);

    const catalog = await h.call('catalog.get');
    expect(catalog.scenarios.map((s) => s.name)).toEqual(['rot90', 'permute', 'split']);
    expect(catalog.strategies.find((s) => s.name === 'mix-cd')?.extraInference).toBe(false);
    expect(catalog.defaults.finetune.steps).toBe(1500);
    expect(await h.call('host.status')).toMatchObject({
      queueLength: 0,
      running: [],
      concurrency: 1,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });

    expect(await h.call('runs.delete', { id })).toEqual({ id });
    const missing = await h.host.handle({ id: 'x', method: 'runs.get', params: { id } });
    expect(missing).toMatchObject({ id: 'x', ok: false, error: { code: 'not-found', field: 'id' } });
  });
});

describe('host: queue, cancel, crash', () => {
  const h = startHost('queue');
  afterAll(() => h.host.close());

  it(
    'runs 3 queued runs one at a time; cancel stops a trainer within 1 s, kill ' +
      '-9 fails its run, and the host keeps serving',
    async () => {
      const first = (await h.call('runs.start', { config: config(40) })).runId;
      const second = (await h.call('runs.start', { config: config(5000) })).runId;
      const third = (await h.call('runs.start', { config: config(5000) })).runId;
      expect(await h.call('host.status')).toMatchObject({
        running: [first],
        queued: [second, third],
        queueLength: 2,
        concurrency: 1,
      });

      // Cancel the second mid-way, after its first eval past step 0.
      await h.event('run.eval', second, (d) => d.point.step >= 100);
      const status = await h.call('host.status');
      expect(status.running).toEqual([second]);
      const pid = status.trainers[0].pid!;
      expect(gone(pid)).toBe(false);
      const t0 = performance.now();
      expect(await h.call('runs.cancel', { id: second })).toEqual({ id: second, status: 'cancelled' });
      const cancelMs = performance.now() - t0;
      expect(cancelMs).toBeLessThan(1000);
      expect(gone(pid)).toBe(true);
      const cancelled = await h.call('runs.get', { id: second });
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.series.length).toBeGreaterThanOrEqual(2);
      expect(cancelled.final.pretrainTestAcc).toBe(cancelled.series.at(-1)!.pretrainTestAcc);
      console.log(`cancel: trainer ${pid} gone and run stored ${cancelMs.toFixed(0)} ms after runs.cancel`);

      // A running run cannot be deleted; the third is killed with SIGKILL mid-way.
      await h.event('run.eval', third, (d) => d.point.step >= 1000);
      const refused = await h.host.handle({ id: 7, method: 'runs.delete', params: { id: third } });
      expect(refused).toMatchObject({ ok: false, error: { code: 'conflict', field: 'id' } });
      const thirdPid = (await h.call('host.status')).trainers[0].pid!;
      process.kill(thirdPid, 'SIGKILL');
      expect(await h.event('run.failed', third)).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
      const failed = await h.call('runs.get', { id: third });
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/SIGKILL/);
      expect(failed.series.length).toBeGreaterThanOrEqual(11);
      // Its progress came at about 5 per second (the trainer throttles to one per 200 ms).
      const finetuning = h.events.flatMap((e, i) =>
        e.event === 'run.progress' && e.data.runId === third && e.data.phase === 'finetuning' ? [h.times[i]] : [],
      );
      const perSecond = (finetuning.length - 1) / ((finetuning.at(-1)! - finetuning[0]) / 1000);
      expect(finetuning.length).toBeGreaterThanOrEqual(3);
      expect(perSecond).toBeLessThan(6);
      console.log(`progress: ${finetuning.length} finetuning events at ${perSecond.toFixed(1)} per second`);
      const listed = await h.call('runs.list', {});
      expect(listed.map((r) => [r.id, r.status])).toEqual([
        [third, 'failed'],
        [second, 'cancelled'],
        [first, 'finished'],
      ]);

      // One at a time: each run started only after the previous one ended.
      const at = (name: EventName, runId: number) =>
        h.events.findIndex((e) => e.event === name && (e.data as { runId: number }).runId === runId);
      const firstProgress = (runId: number) =>
        h.events.findIndex((e) => e.event === 'run.progress' && (e.data as { runId: number }).runId === runId);
      expect(firstProgress(second)).toBeGreaterThan(at('run.finished', first));
      expect(firstProgress(third)).toBeGreaterThan(at('run.cancelled', second));
      expect(await h.call('host.status')).toMatchObject({ running: [], queueLength: 0 });
    },
  );

  it('stores a run whose trainer fails as failed, with its error and exit code', async () => {
    const { runId } = await h.call('runs.start', { config: config(40, { dataDir: path.join(work, 'no-such-data') }) });
    const failure = await h.event('run.failed', runId);
    expect(failure).toMatchObject({ exitCode: 1, signal: null });
    expect(failure.error).toContain(path.join(work, 'no-such-data'));
    expect(await h.call('runs.get', { id: runId })).toMatchObject({ status: 'failed', error: failure.error });
  });

  it('cancels a queued run without starting it', async () => {
    const a = (await h.call('runs.start', { config: config(5000) })).runId;
    const b = (await h.call('runs.start', { config: config(40) })).runId;
    expect(await h.call('runs.cancel', { id: b })).toEqual({ id: b, status: 'cancelled' });
    expect(await h.call('runs.cancel', { id: a })).toEqual({ id: a, status: 'cancelled' });
    expect(eventsOf(h.events, b).map((e) => e.event)).toEqual(['run.queued', 'run.cancelled']);
    const again = await h.host.handle({ id: 1, method: 'runs.cancel', params: { id: b } });
    expect(again).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });
});

describe('host: malformed requests', () => {
  const h = startHost('requests');
  afterAll(() => h.host.close());
  const bad = async (
    raw: unknown,
    code: string,
    field: string,
    message: RegExp,
    id: unknown = (raw as { id?: unknown })?.id ?? null,
  ) => {
    const response: ResponseMessage = await h.host.handle(raw);
    expect(response).toMatchObject({ id, ok: false, error: { code, field } });
    if (!response.ok) expect(response.error.message).toMatch(message);
  };

  it('answers invalid-request naming the field', async () => {
    await bad('hello', 'invalid-request', 'request', /must be an object/);
    await bad({ method: 'runs.list' }, 'invalid-request', 'id', /"id" is missing/);
    await bad(
      { id: 1, method: 'runs.destroy' },
      'invalid-request',
      'method',
      /Unknown method "runs\.destroy".*runs\.list/,
    );
    await bad({ id: 2 }, 'invalid-request', 'method', /"method" is missing/);
    await bad(
      { id: 3, method: 'runs.get', params: { id: 'x' } },
      'invalid-request',
      'id',
      /"id" has value "x".*expected number/,
    );
    await bad({ id: 4, method: 'runs.get' }, 'invalid-request', 'id', /"id" has value missing/);
    await bad(
      { id: 5, method: 'runs.get', params: { id: 1, extra: true } },
      'invalid-request',
      'extra',
      /no parameter "extra"/,
    );
    await bad(
      { id: 6, method: 'runs.list', params: { filter: { limit: 0 } } },
      'invalid-request',
      'filter.limit',
      /"filter\.limit" has value 0/,
    );
    await bad(
      { id: 7, method: 'runs.start', params: { config: { rehearsal: { budget: 11 } } } },
      'invalid-request',
      'config.rehearsal.budget',
      /"rehearsal\.budget" has value 11/,
    );
    await bad(
      { id: 8, method: 'runs.start', params: { config: { rehearsal: { strategy: 'magic' } } } },
      'invalid-request',
      'config.rehearsal.strategy',
      /"magic".*"none", "random", "mix-cd"/,
    );
    await bad(
      { id: 9, method: 'runs.start', params: { config: { finetune: { stepz: 3 } } } },
      'invalid-request',
      'config.finetune',
      /Unknown config field "finetune\.stepz"/,
    );
    await bad({ id: 10, method: 'runs.start', params: {} }, 'invalid-request', 'config', /config/);
    await bad(
      { id: 11, method: 'studies.start', params: { base: {}, strategies: ['nope'], budgets: [0.1], seeds: [1] } },
      'invalid-request',
      'strategies.0',
      /"nope"/,
    );
    await bad(
      {
        id: 12,
        method: 'studies.start',
        params: { base: { seed: -1 }, strategies: ['none'], budgets: [0.1], seeds: [1] },
      },
      'invalid-request',
      'base.seed',
      /"seed" has value -1/,
    );
  });

  it('answers not-found and conflict for unknown and ended runs and studies', async () => {
    await bad({ id: 1, method: 'runs.get', params: { id: 999 } }, 'not-found', 'id', /no run 999/);
    await bad({ id: 2, method: 'runs.cancel', params: { id: 999 } }, 'not-found', 'id', /no run 999/);
    await bad({ id: 3, method: 'studies.get', params: { id: 5 } }, 'not-found', 'id', /no study 5/);
    expect(await h.call('runs.list')).toEqual([]);
    expect(await h.call('studies.list')).toEqual([]);
  });
});

describe('host: a study', () => {
  const h = startHost('study', 2);
  afterAll(() => h.host.close());

  it('runs its grid from one f0: one run pretrains, the others wait for it and load it', async () => {
    const { studyId, runIds } = await h.call('studies.start', {
      base: config(40, { rehearsal: { strategy: 'random', budget: 0.25 } }),
      strategies: ['none', 'random'],
      budgets: [0.25],
      seeds: [1, 2],
      name: 'tiny study',
    });
    expect(runIds).toHaveLength(4);
    const ends = await Promise.all(runIds.map((id) => h.ended(id)));
    expect(ends).toEqual(['run.finished', 'run.finished', 'run.finished', 'run.finished']);
    const started = await Promise.all(runIds.map((id) => h.event('run.started', id)));
    expect(new Set(started.map((s) => s.f0Key)).size).toBe(1);
    expect(new Set(started.map((s) => s.dataFingerprint)).size).toBe(1);
    expect(started.filter((s) => !s.f0Cached)).toHaveLength(1);
    // Nobody else began (even loading data) before the pretraining run had its f0.
    const pretrainer = runIds[started.findIndex((s) => !s.f0Cached)];
    const startedAt = h.events.findIndex(
      (e) => e.event === 'run.started' && (e.data as { runId: number }).runId === pretrainer,
    );
    for (const id of runIds.filter((id) => id !== pretrainer)) {
      expect(
        h.events.findIndex((e) => e.event === 'run.progress' && (e.data as { runId: number }).runId === id),
      ).toBeGreaterThan(startedAt);
    }

    const detail = await h.call('studies.get', { id: studyId });
    expect(detail.study).toMatchObject({ id: studyId, name: 'tiny study' });
    expect(detail.runs.map((r) => r.id)).toEqual(runIds);
    expect(new Set(detail.runs.map((r) => r.prior.pretrainTestAcc)).size).toBe(1);
    expect(detail.table.map((c) => `${c.strategy}@${c.budget}:${c.runs.length}`)).toEqual([
      'none@0:2',
      'random@0.25:2',
    ]);
    expect((await h.call('studies.list')).map((s) => s.id)).toEqual([studyId]);
    expect(await h.call('studies.delete', { id: studyId })).toEqual({ id: studyId });
    expect((await h.call('runs.list', { filter: { studyId: null } })).length).toBe(4);
  });
});

describe('host: close', () => {
  it('stops the trainers, stores their runs as cancelled and closes the history', async () => {
    const h = startHost('close');
    const { runId } = await h.call('runs.start', { config: config(5000) });
    const queued = (await h.call('runs.start', { config: config(40) })).runId;
    await h.event('run.eval', runId, (d) => d.point.step >= 100);
    const pid = (await h.call('host.status')).trainers[0].pid!;
    await h.host.close();
    expect(gone(pid)).toBe(true);
    expect(await h.host.handle({ id: 1, method: 'runs.list' })).toMatchObject({ ok: false, error: { code: 'failed' } });
    const history = openHistory(path.join(work, 'close.db'));
    try {
      expect(history.getRun(runId)).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/host closed/) });
      expect(history.getRun(queued)).toMatchObject({ status: 'cancelled' });
    } finally {
      history.close();
    }
  });
});

describe('host: a history that refuses writes (a full disk)', () => {
  it('keeps how a run ended and stores it once the history takes writes again', async () => {
    let history: History | null = null;
    const name = 'full';
    const host = createHost({
      historyFile: path.join(work, `${name}.db`),
      cacheDir: path.join(work, `${name}-f0`),
      trainerEntry,
      openHistory: (file) => (history = openHistory(file)),
    });
    const events: EventMessage[] = [];
    host.subscribe((e) => {
      events.push(e);
      // Once the last evaluation is stored the disk is full: no page can be added to the file
      // (SQLite answers SQLITE_FULL), so the run's results (rehearsal log, summary) cannot be written.
      if (e.event === 'run.eval' && e.data.point.step === 200) {
        const db = history!.db;
        db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      }
    });
    const started = await host.handle({ id: 1, method: 'runs.start', params: { config: config(200) } });
    const runId = (started as { result: { runId: number } }).result.runId;
    const until = async (what: string, check: () => boolean) => {
      const t0 = Date.now();
      while (!check()) {
        if (Date.now() - t0 > 60_000) throw new Error(`no ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until('the run to end', () => events.some((e) => e.event === 'run.failed' || e.event === 'run.finished'));
    const failed = events.find((e) => e.event === 'run.failed') as EventMessage<'run.failed'> | undefined;
    expect(failed?.data.error).toMatch(/could not store how run \d+ ended/);
    expect(failed?.data.error).toMatch(/full.*kept and stored as soon as/is);
    expect(history!.getRunStatus(runId)).toBe('running');
    // Space again: within a retry or two the run is stored as what it was, finished, with its results.
    history!.db.pragma('max_page_count = 1073741823');
    await until('the run to be stored', () => events.some((e) => e.event === 'run.finished'));
    const run = history!.getRun(runId)!;
    expect(run.status).toBe('finished');
    expect(run.series.at(-1)?.step).toBe(200);
    expect(history!.getSampleRehearsals(runId)).not.toBeNull();
    await host.close();
  }, 120_000);
});
