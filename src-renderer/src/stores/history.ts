// The History view's state: studies, run tags, filters, sort order and the runs picked for
// comparison or export. The runs themselves stay in the runs store (kept current by events).
import { defineStore, storeToRefs } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { StudySummary } from '../../../shared/contract.js';
import { useRunsStore, type RunRow } from './runs.js';
import { errorMessage } from '../../../shared/errors.js';

export type SortKey =
  | 'id'
  | 'createdAt'
  | 'status'
  | 'scenario'
  | 'strategy'
  | 'budget'
  | 'seed'
  | 'steps'
  | 'lr'
  | 'study'
  | 'backend'
  | 'finalPretrainAcc'
  | 'finalFinetuneAcc'
  | 'tags';

/** A row of the table: the run as the runs store has it (its study's name comes from `studyNameOf`). */
export type HistoryRow = RunRow;

export interface StudyGroup {
  study: StudySummary;
  runCount: number;
}

const describe = errorMessage;

/** "a, b ,, c" -> ["a", "b", "c"], without repeats. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0),
    ),
  ];
}

const DETAILS_KEY = 'mixcd-history-details';

function readDetails(): boolean {
  try {
    // The full table (tags, delete, picking) unless the user chose the compact one.
    return window.localStorage.getItem(DETAILS_KEY) !== '0';
  } catch {
    return true;
  }
}

export const useHistoryStore = defineStore('history', () => {
  const runs = useRunsStore();
  const { rows, client } = storeToRefs(runs);

  const studies = ref<StudySummary[]>([]);
  /** A failed request (tagging, deleting, loading studies) as the host worded it. */
  const problem = ref<string | null>(null);

  const filters = ref({ scenario: '', strategy: '', budget: '', status: '', tag: '', text: '' });
  const sortKey = ref<SortKey>('id');
  const sortDescending = ref(true);
  const selected = ref<number[]>([]);
  /**
   * Details: every column plus picking, tagging and deleting. Off by default, so the table
   * starts as the compact summary (id, status, scenario, strategy, budget, final accuracies); the
   * choice is kept for this browser.
   */
  const details = ref(readDetails());
  watch(details, (on) => {
    try {
      window.localStorage.setItem(DETAILS_KEY, on ? '1' : '0');
    } catch {
      // storage off: the choice lasts for this page only
    }
  });

  const studyName = computed(() => new Map(studies.value.map((s) => [s.id, s.name])));

  // At 10,000 runs every pass over the table counts (the goal: listed, filtered, searched and
  // sorted in under 200 ms of the page's main thread). The rows are the runs store's own (no copy
  // per row), the sort order is computed once per sort key and direction (filters keep it; it sorts
  // numbers, texts by the rank of each distinct text), the search strings are made on the first
  // search, once per list, and the studies' names (which arrive after the runs) are looked up where
  // they are needed, so their arrival does not redo the table.

  /** A study's name, or "study 3" while the studies are not loaded (or it was deleted). */
  function studyNameOf(studyId: number | null): string {
    return studyId === null ? '' : (studyName.value.get(studyId) ?? `study ${studyId}`);
  }

  const all = computed<readonly HistoryRow[]>(() => rows.value);

  const options = computed(() => {
    const scenario = new Set<string>();
    const strategy = new Set<string>();
    const budget = new Set<number>();
    const status = new Set<string>();
    const tag = new Set<string>();
    for (const r of rows.value) {
      scenario.add(r.scenario);
      strategy.add(r.strategy);
      budget.add(r.budget);
      status.add(r.status);
      for (const t of r.tags) tag.add(t);
    }
    return {
      scenario: [...scenario].sort(),
      strategy: [...strategy].sort(),
      budget: [...budget].sort((a, b) => a - b).map(String),
      status: [...status].sort(),
      tag: [...tag].sort(),
    };
  });

  /** What the search looks in, per row, lower case: id, strategy, scenario, tags (the study's name apart). */
  const searchText = computed(
    () =>
      new Map(
        rows.value.map((r) => [r, [String(r.id), r.strategy, r.scenario, ...r.tags].join('\u0000').toLowerCase()]),
      ),
  );

  const collator = new Intl.Collator(undefined, { numeric: true });
  const TEXT_KEYS = new Set<SortKey>(['createdAt', 'status', 'scenario', 'strategy', 'backend', 'study', 'tags']);

  /** A number per run to sort by: the value itself, or a text's rank among the distinct texts (sorted once). */
  function sortNumbers(list: readonly HistoryRow[], key: SortKey): Float64Array {
    const keys = new Float64Array(list.length);
    if (TEXT_KEYS.has(key)) {
      const text = (row: HistoryRow): string =>
        key === 'study'
          ? studyNameOf(row.studyId)
          : key === 'tags'
            ? row.tags.join(', ')
            : row[key as 'createdAt' | 'status' | 'scenario' | 'strategy' | 'backend'];
      const values = list.map(text);
      const rank = new Map([...new Set(values)].sort(collator.compare).map((v, i) => [v, i]));
      values.forEach((v, i) => (keys[i] = rank.get(v)!));
    } else {
      list.forEach((r, i) => {
        // A multi-stage run shows (so sorts by) its average accuracy in the pretrain-test column.
        const v =
          key === 'finalPretrainAcc' && r.multiStage
            ? r.multiStage.averageAccuracy
            : r[key as 'id' | 'budget' | 'seed' | 'steps' | 'lr' | 'finalPretrainAcc' | 'finalFinetuneAcc'];
        keys[i] = typeof v === 'number' && Number.isFinite(v) ? v : -Infinity;
      });
    }
    return keys;
  }

  /** Every run in the table's order (newest first on ties); filtering keeps this order. */
  const ordered = computed<readonly HistoryRow[]>(() => {
    const list = rows.value;
    const keys = sortNumbers(list, sortKey.value);
    const ids = Float64Array.from(list, (r) => r.id);
    const sign = sortDescending.value ? -1 : 1;
    const order = Array.from(list.keys()).sort((a, b) => sign * (keys[a] - keys[b]) || ids[b] - ids[a]);
    return order.map((i) => list[i]);
  });

  const visible = computed<readonly HistoryRow[]>(() => {
    const f = filters.value;
    const needle = f.text.trim().toLowerCase();
    const list = ordered.value;
    if (!f.scenario && !f.strategy && !f.budget && !f.status && !f.tag && !needle) return list;
    const texts = needle ? searchText.value : null;
    // The studies whose name matches, once (not once per run).
    const studies = new Set<number>();
    if (needle)
      for (const r of rows.value)
        if (r.studyId !== null && !studies.has(r.studyId) && studyNameOf(r.studyId).toLowerCase().includes(needle))
          studies.add(r.studyId);
    return list.filter(
      (r) =>
        (!f.scenario || r.scenario === f.scenario) &&
        (!f.strategy || r.strategy === f.strategy) &&
        (!f.budget || String(r.budget) === f.budget) &&
        (!f.status || r.status === f.status) &&
        (!f.tag || r.tags.includes(f.tag)) &&
        (!texts || texts.get(r)!.includes(needle) || (r.studyId !== null && studies.has(r.studyId))),
    );
  });

  const groups = computed<StudyGroup[]>(() => {
    const counts = new Map<number, number>();
    for (const r of rows.value) if (r.studyId !== null) counts.set(r.studyId, (counts.get(r.studyId) ?? 0) + 1);
    return studies.value.map((study) => ({ study, runCount: counts.get(study.id) ?? 0 }));
  });

  function sortBy(key: SortKey): void {
    if (sortKey.value === key) sortDescending.value = !sortDescending.value;
    else {
      sortKey.value = key;
      sortDescending.value = false;
    }
  }

  function clearFilters(): void {
    filters.value = { scenario: '', strategy: '', budget: '', status: '', tag: '', text: '' };
  }

  async function loadStudies(): Promise<void> {
    if (!client.value) return;
    try {
      studies.value = await client.value.request('studies.list', {});
    } catch (error) {
      problem.value = `Could not load the studies: ${describe(error)}`;
    }
  }

  async function setTags(id: number, text: string): Promise<boolean> {
    if (!client.value) return false;
    try {
      const result = await client.value.request('runs.tag', { id, tags: parseTags(text) });
      runs.setRowTags(id, result.tags);
      problem.value = null;
      return true;
    } catch (error) {
      problem.value = `Could not tag run ${id}: ${describe(error)}`;
      return false;
    }
  }

  async function deleteRun(id: number): Promise<boolean> {
    if (!client.value) return false;
    try {
      await client.value.request('runs.delete', { id });
      runs.remove(id);
      selected.value = selected.value.filter((s) => s !== id);
      problem.value = null;
      return true;
    } catch (error) {
      problem.value = describe(error);
      return false;
    }
  }

  /** The picks as a set: the table asks for every row drawn, "pick all" for every run shown. */
  const selectedSet = computed(() => new Set(selected.value));

  function toggle(id: number): void {
    selected.value = selected.value.includes(id) ? selected.value.filter((s) => s !== id) : [...selected.value, id];
  }

  // New runs (events, reloads): their study if it is new to us (their tags come with runs.list).
  watch(
    rows,
    (now) => {
      if (now.some((r) => r.studyId !== null && !studyName.value.has(r.studyId))) void loadStudies();
      // Picks of runs that are gone are dropped.
      if (!selected.value.length) return;
      const ids = new Set(now.map((r) => r.id));
      if (selected.value.some((id) => !ids.has(id))) selected.value = selected.value.filter((id) => ids.has(id));
    },
    { immediate: true },
  );

  return {
    studies,
    problem,
    filters,
    sortKey,
    sortDescending,
    selected,
    selectedSet,
    details,
    all,
    options,
    visible,
    groups,
    studyNameOf,
    sortBy,
    clearFilters,
    loadStudies,
    setTags,
    deleteRun,
    toggle,
  };
});
