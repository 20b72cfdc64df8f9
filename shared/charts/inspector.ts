// The sample inspector's charts: mix-cd's bins over time, its estimates against the probe's true
// CD rates, where the rehearsal budget went, two runs' rehearsals per class and per bin, and one
// sample's story. Pure option builders like options.ts and compare.ts: no DOM, no echarts import,
// unit-tested in Node; the page hands the options to <EChart>.
import type { BinTrace, Category } from '../results.js';
import {
  CATEGORIES,
  CATEGORY_LABELS,
  budgetShares,
  pearson,
  shares,
  type BudgetWindow,
  type RunInspection,
  type SampleStory,
} from '../inspect.js';
import type { StrategyName } from '../config.js';
import { paletteColor, runColors, strategyColor } from './colors.js';
import { ANIMATION_LIMIT, type ChartOption } from './options.js';

/** One colour per category, the same in every chart and on the gallery's badges. */
export const CATEGORY_COLORS: Record<Category, string> = {
  'collateral-damage': '#ee6666',
  unforgotten: '#91cc75',
  unlearned: '#9aa0a6',
  'newly-learned': '#5470c6',
};

/** The pretrain set as a reference series: grey, so the runs keep the compare view's colours. */
export const REFERENCE_COLOR = '#b8bec6';
export const REFERENCE_LABEL = 'pretrain set (probe)';

