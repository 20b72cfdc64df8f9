// Result tables for papers: one metric as strategy (rows) x rehearsal budget (columns), each cell
// the mean and sample standard deviation over seeds, the best cell of each column marked. Pure
// (no Node, no DOM), so the CLI and the UI export the same tables.
//
// Choices:
// - `none` rehearses nothing: its runs count at r = 0 (whatever budget an old config stored), so
//   its value shows once, in a column "r = 0" of its own (shared with any run at budget 0), not
//   repeated under every budget. The best of a column is marked only where two or more cells
//   compete (a column holding `none` alone has no best).
// - Runs are grouped by every setting except the finetune seed. If the runs differ in any other
//   setting (scenario, model, learning rate, ...), pivotTable refuses with a PivotError naming the
//   setting and its values rather than mixing them in one row; pick the runs to export instead.
//   Strategy-specific settings (rehearsal.mixCd, .oracleCd, .lossBased) only count for runs of
//   that strategy; a `none` run's budget is ignored.
// - Only finished runs count. n is shown in every cell when the cells do not all have the same
//   number of seeds. With one seed the sd is null (not 0) and cells show the mean alone.
import type { StrategyName } from '../config.js';
import type { RunSummary } from '../results.js';
import { meanSd } from '../studyTable.js';
import { groupRuns, runSettings, STRATEGY_SETTINGS } from '../grouping.js';

export const PIVOT_METRICS = [
  'pretrainTestAcc',
  'finetuneTestAcc',
  'cdRate',
  'rehearsalPrecision',
  'extraForwardPasses',
  'wallSeconds',
] as const;
export type PivotMetric = (typeof PIVOT_METRICS)[number];

/** Which way is better, per metric. */
export const HIGHER_IS_BETTER: Record<PivotMetric, boolean> = {
  pretrainTestAcc: true,
  finetuneTestAcc: true,
  cdRate: false,
  rehearsalPrecision: true,
  extraForwardPasses: false,
  wallSeconds: false,
};

/** Readable metric names for headers, captions and menus (the ids stay the flag and JSON names). */
export const METRIC_LABELS: Record<PivotMetric, string> = {
  pretrainTestAcc: 'pretrain-test acc',
  finetuneTestAcc: 'finetune-test acc',
  cdRate: 'CD rate',
  rehearsalPrecision: 'rehearsal precision (whole run)',
  extraForwardPasses: 'extra forward passes',
  wallSeconds: 'wall time (s)',
};

/** Decimals shown in the text formats (the JSON and CSV keep full precision). */
export const METRIC_DECIMALS: Record<PivotMetric, number> = {
  pretrainTestAcc: 3,
  finetuneTestAcc: 3,
  cdRate: 3,
  rehearsalPrecision: 3,
  extraForwardPasses: 0,
  wallSeconds: 1,
};

export const STRATEGY_ORDER: readonly StrategyName[] = ['none', 'random', 'mix-cd', 'oracle-cd', 'loss-based', 'mir'];

export class PivotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PivotError';
  }
}

export interface PivotCell {
  mean: number;
  /** Sample standard deviation; null with a single seed. */
  sd: number | null;
  n: number;
  /** Best of its column (ties are all best). */
  best: boolean;
  /** Ids of the runs averaged, ascending. */
  runs: number[];
}

export interface PivotColumn {
  /** The rehearsal ratio r (0: no rehearsal, `none`'s column). Null is not made any more; kept in the type. */
  budget: number | null;
  label: string;
}

export interface PivotRow {
  strategy: StrategyName;
  label: string;
  /** One per column; null when the strategy has no run (or no value) there (`none`: all but r = 0). */
  cells: (PivotCell | null)[];
}

export interface Pivot {
  metric: PivotMetric;
  /** The metric as a reader says it ("pretrain-test acc"), for captions. */
  metricLabel: string;
  higherIsBetter: boolean;
  decimals: number;
  /** Show n in every cell: the cells do not all have the same number of seeds. */
  showN: boolean;
  /** Header of the label column. */
  rowHeader: string;
  columns: PivotColumn[];
  rows: PivotRow[];
}

export interface PivotOptions {
  /** Row labels instead of the strategy names, e.g. { 'mix-cd': 'mix-cd (ours)' }. */
  labels?: Partial<Record<StrategyName, string>>;
}

export function isPivotMetric(name: string): name is PivotMetric {
  return (PIVOT_METRICS as readonly string[]).includes(name);
}

function metricValue(run: RunSummary, metric: PivotMetric): number | null {
  switch (metric) {
    case 'extraForwardPasses':
      return run.compute.extraForwardPasses;
    case 'wallSeconds':
      return run.compute.wallSeconds;
    default:
      return run.final[metric];
  }
}

/** The settings a run's numbers depend on, besides the seed, strategy and budget (the table's axes). */
function groupSettings(run: RunSummary): Map<string, string> {
  const kept = runSettings(run.config);
  kept.delete('rehearsal.strategy');
  kept.delete('rehearsal.budget');
  kept.delete('rehearsal.computeBudget'); // equal-compute studies: the budget axis itself
  return kept;
}

function listIds(ids: number[]): string {
  return `${ids.length > 1 ? 'runs' : 'run'} ${ids.join(', ')}`;
}

