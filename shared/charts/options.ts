// Chart options for the run curves as pure functions: plain ECharts option objects, no DOM and
// no echarts import, so they are unit-tested in Node and the page only hands them to <EChart>.
import type { EvalPoint } from '../results.js';

export type ChartOption = Record<string, unknown>;

export interface CurveRun {
  /** Legend text, e.g. "#3 mix-cd r=0.1 seed 1". */
  label: string;
  points: readonly EvalPoint[];
  /** f0's pretrain-test accuracy: the level a run starts from and would ideally keep. */
  f0PretrainAcc?: number | null;
}

/** Above this many points in a series, animating each update costs more than it shows. */
export const ANIMATION_LIMIT = 500;

interface LineSpec {
  yName: string;
  /** Accuracies and shares live in [0, 1]; fixing the range keeps runs comparable across charts. */
  unitRange: boolean;
  value: (point: EvalPoint) => number | null;
  /** f0 reference lines (retention only). */
  withF0?: boolean;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function lineOption(runs: readonly CurveRun[], spec: LineSpec): ChartOption {
  const longest = runs.reduce((n, run) => Math.max(n, run.points.length), 0);
  const series = runs.map((run) => {
    const line: Record<string, unknown> = {
      name: run.label,
      type: 'line',
      showSymbol: run.points.length <= 50,
      // New arrays: the caller's points are left as they are (they may be reactive state).
      // Missing values (no rehearsal since the last eval, NaN from JSON) are gaps, not zeros.
      data: run.points.map((p) => {
        const v = spec.value(p);
        return [p.step, finite(v) ? v : null];
      }),
      connectNulls: false,
    };
    if (spec.withF0 && finite(run.f0PretrainAcc)) {
      line.markLine = {
        silent: true,
        symbol: 'none',
        lineStyle: { type: 'dashed' },
        label: { formatter: `f0 ${run.f0PretrainAcc.toFixed(3)}`, position: 'insideEndTop' },
        data: [{ yAxis: run.f0PretrainAcc }],
      };
    }
    return line;
  });
  return {
    animation: longest <= ANIMATION_LIMIT,
    grid: { left: 56, right: 24, top: 48, bottom: 48 },
    // richText: the tooltip is drawn on the canvas; HTML tooltips use inline style attributes the page's CSP refuses.
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { type: 'scroll', top: 0, data: runs.map((r) => r.label) },
    xAxis: { type: 'value', name: 'finetune step', nameLocation: 'middle', nameGap: 28, min: 0 },
    yAxis: spec.unitRange
      ? { type: 'value', name: spec.yName, min: 0, max: 1 }
      : { type: 'value', name: spec.yName, scale: true },
    series,
  };
}

/** Pretrain-test accuracy over finetune steps: how much of f0's skill each run keeps. */
export function retentionCurveOption(runs: readonly CurveRun[]): ChartOption {
  return lineOption(runs, {
    yName: 'pretrain-test accuracy',
    unitRange: true,
    value: (p) => p.pretrainTestAcc,
    withF0: true,
  });
}

/** Finetune-test accuracy over finetune steps: the new task being learnt. */
export function finetuneCurveOption(runs: readonly CurveRun[]): ChartOption {
  return lineOption(runs, { yName: 'finetune-test accuracy', unitRange: true, value: (p) => p.finetuneTestAcc });
}

/** Collateral-damage rate: share of f0-correct pretrain-test samples that f_t now gets wrong. */
export function cdRateOption(runs: readonly CurveRun[]): ChartOption {
  return lineOption(runs, { yName: 'CD rate', unitRange: true, value: (p) => p.cdRate });
}

/** Rehearsal precision: share of rehearsed samples that were CD when rehearsed. */
export function precisionOption(runs: readonly CurveRun[]): ChartOption {
  return lineOption(runs, {
    yName: 'precision since previous eval',
    unitRange: true,
    value: (p) => p.rehearsalPrecision,
  });
}

/** Points drawn in an option (all series); the page exposes it so tests can watch a chart grow. */
export function pointCount(option: ChartOption): number {
  const series = option.series;
  if (!Array.isArray(series)) return 0;
  return series.reduce((n: number, s: { data?: unknown[] }) => n + (Array.isArray(s.data) ? s.data.length : 0), 0);
}
