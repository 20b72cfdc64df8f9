// Chart options for the run curves as pure functions: plain ECharts option objects, no DOM and
// no echarts import, so they are unit-tested in Node and the page only hands them to <EChart>.
import type { EvalPoint } from '../results.js';
import { stepZoom, unitYAxis, ZOOM_BOTTOM, type YRange } from './axes.js';
import { legendRows } from './colors.js';

export type ChartOption = Record<string, unknown>;

export interface CurveRun {
  /** Legend text, e.g. "#3 mix-cd r=0.1 seed 1". */
  label: string;
  points: readonly EvalPoint[];
  /** f0's pretrain-test accuracy: the level a run starts from and would ideally keep. */
  f0PretrainAcc?: number | null;
  /** The run's colour in every chart (colors.ts runColors); unset: ECharts' order. */
  color?: string;
}

/** Above this many points in a series, animating each update costs more than it shows. */
export const ANIMATION_LIMIT = 500;

/** How a view draws its curves: the y range (fixed 0-1 or fitted, the view's toggle). */
export interface CurveOptions {
  /** Default `unit` (0-1). */
  yRange?: YRange;
}

interface LineSpec extends CurveOptions {
  yName: string;
  /** dataZoom over the steps (the retention chart). */
  zoom?: boolean;
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
      ...(run.color ? { color: run.color } : {}),
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
  const labels = runs.map((r) => r.label);
  // A plain legend wraps onto the rows its labels need (a scrolling one paged "1/2" and cut
  // labels); the plot starts below it, and the y-axis title runs along the axis, clear of it.
  const legendHeight = 22 * legendRows(labels);
  const values = runs.flatMap((run) => [
    ...run.points.map(spec.value),
    ...(spec.withF0 && finite(run.f0PretrainAcc) ? [run.f0PretrainAcc] : []),
  ]);
  return {
    animation: longest <= ANIMATION_LIMIT,
    grid: { left: 60, right: 24, top: legendHeight + 16, bottom: spec.zoom ? ZOOM_BOTTOM : 48 },
    // richText: the tooltip is drawn on the canvas; HTML tooltips use inline style attributes the page's CSP refuses.
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { type: 'plain', top: 0, data: labels },
    xAxis: { type: 'value', name: 'finetune step', nameLocation: 'middle', nameGap: 28, min: 0 },
    yAxis: unitYAxis(spec.yName, spec.yRange ?? 'unit', values),
    ...(spec.zoom ? { dataZoom: stepZoom() } : {}),
    series,
  };
}

/** Pretrain-test accuracy over finetune steps: how much of f0's skill each run keeps; zoomable. */
export function retentionCurveOption(runs: readonly CurveRun[], options: CurveOptions = {}): ChartOption {
  return lineOption(runs, {
    ...options,
    yName: 'pretrain-test accuracy',
    value: (p) => p.pretrainTestAcc,
    withF0: true,
    zoom: true,
  });
}

/** Finetune-test accuracy over finetune steps: the new task being learnt. */
export function finetuneCurveOption(runs: readonly CurveRun[], options: CurveOptions = {}): ChartOption {
  return lineOption(runs, { ...options, yName: 'finetune-test accuracy', value: (p) => p.finetuneTestAcc });
}

/** Collateral-damage rate: share of f0-correct pretrain-test samples that f_t now gets wrong. */
export function cdRateOption(runs: readonly CurveRun[], options: CurveOptions = {}): ChartOption {
  return lineOption(runs, { ...options, yName: 'CD rate', value: (p) => p.cdRate });
}

/** Rehearsal precision: share of rehearsed samples that were CD when rehearsed. */
export function precisionOption(runs: readonly CurveRun[], options: CurveOptions = {}): ChartOption {
  return lineOption(runs, {
    ...options,
    yName: 'precision since previous eval',
    value: (p) => p.rehearsalPrecision,
  });
}

/** Points drawn in an option (all series); the page exposes it so tests can watch a chart grow. */
export function pointCount(option: ChartOption): number {
  const series = option.series;
  if (!Array.isArray(series)) return 0;
  return series.reduce((n: number, s: { data?: unknown[] }) => n + (Array.isArray(s.data) ? s.data.length : 0), 0);
}
