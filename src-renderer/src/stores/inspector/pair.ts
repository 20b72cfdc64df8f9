// The runs being inspected: the main run (and optionally a second one beside it), shown in the
// bins of the pair's mix-cd run, at one chosen eval; and the study's budget table. Each answer is a
// query of the shared cache (@pinia/colada): an answer to an older request lands in its own entry,
// never over the current one, and an ended run's inspection is asked for once.
import { useQuery, useQueryCache } from '@pinia/colada';
import { defineStore, storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { StrategyName } from '../../../../shared/config.js';
import type { RunInspection } from '../../../../shared/inspect.js';
import { errorMessage } from '../../../../shared/errors.js';
import type { HostClient } from '../../api/client.js';
import { useRunsStore } from '../runs.js';
import { evalFor, partitionSource } from './route.js';

/** Query keys, one place: the gallery and the detail key their entries under the same run ids. */
export const inspectKeys = {
  strategy: (id: number) => ['inspect', 'strategy', id] as const,
  run: (id: number, partitionOf: number | null) => ['inspect', 'run', id, partitionOf] as const,
  runs: (id: number) => ['inspect', 'run', id] as const,
  study: (id: number) => ['inspect', 'study', id] as const,
};

const NOT_CONNECTED = 'This page is not connected to the workbench host yet, so there is nothing to inspect.';

const live = (r: RunInspection | undefined) => r?.status === 'running' || r?.status === 'queued';

export const useInspectedPairStore = defineStore('inspector.pair', () => {
  const { rows, client } = storeToRefs(useRunsStore());
  const cache = useQueryCache();

  const runId = ref<number | null>(null);
  const vsId = ref<number | null>(null);
  /** The chosen eval step (the main run's). */
  const step = ref<number | null>(null);

  function host(): HostClient {
    if (!client.value) throw new Error(NOT_CONNECTED);
    return client.value;
  }

  // A run's strategy never changes: from the table when it is loaded, else from the host, once.
  const strategyQuery = (id: () => number | null) =>
    useQuery<StrategyName>({
      key: () => inspectKeys.strategy(id() ?? 0),
      enabled: () => id() !== null && client.value !== null,
      staleTime: Infinity,
      query: async () => {
        const row = rows.value.find((r) => r.id === id());
        return row ? row.strategy : (await host().request('runs.get', { id: id()! })).config.rehearsal.strategy;
      },
    });
  const mainStrategy = strategyQuery(() => runId.value);
  const vsStrategy = strategyQuery(() => vsId.value);

  /** Known once both strategies are: the mix-cd run of the pair (null: none, or not known yet). */
  const partitionReady = computed(
    () => mainStrategy.data.value !== undefined && (vsId.value === null || vsStrategy.state.value.status !== 'pending'),
  );
  const partitionOf = computed<number | undefined>(() => {
    if (runId.value === null || mainStrategy.data.value === undefined) return undefined;
    const other =
      vsId.value === null || vsStrategy.data.value === undefined
        ? null
        : { id: vsId.value, strategy: vsStrategy.data.value };
    return partitionSource({ id: runId.value, strategy: mainStrategy.data.value }, other);
  });

  // Ended runs do not change: their inspections stay fresh. Running runs are marked stale on each
  // open (see open()), so they are asked afresh.
  const inspectionQuery = (id: () => number | null) =>
    useQuery<RunInspection>({
      key: () => inspectKeys.run(id() ?? 0, partitionOf.value ?? null),
      enabled: () => id() !== null && client.value !== null && partitionReady.value,
      staleTime: Infinity,
      query: () => {
        const partition = partitionOf.value;
        return host().request(
          'inspect.run',
          partition === undefined ? { id: id()! } : { id: id()!, partitionOf: partition },
        );
      },
    });
  const mainQuery = inspectionQuery(() => runId.value);
  const vsQuery = inspectionQuery(() => vsId.value);

  const main = computed(() => (runId.value === null ? null : (mainQuery.data.value ?? null)));
  const vs = computed(() => (vsId.value === null ? null : (vsQuery.data.value ?? null)));
  const runs = computed(() => [main.value, vs.value].filter((r): r is RunInspection => r !== null));
  /** The run whose bin traces are drawn: the one that defines the partition. */
  const binRun = computed(() => runs.value.find((r) => r.runId === partitionOf.value) ?? null);
  const loading = computed(
    () =>
      runId.value !== null &&
      [mainStrategy, vsStrategy, mainQuery, vsQuery].some((q) => q.asyncStatus.value === 'loading'),
  );

  /** Loading the runs failed: the host's sentence (the second run's said as such; it never hides the first). */
  const problem = computed<string | null>(() => {
    if (runId.value === null) return null;
    if (!client.value) return NOT_CONNECTED;
    const mainError = mainStrategy.error.value ?? mainQuery.error.value;
    if (mainError) return errorMessage(mainError);
    const vsError = vsId.value === null ? null : (vsStrategy.error.value ?? vsQuery.error.value);
    return vsError ? `Run ${vsId.value} cannot be shown beside it: ${errorMessage(vsError)}` : null;
  });

  // The shown eval follows the main run: its last one, unless the chosen one is still among its evals.
  watch(main, (m) => {
    if (m && (step.value === null || !m.evalSteps.includes(step.value)))
      step.value = evalFor(m.evalSteps, null) ?? null;
  });

  /** Where the budget went across the main run's study (after the runs; it reads every run of the study). */
  const studyId = computed(() => main.value?.studyId ?? null);
  const studyQuery = useQuery({
    key: () => inspectKeys.study(studyId.value ?? 0),
    enabled: () => studyId.value !== null && client.value !== null,
    query: () => host().request('inspect.study', { id: studyId.value! }),
  });
  const studyBudget = computed(() => (studyId.value === null ? null : (studyQuery.data.value ?? null)));
  const studyBudgetProblem = computed(() => (studyQuery.error.value ? errorMessage(studyQuery.error.value) : null));

  const notes = computed(() => [...new Set(runs.value.flatMap((r) => r.notes))]);

  /** Inspect `id` (and `other` beside it): both runs, in the bins of the pair's mix-cd run. */
  function open(id: number | null, other: number | null): void {
    if (id !== runId.value) step.value = null;
    runId.value = id;
    vsId.value = other;
    // Runs still going are asked again; ended ones come from the cache.
    for (const r of [id, other]) {
      if (r === null) continue;
      const kept = cache.getEntries({ key: inspectKeys.runs(r) });
      if (kept.some((e) => live(e.state.value.data as RunInspection | undefined)))
        void cache.invalidateQueries({ key: inspectKeys.runs(r) });
    }
  }

  function setStep(value: number): void {
    step.value = value;
  }

  return {
    runId,
    vsId,
    step,
    partitionOf,
    main,
    vs,
    runs,
    binRun,
    loading,
    problem,
    notes,
    studyBudget,
    studyBudgetProblem,
    open,
    setStep,
  };
});
