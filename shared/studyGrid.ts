// A study's grid: strategies x budgets x seeds around one base config. Shared by the CLI and the
// host, so both expand a study into exactly the same runs.
import { parseRunConfig, type RunConfig, type StrategyName } from './config.js';

export interface StudyGrid {
  strategies: StrategyName[];
  budgets: number[];
  seeds: number[];
  /** Equal compute: each budget is a compute budget R (rehearsal.computeBudget), resolved per strategy. */
  matched?: boolean;
}

/** The configs of a study; `none` runs once per seed (it has no budget). */
export function expandGrid(base: RunConfig, grid: StudyGrid): RunConfig[] {
  const configs: RunConfig[] = [];
  for (const strategy of grid.strategies) {
    const budgets = strategy === 'none' ? [0] : grid.budgets;
    for (const budget of budgets) {
      for (const seed of grid.seeds) {
        const computeBudget = grid.matched && strategy !== 'none' ? budget : base.rehearsal.computeBudget;
        configs.push(
          parseRunConfig({ ...base, seed, rehearsal: { ...base.rehearsal, strategy, budget, computeBudget } }),
        );
      }
    }
  }
  return configs;
}

/** A run's place in a study's grid: strategy, budget (r or compute R) and seed. */
export function gridCell(config: RunConfig): string {
  const { strategy, budget, computeBudget } = config.rehearsal;
  return JSON.stringify([strategy, strategy === 'none' ? 0 : budget, computeBudget ?? null, config.seed]);
}
