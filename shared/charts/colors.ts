// One palette for every chart of every view: a strategy keeps its hue everywhere (Monitor's runs,
// Compare's groups and Pareto points, the inspector's runs, the frontier), and several series of
// one strategy in a chart (runs, budgets, steps) take its shades in a fixed order. So the same
// series has the same colour in every panel: a lone mix-cd run in the Monitor is the green of the
// mix-cd group in Compare.
import type { StrategyName } from '../config.js';

const SHADES: Record<StrategyName, readonly string[]> = {
  none: ['#57606a', '#8c959f', '#24292f', '#afb8c1'],
  random: ['#5470c6', '#2f4a9c', '#8fa6e6', '#1d2f66'],
  'mix-cd': ['#3ba272', '#1f6f47', '#7fcf9f', '#0f4a2c'],
  'oracle-cd': ['#ee6666', '#b03a3a', '#f4a3a3', '#7a1f1f'],
  'loss-based': ['#fc8452', '#c75a2a', '#fdb48f', '#8a3a14'],
  mir: ['#9a60b4', '#6b3a82', '#c9a3db', '#43205a'],
};

/** The palette function: shade `shade` (0 = the strategy's own colour) of a strategy's hue. */
export function seriesColor(strategy: StrategyName, shade = 0): string {
  const shades = SHADES[strategy] ?? SHADES.none;
  return shades[((shade % shades.length) + shades.length) % shades.length];
}

/** A strategy's own colour (its first shade). */
export function strategyColor(strategy: StrategyName): string {
  return seriesColor(strategy, 0);
}

/** The fallback's order: the coloured hues first, none's grey last. */
const ORDER: readonly StrategyName[] = ['random', 'mix-cd', 'oracle-cd', 'loss-based', 'mir', 'none'];

/** For series that belong to no strategy, by position: the strategies' own hues, then their next shades. */
export function paletteColor(index: number): string {
  const i = Math.max(0, Math.floor(index));
  return seriesColor(ORDER[i % ORDER.length], Math.floor(i / ORDER.length));
}

/**
 * One colour per key (a run id, a group key): each strategy's keys take its shades in the order
 * given, so a view passes its series once, in a stable order, and hands the map to every chart.
 */
export function colorsByStrategy(
  items: readonly { key: string; strategy: StrategyName | null | undefined }[],
): Map<string, string> {
  const used = new Map<StrategyName, number>();
  const colors = new Map<string, string>();
  for (const { key, strategy } of items) {
    if (!strategy || colors.has(key)) continue;
    const i = used.get(strategy) ?? 0;
    used.set(strategy, i + 1);
    colors.set(key, seriesColor(strategy, i));
  }
  return colors;
}

/** Colours for groups of runs, by group key (Compare: curves, legend swatches, Pareto points). */
export function groupColors(
  groups: readonly { key: string; runs: readonly { config: { rehearsal: { strategy: StrategyName } } }[] }[],
): Map<string, string> {
  return colorsByStrategy(groups.map((g) => ({ key: g.key, strategy: g.runs[0]?.config.rehearsal.strategy })));
}

/** Colours for runs, by run id as a string (Monitor, Inspect): in id order, oldest first. */
export function runColors(
  runs: readonly { id: number; strategy: StrategyName | null | undefined }[],
): Map<string, string> {
  return colorsByStrategy(
    [...runs].sort((a, b) => a.id - b.id).map((r) => ({ key: String(r.id), strategy: r.strategy })),
  );
}

/**
 * Rows a plain (wrapping) legend takes for these labels at about `width` px: the chart's grid
 * starts below them, so no label is cut and nothing pages ("1/2").
 */
export function legendRows(labels: readonly string[], width = 560): number {
  let rows = 1;
  let used = 0;
  for (const label of labels) {
    const w = 35 + 7 * label.length; // icon + gap + about 7 px a character at 12 px
    if (used > 0 && used + w > width) {
      rows++;
      used = 0;
    }
    used += w;
  }
  return labels.length ? rows : 0;
}
