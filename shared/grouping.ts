// The one grouping of runs for every panel and table (Compare's curves and Pareto plot, the
// study table, the export pivot): runs that differ only in their seed are one group; two runs
// with the same settings AND the same seed are duplicates, named as such and not counted as a
// second seed. Pure (no Node, no DOM).
//
// A run's settings are its config without the seed, where
// - a `none` run's budget does not count (it rehearses nothing whatever the budget says), and
// - a strategy's own block (rehearsal.mixCd, .oracleCd, .lossBased) counts only for runs of that
//   strategy (a random run's mix-cd settings change none of its numbers).
import type { RunConfig, StrategyName } from './config.js';

/** The blocks of settings that belong to one strategy. */
export const STRATEGY_SETTINGS: Readonly<Record<string, StrategyName>> = {
  'rehearsal.mixCd': 'mix-cd',
  'rehearsal.oracleCd': 'oracle-cd',
  'rehearsal.lossBased': 'loss-based',
  'rehearsal.mir': 'mir',
};

function flatten(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>))
      flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/** The settings a run's numbers depend on besides its seed, as leaf path -> JSON value. */
export function runSettings(config: RunConfig): Map<string, string> {
  const kept = new Map<string, string>();
  for (const [key, value] of flatten(config, '', new Map())) {
    if (key === 'seed') continue;
    if (key === 'rehearsal.budget' && config.rehearsal.strategy === 'none') continue;
    const owner = Object.keys(STRATEGY_SETTINGS).find((prefix) => key.startsWith(`${prefix}.`));
    if (owner && STRATEGY_SETTINGS[owner] !== config.rehearsal.strategy) continue;
    kept.set(key, value);
  }
  return kept;
}

/** A stable key of those settings (sorted paths): equal keys, same group. */
export function settingsKey(config: RunConfig): string {
  return JSON.stringify([...runSettings(config)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** "none", "mix-cd r=0.1". */
export function baseLabel(config: RunConfig): string {
  const strategy = config.rehearsal.strategy;
  return strategy === 'none' ? 'none' : `${strategy} r=${config.rehearsal.budget}`;
}

export interface GroupedRun {
  id: number;
  config: RunConfig;
}

export interface RunGroup<R extends GroupedRun> {
  key: string;
  /** "mix-cd r=0.1", plus what tells it from groups that would otherwise share it ("finetune.steps=400"). */
  label: string;
  /** One run per seed (the earliest of duplicates), in order of first appearance. */
  runs: R[];
  /** The seeds of `runs`, distinct. */
  seeds: number[];
  /** Runs with the same settings and seed as a run in `runs` (`of`): shown, not averaged. */
  duplicates: { run: R; of: R }[];
}

/** Groups runs by every setting but the seed, in order of first appearance; duplicates set apart. */
export function groupRuns<R extends GroupedRun>(runs: readonly R[]): RunGroup<R>[] {
  const groups = new Map<string, RunGroup<R>>();
  const earliestFirst = [...runs].sort((a, b) => a.id - b.id);
  const order = new Map(runs.map((r, i) => [r.id, i]));
  for (const run of earliestFirst) {
    const key = settingsKey(run.config);
    let group = groups.get(key);
    if (!group) {
      group = { key, label: baseLabel(run.config), runs: [], seeds: [], duplicates: [] };
      groups.set(key, group);
    }
    const same = group.runs.find((r) => r.config.seed === run.config.seed);
    if (same) group.duplicates.push({ run, of: same });
    else {
      group.runs.push(run);
      group.seeds.push(run.config.seed);
    }
  }
  // Back to the order the runs were given in (first appearance of each group and run).
  const at = (r: R) => order.get(r.id) ?? 0;
  const list = [...groups.values()].sort((a, b) => at(a.runs[0]) - at(b.runs[0]));
  for (const group of list) {
    const pairs = group.runs.map((r, i) => [r, group.seeds[i]] as const).sort(([a], [b]) => at(a) - at(b));
    group.runs = pairs.map(([r]) => r);
    group.seeds = pairs.map(([, s]) => s);
  }
  // Groups sharing a label: add the settings in which they differ.
  const byLabel = new Map<string, RunGroup<R>[]>();
  for (const g of list) byLabel.set(g.label, [...(byLabel.get(g.label) ?? []), g]);
  for (const same of byLabel.values()) {
    if (same.length < 2) continue;
    const flats = same.map((g) => runSettings(g.runs[0].config));
    const paths = new Set(flats.flatMap((f) => [...f.keys()]));
    const differing = [...paths].filter((p) => new Set(flats.map((f) => f.get(p))).size > 1).sort();
    same.forEach((g, i) => {
      const parts = differing.map((p) => `${p}=${(flats[i].get(p) ?? '—').replace(/^"(.*)"$/, '$1')}`);
      g.label = `${g.label} ${parts.join(' ')}`.trim();
    });
  }
  return list;
}

/** "run #15 repeats #11 (same settings, seed 1)" for each duplicate of a group. */
export function duplicateNotes<R extends GroupedRun>(group: RunGroup<R>): string[] {
  return group.duplicates.map(
    ({ run, of }) => `run #${run.id} repeats #${of.id} (same settings, seed ${run.config.seed}): not counted as a seed`,
  );
}
