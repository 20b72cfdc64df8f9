// The equal-compute frontier (issue 16): points per strategy x budget (mean ± sd over seeds), the
// Pareto frontier, "compute needed to keep X% of f0" interpolated from named points, the chart
// option and the table formats.
import { describe, expect, it } from 'vitest';
import {
  computeToKeep,
  frontierCharts,
  frontierOption,
  frontierPoints,
  paretoFrontier,
  showFrontier,
} from '../../shared/charts/frontier.js';
import { DEFAULT_RUN_CONFIG, type RunConfig, type StrategyName } from '../../shared/config.js';
import { frontierToCsv, frontierToLatex, frontierToMarkdown } from '../../shared/export/frontier.js';
import type { RunSummary } from '../../shared/results.js';

let nextId = 1;
function run(strategy: StrategyName, R: number, seed: number, units: number, pretrain: number, finetune = 0.84) {
  const config: RunConfig = structuredClone(DEFAULT_RUN_CONFIG);
  config.rehearsal.strategy = strategy;
  config.rehearsal.budget = R;
  if (strategy !== 'none') config.rehearsal.computeBudget = R;
  config.seed = seed;
  return {
    id: nextId++,
    studyId: 1,
    status: 'finished',
    config,
    backend: 'wasm',
    device: 'cpu',
    dataFingerprint: 'x',
    prior: { pretrainTestAcc: 0.88, finetuneTestAcc: 0.1 },
    final: { pretrainTestAcc: pretrain, finetuneTestAcc: finetune, cdRate: 0.1, rehearsalPrecision: 0.2 },
    // Units come from the stored pass counts when a run has no `units` (older runs): 1 fwd + 2 bwd.
    compute: { forwardPasses: units / 3, backwardPasses: units / 3, extraForwardPasses: 0, wallSeconds: 1 },
    createdAt: '',
    series: [],
  } satisfies RunSummary;
}

// random: 0.75 at 1.0M units, 0.85 at 2.0M; mix-cd: 0.80 / 0.86 at the same units; loss-based below both.
const runs: RunSummary[] = [
  run('none', 0, 1, 600_000, 0.18),
  run('random', 0.05, 1, 1_000_000, 0.74),
  run('random', 0.05, 2, 1_000_000, 0.76),
  run('random', 0.25, 1, 2_000_000, 0.85),
  run('mix-cd', 0.05, 1, 1_000_000, 0.8),
  run('mix-cd', 0.25, 1, 2_000_000, 0.86),
  run('loss-based', 0.05, 1, 1_000_000, 0.7),
  run('loss-based', 0.25, 1, 2_000_000, 0.79),
  { ...run('loss-based', 0.25, 2, 2_000_000, 0.99), status: 'failed' },
];

describe('the equal-compute frontier', () => {
  it('groups finished runs by strategy and compute budget, with mean ± sd of units and accuracy', () => {
    const points = frontierPoints(runs);
    const random05 = points.find((p) => p.strategy === 'random' && p.budget === 0.05)!;
    expect(random05.runs).toEqual([2, 3]);
    expect(random05.units.mean).toBe(1_000_000);
    expect(random05.pretrainTestAcc.mean).toBeCloseTo(0.75, 12);
    expect(random05.pretrainTestAcc.sd).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    // The failed run is left out.
    expect(points.find((p) => p.strategy === 'loss-based' && p.budget === 0.25)!.runs).toEqual([8]);
  });

  it('the Pareto frontier keeps only points nothing cheaper beats', () => {
    const frontier = paretoFrontier(frontierPoints(runs), 'pretrainTestAcc');
    expect(frontier.map((p) => `${p.strategy} ${p.budget}`)).toEqual(['none 0', 'mix-cd 0.05', 'mix-cd 0.25']);
  });

  it('interpolates the compute needed to keep X% of f0 between the two points around it', () => {
    const keep = computeToKeep(frontierPoints(runs), 0.88, [0.9, 0.95, 0.99]);
    const row = (s: string, f: number) => keep.find((k) => k.strategy === s && k.fraction === f)!;
    // random: 0.9 x 0.88 = 0.792 lies 0.042 / 0.10 of the way from 0.75 (1.0M) to 0.85 (2.0M).
    expect(row('random', 0.9).units).toBeCloseTo(1_420_000, 3);
    expect(row('random', 0.9).from.map((p) => p.budget)).toEqual([0.05, 0.25]);
    expect(row('random', 0.9).note).toBe('interpolated');
    // mix-cd already keeps 0.80 > 0.792 at its cheapest point.
    expect(row('mix-cd', 0.9)).toMatchObject({ units: null, note: 'below-cheapest' });
    expect(row('mix-cd', 0.95).units).toBeCloseTo(1_000_000 + ((0.836 - 0.8) / 0.06) * 1_000_000, 3);
    expect(row('loss-based', 0.95)).toMatchObject({ units: null, note: 'never-reached' });
    expect(row('random', 0.99).note).toBe('never-reached');

    const tables = { f0: 0.88, metric: 'pretrainTestAcc', keep, points: frontierPoints(runs) };
    const md = frontierToMarkdown(tables);
    expect(md).toContain('| random | 1.42 (between R=0.05 (1.00M, 0.750) and R=0.25 (2.00M, 0.850))');
    expect(md).toContain('<= 1.00 (already at its cheapest point R=0.05 (1.00M, 0.800))');
    expect(md).toContain('| random | 0.05 | 1.00 ± 0.00 | 0.750 ± 0.014 | 0.840 ± 0.000 | 2 |');
    expect(frontierToCsv(tables)).toContain('random,0.9,0.792,1420000');
    expect(frontierToLatex(tables)).toContain('random & 1.42 &');
  });

  it('draws one line per strategy against million units, error bars, the frontier and f0', () => {
    const option = frontierOption(frontierPoints(runs), 'pretrainTestAcc', { f0: 0.88 }) as {
      series: { id: string; data: unknown[]; markLine?: { data: unknown[] } }[];
    };
    const ids = option.series.map((s) => s.id);
    expect(ids).toContain('frontier-random');
    expect(ids).toContain('frontier-random-sd');
    const random = option.series.find((s) => s.id === 'frontier-random')!;
    expect(random.data).toEqual([
      { name: 'R=0.05', value: [1, 0.75] },
      { name: 'R=0.25', value: [2, 0.85] },
    ]);
    const pareto = option.series.find((s) => s.id === 'frontier-pareto')!;
    expect(pareto.data).toEqual([
      [0.6, 0.18],
      [1, 0.8],
      [2, 0.86],
    ]);
    expect(pareto.markLine!.data).toEqual([{ yAxis: 0.88 }]);
    expect(frontierCharts(runs, 0.88).map((c) => c.key)).toEqual(['frontier-pretrain', 'frontier-finetune']);
  });

  it('is shown for compute-budget runs or several budgets per strategy, not for one budget each', () => {
    expect(showFrontier(runs)).toBe(true);
    const plain = [run('random', 0.1, 1, 1, 0.8), run('mix-cd', 0.1, 1, 1, 0.8)].map((r) => {
      delete r.config.rehearsal.computeBudget;
      return r;
    });
    expect(showFrontier(plain)).toBe(false);
  });
});
