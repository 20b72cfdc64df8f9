// The frontier at equal compute (issue 16): final accuracy against total compute units, one line
// per strategy (mean ± sd over seeds on both axes), the Pareto frontier over all strategies, and
// "compute needed to keep X% of f0's accuracy" per strategy, interpolated between measured points.
// Pure: the Compare view, the CLI export and the README figure all build from these.
import type { RunSummary } from '../results.js';
import { computeUnits } from '../computeBudget.js';
import { meanSd, type MeanSd } from '../studyTable.js';
import { renderErrorBar } from './compare.js';
import { strategyColor } from './colors.js';
import type { ChartOption } from './options.js';
import type { StrategyName } from '../config.js';

export const FRONTIER_METRICS = ['pretrainTestAcc', 'finetuneTestAcc'] as const;
export type FrontierMetric = (typeof FRONTIER_METRICS)[number];

export const FRONTIER_METRIC_NAMES: Record<FrontierMetric, string> = {
  pretrainTestAcc: 'final pretrain-test accuracy',
  finetuneTestAcc: 'final finetune-test accuracy',
};

/** One strategy at one budget, over its seeds. */
export interface FrontierPoint {
  strategy: string;
  /** The compute budget R (or the plain budget r of runs without one); 0 for none. */
  budget: number;
  /** Ids of the runs averaged, ascending. */
  runs: number[];
  units: MeanSd;
  pretrainTestAcc: MeanSd;
  finetuneTestAcc: MeanSd;
}

const finite = (v: number) => Number.isFinite(v);

/** Units of a run: stored, or from its pass counts (runs recorded before units were stored). */
export function runUnits(run: RunSummary): number {
  return run.compute.units ?? computeUnits(run.compute);
}

