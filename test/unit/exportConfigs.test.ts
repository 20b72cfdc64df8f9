// Issue 11: the configs export re-runs (one run: a run config; several: a study file), the one CSV
// number rule, and sd null for a single run in `study --json`.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG, parseRunConfig, type RunConfig, type StrategyName } from '../../shared/config.js';
import { ConfigsExportError, configsExport, isStudyFile } from '../../shared/export/configs.js';
import { csvNumber } from '../../shared/export/formats.js';
import type { RunSummary } from '../../shared/results.js';
import { expandGrid } from '../../shared/studyGrid.js';
import { studyJson } from '../../src-main/cli/study.js';

function run(id: number, strategy: StrategyName, budget: number, seed: number, acc = 0.8): RunSummary {
  const config: RunConfig = parseRunConfig({ seed, rehearsal: { strategy, budget } });
  return {
    id,
    status: 'finished',
    config,
    final: { pretrainTestAcc: acc, finetuneTestAcc: 0.84, cdRate: 0.1, rehearsalPrecision: 0.2 },
    compute: { forwardPasses: 1, backwardPasses: 1, extraForwardPasses: 0, wallSeconds: 1 },
    series: [],
  } as unknown as RunSummary;
}

describe('configs export', () => {
  it('one run: its config, which parses as a run config', () => {
    const out = configsExport([run(4, 'random', 0.1, 2)]);
    expect(isStudyFile(out)).toBe(false);
    expect(parseRunConfig(out)).toEqual(run(4, 'random', 0.1, 2).config);
  });

  it('a study: { base, grid } whose expansion is exactly the runs exported', () => {
    const runs = [
      run(1, 'none', 0, 1),
      run(2, 'none', 0, 2),
      ...[0.05, 0.1].flatMap((r, i) => [
        run(3 + 4 * i, 'random', r, 1),
        run(4 + 4 * i, 'random', r, 2),
        run(5 + 4 * i, 'mix-cd', r, 1),
        run(6 + 4 * i, 'mix-cd', r, 2),
      ]),
    ];
    const out = configsExport(runs);
    expect(isStudyFile(out)).toBe(true);
    if (!isStudyFile(out)) return;
    expect(out.grid).toEqual({ strategies: ['none', 'random', 'mix-cd'], budgets: [0.05, 0.1], seeds: [1, 2] });
    const key = (c: RunConfig) => `${c.rehearsal.strategy}/${c.rehearsal.budget}/${c.seed}`;
    const expanded = expandGrid(parseRunConfig(out.base), out.grid).map(key).sort();
    expect(expanded).toEqual(runs.map((r) => key(r.config)).sort());
    // JSON round trip, as the file is read back.
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it('refuses runs that differ in another setting, naming two of them', () => {
    const other = run(9, 'random', 0.1, 1);
    other.config = parseRunConfig({ ...other.config, finetune: { ...DEFAULT_RUN_CONFIG.finetune, steps: 100 } });
    expect(() => configsExport([run(1, 'random', 0.1, 1), other])).toThrow(ConfigsExportError);
    expect(() => configsExport([run(1, 'random', 0.1, 1), other])).toThrow(/Runs 1 and 9 differ/);
  });
});

describe('one rule for CSV numbers', () => {
  it('full precision less the float noise', () => {
    expect(csvNumber(0.30774999999999997)).toBe('0.30775');
    expect(csvNumber(0.1 + 0.2)).toBe('0.3');
    expect(csvNumber(0.123456789)).toBe('0.123456789');
    expect(csvNumber(8267850)).toBe('8267850');
    expect(csvNumber(null)).toBe('');
    expect(csvNumber(NaN)).toBe('');
  });
});

describe('study --json', () => {
  it('gives sd null for a cell of one run and a number for several', () => {
    const json = studyJson(1, [
      run(1, 'random', 0.1, 1, 0.8),
      run(2, 'mix-cd', 0.1, 1, 0.82),
      run(3, 'mix-cd', 0.1, 2, 0.84),
    ]);
    const random = json.table.find((c) => c.strategy === 'random')!;
    const mixCd = json.table.find((c) => c.strategy === 'mix-cd')!;
    expect(random.pretrainTestAcc.sd).toBeNull();
    expect(random.rehearsalPrecision!.sd).toBeNull();
    expect(mixCd.pretrainTestAcc.sd).toBeCloseTo(0.0141421, 6);
  });
});
