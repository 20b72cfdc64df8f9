// The study table: per strategy x budget, mean and sample standard deviation over seeds of the
// final metrics. Pure, so the CLI, the UI and the exporters compute the same numbers.
import type { StrategyName } from './config.js';
import { groupRuns } from './grouping.js';
import type { RunSummary } from './results.js';

export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export interface StudyCell {
  strategy: StrategyName;
  budget: number;
  /** The group's key and label (shared/grouping.ts): runs of other settings (steps, ...) are other cells. */
  key: string;
  label: string;
  /** One run per seed. */
  runs: number[];
  /** Runs repeating a seed of `runs` with the same settings: not in the mean. */
  duplicates: number[];
  pretrainTestAcc: MeanSd;
  finetuneTestAcc: MeanSd;
  cdRate: MeanSd;
  rehearsalPrecision: MeanSd | null;
  extraForwardPasses: MeanSd;
  forwardPasses: MeanSd;
  wallSeconds: MeanSd;
}

export function meanSd(values: number[]): MeanSd {
  const n = values.length;
  if (!n) return { mean: NaN, sd: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

const STRATEGY_ORDER: StrategyName[] = ['none', 'random', 'mix-cd', 'oracle-cd', 'loss-based', 'mir'];

/**
 * Finished runs grouped by every setting but the seed (shared/grouping.ts), so a study's cells are
 * its strategy x budget, and runs of other settings (100 and 400 steps) are cells of their own;
 * `none` is one group whatever its budget; duplicates of a seed are listed, not averaged.
 */
export function studyTable(runs: RunSummary[]): StudyCell[] {
  const cells: StudyCell[] = [];
  for (const group of groupRuns(runs.filter((r) => r.status === 'finished'))) {
    const members = group.runs;
    const first = members[0];
    const strategy = first.config.rehearsal.strategy;
    const precisions = members.map((r) => r.final.rehearsalPrecision).filter((p): p is number => p !== null);
    cells.push({
      strategy,
      budget: strategy === 'none' ? 0 : first.config.rehearsal.budget,
      key: group.key,
      label: group.label,
      runs: members.map((r) => r.id),
      duplicates: group.duplicates.map((d) => d.run.id),
      pretrainTestAcc: meanSd(members.map((r) => r.final.pretrainTestAcc)),
      finetuneTestAcc: meanSd(members.map((r) => r.final.finetuneTestAcc)),
      cdRate: meanSd(members.map((r) => r.final.cdRate)),
      rehearsalPrecision: precisions.length ? meanSd(precisions) : null,
      extraForwardPasses: meanSd(members.map((r) => r.compute.extraForwardPasses)),
      forwardPasses: meanSd(members.map((r) => r.compute.forwardPasses)),
      wallSeconds: meanSd(members.map((r) => r.compute.wallSeconds)),
    });
  }
  return cells.sort(
    (a, b) =>
      STRATEGY_ORDER.indexOf(a.strategy) - STRATEGY_ORDER.indexOf(b.strategy) ||
      a.budget - b.budget ||
      a.label.localeCompare(b.label),
  );
}
