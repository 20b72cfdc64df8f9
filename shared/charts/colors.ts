// One colour per strategy and group, from one function, for every panel: a strategy keeps its
// hue everywhere (curves, Pareto plot, monitor), and groups of one strategy (budgets, steps) get
// its shades in a fixed order, so the same series has the same colour in every chart of a view.
import type { StrategyName } from '../config.js';

const SHADES: Record<StrategyName, readonly string[]> = {
  none: ['#57606a', '#8c959f', '#24292f', '#afb8c1'],
  random: ['#5470c6', '#2f4a9c', '#8fa6e6', '#1d2f66'],
  'mix-cd': ['#3ba272', '#1f6f47', '#7fcf9f', '#0f4a2c'],
  'oracle-cd': ['#ee6666', '#b03a3a', '#f4a3a3', '#7a1f1f'],
  'loss-based': ['#fc8452', '#c75a2a', '#fdb48f', '#8a3a14'],
  mir: ['#9a60b4', '#6b3a82', '#c9a3db', '#43205a'],
};

/** A strategy's own colour (its first shade). */
export function strategyColor(strategy: StrategyName): string {
  return SHADES[strategy][0];
}

/**
 * Colours for groups of runs, by group key: each strategy's groups take its shades in the order
 * given (Compare passes its groups once and hands the map to every chart).
 */
export function groupColors(
  groups: readonly { key: string; runs: readonly { config: { rehearsal: { strategy: StrategyName } } }[] }[],
): Map<string, string> {
  const used = new Map<StrategyName, number>();
  const colors = new Map<string, string>();
  for (const group of groups) {
    const strategy = group.runs[0]?.config.rehearsal.strategy;
    if (!strategy || colors.has(group.key)) continue;
    const i = used.get(strategy) ?? 0;
    used.set(strategy, i + 1);
    colors.set(group.key, SHADES[strategy][i % SHADES[strategy].length]);
  }
  return colors;
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