/** A tooltip or label formatter's view of one data item. */
interface ItemParams {
  value?: unknown;
  seriesName?: string;
  name?: string;
  dataIndex?: number;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const orNull = (v: unknown): number | null => (finite(v) ? v : null);

/** 0.2345 -> "23.4%"; missing values as a dash. */
export function percent(value: number | null | undefined, digits = 1): string {
  return finite(value) ? `${(value * 100).toFixed(digits)}%` : '—';
}

/** "run 12 · mix-cd r=0.1" (no budget for plain finetuning, which rehearses nothing). */
export function runLabel(runId: number, strategy: StrategyName, budget: number): string {
  return strategy === 'none' ? `run ${runId} · none` : `run ${runId} · ${strategy} r=${budget}`;
}

/** "bin 3", or with what it holds: "bin 3: class 0 (T-shirt/top), prior loss 0–10th pct (0)". */
export function binLabel(bin: number, labels?: readonly string[]): string {
  if (bin < 0) return 'outside every bin';
  return labels?.[bin] ? `bin ${bin}: ${labels[bin]}` : `bin ${bin}`;
}

/** Longer bin names than this stay out of the axis (tooltips still say them). */
const AXIS_NAME_LIMIT = 18;

/**
 * Names on a bin axis (named "bin"): the host's short names (class rule: "class 3 (Dress)") where they fit,
 * else the bin's number.
 */
export function binAxisLabels(bins: number, labels?: readonly string[]): string[] {
  const fit =
    !!labels &&
    labels.length >= bins &&
    labels.slice(0, bins).every((l) => l.length > 0 && l.length <= AXIS_NAME_LIMIT);
  return Array.from({ length: bins }, (_, k) => (fit ? labels![k] : String(k)));
}

/**
 * About 20 labels per axis (100 bins' numbers would overprint each other), but a named category
 * ("outside") always keeps its label.
 */
export function thinnedLabels(labels: readonly string[]): {
  interval: number | ((index: number, value: string) => boolean);
} {
  if (labels.length <= 24) return { interval: 0 };
  const every = Math.ceil(labels.length / 20);
  return { interval: (index, value) => index % every === 0 || !/^\d+$/.test(value) };
}

const fixed = (v: unknown, digits = 3) => (finite(v) ? v.toFixed(digits) : '—');

/** An axis tooltip whose heading is the full name of the category under the pointer. */
function axisTooltip(names: readonly string[], format: (v: unknown) => string) {
  return (params: ItemParams | ItemParams[]): string => {
    const list = Array.isArray(params) ? params : [params];
    const i = list[0]?.dataIndex ?? 0;
    return [names[i] ?? '', ...list.map((p) => `${p.seriesName}: ${format(p.value)}`)].join('\n');
  };
}

function titled(text: string | undefined): ChartOption {
  return text ? { title: { text, left: 'center', top: 0, textStyle: { fontSize: 14 } } } : {};
}

export interface BinChartSpec {
  /** Drawn inside the chart (downloads); the page captions it instead. */
  title?: string;
  /** What each bin holds (BinPartition.labels): on the axis where short, in the tooltips always. */
  binLabels?: readonly string[];
  /**
   * The estimates' correlation sentence as the subtitle (default true; the page may say it beside the chart
   * instead).
   */
  correlationInTitle?: boolean;
}

// --- bins over time ---

/**
 * Sampling probability per bin (y) at every eval (x) as a heatmap. Each cell carries
 * [x index, bin, probability, alpha, size] so the tooltip can say all three; cells without a
 * finite probability are left out (drawn empty) rather than coloured as zero.
 */
export function binHeatmapOption(traces: readonly BinTrace[], spec: BinChartSpec = {}): ChartOption {
  const steps = traces.map((t) => String(t.step));
  const bins = traces.reduce((n, t) => Math.max(n, t.probability.length), 0);
  const labels = binAxisLabels(bins, spec.binLabels);
  const data: (number | null)[][] = [];
  let max = 0;
  traces.forEach((trace, x) => {
    trace.probability.forEach((p, k) => {
      if (!finite(p)) return;
      max = Math.max(max, p);
      data.push([x, k, p, orNull(trace.alpha[k]), orNull(trace.size[k])]);
    });
  });
  const tooltip = (params: ItemParams): string => {
    const [x, k, p, alpha, size] = (params.value ?? []) as (number | null)[];
    return [
      `${binLabel(k ?? 0, spec.binLabels)} at step ${steps[x ?? 0] ?? ''}`,
      `sampling probability ${finite(p) ? p.toFixed(4) : '—'}`,
      `alpha (estimated CD rate) ${finite(alpha) ? alpha.toFixed(3) : '—'}`,
      `size ${finite(size) ? size : '—'}`,
    ].join('\n');
  };
  const top = spec.title ? 24 : 0;
  // Room for the longest bin name on the y axis (about 7 px a character), and the axis name beside it.
  const left = Math.max(64, 7 * labels.reduce((n, l) => Math.max(n, l.length), 0) + 32);
  return {
    animation: data.length <= ANIMATION_LIMIT,
    ...titled(spec.title),
    grid: { left, right: 96, top: top + 16, bottom: 48 },
    tooltip: { trigger: 'item', renderMode: 'richText', formatter: tooltip },
    xAxis: {
      type: 'category',
      name: 'eval step',
      nameLocation: 'middle',
      nameGap: 28,
      data: steps,
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      name: 'bin',
      nameLocation: 'middle',
      nameGap: left - 20,
      data: labels,
      splitArea: { show: false },
      axisLabel: thinnedLabels(labels),
    },
    visualMap: {
      type: 'continuous',
      dimension: 2,
      min: 0,
      // All-zero (or empty) traces still need a range to draw.
      max: max > 0 ? max : 1,
      calculable: true,
      orient: 'vertical',
      right: 8,
      top: 'middle',
      itemHeight: 160,
      text: ['p', ''],
      formatter: (v: number) => v.toFixed(3),
      inRange: { color: ['#f7fbff', '#9ecae1', '#3182bd', '#08306b'] },
    },
    series: [
      {
        id: 'bin-probability',
        name: 'sampling probability',
        type: 'heatmap',
        data,
        emphasis: { itemStyle: { borderColor: '#1b1f24', borderWidth: 1 } },
      },
    ],
  };
}

/** The trace of a chosen eval: the one at that step, else the last one before it, else the first. */
export function traceAt(traces: readonly BinTrace[], step: number): BinTrace | null {
  let found: BinTrace | null = null;
  for (const t of traces) if (t.step <= step && (!found || t.step >= found.step)) found = t;
  return found ?? traces[0] ?? null;
}

/** How well mix-cd's estimates follow the probe's true CD rates over the bins, as one sentence. */
export function binCorrelation(trace: BinTrace | null): { r: number | null; n: number; text: string } {
  if (!trace) return { r: null, n: 0, text: 'No bin estimates: this run has no mix-cd bins.' };
  if (!trace.trueCdRate)
    return { r: null, n: 0, text: `No true CD rate per bin at step ${trace.step}: the run has no probe subset.` };
  const { r, n } = pearson(trace.alpha, trace.trueCdRate);
  if (r !== null) return { r, n, text: `Pearson r = ${r.toFixed(2)} over ${n} bins at step ${trace.step}` };
  const why =
    n < 3
      ? `only ${n} ${n === 1 ? 'bin has' : 'bins have'} probe samples`
      : 'the estimates or the true rates do not vary over the bins';
  return { r: null, n, text: `No Pearson r at step ${trace.step}: ${why}.` };
}

/**
 * Per bin at one eval: mix-cd's alpha beside the true CD rate measured on the probe (bins
 * without probe samples are gaps, not zeros), and the bin's size on a second axis. The
 * correlation sentence is the chart's subtitle, so a downloaded figure keeps it.
 */
export function binEstimatesOption(trace: BinTrace, spec: BinChartSpec = {}): ChartOption {
  const bins = trace.alpha.length;
  const labels = binAxisLabels(bins, spec.binLabels);
  const names = labels.map((_, k) => binLabel(k, spec.binLabels));
  const truth = trace.trueCdRate ?? [];
  const subtext = spec.correlationInTitle === false ? '' : binCorrelation(trace).text;
  const top = (spec.title ? 22 : 0) + (subtext ? 22 : 0);
  return {
    animation: 3 * bins <= ANIMATION_LIMIT,
    title: {
      text: spec.title ?? '',
      subtext,
      left: 'center',
      top: 0,
      textStyle: { fontSize: 14 },
      subtextStyle: { fontSize: 12, color: '#57606a' },
    },
    grid: { left: 56, right: 64, top: top + 40, bottom: 48 },
    tooltip: { trigger: 'axis', renderMode: 'richText', formatter: axisTooltip(names, (v) => fixed(v)) },
    legend: { type: 'scroll', top, data: ['alpha (estimate)', 'true CD rate (probe)', 'bin size'] },
    xAxis: {
      type: 'category',
      name: 'bin',
      nameLocation: 'middle',
      nameGap: 28,
      data: labels,
      axisLabel: thinnedLabels(labels),
    },
    yAxis: [
      { type: 'value', name: 'CD rate', min: 0 },
      { type: 'value', name: 'bin size', min: 0, splitLine: { show: false } },
    ],
    series: [
      {
        id: 'alpha',
        name: 'alpha (estimate)',
        type: 'bar',
        color: strategyColor('mix-cd'),
        data: trace.alpha.map(orNull),
      },
      {
        id: 'true-cd',
        name: 'true CD rate (probe)',
        type: 'bar',
        color: CATEGORY_COLORS['collateral-damage'],
        data: labels.map((_, k) => orNull(truth[k])),
      },
      {
        id: 'size',
        name: 'bin size',
        type: 'line',
        yAxisIndex: 1,
        color: REFERENCE_COLOR,
        step: 'middle',
        symbol: 'none',
        lineStyle: { width: 1 },
        data: labels.map((_, k) => orNull(trace.size[k])),
      },
    ],
  };
}

// --- where the budget went ---

export interface BudgetRun {
  label: string;
  windows: readonly BudgetWindow[];
  /** The run's colour in every chart (colors.ts runColors); unset: by position. */
  color?: string;
}

export interface BudgetTable {
  categories: readonly Category[];
  labels: string[];
  /**
   * The pretrain set's category shares as the probe saw them: the mean over the runs that have
   * a probe (each probe sees its own run's model; all start from the same f0). Null: no probe.
   */
  pretrain: number[] | null;
  runs: { label: string; rehearsed: number[]; pretrain: number[] | null; rehearsals: number; unknown: number }[];
}

export function budgetTable(runs: readonly BudgetRun[]): BudgetTable {
  const perRun = runs.map((run) => ({ label: run.label, ...budgetShares(run.windows) }));
  const probed = perRun.flatMap((r) => (r.pretrain ? [r.pretrain] : []));
  const pretrain = probed.length
    ? CATEGORIES.map((_, k) => probed.reduce((sum, p) => sum + p[k], 0) / probed.length)
    : null;
  return { categories: CATEGORIES, labels: CATEGORIES.map((c) => CATEGORY_LABELS[c]), pretrain, runs: perRun };
}

const percentLabel = {
  show: true,
  position: 'top',
  fontSize: 10,
  formatter: (p: ItemParams) => percent(p.value as number, 0),
};

/**
 * Each category's share among a run's rehearsals (known verdicts only) beside its share of the
 * pretrain set: random rehearsal mirrors the pretrain set; a sampler that finds the forgotten
 * samples puts far more of its budget on CD than CD's share of the set.
 */
export function budgetOption(runs: readonly BudgetRun[], spec: { title?: string } = {}): ChartOption {
  const table = budgetTable(runs);
  const series: Record<string, unknown>[] = [];
  if (table.pretrain) {
    series.push({
      id: 'pretrain',
      name: REFERENCE_LABEL,
      type: 'bar',
      color: REFERENCE_COLOR,
      label: percentLabel,
      data: table.pretrain,
    });
  }
  table.runs.forEach((run, i) => {
    series.push({
      id: `run-${i}`,
      name: run.label,
      type: 'bar',
      color: runs[i]?.color ?? paletteColor(i),
      label: percentLabel,
      data: run.rehearsed,
    });
  });
  const top = spec.title ? 24 : 0;
  return {
    animation: true,
    ...titled(spec.title),
    grid: { left: 56, right: 16, top: top + 40, bottom: 32 },
    tooltip: { trigger: 'axis', renderMode: 'richText', valueFormatter: (v: number) => percent(v) },
    legend: { type: 'scroll', top, data: series.map((s) => s.name) },
    xAxis: { type: 'category', data: table.labels },
    yAxis: { type: 'value', name: 'share', min: 0, axisLabel: { formatter: (v: number) => percent(v, 0) } },
    series,
  };
}

// --- two runs side by side ---

export interface DistributionSeries {
  label: string;
  counts: readonly number[];
  /** The run's colour in every chart (colors.ts runColors); unset: by position. */
  color?: string;
}

/** The inspected runs' colours, by run id as a string: each strategy's hue, as in Monitor and Compare. */
export function inspectedColors(runs: readonly Pick<RunInspection, 'runId' | 'strategy'>[]): Map<string, string> {
  return runColors(runs.map((r) => ({ id: r.runId, strategy: r.strategy })));
}

export interface Distribution {
  /** On the axis. */
  categories: string[];
  /** In the tooltip (default: the axis names). */
  names?: string[];
  runs: DistributionSeries[];
  /** The pretrain set's own counts: what uniform sampling would give. */
  reference: DistributionSeries | null;
}

/** Rehearsals per class of each run, and the class sizes of the pretrain set. */
export function classDistribution(runs: readonly RunInspection[]): Distribution {
  const first = runs[0];
  if (!first) return { categories: [], runs: [], reference: null };
  const categories = first.classNames.length ? [...first.classNames] : first.classSizes.map((_, c) => `class ${c}`);
  return {
    categories,
    runs: runs.map((r) => ({
      label: runLabel(r.runId, r.strategy, r.budget),
      counts: r.byClass,
      color: inspectedColors(runs).get(String(r.runId)),
    })),
    reference: { label: 'pretrain set', counts: first.classSizes },
  };
}

/**
 * Rehearsals per bin of the shared partition (plus "outside": samples in no bin, e.g. the ones f0
 * got wrong, which mix-cd never draws but random does), and the bins' sizes. Null without bins.
 */
export function binDistribution(runs: readonly RunInspection[], binLabels?: readonly string[]): Distribution | null {
  const partition = runs.find((r) => r.partition)?.partition;
  if (!partition) return null;
  const withOutside = partition.outside > 0 || runs.some((r) => (r.byBin?.outside ?? 0) > 0);
  const bins = partition.sizes.length;
  const categories = binAxisLabels(bins, binLabels ?? partition.labels);
  const names = categories.map((_, k) => binLabel(k, binLabels ?? partition.labels));
  if (withOutside) {
    categories.push('outside');
    names.push(binLabel(-1));
  }
  const counts = (byBin: RunInspection['byBin']): number[] => {
    const inBins = Array.from({ length: bins }, (_, k) => byBin?.bins[k] ?? 0);
    return withOutside ? [...inBins, byBin?.outside ?? 0] : inBins;
  };
  return {
    categories,
    names,
    runs: runs.map((r) => ({
      label: runLabel(r.runId, r.strategy, r.budget),
      counts: counts(r.byBin),
      color: inspectedColors(runs).get(String(r.runId)),
    })),
    reference: {
      label: 'pretrain set',
      counts: withOutside ? [...partition.sizes, partition.outside] : [...partition.sizes],
    },
  };
}

/** Shares per category (each series sums to 1): runs as coloured bars, the pretrain set in grey. */
export function distributionOption(dist: Distribution, spec: { title?: string; axisName: string }): ChartOption {
  const series: Record<string, unknown>[] = [];
  if (dist.reference) {
    series.push({
      id: 'reference',
      name: dist.reference.label,
      type: 'bar',
      color: REFERENCE_COLOR,
      data: shares(dist.reference.counts),
    });
  }
  dist.runs.forEach((run, i) => {
    series.push({
      id: `run-${i}`,
      name: run.label,
      type: 'bar',
      color: run.color ?? paletteColor(i),
      data: shares(run.counts),
    });
  });
  const top = spec.title ? 24 : 0;
  const many = dist.categories.length > 20;
  return {
    animation: dist.categories.length * series.length <= ANIMATION_LIMIT,
    ...titled(spec.title),
    grid: { left: 56, right: 16, top: top + 40, bottom: many ? 48 : 64 },
    tooltip: {
      trigger: 'axis',
      renderMode: 'richText',
      formatter: axisTooltip(dist.names ?? dist.categories, (v) => percent(v as number)),
    },
    legend: { type: 'scroll', top, data: series.map((s) => s.name) },
    xAxis: {
      type: 'category',
      name: spec.axisName,
      nameLocation: 'middle',
      nameGap: many ? 28 : 48,
      data: dist.categories,
      // Few categories (classes): every name, slanted; many (bins): a few numbers.
      axisLabel: many ? thinnedLabels(dist.categories) : { interval: 0, rotate: 30 },
    },
    yAxis: { type: 'value', name: 'share', min: 0, axisLabel: { formatter: (v: number) => percent(v, 0) } },
    series: series.map((s) => ({ ...s, barGap: '10%', barCategoryGap: many ? '10%' : '25%' })),
  };
}

// --- one sample over time ---

export interface TimelineSpec {
  title?: string;
  /** The run's last step, so the x axis spans the whole run even for a sample rehearsed early. */
  lastStep?: number;
}

/**
 * One sample's category at every probe eval (a line through the rows) and a marker at each of
 * its rehearsals, at the verdict of that step. A sample f0 got right can only be unforgotten or
 * CD (correct or misclassified), one it got wrong only unlearned or newly learned: only those two
 * rows are drawn when f0's verdict is known. Verdicts that never arrived get their own row.
 */
export function sampleTimelineOption(detail: SampleStory, spec: TimelineSpec = {}): ChartOption {
  const rows: Category[] =
    detail.priorCorrect === true
      ? ['unforgotten', 'collateral-damage']
      : detail.priorCorrect === false
        ? ['unlearned', 'newly-learned']
        : ['unlearned', 'newly-learned', 'unforgotten', 'collateral-damage'];
  // A verdict outside the expected rows (should not happen) still gets a row rather than vanishing.
  const seen = [
    ...(detail.probe ?? []).map((p) => p.category),
    ...detail.rehearsals.flatMap((r) => (r.category ? [r.category] : [])),
  ];
  for (const c of seen) if (!rows.includes(c)) rows.push(c);
  const unknown = detail.rehearsals.some((r) => r.category === null);
  const labels = [...(unknown ? ['verdict unknown'] : []), ...rows.map((c) => CATEGORY_LABELS[c])];
  const series: Record<string, unknown>[] = [];
  if (detail.probe) {
    series.push({
      id: 'probe',
      name: 'at each eval (probe)',
      type: 'line',
      color: '#57606a',
      symbolSize: 7,
      data: detail.probe.map((p) => ({
        value: [p.step, CATEGORY_LABELS[p.category]],
        itemStyle: { color: CATEGORY_COLORS[p.category] },
      })),
    });
  }
  series.push({
    id: 'rehearsals',
    name: 'rehearsed',
    type: 'scatter',
    symbol: 'triangle',
    symbolSize: 12,
    color: '#1b1f24',
    data: detail.rehearsals.map((r) => ({
      value: [r.step, r.category ? CATEGORY_LABELS[r.category] : 'verdict unknown'],
      itemStyle: {
        color: r.category ? CATEGORY_COLORS[r.category] : '#1b1f24',
        borderColor: '#1b1f24',
        borderWidth: 0.5,
      },
    })),
  });
  const last = Math.max(
    spec.lastStep ?? 0,
    ...detail.rehearsals.map((r) => r.step),
    ...(detail.probe ?? []).map((p) => p.step),
    0,
  );
  const top = spec.title ? 24 : 0;
  return {
    animation: detail.rehearsals.length <= ANIMATION_LIMIT,
    ...titled(spec.title),
    grid: { left: 112, right: 24, top: top + 36, bottom: 44 },
    tooltip: {
      trigger: 'item',
      renderMode: 'richText',
      formatter: (p: ItemParams) =>
        `${p.seriesName}: step ${(p.value as [number, string])[0]}, ${(p.value as [number, string])[1]}`,
    },
    legend: { top, data: series.map((s) => s.name) },
    xAxis: { type: 'value', name: 'finetune step', nameLocation: 'middle', nameGap: 26, min: 0, max: last || 1 },
    yAxis: { type: 'category', data: labels, boundaryGap: true },
    series,
  };
}
