// Comparing runs: seeds of one setting pooled into a group (mean and ± sd bands over steps), and
// the study's trade-off as a Pareto scatter with error bars. Pure option builders like
// options.ts: no DOM, no echarts import, unit-tested in Node.
import { groupRuns, type RunGroup } from '../grouping.js';
import type { EvalPoint, RunSummary } from '../results.js';
import { meanSd, type StudyCell } from '../studyTable.js';
import { ANIMATION_LIMIT, type ChartOption } from './options.js';
import { legendRows, paletteColor, strategyColor } from './colors.js';
import type { StrategyName } from '../config.js';
import { extent, niceAxis, stepZoom, unitYAxis, ZOOM_BOTTOM, type YRange } from './axes.js';

/** Runs that differ only in their seed (duplicates of a seed set apart). */
export type SettingsGroup = RunGroup<RunSummary>;

export type BandMetric = 'pretrainTestAcc' | 'finetuneTestAcc' | 'cdRate' | 'rehearsalPrecision';

export interface BandPoint {
  step: number;
  mean: number;
  sd: number;
  /** Runs with a value at this step. */
  n: number;
  lower: number;
  upper: number;
}

export interface Band {
  key: string;
  label: string;
  /** Runs in the group (seeds). */
  n: number;
  points: BandPoint[];
}

/** Colours for series without a strategy, by position: colors.ts's palette (one for every chart). */
export const PALETTE: readonly string[] = Array.from({ length: 9 }, (_, i) => paletteColor(i));

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export { baseLabel, settingsKey } from '../grouping.js';

/** Groups runs by every setting except the seed (shared/grouping.ts: duplicates set apart). */
export function groupBySettings(runs: readonly RunSummary[]): SettingsGroup[] {
  return groupRuns(runs);
}

/**
 * Per group and eval step: mean and sample sd over the group's runs that have a finite value at
 * that step (runs with fewer or other eval steps just count less there). `clamp` keeps the band
 * inside [lo, hi] (accuracies and rates live in [0, 1]).
 */
export function bandSeries(
  groups: readonly SettingsGroup[],
  metric: BandMetric,
  clamp: [number, number] | null = [0, 1],
): Band[] {
  return groups.map((group) => {
    const byStep = new Map<number, number[]>();
    for (const run of group.runs) {
      for (const p of (run.series ?? []) as readonly EvalPoint[]) {
        const v = p[metric];
        if (!finite(v) || !finite(p.step)) continue;
        const values = byStep.get(p.step);
        if (values) values.push(v);
        else byStep.set(p.step, [v]);
      }
    }
    const points = [...byStep.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([step, values]) => {
        const { mean, sd, n } = meanSd(values);
        let lower = mean - sd;
        let upper = mean + sd;
        if (clamp) {
          lower = Math.min(Math.max(lower, clamp[0]), clamp[1]);
          upper = Math.min(Math.max(upper, clamp[0]), clamp[1]);
        }
        return { step, mean, sd, n, lower, upper };
      });
    return { key: group.key, label: group.label, n: group.runs.length, points };
  });
}

export interface BandChartSpec {
  /** Drawn inside the chart (downloads); leave out where the page already captions it. */
  title?: string;
  yName: string;
  /** f0's pretrain-test accuracy: a dashed reference line (retention). */
  f0?: number | null;
  /** Fix y to [0, 1] (default true: accuracies and rates); `yRange` says it in the views' terms. */
  unitRange?: boolean;
  /** `unit`: 0-1; `auto`: fitted to the bands, the means and f0 (default: from `unitRange`). */
  yRange?: YRange;
  /** dataZoom over the steps (the retention chart). */
  zoom?: boolean;
  /** A band's colour by its group key (colors.ts groupColors), the same in every chart. */
  colorOf?: (key: string) => string | undefined;
}

/**
 * A mean line per group and a shaded ± sd band behind it, drawn with the stacked-area trick: an
 * invisible line at the lower edge and, stacked on it, a filled area of height upper - lower.
 * Both band series carry the group's name, so the legend shows and hides a group as one.
 */
