// The inspector's questions, as pure functions over one run's arrays (no database, no files):
// what category each sample is known to be in at an eval, which samples match a filter, where
// the budget went between evals, how rehearsals spread over classes and bins, one sample's story.
import { CATEGORIES, UNKNOWN_CATEGORY, type Category } from '../../shared/results.js';
import type {
  BudgetWindow,
  CategoryCounts,
  CategorySource,
  InspectedSample,
  SampleStory,
  SampleSort,
} from '../../shared/inspect.js';

/** One run's per-sample facts, as the inspector holds them (N = pretrain set size). */
export interface RunArrays {
  size: number;
  labels: Uint8Array;
  classNames: string[];
  /** Rehearsals per sample (all zero when the run saved none). */
  counts: Uint32Array;
  /** (step, index) pairs in order. */
  log: Int32Array;
  /** CATEGORY_CODE per log entry; null for runs recorded before these were stored. */
  logCategories: Uint8Array | null;
  /** The probe's categories at each eval, steps ascending. */
  probes: { step: number; indices: Int32Array; categories: Uint8Array }[];
  priorLoss: Float32Array | null;
  priorCorrect: Uint8Array | null;
  /** Bin per sample (-1 outside every bin), or null without a partition. */
  binOf: Int32Array | null;
}

/** What is known of every sample's category at one eval: latest of its rehearsals and the probe. */
export interface KnownCategories {
  step: number;
  /** CATEGORY_CODE, or UNKNOWN_CATEGORY. */
  code: Uint8Array;
  /** Step at which it was known (valid where code is known). */
  at: Int32Array;
  /** 0 probe, 1 rehearsal. */
  source: Uint8Array;
}

const SOURCES: CategorySource[] = ['probe', 'rehearsal'];

/**
 * The latest known category of each sample at eval `step`. A rehearsal at loop step s saw f_s
 * (the model after s updates, before that step's own update) and the eval at step E measures f_E,
 * so rehearsals at s <= E count; the probe's eval at the same step wins a tie (same model).
 */
export function knownCategories(run: RunArrays, step: number): KnownCategories {
  const code = new Uint8Array(run.size).fill(UNKNOWN_CATEGORY);
  const at = new Int32Array(run.size).fill(-1);
  const source = new Uint8Array(run.size);
  const { log, logCategories } = run;
  if (logCategories) {
    for (let j = 0; 2 * j < log.length; j++) {
      const s = log[2 * j];
      if (s > step) break; // the log is in step order
      const c = logCategories[j];
      if (c === UNKNOWN_CATEGORY) continue;
      const i = log[2 * j + 1];
      code[i] = c;
      at[i] = s;
      source[i] = 1;
    }
  }
  let probe: RunArrays['probes'][number] | undefined;
  for (const p of run.probes) if (p.step <= step) probe = p;
  if (probe) {
    for (let j = 0; j < probe.indices.length; j++) {
      const i = probe.indices[j];
      if (at[i] <= probe.step) {
        code[i] = probe.categories[j];
        at[i] = probe.step;
        source[i] = 0;
      }
    }
  }
  return { step, code, at, source };
}

export interface SampleFilter {
  class?: number;
  bin?: number;
  category?: Category;
  rehearsedOnly: boolean;
  sort: SampleSort;
  order: 'desc' | 'asc';
  offset: number;
  limit: number;
}

function describeSample(run: RunArrays, known: KnownCategories | null, i: number): InspectedSample {
  const sample: InspectedSample = { index: i, count: run.counts[i], class: run.labels[i], category: null };
  const name = run.classNames[run.labels[i]];
  if (name !== undefined) sample.className = name;
  if (run.binOf) sample.bin = run.binOf[i];
  if (run.priorLoss) sample.priorLoss = run.priorLoss[i];
  if (known && known.code[i] !== UNKNOWN_CATEGORY) {
    sample.category = CATEGORIES[known.code[i]];
    sample.categoryStep = known.at[i];
    sample.categorySource = SOURCES[known.source[i]];
  }
  return sample;
}

/** The samples matching `filter`, sorted, and the window [offset, offset + limit) of them. */
export function filterSamples(
  run: RunArrays,
  known: KnownCategories,
  filter: SampleFilter,
): { total: number; samples: InspectedSample[] } {
  const wantCategory = filter.category === undefined ? -1 : CATEGORIES.indexOf(filter.category);
  const { counts, labels, binOf } = run;
  const matches = new Int32Array(run.size);
  let n = 0;
  for (let i = 0; i < run.size; i++) {
    if (filter.rehearsedOnly && counts[i] === 0) continue;
    if (filter.class !== undefined && labels[i] !== filter.class) continue;
    if (filter.bin !== undefined && (binOf === null || binOf[i] !== filter.bin)) continue;
    if (wantCategory >= 0 && known.code[i] !== wantCategory) continue;
    matches[n++] = i;
  }
  const found = matches.subarray(0, n);
  const sign = filter.order === 'desc' ? -1 : 1;
  // Ties always go to the lower index, so pages are stable whatever the order.
  if (filter.sort === 'count') {
    found.sort((a, b) => sign * (counts[a] - counts[b]) || a - b);
  } else if (filter.sort === 'priorLoss' && run.priorLoss) {
    const loss = run.priorLoss;
    found.sort((a, b) => sign * (loss[a] - loss[b]) || a - b);
  } else if (filter.order === 'desc') {
    found.reverse(); // already ascending by index
  }
  const page = found.subarray(filter.offset, filter.offset + filter.limit);
  return { total: n, samples: Array.from(page, (i) => describeSample(run, known, i)) };
}

