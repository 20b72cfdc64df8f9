// The sample opened in the detail panel: its story (rehearsals with their verdicts, category over
// time) at the eval the gallery shows, and its bytes (from the gallery's page when it is there).
import { useQuery } from '@pinia/colada';
import { defineStore, storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { SampleStory } from '../../../../shared/inspect.js';
import { errorMessage } from '../../../../shared/errors.js';
import { splitSamples } from '../../../../shared/samplePixels.js';
import { useRunsStore } from '../runs.js';
import { useGalleryStore } from './gallery.js';
import { useInspectedPairStore } from './pair.js';

export const useSampleDetailStore = defineStore('inspector.detail', () => {
  const { client } = storeToRefs(useRunsStore());
  const { runId, vsId, partitionOf } = storeToRefs(useInspectedPairStore());
  const { galleryRun, shownStep, pixels } = storeToRefs(useGalleryStore());

  const selected = ref<number | null>(null);

  // A sample belongs to one run's gallery: another run (or pair) closes it.
  watch([runId, vsId, () => galleryRun.value?.runId], () => (selected.value = null));

  const params = computed(() => {
    const run = galleryRun.value;
    if (!run || selected.value === null) return null;
    return {
      id: run.runId,
      index: selected.value,
      ...(partitionOf.value === undefined ? {} : { partitionOf: partitionOf.value }),
      // At the eval the gallery shows, so the detail's category is the card's.
      ...(shownStep.value === undefined ? {} : { step: shownStep.value }),
    };
  });

  const storyQuery = useQuery<SampleStory>({
    key: () => ['inspect', 'sample', params.value?.id ?? 0, { ...params.value }],
    enabled: () => params.value !== null && client.value !== null,
    staleTime: 10_000,
    query: () => client.value!.request('inspect.sample', params.value!),
  });
  // Bytes only when the gallery's page does not have them (a sample opened from elsewhere).
  const bytesQuery = useQuery<Uint8Array | null>({
    key: () => ['inspect', 'bytes', params.value?.id ?? 0, params.value?.index ?? -1],
    enabled: () => params.value !== null && client.value !== null && !pixels.value.has(params.value.index),
    staleTime: Infinity,
    query: async () => {
      const { id, index } = params.value!;
      return splitSamples(await client.value!.request('inspect.data', { id, indices: [index] })).get(index) ?? null;
    },
  });

  const detail = computed(() => (params.value === null ? null : (storyQuery.data.value ?? null)));
  const detailPixels = computed(() =>
    selected.value === null ? null : (pixels.value.get(selected.value) ?? bytesQuery.data.value ?? null),
  );
  const detailProblem = computed(() => {
    const error = storyQuery.error.value ?? bytesQuery.error.value;
    return params.value !== null && error ? errorMessage(error) : null;
  });

  function select(index: number): void {
    selected.value = index;
  }

  function clearDetail(): void {
    selected.value = null;
  }

  return { selected, detail, detailPixels, detailProblem, select, clearDetail };
});
