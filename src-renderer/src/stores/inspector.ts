// The sample inspector's state: the run (and optionally a second run) being inspected, in the bins
// of the pair's mix-cd run; the chosen eval; the gallery's filters, page and thumbnails; the
// sample opened in the detail panel. Everything comes from the host's inspect.* methods.
import { defineStore, storeToRefs } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { StrategyName } from '../../../shared/config.js';
import type {
  RunInspection,
  SampleStory,
  SamplePage,
  SampleShape,
  SampleSort,
  StudyBudget,
} from '../../../shared/inspect.js';
import type { Category } from '../../../shared/results.js';
import { splitSamples } from '../../../shared/samplePixels.js';
import type { HostClient } from '../api/client.js';
import { useRunsStore } from './runs.js';
import { errorMessage } from '../../../shared/errors.js';

export const PAGE_SIZE = 60;

export interface GalleryFilters {
  /** '' for all, else the class / bin number as text (select values are strings). */
  class: string;
  bin: string;
  category: '' | Category;
  rehearsedOnly: boolean;
  sort: SampleSort;
  order: 'desc' | 'asc';
}

const DEFAULT_FILTERS: GalleryFilters = {
  class: '',
  bin: '',
  category: '',
  rehearsedOnly: true,
  sort: 'count',
  order: 'desc',
};

const describe = errorMessage;

/** "run=12&vs=13" -> the two ids; a value that is not a run id is a sentence, not a guess. */
export function parseInspectQuery(query: string): {
  runId: number | null;
  vsId: number | null;
  problem: string | null;
} {
  const params = new URLSearchParams(query);
  const read = (key: string): number | null | string => {
    const raw = params.get(key);
    if (raw === null || raw.trim() === '') return null;
    const id = Number(raw);
    return Number.isInteger(id) && id > 0
      ? id
      : `"${raw}" is not a run id: the address should end in #/inspect?run=ID or #/inspect?run=ID&vs=ID2.`;
  };
  const run = read('run');
  const vs = read('vs');
  const problem = typeof run === 'string' ? run : typeof vs === 'string' ? vs : null;
  if (problem) return { runId: null, vsId: null, problem };
  const runId = run as number | null;
  const vsId = vs === runId ? null : (vs as number | null);
  return { runId, vsId, problem: null };
}

/** The run whose bins the per-bin figures use: the pair's mix-cd run (the main one first). */
export function partitionSource(
  main: { id: number; strategy: StrategyName },
  vs: { id: number; strategy: StrategyName } | null,
): number | undefined {
  if (main.strategy === 'mix-cd') return main.id;
  if (vs?.strategy === 'mix-cd') return vs.id;
  return undefined;
}

/** A run's eval to show for a chosen step: the last one at or before it, else its last. */
export function evalFor(evalSteps: readonly number[], step: number | null): number | undefined {
  if (!evalSteps.length) return undefined;
  if (step === null) return evalSteps[evalSteps.length - 1];
  let found: number | undefined;
  for (const s of evalSteps) if (s <= step) found = s;
  return found ?? evalSteps[evalSteps.length - 1];
}

