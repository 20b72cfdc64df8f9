// Per-task retention curves of multi-stage runs: every task's test accuracy (pretrain, stage 1's
// task, ...) over the run's global steps, with the stage boundaries marked. Pure option builders
// like options.ts: the Monitor draws one run's (or several runs') tasks, Compare the mean over each
// group's seeds. Tasks differ by dash (and, past three, by symbol); runs by colour, except a
// lone run, whose tasks take its strategy's shades (colors.ts), so it keeps its hue.
import type { RunConfig, StrategyName } from '../config.js';
import type { RunSummary, TaskPoint } from '../results.js';
import { unitYAxis, type YRange } from './axes.js';
import { legendRows, paletteColor, seriesColor } from './colors.js';
import { ANIMATION_LIMIT, type ChartOption } from './options.js';

export interface TaskCurveRun {
  /** Legend text of the run or group, e.g. "#3 mix-cd r=0.1 seed 1". */
  label: string;
  /** Task 0 = pretrain, then each stage's task (ContinualSummary.taskNames). */
  taskNames: readonly string[];
  points: readonly TaskPoint[];
  /** The run's or group's colour in the view; unset: by position. */
  color?: string;
  /** A lone run's tasks take this strategy's shades. */
  strategy?: StrategyName | null;
}

export interface TaskChartOptions {
  /** Fitted to the data or fixed at 0-1 (the views' toggle); default 0-1. */
  yRange?: YRange;
}

const DASHES = ['solid', 'dashed', 'dotted'] as const;
const SYMBOLS = ['circle', 'triangle', 'rect', 'diamond', 'pin', 'arrow'] as const;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A multi-stage run's task names as the engine names them (pretrain, then each stage); else null. */
export function taskNamesOf(config: Pick<RunConfig, 'scenarioFile'> | null | undefined): string[] | null {
  const stages = config?.scenarioFile?.spec.stages;
  return stages && stages.length > 1 ? ['pretrain', ...stages.map((s) => s.name)] : null;
}

/**
 * One point per global step, in step order. A stage's first eval (its step 0) is the previous
 * stage's last model on the same test sets, so the later of two points at one step is kept.
 */
export function taskPointsByStep(points: readonly TaskPoint[]): TaskPoint[] {
  const byStep = new Map<number, TaskPoint>();
  for (const p of points) if (finite(p.globalStep)) byStep.set(p.globalStep, p);
  return [...byStep.values()].sort((a, b) => a.globalStep - b.globalStep);
}

/** Where each stage after the first starts on the global step axis, with its name. */
export function stageBoundaries(
  points: readonly TaskPoint[],
  taskNames: readonly string[],
): { step: number; stage: number; label: string }[] {
  const starts = new Map<number, number>();
  for (const p of points) {
    if (p.stage < 2) continue;
    const at = starts.get(p.stage);
    if (at === undefined || p.globalStep < at) starts.set(p.stage, p.globalStep);
  }
  return [...starts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([stage, step]) => ({ step, stage, label: `stage ${stage}: ${taskNames[stage] ?? '?'}` }));
}

/**
 * The mean over runs (a group's seeds) of each task's accuracy at each global step where at
 * least one run has it; runs that got less far count less at the later steps.
 */
export function meanTaskSeries(runs: readonly Pick<RunSummary, 'continual'>[]): TaskPoint[] {
  const sums = new Map<number, { stage: number; step: number; sum: number[]; n: number[] }>();
  for (const run of runs) {
    for (const p of taskPointsByStep(run.continual?.taskSeries ?? [])) {
      let at = sums.get(p.globalStep);
      if (!at) {
        at = { stage: p.stage, step: p.step, sum: [], n: [] };
        sums.set(p.globalStep, at);
      }
      p.accuracy.forEach((a, t) => {
        if (!finite(a)) return;
        at.sum[t] = (at.sum[t] ?? 0) + a;
        at.n[t] = (at.n[t] ?? 0) + 1;
      });
    }
  }
  return [...sums.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([globalStep, s]) => ({
      stage: s.stage,
      step: s.step,
      globalStep,
      accuracy: Array.from({ length: s.sum.length }, (_, t) => (s.n[t] ? s.sum[t] / s.n[t] : NaN)),
    }));
}

/** Every task's test accuracy over the global steps, stage starts as dashed vertical lines. */
export function taskRetentionOption(runs: readonly TaskCurveRun[], options: TaskChartOptions = {}): ChartOption {
  const lone = runs.length === 1;
  const series: Record<string, unknown>[] = [];
  const values: number[] = [];
  runs.forEach((run, r) => {
    const points = taskPointsByStep(run.points);
    run.taskNames.forEach((task, t) => {
      const color = lone
        ? run.strategy
          ? seriesColor(run.strategy, t)
          : paletteColor(t)
        : (run.color ?? paletteColor(r));
      const data = points.map((p) => {
        const v = p.accuracy[t];
        if (finite(v)) values.push(v);
        return [p.globalStep, finite(v) ? v : null];
      });
      series.push({
        name: lone ? task : `${run.label} · ${task}`,
        type: 'line',
        data,
        connectNulls: false,
        showSymbol: points.length <= 50,
        symbol: SYMBOLS[Math.floor(t / DASHES.length) % SYMBOLS.length],
        color,
        lineStyle: { type: DASHES[t % DASHES.length] },
      });
    });
  });
  // Stage starts: the union over the runs (runs of one scenario and step count share them).
  const marks = new Map<number, string>();
  for (const run of runs) for (const b of stageBoundaries(run.points, run.taskNames)) marks.set(b.step, b.label);
  if (series.length && marks.size) {
    series[0].markLine = {
      silent: true,
      symbol: 'none',
      lineStyle: { type: 'dashed', color: '#8c959f' },
      label: { position: 'insideEndTop' },
      data: [...marks.entries()].map(([step, label]) => ({ xAxis: step, label: { formatter: label } })),
    };
  }
  const labels = series.map((s) => s.name as string);
  const legendHeight = 22 * legendRows(labels);
  const longest = runs.reduce((n, run) => Math.max(n, run.points.length), 0);
  return {
    animation: longest <= ANIMATION_LIMIT,
    grid: { left: 60, right: 24, top: legendHeight + 16, bottom: 48 },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { type: 'plain', top: 0, data: labels },
    xAxis: { type: 'value', name: 'step (all stages)', nameLocation: 'middle', nameGap: 28, min: 0 },
    yAxis: unitYAxis('task test accuracy', options.yRange ?? 'unit', values),
    series,
  };
}
