// Axis ranges, ticks, zoom and legend room for the chart builders: pure, no echarts import.
//
// - A fixed 0-1 axis keeps charts comparable but flattens a 2-point gap (0.831 vs 0.855) into one
//   line; `auto` fits the data (and f0's line) with nice round ticks, clamped to what the metric
//   can take. Each view offers both (YRange).
// - Ticks are round numbers (1, 2 or 5 x 10^k) with as many decimals as the step needs, never
//   0.7854 ... 0.7878.
// - Zoom is ECharts' dataZoom: a slider under the plot and, inside it, drag to pan and
//   Ctrl + wheel to zoom (a plain wheel scrolls the page, which holds several charts).
import type { ChartOption } from './options.js';

/** `unit`: the axis fixed at 0-1 (accuracies, rates, shares); `auto`: fitted to the data. */
export type YRange = 'unit' | 'auto';
export const Y_RANGES: readonly YRange[] = ['auto', 'unit'];

export interface NiceAxis {
  min: number;
  max: number;
  /** Between two ticks: 1, 2 or 5 x 10^k. */
  interval: number;
  /** Decimals the tick labels need to tell the ticks apart (and no more). */
  decimals: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The round step (1, 2 or 5 x 10^k) nearest above span / ticks. */
export function niceStep(span: number, ticks = 5): number {
  const raw = span / Math.max(1, ticks);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const mantissa = raw / power;
  const nice = mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10;
  return nice * power;
}

/** Decimals of a 1/2/5 x 10^k step: 0.05 -> 2, 0.2 -> 1, 5 -> 0. */
export function stepDecimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Rounds away binary noise (0.30000000000000004) at the step's decimals. */
const round = (value: number, decimals: number) => Number(value.toFixed(Math.min(20, decimals + 2)));

/**
 * An axis over [lo, hi] with round ends and ticks: `pad` (a share of the span) on both sides,
 * at least `minSpan` wide (a tiny spread is not zoomed into noise), within `clamp`.
 */
export function niceAxis(
  lo: number,
  hi: number,
  options: { ticks?: number; pad?: number; minSpan?: number; clamp?: [number, number] | null } = {},
): NiceAxis {
  const { ticks = 5, pad = 0.05, minSpan = 0, clamp = null } = options;
  if (!finite(lo) || !finite(hi)) return { min: 0, max: 1, interval: 0.2, decimals: 1 };
  if (lo > hi) [lo, hi] = [hi, lo];
  let span = hi - lo;
  const widest = clamp ? clamp[1] - clamp[0] : Infinity;
  const least = Math.min(widest, Math.max(minSpan, span === 0 ? Math.max(Math.abs(hi) * 0.02, 1e-6) : 0));
  if (span < least) {
    const mid = (lo + hi) / 2;
    lo = mid - least / 2;
    hi = mid + least / 2;
    span = least;
  }
  lo -= span * pad;
  hi += span * pad;
  if (clamp) {
    // Keep the width where the data sits at an end of the range (an accuracy near 1).
    if (lo < clamp[0]) [lo, hi] = [clamp[0], Math.min(clamp[1], hi + (clamp[0] - lo))];
    if (hi > clamp[1]) [lo, hi] = [Math.max(clamp[0], lo - (hi - clamp[1])), clamp[1]];
  }
  const interval = niceStep(hi - lo, ticks);
  const decimals = stepDecimals(interval);
  let min = round(Math.floor(lo / interval + 1e-9) * interval, decimals);
  let max = round(Math.ceil(hi / interval - 1e-9) * interval, decimals);
  if (clamp) {
    min = Math.max(min, clamp[0]);
    max = Math.min(max, clamp[1]);
  }
  if (max <= min) max = round(min + interval, decimals);
  return { min, max, interval: round(interval, decimals), decimals };
}

/** Finite values of a chart's data, for fitting an axis to them. */
export function extent(values: Iterable<number | null | undefined>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!finite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/**
 * A value axis for a metric in [0, 1]: fixed 0-1, or fitted to `values` with round ticks and
 * labels of the step's decimals. The title runs along the axis (middle, rotated), so it never
 * meets the legend above the plot.
 */
export function unitYAxis(name: string, range: YRange, values: Iterable<number | null | undefined>): ChartOption {
  const title = { type: 'value', name, nameLocation: 'middle', nameGap: 42 };
  const fitted = range === 'auto' ? extent(values) : null;
  // The same keys either way, so a chart switched between the two (ECharts merges options) keeps none of the other's.
  const axis = fitted
    ? niceAxis(fitted[0], fitted[1], { clamp: [0, 1], minSpan: 0.02 })
    : { min: 0, max: 1, interval: 0.2, decimals: 1 };
  return {
    ...title,
    min: axis.min,
    max: axis.max,
    interval: axis.interval,
    axisLabel: { formatter: (v: number) => v.toFixed(axis.decimals) },
  };
}

/** Room under the plot for the x-axis title and, when zoomable, the slider below it. */
export const ZOOM_BOTTOM = 84;

/**
 * dataZoom over the finetune steps: a slider under the plot, and inside the plot drag to pan and
 * Ctrl + wheel to zoom. filterMode 'none' keeps every point (the ± sd bands are stacked pairs).
 */
export function stepZoom(): Record<string, unknown>[] {
  return [
    {
      type: 'inside',
      id: 'zoom-inside',
      xAxisIndex: 0,
      filterMode: 'none',
      zoomOnMouseWheel: 'ctrl',
      moveOnMouseWheel: false,
    },
    { type: 'slider', id: 'zoom-slider', xAxisIndex: 0, filterMode: 'none', height: 18, bottom: 8 },
  ];
}

/**
 * A zoomable chart as a file: the zoom window shown on the page (percent of the steps; none: all
 * of them) kept, the slider left out and its room given back to the plot.
 */
export function forFile(option: ChartOption, window?: { start?: number; end?: number } | null): ChartOption {
  if (!Array.isArray(option.dataZoom)) return option;
  const grid = option.grid as Record<string, unknown> | undefined;
  return {
    ...option,
    ...(grid?.bottom === ZOOM_BOTTOM ? { grid: { ...grid, bottom: 48 } } : {}),
    dataZoom: [
      {
        type: 'inside',
        xAxisIndex: 0,
        filterMode: 'none',
        start: window?.start ?? 0,
        end: window?.end ?? 100,
      },
    ],
  };
}
