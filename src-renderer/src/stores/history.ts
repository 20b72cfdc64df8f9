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

export interface HistoryRow extends RunRow {
  studyName: string;
}

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

  const all = computed<HistoryRow[]>(() =>
    rows.value.map((row) => ({
      ...row,
      studyName: row.studyId === null ? '' : (studyName.value.get(row.studyId) ?? `study ${row.studyId}`),
    })),
  );

  const options = computed(() => {
    const distinct = <T>(values: T[]) => [...new Set(values)];
    return {
      scenario: distinct(all.value.map((r) => r.scenario)).sort(),
      strategy: distinct(all.value.map((r) => r.strategy)).sort(),
      budget: distinct(all.value.map((r) => r.budget))
        .sort((a, b) => a - b)
        .map(String),
      status: distinct(all.value.map((r) => r.status)).sort(),
      tag: distinct(all.value.flatMap((r) => r.tags)).sort(),
    };
  });

  const sortValue = (row: HistoryRow, key: SortKey): string | number => {
    switch (key) {
      case 'study':
        return row.studyName;
      case 'tags':
        return row.tags.join(', ');
      case 'finalPretrainAcc':
      case 'finalFinetuneAcc':
        return row[key] ?? -Infinity;
      default:
        return row[key];
    }
  };

  const visible = computed<HistoryRow[]>(() => {
    const f = filters.value;
    const needle = f.text.trim().toLowerCase();
    const kept = all.value.filter(
      (r) =>
        (!f.scenario || r.scenario === f.scenario) &&
        (!f.strategy || r.strategy === f.strategy) &&
        (!f.budget || String(r.budget) === f.budget) &&
        (!f.status || r.status === f.status) &&
        (!f.tag || r.tags.includes(f.tag)) &&
        (!needle ||
          [String(r.id), r.studyName, r.strategy, r.scenario, ...r.tags].some((text) =>
            text.toLowerCase().includes(needle),
          )),
    );
    const key = sortKey.value;
    const sign = sortDescending.value ? -1 : 1;
    return kept.sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return order !== 0 ? sign * order : b.id - a.id;
    });
  });

  const groups = computed<StudyGroup[]>(() =>
    studies.value.map((study) => ({ study, runCount: rows.value.filter((r) => r.studyId === study.id).length })),
  );

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

  function toggle(id: number): void {
    selected.value = selected.value.includes(id) ? selected.value.filter((s) => s !== id) : [...selected.value, id];
  }

  // New runs (events, reloads): their study if it is new to us (their tags come with runs.list).
  watch(
    rows,
    (now) => {
      if (now.some((r) => r.studyId !== null && !studyName.value.has(r.studyId))) void loadStudies();
      // Picks of runs that are gone are dropped.
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
    details,
    all,
    options,
    visible,
    groups,
    sortBy,
    clearFilters,
    loadStudies,
    setTags,
    deleteRun,
    toggle,
  };
});
