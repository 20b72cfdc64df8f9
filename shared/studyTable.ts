// The study table: per strategy x budget, mean and sample standard deviation over seeds of the
// final metrics. Pure, so the CLI, the UI and the exporters compute the same numbers.
import type { StrategyName } from './config.js';
import type { RunSummary } from './results.js';

export interface MeanSd {
  mean: number;
  sd: number;
  n: number;
}

export interface StudyCell {
  strategy: StrategyName;
  budget: number;
  runs: number[];
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

/** Finished runs grouped by (strategy, budget); `none` is one group whatever its budget. */
export function studyTable(runs: RunSummary[]): StudyCell[] {
  const groups = new Map<string, RunSummary[]>();
  for (const run of runs) {
    if (run.status !== 'finished') continue;
    const strategy = run.config.rehearsal.strategy;
    const budget = strategy === 'none' ? 0 : run.config.rehearsal.budget;
    const key = `${strategy}|${budget}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const cells: StudyCell[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    const strategy = first.config.rehearsal.strategy;
    const precisions = group.map((r) => r.final.rehearsalPrecision).filter((p): p is number => p !== null);
    cells.push({
      strategy,
      budget: strategy === 'none' ? 0 : first.config.rehearsal.budget,
      runs: group.map((r) => r.id),
      pretrainTestAcc: meanSd(group.map((r) => r.final.pretrainTestAcc)),
      finetuneTestAcc: meanSd(group.map((r) => r.final.finetuneTestAcc)),
      cdRate: meanSd(group.map((r) => r.final.cdRate)),
      rehearsalPrecision: precisions.length ? meanSd(precisions) : null,
      extraForwardPasses: meanSd(group.map((r) => r.compute.extraForwardPasses)),
      forwardPasses: meanSd(group.map((r) => r.compute.forwardPasses)),
      wallSeconds: meanSd(group.map((r) => r.compute.wallSeconds)),
    });
  }
  return cells.sort(
    (a, b) => STRATEGY_ORDER.indexOf(a.strategy) - STRATEGY_ORDER.indexOf(b.strategy) || a.budget - b.budget,
  );
}
