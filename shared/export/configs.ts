// "Configs (JSON, to re-run)": what the CLI's `export --format configs` and the Export view's
// button write. One run: its config alone, which `mixcd run --config FILE` accepts. Several runs
// of one grid: a study file { base, grid } (the form a study is stored in), which `mixcd study
// --config FILE` accepts and expands into the same strategies x budgets x seeds.
import { parseRunConfig, type RunConfig, type StrategyName } from '../config.js';
import type { RunSummary } from '../results.js';
import type { StudyGrid } from '../studyGrid.js';
import { STRATEGY_ORDER } from './pivot.js';

export interface StudyFile {
  base: RunConfig;
  grid: StudyGrid;
}

export class ConfigsExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigsExportError';
  }
}

/** A run's config with the grid's own settings blanked, to compare the rest. */
function rest(config: RunConfig): string {
  const parsed = parseRunConfig(config);
  return JSON.stringify({ ...parsed, seed: 0, rehearsal: { ...parsed.rehearsal, strategy: 'none', budget: 0 } });
}

/** True when the JSON is a study file rather than a run config. */
export function isStudyFile(value: unknown): value is { base: unknown; grid: unknown } {
  return typeof value === 'object' && value !== null && 'base' in value && 'grid' in value;
}

export function configsExport(runs: readonly RunSummary[]): RunConfig | StudyFile {
  if (!runs.length) throw new ConfigsExportError('There are no runs to export the configs of.');
  if (runs.length === 1) return parseRunConfig(runs[0].config);
  const first = rest(runs[0].config);
  const odd = runs.find((r) => rest(r.config) !== first);
  if (odd)
    throw new ConfigsExportError(
      `Runs ${runs[0].id} and ${odd.id} differ in more than strategy, budget ` +
        `and seed, so they are not one study: export their configs one run at a ` +
        `time.`,
    );
  const strategies = [...new Set(runs.map((r) => r.config.rehearsal.strategy))].sort(
    (a, b) => STRATEGY_ORDER.indexOf(a) - STRATEGY_ORDER.indexOf(b),
  ) as StrategyName[];
  const budgets = [
    ...new Set(runs.filter((r) => r.config.rehearsal.strategy !== 'none').map((r) => r.config.rehearsal.budget)),
  ].sort((a, b) => a - b);
  const seeds = [...new Set(runs.map((r) => r.config.seed))].sort((a, b) => a - b);
  const base = parseRunConfig(runs[0].config);
  return {
    base,
    grid: { strategies, budgets: budgets.length ? budgets : [base.rehearsal.budget], seeds },
  };
}
