// The sample inspector's data, as both sides see it: which pretrain samples a run rehearsed, what
// is known about each (class, mix-cd bin, prior loss, category), and where the budget went.
// Types plus the small pure computations the renderer and the host share.
import { CATEGORIES, type BinTrace, type Category, type RunStatus } from './results.js';
import type { PartitionRule, StrategyName } from './config.js';

/** How one sample's data is laid out: an image (drawn as a thumbnail) or a row of features. */
export type SampleShape =
  | { kind: 'image'; height: number; width: number; channels: number }
  /**
   * `values` 'float32': each feature is 4 bytes (little-endian float32: CSV and npy features used
   * as they are); absent or 'uint8': one byte a feature (pixel columns).
   */
  | { kind: 'row'; features: number; values?: 'uint8' | 'float32' };

/** One count per category, indexed like CATEGORIES (CATEGORY_CODE). */
export type CategoryCounts = [number, number, number, number];

/** Where a sample's category comes from: the probe's eval or the verdict of a rehearsal. */
export type CategorySource = 'probe' | 'rehearsal';

/** The bins the per-bin figures use: a mix-cd run's partition (the run's own, or another's). */
export interface BinPartition {
  /** The mix-cd run whose settings define the bins. */
  runId: number;
  rule: PartitionRule;
  /** Samples per bin; samples outside every bin (not candidates) are counted in `outside`. */
  sizes: number[];
  outside: number;
  /** What each bin holds, e.g. "class 3 (Dress), prior loss 20–30th pct (1.21e-2–3.40e-2)" (shared/binNames.ts). */
  labels: string[];
}

/** Rehearsals between two evals, by category at rehearsal time, and the probe's shares at the eval. */
export interface BudgetWindow {
  /**
   * The eval that closes the window (rehearsals at steps < this and >= the previous eval); for
   * the `partial` window of a run cancelled between evals, the step after its last rehearsal.
   */
  step: number;
  /** Rehearsals after the last eval of a cancelled run: no eval closes them, so no probe either. */
  partial?: true;
  rehearsed: CategoryCounts;
  /** Rehearsals whose verdict never arrived, or of runs recorded before verdicts were stored. */
  unknown: number;
  /** Probe samples per category at this eval (null: no probe). */
  probe: CategoryCounts | null;
}

export interface RunInspection {
  runId: number;
  studyId: number | null;
  status: RunStatus;
  strategy: StrategyName;
  budget: number;
  seed: number;
  pretrainSize: number;
  numClasses: number;
  classNames: string[];
  /** Samples per class in the pretrain set. */
  classSizes: number[];
  shape: SampleShape;
  /** Steps of the evals (0 = f0). */
  evalSteps: number[];
  /** Probe subset size (0: no probe; then no true CD per bin and no pretrain category shares). */
  probeSize: number;
  /** mix-cd's per-bin state at every eval; empty for other strategies. */
  binTraces: BinTrace[];
  /** The bins of the per-bin figures; null when there is no mix-cd run to take them from. */
  partition: BinPartition | null;
  rehearsals: number;
  distinctRehearsed: number;
  /** Rehearsals per class. */
  byClass: number[];
  /** Rehearsals per bin of `partition`, and outside every bin; null without a partition. */
  byBin: { bins: number[]; outside: number } | null;
  /** Where the budget went, eval by eval (see budgetShares for the whole run). */
  budgetWindows: BudgetWindow[];
  /** Why something is missing, one sentence each. */
  notes: string[];
}

/** One pretrain sample as the gallery lists it. */
export interface InspectedSample {
  index: number;
  /** How often it was rehearsed (up to the end of the run). */
  count: number;
  class: number;
  className?: string;
  /** Its bin in the inspection's partition; -1 outside every bin; absent without a partition. */
  bin?: number;
  /** Its loss under f0 (absent when f0's prior pass is not available; see notes). */
  priorLoss?: number;
  /** Its latest known category at or before the chosen eval; null if none is known. */
  category: Category | null;
  categoryStep?: number;
  categorySource?: CategorySource;
}

export const SAMPLE_SORTS = ['count', 'priorLoss', 'index'] as const;
export type SampleSort = (typeof SAMPLE_SORTS)[number];

export interface SamplePage {
  runId: number;
  /** The eval whose known categories the filter and the `category` fields use. */
  step: number;
  /** Samples matching the filter (before offset/limit). */
  total: number;
  samples: InspectedSample[];
  notes: string[];
}

export interface SampleStory {
  sample: InspectedSample;
  /** Whether f0 classified it correctly (null when f0's prior pass is not available). */
  priorCorrect: boolean | null;
  /** Every rehearsal: its step and the sample's category then (null: verdict not known). */
  rehearsals: { step: number; category: Category | null }[];
  /** Its category at every eval, when it is in the probe subset; else null. */
  probe: { step: number; category: Category }[] | null;
}