export const useInspectorStore = defineStore('inspector', () => {
  const runsStore = useRunsStore();
  const { rows, client } = storeToRefs(runsStore);

  const runId = ref<number | null>(null);
  const vsId = ref<number | null>(null);
  /** The mix-cd run whose bins both runs are shown in (undefined: no mix-cd run in the pair). */
  const partitionOf = ref<number | undefined>(undefined);
  const main = shallowRef<RunInspection | null>(null);
  const vs = shallowRef<RunInspection | null>(null);
  const loading = ref(false);
  /** Loading the runs failed: the host's sentence. */
  const problem = ref<string | null>(null);
  /** The chosen eval step (the main run's). */
  const step = ref<number | null>(null);

  // Ended runs do not change: their inspections are kept, so switching the second run back and
  // forth does not ask the host again. Running runs are always asked afresh.
  const cache = new Map<string, RunInspection>();
  const MAX_CACHED = 8;

  /** Where the budget went across the main run's study (null outside a study, or not yet loaded). */
  const studyBudget = shallowRef<StudyBudget | null>(null);
  const studyBudgetProblem = ref<string | null>(null);

  const galleryRunId = ref<number | null>(null);
  const filters = ref<GalleryFilters>({ ...DEFAULT_FILTERS });
  const offset = ref(0);
  const page = shallowRef<SamplePage | null>(null);
  /** Sample bytes of the current page, by pretrain index. */
  const pixels = shallowRef<Map<number, Uint8Array>>(new Map());
  const galleryLoading = ref(false);
  const galleryProblem = ref<string | null>(null);

  const selected = ref<number | null>(null);
  const detail = shallowRef<SampleStory | null>(null);
  const detailPixels = shallowRef<Uint8Array | null>(null);
  const detailProblem = ref<string | null>(null);

  const runs = computed(() => [main.value, vs.value].filter((r): r is RunInspection => r !== null));
  const galleryRun = computed(() => runs.value.find((r) => r.runId === galleryRunId.value) ?? main.value);
  const shape = computed<SampleShape | null>(() => galleryRun.value?.shape ?? null);
  /** The run whose bin traces are drawn: the one that defines the partition. */
  const binRun = computed(() => runs.value.find((r) => r.runId === partitionOf.value) ?? null);
  const notes = computed(() => [...new Set([...runs.value.flatMap((r) => r.notes), ...(page.value?.notes ?? [])])]);

  async function strategyOf(host: HostClient, id: number): Promise<StrategyName> {
    const row = rows.value.find((r) => r.id === id);
    if (row) return row.strategy;
    return (await host.request('runs.get', { id })).config.rehearsal.strategy;
  }

  async function inspection(host: HostClient, id: number, partition: number | undefined): Promise<RunInspection> {
    const key = `${id}:${partition ?? ''}`;
    const kept = cache.get(key);
    if (kept) return kept;
    const result = await host.request('inspect.run', partition === undefined ? { id } : { id, partitionOf: partition });
    if (result.status !== 'queued' && result.status !== 'running') {
      // A handful of runs is what one looks at; older ones are fetched again if needed.
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(key, result);
    }
    return result;
  }

  /** Bumped per open / page / detail load: an answer that arrives after a newer request is dropped. */
  let openGeneration = 0;
  let pageGeneration = 0;
  let detailGeneration = 0;

  function clearDetail(): void {
    detailGeneration++;
    selected.value = null;
    detail.value = null;
    detailPixels.value = null;
    detailProblem.value = null;
  }

  /** Inspect `id` (and `other` beside it): both runs, in the bins of the pair's mix-cd run. */
  async function open(id: number | null, other: number | null): Promise<void> {
    const mine = ++openGeneration;
    const sameMain = id === runId.value && main.value !== null;
    runId.value = id;
    vsId.value = other;
    problem.value = null;
    if (!sameMain) {
      main.value = null;
      step.value = null;
      filters.value = { ...DEFAULT_FILTERS };
      // Another run's page must not show under this one's header, nor land late.
      pageGeneration++;
      page.value = null;
      pixels.value = new Map();
    }
    vs.value = null;
    clearDetail();
    if (id === null) return;
    const host = client.value;
    if (!host) {
      problem.value = 'This page is not connected to the workbench host yet, so there is nothing to inspect.';
      return;
    }
    loading.value = true;
    try {
      const [mainStrategy, otherStrategy] = await Promise.all([
        strategyOf(host, id),
        other === null ? null : strategyOf(host, other),
      ]);
      const partition = partitionSource(
        { id, strategy: mainStrategy },
        other === null || otherStrategy === null ? null : { id: other, strategy: otherStrategy },
      );
      // The second run failing (deleted, data gone) must not take the first one with it.
      let otherProblem: string | null = null;
      const [a, b] = await Promise.all([
        inspection(host, id, partition),
        other === null
          ? null
          : inspection(host, other, partition).catch((error: unknown) => {
              otherProblem = `Run ${other} cannot be shown beside it: ${describe(error)}`;
              return null;
            }),
      ]);
      if (mine !== openGeneration) return;
      problem.value = otherProblem;
      // The bins may have changed (another second run): a bin filter would mean something else now.
      if (partition !== partitionOf.value) filters.value.bin = '';
      partitionOf.value = partition;
      main.value = a;
      vs.value = b;
      if (step.value === null || !a.evalSteps.includes(step.value)) step.value = evalFor(a.evalSteps, null) ?? null;
      if (galleryRunId.value !== id && galleryRunId.value !== other) galleryRunId.value = id;
      offset.value = 0;
    } catch (error) {
      if (mine !== openGeneration) return;
      problem.value = describe(error);
      return;
    } finally {
      if (mine === openGeneration) loading.value = false;
    }
    await Promise.all([loadPage(), loadStudyBudget(mine)]);
  }

  /** The study's table: after the runs, beside the gallery (it reads every run of the study once). */
  async function loadStudyBudget(mine: number): Promise<void> {
    const host = client.value;
    const studyId = main.value?.studyId ?? null;
    if (studyBudget.value?.studyId !== studyId) studyBudget.value = null;
    studyBudgetProblem.value = null;
    if (!host || studyId === null) return;
    try {
      const result = await host.request('inspect.study', { id: studyId });
      if (mine === openGeneration) studyBudget.value = result;
    } catch (error) {
      if (mine === openGeneration) studyBudgetProblem.value = describe(error);
    }
  }

  async function loadPage(): Promise<void> {
    const host = client.value;
    const run = galleryRun.value;
    if (!host || !run) return;
    const mine = ++pageGeneration;
    galleryLoading.value = true;
    galleryProblem.value = null;
    const f = filters.value;
    try {
      const result = await host.request('inspect.samples', {
        id: run.runId,
        ...(partitionOf.value === undefined ? {} : { partitionOf: partitionOf.value }),
        ...(evalFor(run.evalSteps, step.value) === undefined ? {} : { step: evalFor(run.evalSteps, step.value) }),
        ...(f.class === '' ? {} : { class: Number(f.class) }),
        ...(f.bin === '' ? {} : { bin: Number(f.bin) }),
        ...(f.category === '' ? {} : { category: f.category }),
        rehearsedOnly: f.rehearsedOnly,
        sort: f.sort,
        order: f.order,
        offset: offset.value,
        limit: PAGE_SIZE,
      });
      if (mine !== pageGeneration) return;
      page.value = result;
      pixels.value = new Map();
      // One request per page for every thumbnail, decoded once.
      if (result.samples.length) {
        const data = await host.request('inspect.data', { id: run.runId, indices: result.samples.map((s) => s.index) });
        if (mine !== pageGeneration) return;
        pixels.value = splitSamples(data);
      }
    } catch (error) {
      if (mine !== pageGeneration) return;
      galleryProblem.value = describe(error);
    } finally {
      if (mine === pageGeneration) galleryLoading.value = false;
    }
  }

  /** After a filter, sort or step change: back to the first page. */
  function firstPage(): Promise<void> {
    offset.value = 0;
    return loadPage();
  }

  function turnPage(delta: 1 | -1): Promise<void> {
    const total = page.value?.total ?? 0;
    const next = offset.value + delta * PAGE_SIZE;
    if (next < 0 || next >= total) return Promise.resolve();
    offset.value = next;
    return loadPage();
  }

  function setStep(value: number): Promise<void> {
    step.value = value;
    return firstPage();
  }

  function showGalleryOf(id: number): Promise<void> {
    if (galleryRunId.value === id) return Promise.resolve();
    galleryRunId.value = id;
    clearDetail();
    return firstPage();
  }

  async function select(index: number): Promise<void> {
    const host = client.value;
    const run = galleryRun.value;
    if (!host || !run) return;
    const mine = ++detailGeneration;
    selected.value = index;
    detail.value = null;
    detailProblem.value = null;
    detailPixels.value = pixels.value.get(index) ?? null;
    try {
      const [result, bytes] = await Promise.all([
        // At the eval the gallery shows, so the detail's category is the card's.
        host.request('inspect.sample', {
          id: run.runId,
          index,
          ...(partitionOf.value === undefined ? {} : { partitionOf: partitionOf.value }),
          ...(evalFor(run.evalSteps, step.value) === undefined ? {} : { step: evalFor(run.evalSteps, step.value) }),
        }),
        detailPixels.value
          ? detailPixels.value
          : host
              .request('inspect.data', { id: run.runId, indices: [index] })
              .then((d) => splitSamples(d).get(index) ?? null),
      ]);
      if (mine !== detailGeneration) return;
      detail.value = result;
      detailPixels.value = bytes;
    } catch (error) {
      if (mine !== detailGeneration) return;
      detailProblem.value = describe(error);
    }
  }

  return {
    studyBudget,
    studyBudgetProblem,
    runId,
    vsId,
    partitionOf,
    main,
    vs,
    runs,
    binRun,
    loading,
    problem,
    step,
    notes,
    galleryRunId,
    galleryRun,
    shape,
    filters,
    offset,
    page,
    pixels,
    galleryLoading,
    galleryProblem,
    selected,
    detail,
    detailPixels,
    detailProblem,
    open,
    loadPage,
    firstPage,
    turnPage,
    setStep,
    showGalleryOf,
    select,
    clearDetail,
  };
});