/** Finished runs grouped by strategy and (compute) budget, sorted by strategy then units. */
export function frontierPoints(runs: readonly RunSummary[]): FrontierPoint[] {
  const groups = new Map<string, RunSummary[]>();
  for (const run of runs) {
    if (run.status !== 'finished') continue;
    const r = run.config.rehearsal;
    const budget = r.strategy === 'none' ? 0 : (r.computeBudget ?? r.budget);
    const key = `${r.strategy}|${budget}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const points = [...groups.values()].map((group) => {
    const r = group[0].config.rehearsal;
    return {
      strategy: r.strategy,
      budget: r.strategy === 'none' ? 0 : (r.computeBudget ?? r.budget),
      runs: group.map((g) => g.id).sort((a, b) => a - b),
      units: meanSd(group.map(runUnits)),
      pretrainTestAcc: meanSd(group.map((g) => g.final.pretrainTestAcc)),
      finetuneTestAcc: meanSd(group.map((g) => g.final.finetuneTestAcc)),
    };
  });
  return points.sort((a, b) => a.strategy.localeCompare(b.strategy) || a.units.mean - b.units.mean);
}

/**
 * The Pareto frontier of `metric` against compute over all points: those no other point beats
 * with at most the same units and a higher mean (ties: the cheaper one). Sorted by units.
 */
export function paretoFrontier(points: readonly FrontierPoint[], metric: FrontierMetric): FrontierPoint[] {
  const usable = points.filter((p) => finite(p.units.mean) && finite(p[metric].mean));
  const sorted = [...usable].sort((a, b) => a.units.mean - b.units.mean || b[metric].mean - a[metric].mean);
  const frontier: FrontierPoint[] = [];
  let best = -Infinity;
  for (const p of sorted) {
    if (p[metric].mean > best) {
      frontier.push(p);
      best = p[metric].mean;
    }
  }
  return frontier;
}

/** The compute a strategy needs to keep `fraction` of f0's accuracy, and the points it comes from. */
export interface KeepRow {
  strategy: string;
  fraction: number;
  /** fraction x f0's accuracy. */
  target: number;
  /**
   * Interpolated units (linear between the two measured points around the target); null when the
   * strategy never reaches the target, or already exceeds it at its cheapest point (see `note`).
   */
  units: number | null;
  /** The measured points the value comes from (one when it is exact or out of range). */
  from: FrontierPoint[];
  note: 'interpolated' | 'measured' | 'below-cheapest' | 'never-reached';
}

/**
 * Per strategy (its points sorted by units), the first pair of consecutive points whose mean
 * `metric` crosses fraction x f0 gives the units by linear interpolation.
 */
export function computeToKeep(
  points: readonly FrontierPoint[],
  f0: number,
  fractions: readonly number[],
  metric: FrontierMetric = 'pretrainTestAcc',
): KeepRow[] {
  const strategies = [...new Set(points.map((p) => p.strategy))];
  const rows: KeepRow[] = [];
  for (const strategy of strategies) {
    const mine = points
      .filter((p) => p.strategy === strategy && finite(p.units.mean) && finite(p[metric].mean))
      .sort((a, b) => a.units.mean - b.units.mean);
    if (!mine.length) continue;
    for (const fraction of fractions) {
      const target = fraction * f0;
      const row: KeepRow = { strategy, fraction, target, units: null, from: [], note: 'never-reached' };
      if (mine[0][metric].mean >= target) {
        row.from = [mine[0]];
        row.note = mine[0][metric].mean === target ? 'measured' : 'below-cheapest';
        row.units = mine[0][metric].mean === target ? mine[0].units.mean : null;
      } else {
        for (let i = 1; i < mine.length; i++) {
          const a = mine[i - 1];
          const b = mine[i];
          if (a[metric].mean < target && b[metric].mean >= target) {
            const t = (target - a[metric].mean) / (b[metric].mean - a[metric].mean);
            row.units = a.units.mean + t * (b.units.mean - a.units.mean);
            row.from = [a, b];
            row.note = 'interpolated';
            break;
          }
        }
        if (!row.from.length) row.from = [mine[mine.length - 1]];
      }
      rows.push(row);
    }
  }
  return rows;
}

/** Units in millions, for axes and tables. */
export const MEGA = 1e6;

/**
 * Final `metric` against total compute (millions of units): per strategy a line through its
 * budgets with ± sd bars on both axes, the Pareto frontier over all strategies as a dashed
 * staircase, and f0's level as a dotted line.
 */
export function frontierOption(
  points: readonly FrontierPoint[],
  metric: FrontierMetric,
  options: {
    title?: string;
    f0?: number | null;
    colorOf?: (strategy: string, index: number) => string | undefined;
  } = {},
): ChartOption {
  const usable = points.filter((p) => finite(p.units.mean) && finite(p[metric].mean));
  const strategies = [...new Set(usable.map((p) => p.strategy))];
  const sd = (v: MeanSd) => (finite(v.sd) ? v.sd : 0);
  const series: Record<string, unknown>[] = [];
  strategies.forEach((strategy, i) => {
    const color = options.colorOf?.(strategy, i) ?? strategyColor(strategy as StrategyName);
    const mine = usable.filter((p) => p.strategy === strategy).sort((a, b) => a.units.mean - b.units.mean);
    series.push({
      id: `frontier-${strategy}`,
      name: strategy,
      type: 'line',
      color,
      symbolSize: 8,
      label: { show: true, position: 'top', fontSize: 10, formatter: '{b}' },
      data: mine.map((p) => ({
        name: strategy === 'none' ? '' : `R=${p.budget}`,
        value: [p.units.mean / MEGA, p[metric].mean],
      })),
    });
    series.push({
      id: `frontier-${strategy}-sd`,
      name: strategy,
      type: 'custom',
      color,
      silent: true,
      renderItem: renderErrorBar,
      encode: { x: [0, 2, 3], y: [1, 4, 5] },
      data: mine.map((p) => {
        const x = p.units.mean / MEGA;
        const xs = sd(p.units) / MEGA;
        const y = p[metric].mean;
        const ys = sd(p[metric]);
        return [x, y, x - xs, x + xs, y - ys, y + ys];
      }),
      z: 1,
    });
  });
  const frontier = paretoFrontier(usable, metric);
  if (frontier.length) {
    series.push({
      id: 'frontier-pareto',
      name: 'Pareto frontier',
      type: 'line',
      step: 'end',
      color: '#333',
      symbol: 'none',
      lineStyle: { type: 'dashed', width: 1.5 },
      data: frontier.map((p) => [p.units.mean / MEGA, p[metric].mean]),
      z: 0,
      ...(options.f0 != null
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              label: { formatter: `f0 ${options.f0.toFixed(3)}`, position: 'insideEndTop' },
              lineStyle: { type: 'dotted', color: '#888' },
              data: [{ yAxis: options.f0 }],
            },
          }
        : {}),
    });
  }
  const top = options.title ? 24 : 0;
  return {
    animation: false,
    ...(options.title ? { title: { text: options.title, left: 'center', top: 0, textStyle: { fontSize: 14 } } } : {}),
    grid: { left: 64, right: 40, top: top + 48, bottom: 48 },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    legend: { top, data: [...strategies, ...(frontier.length ? ['Pareto frontier'] : [])] },
    xAxis: {
      type: 'value',
      name: 'total compute (million units: forward 1, backward 2)',
      nameLocation: 'middle',
      nameGap: 28,
      scale: true,
    },
    yAxis: { type: 'value', name: FRONTIER_METRIC_NAMES[metric], nameLocation: 'middle', nameGap: 44, scale: true },
    series,
  };
}

/**
 * Whether a set of runs makes a frontier: some run was at a compute budget, or some strategy was
 * run at more than one budget (otherwise every line would be a single point).
 */
export function showFrontier(runs: readonly RunSummary[]): boolean {
  const finished = runs.filter((r) => r.status === 'finished');
  if (finished.some((r) => r.config.rehearsal.computeBudget !== undefined)) return true;
  const budgets = new Map<string, Set<number>>();
  for (const r of finished) {
    const set = budgets.get(r.config.rehearsal.strategy) ?? new Set<number>();
    set.add(r.config.rehearsal.budget);
    budgets.set(r.config.rehearsal.strategy, set);
  }
  return [...budgets.values()].some((s) => s.size > 1);
}

export interface FrontierChart {
  key: string;
  title: string;
  option: ChartOption;
  /** For downloads: the same chart with its title drawn in. */
  exportOption: () => ChartOption;
}

/** The Compare view's two frontier charts: retention and finetune accuracy against total compute. */
export function frontierCharts(
  runs: readonly RunSummary[],
  f0: number | null,
  colorOf?: (strategy: string, index: number) => string | undefined,
): FrontierChart[] {
  const points = frontierPoints(runs);
  return (
    [
      [
        'frontier-pretrain',
        'pretrainTestAcc',
        'Retention against total compute (mean ± sd; Pareto frontier dashed)',
        f0,
      ],
      [
        'frontier-finetune',
        'finetuneTestAcc',
        'Finetune-test accuracy against total compute (mean ± sd; Pareto frontier dashed)',
        null,
      ],
    ] as const
  ).map(([key, metric, title, level]) => ({
    key,
    title,
    option: frontierOption(points, metric, { f0: level, colorOf }),
    exportOption: () => frontierOption(points, metric, { title, f0: level, colorOf }),
  }));
}