const zeros = (): CategoryCounts => [0, 0, 0, 0];

/**
 * Where the budget went: per eval, the rehearsals since the previous eval by their category when
 * rehearsed, beside the probe's categories at that eval (an unbiased sample of the pretrain set).
 */
export function budgetWindows(run: RunArrays, evalSteps: readonly number[]): BudgetWindow[] {
  const probeAt = new Map(run.probes.map((p) => [p.step, p]));
  const windows: BudgetWindow[] = evalSteps.map((step) => {
    const p = probeAt.get(step);
    let probe: CategoryCounts | null = null;
    if (p) {
      probe = zeros();
      for (const c of p.categories) if (c < 4) probe[c]++;
    }
    return { step, rehearsed: zeros(), unknown: 0, probe };
  });
  const { log, logCategories } = run;
  const evals = windows.length;
  let partial: BudgetWindow | null = null;
  let w = 0;
  for (let j = 0; 2 * j < log.length; j++) {
    const s = log[2 * j];
    // Rehearsals at steps in [previous eval, this eval) belong to this eval's window.
    while (w < evals && s >= windows[w].step) w++;
    let window: BudgetWindow;
    if (w < evals) window = windows[w];
    else {
      // After the last eval (a run cancelled between evals): one partial window, so every
      // rehearsal is counted somewhere and the totals match the run's own.
      if (!partial)
        windows.push((partial = { step: s + 1, partial: true, rehearsed: zeros(), unknown: 0, probe: null }));
      partial.step = s + 1;
      window = partial;
    }
    const c = logCategories ? logCategories[j] : UNKNOWN_CATEGORY;
    if (c === UNKNOWN_CATEGORY) window.unknown++;
    else window.rehearsed[c]++;
  }
  return windows;
}

/** Rehearsals in all, and distinct samples rehearsed at least once. */
export function tally(counts: Uint32Array): { rehearsals: number; distinct: number } {
  let rehearsals = 0;
  let distinct = 0;
  for (let i = 0; i < counts.length; i++) {
    rehearsals += counts[i];
    if (counts[i] > 0) distinct++;
  }
  return { rehearsals, distinct };
}

/** Rehearsals summed by a per-sample key in 0..keys-1 (negative keys go to `outside`). */
export function rehearsalsBy(
  counts: Uint32Array,
  keyOf: ArrayLike<number>,
  keys: number,
): { byKey: number[]; outside: number } {
  const byKey = new Array<number>(keys).fill(0);
  let outside = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c === 0) continue;
    const k = keyOf[i];
    if (k >= 0 && k < keys) byKey[k] += c;
    else outside += c;
  }
  return { byKey, outside };
}

/** Samples per key (class sizes, bin sizes). */
export function sizesBy(keyOf: ArrayLike<number>, keys: number): { byKey: number[]; outside: number } {
  const byKey = new Array<number>(keys).fill(0);
  let outside = 0;
  for (let i = 0; i < keyOf.length; i++) {
    const k = keyOf[i];
    if (k >= 0 && k < keys) byKey[k]++;
    else outside++;
  }
  return { byKey, outside };
}

/** One sample's story: every rehearsal with its verdict, and its category at each probe eval. */
export function sampleStory(run: RunArrays, known: KnownCategories, i: number): SampleStory {
  const rehearsals: SampleStory['rehearsals'] = [];
  const { log, logCategories } = run;
  for (let j = 0; 2 * j < log.length; j++) {
    if (log[2 * j + 1] !== i) continue;
    const c = logCategories ? logCategories[j] : UNKNOWN_CATEGORY;
    rehearsals.push({ step: log[2 * j], category: c === UNKNOWN_CATEGORY ? null : CATEGORIES[c] });
  }
  let probe: SampleStory['probe'] = null;
  for (const p of run.probes) {
    const at = indexIn(p.indices, i);
    if (at < 0) continue;
    (probe ??= []).push({ step: p.step, category: CATEGORIES[p.categories[at]] });
  }
  return {
    sample: describeSample(run, known, i),
    priorCorrect: run.priorCorrect ? run.priorCorrect[i] === 1 : null,
    rehearsals,
    probe,
  };
}

/** Position of `value` in `sorted` (ascending), or -1. */
function indexIn(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === value) return mid;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
