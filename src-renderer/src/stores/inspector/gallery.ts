// The gallery: one run's pretrain samples, filtered (class, bin, category at the shown eval,
// rehearsed only), sorted, a page at a time, each page with its thumbnails' bytes. A page is one
// query keyed by everything that chooses it, so a late answer for other filters never shows.
import { useQuery } from '@pinia/colada';
import { defineStore, storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { SamplePage, SampleShape } from '../../../../shared/inspect.js';
import { errorMessage } from '../../../../shared/errors.js';
import { splitSamples } from '../../../../shared/samplePixels.js';
import { useRunsStore } from '../runs.js';
import { useInspectedPairStore } from './pair.js';
import { DEFAULT_FILTERS, PAGE_SIZE, evalFor, type GalleryFilters } from './route.js';

interface GalleryPage {
  runId: number;
  page: SamplePage;
  /** Sample bytes of the page, by pretrain index. */
  pixels: Map<number, Uint8Array>;
}

export const useGalleryStore = defineStore('inspector.gallery', () => {
  const { client } = storeToRefs(useRunsStore());
  const pair = useInspectedPairStore();
  const { runId, vsId, runs, main, partitionOf, step } = storeToRefs(pair);

  const galleryRunId = ref<number | null>(null);
  const filters = ref<GalleryFilters>({ ...DEFAULT_FILTERS });
  const offset = ref(0);

  const galleryRun = computed(() => runs.value.find((r) => r.runId === galleryRunId.value) ?? main.value);
  const shape = computed<SampleShape | null>(() => galleryRun.value?.shape ?? null);
  const shownStep = computed(() => (galleryRun.value ? evalFor(galleryRun.value.evalSteps, step.value) : undefined));

  // Another main run: its own filters, from its own first page. A gallery of a run no longer in
  // the pair goes back to the main run.
  watch([runId, vsId], ([id, other], [before]) => {
    if (id !== before) filters.value = { ...DEFAULT_FILTERS };
    if (id !== before || (galleryRunId.value !== id && galleryRunId.value !== other)) galleryRunId.value = id;
  });
  // Other bins (another second run): a bin filter would mean something else now.
  watch(partitionOf, () => (filters.value.bin = ''));
  // Whatever changes what is listed starts from the first page. Synchronous, so the page query
  // sees one new key (new filters at offset 0), not an in-between one.
  watch([filters, galleryRunId, partitionOf, shownStep], () => (offset.value = 0), { deep: true, flush: 'sync' });

  const params = computed(() => {
    const run = galleryRun.value;
    if (!run) return null;
    const f = filters.value;
    return {
      id: run.runId,
      ...(partitionOf.value === undefined ? {} : { partitionOf: partitionOf.value }),
      ...(shownStep.value === undefined ? {} : { step: shownStep.value }),
      ...(f.class === '' ? {} : { class: Number(f.class) }),
      ...(f.bin === '' ? {} : { bin: Number(f.bin) }),
      ...(f.category === '' ? {} : { category: f.category }),
      rehearsedOnly: f.rehearsedOnly,
      sort: f.sort,
      order: f.order,
      offset: offset.value,
      limit: PAGE_SIZE,
    };
  });

  const pageQuery = useQuery<GalleryPage>({
    key: () => ['inspect', 'samples', params.value?.id ?? 0, { ...params.value }],
    enabled: () => params.value !== null && client.value !== null,
    // The page of a running run changes as it trains: asked again when its key comes back after 10 s.
    staleTime: 10_000,
    query: async () => {
      const host = client.value!;
      const p = params.value!;
      const page = await host.request('inspect.samples', p);
      // One request per page for every thumbnail, decoded once.
      const pixels = page.samples.length
        ? splitSamples(await host.request('inspect.data', { id: p.id, indices: page.samples.map((s) => s.index) }))
        : new Map<number, Uint8Array>();
      return { runId: p.id, page, pixels };
    },
    // While the next page of the same run loads, the current one stays (no flash of an empty grid);
    // another run's page never shows under this one's header.
    placeholderData: (previous: GalleryPage | undefined) =>
      previous && previous.runId === galleryRun.value?.runId ? previous : undefined,
  });

  const page = computed(() => pageQuery.data.value?.page ?? null);
  const pixels = computed(() => pageQuery.data.value?.pixels ?? new Map<number, Uint8Array>());
  const galleryLoading = computed(() => pageQuery.asyncStatus.value === 'loading');
  const galleryProblem = computed(() => (pageQuery.error.value ? errorMessage(pageQuery.error.value) : null));
  const notes = computed(() => page.value?.notes ?? []);

  function turnPage(delta: 1 | -1): void {
    const next = offset.value + delta * PAGE_SIZE;
    if (next >= 0 && next < (page.value?.total ?? 0)) offset.value = next;
  }

  function showGalleryOf(id: number): void {
    galleryRunId.value = id;
  }

  return {
    galleryRunId,
    galleryRun,
    shape,
    shownStep,
    filters,
    offset,
    page,
    pixels,
    galleryLoading,
    galleryProblem,
    notes,
    turnPage,
    showGalleryOf,
  };
});
