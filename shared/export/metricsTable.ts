// Several metrics in one table, as the README's tables are: one row per strategy and budget r
// (`none` once, without a budget), one column per metric, each cell the mean ± sd over seeds.
// Pure, shared by `mixcd export --metrics` and the Export view. Same runs and rules as pivot.ts
// (finished runs, one setting apart from strategy, budget and seed, one run per seed).
import type { StrategyName } from '../config.js';
import type { RunSummary } from '../results.js';
import {
  HIGHER_IS_BETTER,
  METRIC_DECIMALS,
  METRIC_LABELS,
  PIVOT_METRICS,
  PivotError,
  STRATEGY_ORDER,
  isPivotMetric,
  markBest,
  metricCell,
  tableRuns,
  type PivotCell,
  type PivotMetric,
  type PivotOptions,
} from './pivot.js';

export interface MetricColumn {
  metric: PivotMetric;
  /** Readable ("pretrain-test acc"). */
  label: string;
  higherIsBetter: boolean;
  decimals: number;
}

export interface MetricsRow {
  strategy: StrategyName;
  label: string;
  /** The rehearsal ratio r; null for `none` (no rehearsal, no budget). */
  budget: number | null;
  /** One per metric, in the order of `metrics`; null where no run has a value (`none`'s precision). */
  cells: (PivotCell | null)[];
}

export interface MetricsTable {
  metrics: MetricColumn[];
  /** Show n in every cell: the cells do not all have the same number of seeds. */
  showN: boolean;
  rowHeader: string;
  rows: MetricsRow[];
}

/** Parses "pretrainTestAcc, finetuneTestAcc" (a flag's value); throws a PivotError naming a wrong name. */
export function parseMetrics(text: string): PivotMetric[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wrong = names.find((name) => !isPivotMetric(name));
  if (wrong !== undefined || !names.length)
    throw new PivotError(
      `${wrong === undefined ? 'No metric given' : `"${wrong}" is not a metric`}: ` +
        `give one or more of ${PIVOT_METRICS.join(', ')}, separated by commas.`,
    );
  return [...new Set(names as PivotMetric[])];
}

/**
 * Finished runs as rows strategy x budget (fixed strategy order, budgets ascending; `none` one
 * row), metrics as columns. The best of each metric at each budget is marked where two or more
 * strategies compete (`none`, with no budget, competes with nobody).
 */
export function metricsTable(
  runs: RunSummary[],
  metrics: readonly PivotMetric[],
  options: PivotOptions = {},
): MetricsTable {
  if (!metrics.length) throw new PivotError(`No metric given: give one or more of ${PIVOT_METRICS.join(', ')}.`);
  const unknown = metrics.find((m) => !isPivotMetric(m));
  if (unknown !== undefined)
    throw new PivotError(`Unknown metric "${String(unknown)}": expected one of ${PIVOT_METRICS.join(', ')}.`);
  const finished = tableRuns(runs);

  const rows: MetricsRow[] = [];
  for (const strategy of STRATEGY_ORDER) {
    const mine = finished.filter((r) => r.config.rehearsal.strategy === strategy);
    if (!mine.length) continue;
    const label = options.labels?.[strategy] ?? strategy;
    const budgets: (number | null)[] =
      strategy === 'none' ? [null] : [...new Set(mine.map((r) => r.config.rehearsal.budget))].sort((a, b) => a - b);
    for (const budget of budgets) {
      const group = budget === null ? mine : mine.filter((r) => r.config.rehearsal.budget === budget);
      rows.push({ strategy, label, budget, cells: metrics.map((metric) => metricCell(group, metric)) });
    }
  }

  metrics.forEach((metric, m) => {
    const budgets = new Set(rows.map((row) => row.budget).filter((b): b is number => b !== null));
    for (const budget of budgets) {
      markBest(
        rows.filter((row) => row.budget === budget).map((row) => row.cells[m]),
        HIGHER_IS_BETTER[metric],
      );
    }
  });

  const ns = new Set(rows.flatMap((row) => row.cells.filter((c): c is PivotCell => c !== null).map((c) => c.n)));
  return {
    metrics: metrics.map((metric) => ({
      metric,
      label: METRIC_LABELS[metric],
      higherIsBetter: HIGHER_IS_BETTER[metric],
      decimals: METRIC_DECIMALS[metric],
    })),
    showN: ns.size > 1,
    rowHeader: 'strategy',
    rows,
  };
}
