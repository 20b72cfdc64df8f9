// Compute units and equal-compute budgets (issue 16): pure resolution, no tfjs.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseRunConfig, STRATEGIES, type RunConfigInput } from '../../shared/config.js';
import { computeUnits, forwardFlopsPerSample, resolveRehearsal, unitsPerStep } from '../../shared/computeBudget.js';

const config = (rehearsal: RunConfigInput['rehearsal'], batchSize = 128) =>
  parseRunConfig({ finetune: { batchSize }, rehearsal });

describe('compute units', () => {
  it('cost forward 1, backward 2 per sample', () => {
    expect(computeUnits({ forwardPasses: 10, backwardPasses: 4 })).toBe(18);
    expect(unitsPerStep('random', 128, 13, 0)).toBe(3 * 141);
    expect(unitsPerStep('loss-based', 128, 6, 21)).toBe(3 * 134 + 21);
    expect(unitsPerStep('mir', 128, 4, 13)).toBe(3 * 132 + 26);
    expect(unitsPerStep('oracle-cd', 128, 7, 180, 10)).toBe(3 * 135 + 18);
  });

  it('FLOPs per sample from the layer shapes', () => {
    const input = { height: 28, width: 28, channels: 1 };
    expect(forwardFlopsPerSample({ arch: 'mlp', hidden: [256, 256] }, input, 10)).toBe(
      2 * (784 * 256 + 256 * 256 + 256 * 10),
    );
    // conv 3x3x1x16 at 28x28, conv 3x3x16x32 at 14x14, dense 7*7*32 -> 10
    expect(forwardFlopsPerSample({ arch: 'cnn', filters: [16, 32], kernelSize: 3 }, input, 10)).toBe(
      2 * (9 * 16 * 784 + 9 * 16 * 32 * 196 + 7 * 7 * 32 * 10),
    );
  });
});

describe('matched compute budgets', () => {
  const spending = STRATEGIES.filter((s) => s !== 'none');
  for (const R of [0.02, 0.05, 0.1, 0.25, 1]) {
    it(`every strategy spends random's units per step at R = ${R}, within one sample's cost`, () => {
      const reference = 3 * (128 + Math.round(R * 128));
      for (const strategy of spending) {
        const r = resolveRehearsal(config({ strategy, computeBudget: R, budget: R }));
        expect(r.referenceUnitsPerStep).toBe(reference);
        expect(r.m).toBeGreaterThanOrEqual(1);
        const units = unitsPerStep(strategy, 128, r.m, r.pool ?? 0, r.rehearsal.oracleCd.refreshEvery);
        expect(units).toBe(r.unitsPerStep);
        expect(Math.abs(units - reference)).toBeLessThan(3); // one sample's forward + backward
        // The strategies read m back from the resolved budget and their pools from c * m.
        expect(Math.round(r.rehearsal.budget * 128)).toBe(r.m);
        if (strategy === 'loss-based') expect(Math.round(r.rehearsal.lossBased.poolFactor * r.m)).toBe(r.pool);
        if (strategy === 'mir') expect(Math.round(r.rehearsal.mir.poolFactor * r.m)).toBe(r.pool);
        if (strategy === 'oracle-cd') {
          expect(r.rehearsal.oracleCd.pool).toBe(r.pool);
          expect(r.rehearsal.oracleCd.freshPool).toBe(true);
        }
      }
    });
  }

  it('strategies that score candidates rehearse fewer samples than random', () => {
    const m = (strategy: (typeof STRATEGIES)[number]) =>
      resolveRehearsal(config({ strategy, computeBudget: 0.25, budget: 0.25 })).m;
    expect(m('random')).toBe(32);
    expect(m('mix-cd')).toBe(32);
    expect(m('loss-based')).toBe(Math.round(96 / 7)); // E = 96 units, 3 + c per rehearsed sample, c = 4
    expect(m('mir')).toBe(Math.round(96 / 11)); // 3 + 2c
    expect(m('oracle-cd')).toBe(16); // half the budget, the other half refreshes
  });

  it('without a compute budget, m = round(r B) and the configured pools', () => {
    const r = resolveRehearsal(config({ strategy: 'loss-based', budget: 0.1 }));
    expect(r).toMatchObject({ computeBudget: null, m: 13, pool: 52, unitsPerStep: 3 * 141 + 52 });
  });

  it('says in one sentence when no m >= 1 fits', () => {
    const tooSmall = () => resolveRehearsal(config({ strategy: 'mir', computeBudget: 0.005, budget: 0.005 }));
    expect(tooSmall).toThrow(ConfigError);
    expect(tooSmall).toThrow(/--compute-budget 0\.005 .*mir.*no m >= 1 fits/);
    const pool = () =>
      resolveRehearsal(config({ strategy: 'oracle-cd', computeBudget: 0.05, budget: 0.05, oracleCd: { pool: 50000 } }));
    expect(pool).toThrow(/refreshing 50000 candidates every 10 steps takes 5000\.0.*no m >= 1 fits/);
  });
});
