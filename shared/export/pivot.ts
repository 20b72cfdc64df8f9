// Result tables for papers: one metric as strategy (rows) x rehearsal budget (columns), each cell
// the mean and sample standard deviation over seeds, the best cell of each column marked. Pure
// (no Node, no DOM), so the CLI and the UI export the same tables.
//
// Choices:
// - `none` has no budget. Its row repeats the same cell (the same runs) in every budget column:
//   in a paper each column then reads as "every strategy at this budget, against no rehearsal",
//   and `none` competes for the column's best like any other row. With no budgeted strategy at
//   all, the table has a single column labelled "—" (budget null).
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
  /** The rehearsal ratio r; null only for the single column of a table without budgets. */
  budget: number | null;
  label: string;
}

export interface PivotRow {
  strategy: StrategyName;
  label: string;
  /** One per column; null when the strategy has no run (or no value) there. */
  cells: (PivotCell | null)[];
}

export interface Pivot {
  metric: PivotMetric;
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

/** One metric of finished runs as strategy x budget, mean ± sd over seeds, best per column marked. */
export function pivotTable(runs: RunSummary[], metric: PivotMetric, options: PivotOptions = {}): Pivot {
  if (!isPivotMetric(metric))
    throw new PivotError(`Unknown metric "${String(metric)}": expected one of ${PIVOT_METRICS.join(', ')}.`);
  const finished = runs.filter((r) => r.status === 'finished');
  if (!finished.length)
    throw new PivotError(`None of the ${runs.length} runs has finished, so there is nothing to tabulate.`);
  checkSameSettings(finished);

  const budgetOf = (run: RunSummary): number | null =>
    run.config.rehearsal.strategy === 'none' ? null : run.config.rehearsal.budget;
  const budgets = [...new Set(finished.map(budgetOf).filter((b): b is number => b !== null))].sort((a, b) => a - b);
  const columns: PivotColumn[] = (budgets.length ? budgets : [null]).map((budget) => ({
    budget,
    label: budgetLabel(budget),
  }));

  const cellOf = (group: RunSummary[]): PivotCell | null => {
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
  };

  const rows: PivotRow[] = [];
  for (const strategy of STRATEGY_ORDER) {
    const mine = finished.filter((r) => r.config.rehearsal.strategy === strategy);
    if (!mine.length) continue;
    const cells = columns.map((column) => {
      if (strategy === 'none') return cellOf(mine); // the same runs in every column
      return cellOf(mine.filter((r) => budgetOf(r) === column.budget));
    });
    rows.push({ strategy, label: options.labels?.[strategy] ?? strategy, cells });
  }

  const higherIsBetter = HIGHER_IS_BETTER[metric];
  columns.forEach((_, c) => {
    const means = rows
      .map((row) => row.cells[c]?.mean)
      .filter((m): m is number => m !== undefined && Number.isFinite(m));
    if (!means.length) return;
    const best = higherIsBetter ? Math.max(...means) : Math.min(...means);
    for (const row of rows) {
      const cell = row.cells[c];
      if (cell && cell.mean === best) cell.best = true;
    }
  });

  const ns = new Set(
    rows.flatMap((row) => row.cells.filter((cell): cell is PivotCell => cell !== null).map((cell) => cell.n)),
  );
  return {
    metric,
    higherIsBetter,
    decimals: METRIC_DECIMALS[metric],
    showN: ns.size > 1,
    rowHeader: 'strategy',
    columns,
    rows,
  };
}