/** Raw sample data for thumbnails: `data` is base64 of the samples' bytes, one after another. */
export interface SampleData {
  shape: SampleShape;
  indices: number[];
  /** Per sample: height*width*channels bytes (row-major, channels last), or a row's features (bytesPerSample). */
  data: string;
}

// --- pure helpers ---

/** Pearson correlation of the pairs where both values are numbers; null with < 3 pairs or no spread. */
export function pearson(
  xs: readonly (number | null)[],
  ys: readonly (number | null)[],
): { r: number | null; n: number } {
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const x = xs[i];
    const y = ys[i];
    if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) continue;
    px.push(x);
    py.push(y);
  }
  const n = px.length;
  if (n < 3) return { r: null, n };
  const mx = px.reduce((a, b) => a + b, 0) / n;
  const my = py.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (px[i] - mx) * (py[i] - my);
    sxx += (px[i] - mx) ** 2;
    syy += (py[i] - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return { r: null, n };
  return { r: sxy / Math.sqrt(sxx * syy), n };
}

/** Shares that sum to 1 (all zeros when the total is 0). */
export function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/**
 * Where the budget went over a whole run: the category shares among rehearsals (known verdicts
 * only) and the pretrain set's shares as the probe saw them, averaged over the evals after f0
 * (null without a probe).
 */
export function budgetShares(windows: readonly BudgetWindow[]): {
  rehearsed: number[];
  pretrain: number[] | null;
  rehearsals: number;
  unknown: number;
} {
  const rehearsed = [0, 0, 0, 0];
  let unknown = 0;
  const pretrain = [0, 0, 0, 0];
  let probeEvals = 0;
  for (const w of windows) {
    w.rehearsed.forEach((c, k) => (rehearsed[k] += c));
    unknown += w.unknown;
    if (w.step > 0 && w.probe) {
      const s = shares(w.probe);
      s.forEach((v, k) => (pretrain[k] += v));
      probeEvals++;
    }
  }
  return {
    rehearsed: shares(rehearsed),
    pretrain: probeEvals ? pretrain.map((v) => v / probeEvals) : null,
    rehearsals: rehearsed.reduce((a, b) => a + b, 0) + unknown,
    unknown,
  };
}

/** Where the budget went, per strategy and budget of a study: mean and sd over its seeds. */
export interface StudyBudgetRow {
  strategy: StrategyName;
  budget: number;
  runIds: number[];
  /** Category shares among the rehearsed samples (known verdicts). */
  rehearsed: { mean: number[]; sd: number[] };
  /** The pretrain set's shares on each run's probe (null: no probe). */
  pretrain: { mean: number[]; sd: number[] } | null;
  rehearsals: number;
  unknown: number;
}

export interface StudyBudget {
  studyId: number;
  rows: StudyBudgetRow[];
  notes: string[];
}

function meanSd(rows: readonly number[][]): { mean: number[]; sd: number[] } {
  const n = rows.length;
  const mean = rows[0].map((_, k) => rows.reduce((a, r) => a + r[k], 0) / n);
  // Sample sd over seeds (0 for a single seed), like the study table's.
  const sd = mean.map((m, k) => (n > 1 ? Math.sqrt(rows.reduce((a, r) => a + (r[k] - m) ** 2, 0) / (n - 1)) : 0));
  return { mean, sd };
}

/** Groups runs by (strategy, budget), in first-seen order; runs that rehearsed nothing are left out. */
export function studyBudgetRows(
  runs: readonly { runId: number; strategy: StrategyName; budget: number; windows: readonly BudgetWindow[] }[],
): StudyBudgetRow[] {
  const groups = new Map<
    string,
    { strategy: StrategyName; budget: number; runIds: number[]; shares: ReturnType<typeof budgetShares>[] }
  >();
  for (const run of runs) {
    const shares = budgetShares(run.windows);
    if (shares.rehearsals === 0) continue;
    const key = `${run.strategy}|${run.budget}`;
    const group = groups.get(key) ?? { strategy: run.strategy, budget: run.budget, runIds: [], shares: [] };
    group.runIds.push(run.runId);
    group.shares.push(shares);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => {
    const probed = g.shares.flatMap((s) => (s.pretrain ? [s.pretrain] : []));
    return {
      strategy: g.strategy,
      budget: g.budget,
      runIds: g.runIds,
      rehearsed: meanSd(g.shares.map((s) => s.rehearsed)),
      pretrain: probed.length === g.shares.length ? meanSd(probed) : null,
      rehearsals: g.shares.reduce((a, s) => a + s.rehearsals, 0),
      unknown: g.shares.reduce((a, s) => a + s.unknown, 0),
    };
  });
}

export const CATEGORY_LABELS: Record<Category, string> = {
  'collateral-damage': 'CD (forgotten)',
  unforgotten: 'unforgotten',
  unlearned: 'unlearned',
  'newly-learned': 'newly learned',
};

export { CATEGORIES };