/** Throws a PivotError naming the first setting (besides seed, strategy, budget) the runs differ in. */
export function checkSameSettings(runs: RunSummary[]): void {
  const settings = runs.map(groupSettings);
  const keys = new Set(settings.flatMap((s) => [...s.keys()]));
  for (const key of [...keys].sort()) {
    const byValue = new Map<string, number[]>();
    runs.forEach((run, i) => {
      const owner = Object.keys(STRATEGY_SETTINGS).find((prefix) => key.startsWith(`${prefix}.`));
      if (owner && STRATEGY_SETTINGS[owner] !== run.config.rehearsal.strategy) return;
      const value = settings[i].get(key) ?? '(unset)';
      byValue.set(value, [...(byValue.get(value) ?? []), run.id]);
    });
    if (byValue.size > 1) {
      const parts = [...byValue].map(([value, ids]) => `${value} in ${listIds(ids)}`);
      throw new PivotError(
        `The runs differ in setting "${key}" (${parts.join('; ')}), so a table ` +
          `row would mix them: export runs that differ only in strategy, budget and ` +
          `seed.`,
      );
    }
  }
}

export function budgetLabel(budget: number | null): string {
  return budget === null ? '—' : `r = ${budget}`;
}

/**
 * A cell that cannot hold a run, shown empty rather than as missing: `none` at a budget, a
 * rehearsing strategy at r = 0 (unless it has a run there).
 */
export function notApplicable(strategy: StrategyName, budget: number | null): boolean {
  return (strategy === 'none') !== (budget === 0);
}

/** A run's place on the budget axis: `none` rehearses nothing, so r = 0 whatever its config says. */
export function tableBudget(run: RunSummary): number {
  return run.config.rehearsal.strategy === 'none' ? 0 : run.config.rehearsal.budget;
}

/** The finished runs of a table, after checking they differ only in strategy, budget and seed. */
export function tableRuns(runs: RunSummary[]): RunSummary[] {
  const finished = runs.filter((r) => r.status === 'finished');
  if (!finished.length)
    throw new PivotError(`None of the ${runs.length} runs has finished, so there is nothing to tabulate.`);
  checkSameSettings(finished);
  return finished;
}

/** Mean ± sd of one metric over a cell's runs, one run per seed (duplicates left out); null without a value. */
export function metricCell(group: RunSummary[], metric: PivotMetric): PivotCell | null {
  // One run per seed (shared/grouping.ts): a repeated run with the same settings and seed is not a second seed.
  const oncePerSeed = groupRuns(group).flatMap((g) => g.runs);
  const used = oncePerSeed.filter((r) => metricValue(r, metric) !== null).sort((a, b) => a.id - b.id);
  if (!used.length) return null;
  const stats = meanSd(used.map((r) => metricValue(r, metric) as number));
  return {
    mean: stats.mean,
    sd: stats.n > 1 ? stats.sd : null,
    n: stats.n,
    best: false,
    runs: used.map((r) => r.id),
  };
}

/** Marks the best of `cells` (ties all best) when two or more finite values compete. */
export function markBest(cells: (PivotCell | null | undefined)[], higherIsBetter: boolean): void {
  const present = cells.filter((c): c is PivotCell => !!c && Number.isFinite(c.mean));
  if (present.length < 2) return;
  const means = present.map((c) => c.mean);
  const best = higherIsBetter ? Math.max(...means) : Math.min(...means);
  for (const cell of present) if (cell.mean === best) cell.best = true;
}

/** One metric of finished runs as strategy x budget, mean ± sd over seeds, best per column marked. */
export function pivotTable(runs: RunSummary[], metric: PivotMetric, options: PivotOptions = {}): Pivot {
  if (!isPivotMetric(metric))
    throw new PivotError(`Unknown metric "${String(metric)}": expected one of ${PIVOT_METRICS.join(', ')}.`);
  const finished = tableRuns(runs);

  const budgets = [...new Set(finished.map(tableBudget))].sort((a, b) => a - b);
  const columns: PivotColumn[] = budgets.map((budget) => ({ budget, label: budgetLabel(budget) }));

  const rows: PivotRow[] = [];
  for (const strategy of STRATEGY_ORDER) {
    const mine = finished.filter((r) => r.config.rehearsal.strategy === strategy);
    if (!mine.length) continue;
    const cells = columns.map((column) =>
      metricCell(
        mine.filter((r) => tableBudget(r) === column.budget),
        metric,
      ),
    );
    rows.push({ strategy, label: options.labels?.[strategy] ?? strategy, cells });
  }

  const higherIsBetter = HIGHER_IS_BETTER[metric];
  columns.forEach((_, c) =>
    markBest(
      rows.map((row) => row.cells[c]),
      higherIsBetter,
    ),
  );

  const ns = new Set(
    rows.flatMap((row) => row.cells.filter((cell): cell is PivotCell => cell !== null).map((cell) => cell.n)),
  );
  return {
    metric,
    metricLabel: METRIC_LABELS[metric],
    higherIsBetter,
    decimals: METRIC_DECIMALS[metric],
    showN: ns.size > 1,
    rowHeader: 'strategy',
    columns,
    rows,
  };
}
