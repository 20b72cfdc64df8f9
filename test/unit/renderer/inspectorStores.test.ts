// The inspector's stores (src-renderer/src/stores/inspector/): the pair, the gallery and the
// sample detail over one query cache (@pinia/colada), against a scripted host whose answers can be
// held back and released in any order. What they must keep: an ended run's inspection is asked
// for once, a running one afresh on each open; an answer to an older request never shows; the
// second run failing leaves the first; a filter change asks for its first page once; the detail
// takes the bytes the gallery's page already has.
import { PiniaColada } from '@pinia/colada';
import { createPinia, setActivePinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import { createApp, nextTick } from 'vue';
import type { MethodName, MethodParams, MethodResults } from '../../../shared/contract.js';
import type { RunInspection, SamplePage } from '../../../shared/inspect.js';
import type { HostClient } from '../../../src-renderer/src/api/client.js';
import { useSampleDetailStore } from '../../../src-renderer/src/stores/inspector/detail.js';
import { useGalleryStore } from '../../../src-renderer/src/stores/inspector/gallery.js';
import { useInspectedPairStore } from '../../../src-renderer/src/stores/inspector/pair.js';
import {
  DEFAULT_FILTERS,
  evalFor,
  parseInspectQuery,
  partitionSource,
} from '../../../src-renderer/src/stores/inspector/route.js';
import { useRunsStore } from '../../../src-renderer/src/stores/runs.js';

interface Call {
  method: MethodName;
  params: Record<string, unknown>;
  release: () => void;
}

/** A host whose answers wait until the test releases them (or answer at once with `instant`). */
function scriptedHost(answer: (method: MethodName, params: Record<string, unknown>) => unknown, instant = true) {
  const calls: Call[] = [];
  const client = {
    request<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
      const p = (params ?? {}) as Record<string, unknown>;
      return new Promise((resolve, reject) => {
        const release = () => {
          try {
            resolve(answer(method, p) as MethodResults[M]);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        };
        calls.push({ method, params: p, release });
        if (instant) release();
      });
    },
    onEvent: () => () => {},
    onConnection: () => () => {},
  } as unknown as HostClient;
  return { client, calls, of: (method: MethodName) => calls.filter((c) => c.method === method) };
}

const STRATEGY: Record<number, 'mix-cd' | 'random'> = { 1: 'mix-cd', 2: 'random', 3: 'random', 4: 'mix-cd' };

function inspection(id: number, status: RunInspection['status'] = 'finished'): RunInspection {
  return {
    runId: id,
    studyId: null,
    status,
    strategy: STRATEGY[id] ?? 'random',
    budget: 0.1,
    seed: 1,
    pretrainSize: 4,
    numClasses: 2,
    classNames: ['a', 'b'],
    classSizes: [2, 2],
    shape: { kind: 'row', features: 2 },
    evalSteps: [0, 10, 20],
    probeSize: 0,
    binTraces: [],
    partition: null,
    rehearsals: 3,
    distinctRehearsed: 2,
    byClass: [2, 1],
    byBin: null,
    budgetWindows: [],
    notes: [],
  };
}

function samplePage(params: Record<string, unknown>): SamplePage {
  const cls = typeof params.class === 'number' ? params.class : 0;
  return {
    runId: params.id as number,
    step: (params.step as number | undefined) ?? 20,
    total: 200,
    samples: [
      { index: 100 * cls + ((params.offset as number) ?? 0), count: 1, class: cls } as SamplePage['samples'][0],
    ],
    notes: [`page of class ${cls} at offset ${params.offset as number} by ${params.sort as string}`],
  };
}

/** The host of a finished history: every run answers at once unless the test holds it. */
function standardAnswer(method: MethodName, params: Record<string, unknown>): unknown {
  const id = params.id as number;
  switch (method) {
    case 'runs.list':
      return [];
    case 'runs.get':
      if (id === 9) throw new Error('Run 9 does not exist (deleted?).');
      return { id, config: { rehearsal: { strategy: STRATEGY[id] ?? 'random' } } };
    case 'inspect.run':
      return inspection(id);
    case 'inspect.samples':
      return samplePage(params);
    case 'inspect.data': {
      const indices = params.indices as number[];
      // Two bytes per sample (shape row of 2 features): the index's low byte twice.
      const bytes = Buffer.from(indices.flatMap((i) => [i & 255, i & 255]));
      return { shape: { kind: 'row', features: 2 }, indices, data: bytes.toString('base64') };
    }
    case 'inspect.sample':
      return { sample: { index: params.index, count: 1, class: 0 }, priorCorrect: true, rehearsals: [], timeline: [] };
    default:
      throw new Error(`unexpected ${method}`);
  }
}

function setUp(host: ReturnType<typeof scriptedHost>) {
  const app = createApp({});
  const pinia = createPinia();
  app.use(pinia);
  app.use(PiniaColada);
  setActivePinia(pinia);
  // The stores' queries live in the app's context, as in the page.
  return app.runWithContext(() => {
    useRunsStore().attach(host.client);
    return { pair: useInspectedPairStore(), gallery: useGalleryStore(), detail: useSampleDetailStore() };
  });
}

/** Lets the watchers run and the answered requests land. */
async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await nextTick();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

describe('the inspector stores', () => {
  it('ask once for an ended run, and again for a running one on each open', async () => {
    const running = new Set([4]);
    const host = scriptedHost((method, params) =>
      method === 'inspect.run' && running.has(params.id as number)
        ? inspection(params.id as number, 'running')
        : standardAnswer(method, params),
    );
    const { pair } = setUp(host);
    pair.open(1, 2);
    await settle();
    pair.open(1, 3);
    await settle();
    pair.open(1, 2);
    await settle();
    expect(pair.main?.runId).toBe(1);
    expect(pair.vs?.runId).toBe(2);
    const runCalls = host.of('inspect.run').map((c) => c.params.id);
    expect(runCalls.filter((id) => id === 1)).toHaveLength(1);
    expect(runCalls.filter((id) => id === 2)).toHaveLength(1);
    // Both in the mix-cd run's bins.
    expect(host.of('inspect.run').every((c) => c.params.partitionOf === 1)).toBe(true);

    pair.open(4, null);
    await settle();
    pair.open(4, null);
    await settle();
    expect(host.of('inspect.run').filter((c) => c.params.id === 4)).toHaveLength(2);
  });

  it('show the current request, never a late answer to an older one', async () => {
    const host = scriptedHost(standardAnswer, false);
    const { pair, gallery } = setUp(host);
    const drain = async () => {
      for (let asked = -1; asked !== host.calls.length;) {
        asked = host.calls.length;
        host.calls.forEach((c) => c.release());
        await settle();
      }
    };
    pair.open(1, null);
    await drain();
    expect(gallery.page?.notes[0]).toBe('page of class 0 at offset 0 by count');
    const before = host.of('inspect.samples').length;

    gallery.filters.class = '1';
    await settle();
    gallery.filters.class = '0';
    gallery.filters.sort = 'index';
    await settle();
    const [asked1, asked2] = host.of('inspect.samples').slice(before);
    expect(asked1.params.class).toBe(1);
    expect(asked2.params.sort).toBe('index');
    // The newer answers first, then the older one arrives late.
    asked2.release();
    await settle();
    asked1.release();
    await drain();
    expect(gallery.page?.samples[0].class).toBe(0);
    expect(gallery.filters.class).toBe('0');
    expect(gallery.page?.notes[0]).toBe('page of class 0 at offset 0 by index');

    // While the next page loads, the current one stays; another run's page never shows under a new run.
    gallery.turnPage(1);
    await settle();
    expect(gallery.galleryLoading).toBe(true);
    expect(gallery.page?.notes[0]).toBe('page of class 0 at offset 0 by index');
    await drain();
    expect(gallery.page?.notes[0]).toBe('page of class 0 at offset 60 by index');
    pair.open(2, null);
    await settle();
    // The run's strategy, then its inspection; not its page yet.
    for (let i = 0; i < 4; i++) {
      [...host.of('runs.get'), ...host.of('inspect.run')].forEach((c) => c.release());
      await settle();
    }
    expect(pair.main?.runId).toBe(2);
    expect(gallery.galleryLoading).toBe(true);
    expect(gallery.page).toBeNull();
    await drain();
    expect(gallery.page?.runId).toBe(2);
    // The same between the two runs of a pair: run 3's gallery never shows run 2's page.
    pair.open(2, 3);
    await drain();
    gallery.showGalleryOf(3);
    await settle();
    expect(gallery.galleryLoading).toBe(true);
    expect(gallery.page).toBeNull();
    await drain();
    expect(gallery.page?.runId).toBe(3);
  });

  it('start a changed filter from its first page with one request', async () => {
    const host = scriptedHost(standardAnswer);
    const { pair, gallery } = setUp(host);
    pair.open(1, null);
    await settle();
    gallery.turnPage(1);
    await settle();
    expect(gallery.offset).toBe(60);
    expect(host.of('inspect.samples').at(-1)?.params.offset).toBe(60);
    const before = host.of('inspect.samples').length;
    gallery.filters.category = 'collateral-damage';
    await settle();
    const asked = host.of('inspect.samples').slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0].params).toMatchObject({ category: 'collateral-damage', offset: 0 });
    // The step the gallery shows follows the pair's chosen eval.
    pair.setStep(10);
    await settle();
    expect(host.of('inspect.samples').at(-1)?.params).toMatchObject({ step: 10, offset: 0 });
    // Another main run: its own filters again.
    pair.open(2, null);
    await settle();
    expect(gallery.filters).toEqual(DEFAULT_FILTERS);
    expect(gallery.page?.runId).toBe(2);
  });

  it('say when the second run cannot be shown, and keep the first', async () => {
    const host = scriptedHost((method, params) => {
      if (method === 'inspect.run' && params.id === 3) throw new Error('Run 3 cannot be inspected: its data is gone.');
      return standardAnswer(method, params);
    });
    const { pair } = setUp(host);
    pair.open(1, 3);
    await settle();
    expect(pair.main?.runId).toBe(1);
    expect(pair.vs).toBeNull();
    expect(pair.problem).toBe('Run 3 cannot be shown beside it: Run 3 cannot be inspected: its data is gone.');
    pair.open(1, 9);
    await settle();
    expect(pair.main?.runId).toBe(1);
    expect(pair.problem).toMatch(/^Run 9 cannot be shown beside it: Run 9 does not exist/);
  });

  it("open a sample with the bytes of the gallery's page", async () => {
    const host = scriptedHost(standardAnswer);
    const { pair, gallery, detail } = setUp(host);
    pair.open(1, null);
    await settle();
    const dataAsked = host.of('inspect.data').length;
    const index = gallery.page!.samples[0].index;
    detail.select(index);
    await settle();
    expect(detail.detail?.sample.index).toBe(index);
    expect(Array.from(detail.detailPixels ?? [])).toEqual([index & 255, index & 255]);
    expect(host.of('inspect.data')).toHaveLength(dataAsked);
    expect(host.of('inspect.sample').at(-1)?.params).toMatchObject({ id: 1, index, partitionOf: 1, step: 20 });
    // A sample that is not on the page: its bytes are asked for.
    detail.select(77);
    await settle();
    expect(host.of('inspect.data').at(-1)?.params.indices).toEqual([77]);
    expect(Array.from(detail.detailPixels ?? [])).toEqual([77, 77]);
    // Another run closes it.
    pair.open(2, null);
    await settle();
    expect(detail.selected).toBeNull();
    expect(detail.detail).toBeNull();
  });
});

describe('the inspector rules', () => {
  it('read the address', () => {
    expect(parseInspectQuery('run=12&vs=13')).toEqual({ runId: 12, vsId: 13, problem: null });
    expect(parseInspectQuery('run=12&vs=12')).toEqual({ runId: 12, vsId: null, problem: null });
    expect(parseInspectQuery('')).toEqual({ runId: null, vsId: null, problem: null });
    expect(parseInspectQuery('run=x').problem).toMatch(/"x" is not a run id/);
  });

  it('take the bins of the mix-cd run, the main one first', () => {
    expect(partitionSource({ id: 1, strategy: 'mix-cd' }, { id: 2, strategy: 'mix-cd' })).toBe(1);
    expect(partitionSource({ id: 1, strategy: 'random' }, { id: 2, strategy: 'mix-cd' })).toBe(2);
    expect(partitionSource({ id: 1, strategy: 'random' }, null)).toBeUndefined();
  });

  it('show the last eval at or before the chosen step', () => {
    expect(evalFor([0, 10, 20], null)).toBe(20);
    expect(evalFor([0, 10, 20], 15)).toBe(10);
    expect(evalFor([5, 10], 2)).toBe(10);
    expect(evalFor([], 3)).toBeUndefined();
  });
});