export function bandChartOption(bands: readonly Band[], spec: BandChartSpec): ChartOption {
  const longest = bands.reduce((n, b) => Math.max(n, b.points.length), 0);
  const series: Record<string, unknown>[] = [];
  bands.forEach((band, i) => {
    const color = spec.colorOf?.(band.key) ?? PALETTE[i % PALETTE.length];
    const stack = `band-${i}`;
    const common = {
      name: band.label,
      type: 'line',
      showSymbol: false,
      symbol: 'none',
      silent: true,
      stack,
      color,
      tooltip: { show: false },
    };
    series.push({
      ...common,
      id: `${stack}-lower`,
      lineStyle: { opacity: 0 },
      data: band.points.map((p) => [p.step, p.lower]),
    });
    series.push({
      ...common,
      id: `${stack}-width`,
      lineStyle: { opacity: 0 },
      areaStyle: { color, opacity: 0.2 },
      data: band.points.map((p) => [p.step, p.upper - p.lower]),
    });
    const mean: Record<string, unknown> = {
      id: `${stack}-mean`,
      name: band.label,
      type: 'line',
      color,
      showSymbol: band.points.length <= 50,
      data: band.points.map((p) => [p.step, p.mean]),
    };
    if (i === 0 && finite(spec.f0)) {
      mean.markLine = {
        silent: true,
        symbol: 'none',
        lineStyle: { type: 'dashed', color: '#666' },
        label: { formatter: `f0 ${spec.f0.toFixed(3)}`, position: 'insideEndTop' },
        data: [{ yAxis: spec.f0 }],
      };
    }
    series.push(mean);
  });
  const range: YRange = spec.yRange ?? (spec.unitRange === false ? 'auto' : 'unit');
  const top = spec.title ? 24 : 0;
  const labels = bands.map((b) => b.label);
  // A plain legend wraps onto as many rows as its labels need (a scrolling one paged "1/2" and cut
  // labels); the plot starts below it, and the y-axis title runs along the axis, clear of the legend.
  const legendHeight = 22 * legendRows(labels);
  const values = bands.flatMap((b) => b.points.flatMap((p) => [p.lower, p.upper, p.mean]));
  if (finite(spec.f0)) values.push(spec.f0);
  return {
    animation: longest * Math.max(1, bands.length) <= ANIMATION_LIMIT,
    ...titled(spec.title),
    grid: { left: 60, right: 24, top: top + legendHeight + 16, bottom: spec.zoom ? ZOOM_BOTTOM : 48 },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    legend: { type: 'plain', top, data: labels },
    xAxis: { type: 'value', name: 'finetune step', nameLocation: 'middle', nameGap: 28, min: 0 },
    yAxis: unitYAxis(spec.yName, range, values),
    ...(spec.zoom ? { dataZoom: stepZoom() } : {}),
    series,
  };
}

function titled(text: string | undefined): ChartOption {
  return text ? { title: { text, left: 'center', top: 0, textStyle: { fontSize: 14 } } } : {};
}

export interface ParetoPoint {
  /** The group's key (shared/grouping.ts), for its colour. */
  key: string;
  strategy: string;
  budget: number;
  label: string;
  n: number;
  x: number;
  y: number;
  xSd: number;
  ySd: number;
}

/** One point per strategy x budget with finite means: final finetune-test (x) vs pretrain-test (y). */
export function paretoPoints(cells: readonly StudyCell[]): ParetoPoint[] {
  return cells
    .filter((c) => finite(c.finetuneTestAcc.mean) && finite(c.pretrainTestAcc.mean))
    .map((c) => ({
      key: c.key ?? `${c.strategy}|${c.budget}`,
      strategy: c.strategy,
      budget: c.budget,
      // The group's label (it names what else differs, e.g. steps); built cells may lack one.
      label: c.label || (c.strategy === 'none' ? 'none' : `${c.strategy} r=${c.budget}`),
      n: c.finetuneTestAcc.n,
      x: c.finetuneTestAcc.mean,
      y: c.pretrainTestAcc.mean,
      xSd: finite(c.finetuneTestAcc.sd) ? c.finetuneTestAcc.sd : 0,
      ySd: finite(c.pretrainTestAcc.sd) ? c.pretrainTestAcc.sd : 0,
    }));
}

/** The minimal part of ECharts' custom-series API renderItem uses (typed here to stay echarts-free). */
interface RenderApi {
  value(dimension: number): number;
  coord(point: [number, number]): number[];
  /** The series' visual, e.g. 'color'. */
  visual(key: string): unknown;
}

/** Half the length of an error bar's end cap, px. */
export const CAP = 4;
/** The Pareto points' symbol size, px. */
export const PARETO_SYMBOL = 10;
/**
 * Where a point's label goes, from the top-left corner of its symbol (ECharts' array position):
 * up and to the right, clear of its own bars, which cross at the point's centre (the vertical one
 * and the caps of the horizontal one stay within CAP of it). Text 12 px, lines 14 px.
 */
export const PARETO_LABEL = { position: [PARETO_SYMBOL / 2 + CAP + 3, -16], fontSize: 12, lineHeight: 14 } as const;

/** Draws one point's error bars: a horizontal and a vertical segment with end caps. */
export function renderErrorBar(_params: unknown, api: RenderApi): Record<string, unknown> {
  const [x, y, xLo, xHi, yLo, yHi] = [0, 1, 2, 3, 4, 5].map((d) => api.value(d));
  const left = api.coord([xLo, y]);
  const right = api.coord([xHi, y]);
  const bottom = api.coord([x, yLo]);
  const top = api.coord([x, yHi]);
  // Lines have no fill: the stroke must be set, or the bars are invisible.
  const style = { stroke: api.visual('color'), lineWidth: 1.5 };
  const seg = (x1: number, y1: number, x2: number, y2: number) => ({ type: 'line', shape: { x1, y1, x2, y2 }, style });
  return {
    type: 'group',
    children: [
      seg(left[0], left[1], right[0], right[1]),
      seg(left[0], left[1] - CAP, left[0], left[1] + CAP),
      seg(right[0], right[1] - CAP, right[0], right[1] + CAP),
      seg(bottom[0], bottom[1], top[0], top[1]),
      seg(bottom[0] - CAP, bottom[1], bottom[0] + CAP, bottom[1]),
      seg(top[0] - CAP, top[1], top[0] + CAP, top[1]),
    ],
  };
}

/**
 * An accuracy axis of the trade-off plot: the bars' ends inside with room for the labels, round
 * ticks (1, 2 or 5 x 10^k) about five to the axis, and labels of the step's decimals. At least 0.02
 * wide: final accuracies 0.7854 and 0.7878 are one point on a 0.77-0.80 axis, not ticks 0.7854 ... 0.7878.
 */
function paretoAxis(name: string, nameGap: number, values: number[]): ChartOption {
  const range = extent(values) ?? [0, 1];
  const axis = niceAxis(range[0], range[1], { clamp: [0, 1], minSpan: 0.02, pad: 0.15 });
  return {
    type: 'value',
    name,
    nameLocation: 'middle',
    nameGap,
    min: axis.min,
    max: axis.max,
    interval: axis.interval,
    axisLabel: { formatter: (v: number) => v.toFixed(axis.decimals) },
  };
}

/**
 * The study's trade-off: per strategy x budget, mean final finetune-test accuracy (x) against mean
 * final pretrain-test accuracy (y), ± sd bars on both axes (a custom series), labelled by budget.
 * Up and to the right is better on both.
 */
export function paretoOption(
  cells: readonly StudyCell[],
  options: {
    title?: string;
    colorOf?: (strategy: string, index: number) => string | undefined;
    /** A point's colour by its group key: the same as the group's curves (colors.ts groupColors). */
    pointColorOf?: (key: string) => string | undefined;
  } = {},
): ChartOption {
  const points = paretoPoints(cells);
  const itemColor = (p: ParetoPoint) => {
    const color = options.pointColorOf?.(p.key);
    return color ? { itemStyle: { color } } : {};
  };
  const strategies = [...new Set(points.map((p) => p.strategy))];
  const series: Record<string, unknown>[] = [];
  strategies.forEach((strategy, i) => {
    const color = options.colorOf?.(strategy, i) ?? strategyColor(strategy as StrategyName);
    const mine = points.filter((p) => p.strategy === strategy);
    series.push({
      id: `pareto-${strategy}`,
      name: strategy,
      type: 'scatter',
      color,
      symbolSize: PARETO_SYMBOL,
      label: {
        show: true,
        ...PARETO_LABEL,
        align: 'left',
        verticalAlign: 'top',
        formatter: '{b}',
        // A halo keeps the text legible where another point's bar or a grid line runs behind it.
        textBorderColor: '#fff',
        textBorderWidth: 3,
      },
      // Labels of points close together move apart instead of printing over each other.
      labelLayout: { moveOverlap: 'shiftY' },
      data: mine.map((p) => ({ name: `${p.label} (n=${p.n})`, value: [p.x, p.y], ...itemColor(p) })),
    });
    series.push({
      id: `pareto-${strategy}-sd`,
      name: strategy,
      type: 'custom',
      color,
      silent: true,
      renderItem: renderErrorBar,
      // Every dimension on its axis, so the axis range includes the ends of the bars.
      encode: { x: [0, 2, 3], y: [1, 4, 5] },
      data: mine.map((p) => {
        const value = [p.x, p.y, p.x - p.xSd, p.x + p.xSd, p.y - p.ySd, p.y + p.ySd];
        const color = itemColor(p);
        return 'itemStyle' in color ? { value, ...color } : value;
      }),
      z: 1,
    });
  });
  const top = options.title ? 24 : 0;
  return {
    animation: false,
    ...titled(options.title),
    grid: { left: 64, right: 120, top: top + 40, bottom: 48 },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    legend: { top, data: strategies },
    xAxis: paretoAxis(
      'final finetune-test accuracy',
      28,
      points.flatMap((p) => [p.x - p.xSd, p.x + p.xSd]),
    ),
    yAxis: paretoAxis(
      'final pretrain-test accuracy',
      48,
      points.flatMap((p) => [p.y - p.ySd, p.y + p.ySd]),
    ),
    series,
  };
}
