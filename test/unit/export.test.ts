// Paper tables: pivot grouping, mean ± sd, best per column, `none`, mixed settings, and every
// format's exact output on a small hand-made set of runs.
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { DEFAULT_RUN_CONFIG, type RunConfig, type StrategyName } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { PivotError, pivotTable } from '../../shared/export/pivot.js';
import {
  latexEscape,
  metricsToCsv,
  metricsToJson,
  metricsToLatex,
  metricsToMarkdown,
  seriesToCsv,
  toCsv,
  toJson,
  toLatex,
  toMarkdown,
} from '../../shared/export/formats.js';
import { metricsTable, parseMetrics } from '../../shared/export/metricsTable.js';

interface Made {
  id: number;
  strategy: StrategyName;
  budget?: number;
  seed: number;
  acc: number;
  cd: number;
  precision?: number | null;
  extra?: number;
  wall?: number;
  status?: RunSummary['status'];
  config?: (c: RunConfig) => RunConfig;
}

function run(m: Made): RunSummary {
  let config: RunConfig = structuredClone(DEFAULT_RUN_CONFIG);
  config.seed = m.seed;
  config.rehearsal.strategy = m.strategy;
  config.rehearsal.budget = m.budget ?? 0.1;
  if (m.config) config = m.config(config);
  return {
    id: m.id,
    studyId: 1,
    status: m.status ?? 'finished',
    config,
    backend: 'wasm',
    device: 'test',
    dataFingerprint: 'f'.repeat(64),
    prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.1 },
    final: { pretrainTestAcc: m.acc, finetuneTestAcc: 0.95, cdRate: m.cd, rehearsalPrecision: m.precision ?? null },
    compute: { forwardPasses: 1000, backwardPasses: 1000, extraForwardPasses: m.extra ?? 0, wallSeconds: m.wall ?? 10 },
    createdAt: '2026-01-01T00:00:00.000Z',
    series: [
      { step: 0, pretrainTestAcc: 0.9, finetuneTestAcc: 0.1, cdRate: 0, rehearsalPrecision: null },
      {
        step: 10,
        pretrainTestAcc: m.acc,
        finetuneTestAcc: 0.95,
        cdRate: m.cd,
        rehearsalPrecision: m.precision ?? null,
      },
    ],
  };
}

// none (no budget; its config budget is ignored), random and mix-cd at r = 0.25 and 0.5, loss-based at 0.5;
// two seeds each.
const RUNS: RunSummary[] = [
  run({ id: 1, strategy: 'none', seed: 1, acc: 0.6, cd: 0.3, wall: 10 }),
  run({ id: 2, strategy: 'none', budget: 0.5, seed: 2, acc: 0.62, cd: 0.28, wall: 12 }),
  run({ id: 3, strategy: 'random', budget: 0.25, seed: 1, acc: 0.7, cd: 0.2, precision: 0.3, wall: 11 }),
  run({ id: 4, strategy: 'random', budget: 0.25, seed: 2, acc: 0.72, cd: 0.18, precision: 0.34, wall: 13 }),
  run({ id: 5, strategy: 'mix-cd', budget: 0.25, seed: 1, acc: 0.8, cd: 0.1, precision: 0.6, wall: 14 }),
  run({ id: 6, strategy: 'mix-cd', budget: 0.25, seed: 2, acc: 0.78, cd: 0.12, precision: 0.62, wall: 16 }),
  run({ id: 7, strategy: 'random', budget: 0.5, seed: 1, acc: 0.75, cd: 0.15, precision: 0.3, wall: 12 }),
  run({ id: 8, strategy: 'random', budget: 0.5, seed: 2, acc: 0.77, cd: 0.13, precision: 0.3, wall: 14 }),
  run({ id: 9, strategy: 'mix-cd', budget: 0.5, seed: 1, acc: 0.84, cd: 0.06, precision: 0.5, wall: 15 }),
  run({ id: 10, strategy: 'mix-cd', budget: 0.5, seed: 2, acc: 0.86, cd: 0.04, precision: 0.54, wall: 17 }),
  run({
    id: 11,
    strategy: 'loss-based',
    budget: 0.5,
    seed: 1,
    acc: 0.8,
    cd: 0.1,
    precision: 0.4,
    extra: 1000,
    wall: 20,
  }),
  run({
    id: 12,
    strategy: 'loss-based',
    budget: 0.5,
    seed: 2,
    acc: 0.82,
    cd: 0.08,
    precision: 0.44,
    extra: 1200,
    wall: 22,
  }),
  // Not finished: left out.
  run({ id: 13, strategy: 'random', budget: 0.25, seed: 3, acc: 0.1, cd: 0.9, status: 'failed' }),
];

describe('pivotTable', () => {
  it('groups finished runs by strategy (fixed order) and budget (ascending), mean ± sd over seeds', () => {
    const pivot = pivotTable([...RUNS].reverse(), 'pretrainTestAcc');
    expect(pivot.columns).toEqual([
      { budget: 0, label: 'r = 0' },
      { budget: 0.25, label: 'r = 0.25' },
      { budget: 0.5, label: 'r = 0.5' },
    ]);
    expect(pivot.rows.map((r) => r.strategy)).toEqual(['none', 'random', 'mix-cd', 'loss-based']);
    const random = pivot.rows[1].cells;
    expect(random[1]!.runs).toEqual([3, 4]);
    expect(random[1]!.mean).toBeCloseTo(0.71, 12);
    expect(random[1]!.sd).toBeCloseTo(Math.SQRT2 * 0.01, 12);
    expect(random[1]!.n).toBe(2);
    expect(pivot.showN).toBe(false);
    // loss-based has no run at r = 0.25.
    expect(pivot.rows[3].cells[1]).toBeNull();
  });

  it('shows `none` (no budget) once, at r = 0, not repeated under every budget', () => {
    const pivot = pivotTable(RUNS, 'cdRate');
    const none = pivot.rows[0];
    expect(none.cells.map((c) => c?.runs ?? null)).toEqual([[1, 2], null, null]);
    expect(none.cells[0]!.mean).toBeCloseTo(0.29, 12);
    // Alone in its column: nothing to be best against.
    expect(none.cells[0]!.best).toBe(false);
    // The rehearsing strategies have no cell at r = 0.
    expect(pivot.rows.slice(1).map((r) => r.cells[0])).toEqual([null, null, null]);
    // Only `none` runs: one column, r = 0.
    const alone = pivotTable(RUNS.slice(0, 2), 'cdRate');
    expect(alone.columns).toEqual([{ budget: 0, label: 'r = 0' }]);
    expect(alone.rows[0].cells[0]!.runs).toEqual([1, 2]);
    // Every text format shows its value once.
    const once = (text: string) => text.split('0.290 ± 0.014').length - 1;
    expect(once(toMarkdown(pivot))).toBe(1);
    expect(toLatex(pivot).split('0.290 $\\pm$ 0.014').length - 1).toBe(1);
    expect(toCsv(pivot).split('\n')[1]).toBe('none,0.29,0.0141421356237,2,,,,,,');
  });

  it(
    'marks the best per column: highest for accuracies and precision, lowest ' +
      'for CD rate, extra passes and time (ties all best)',
    () => {
      const best = (metric: Parameters<typeof pivotTable>[1]) =>
        pivotTable(RUNS, metric).columns.map((_, c) =>
          pivotTable(RUNS, metric)
            .rows.filter((r) => r.cells[c]?.best)
            .map((r) => r.strategy),
        );
      expect(best('pretrainTestAcc')).toEqual([[], ['mix-cd'], ['mix-cd']]);
      expect(best('rehearsalPrecision')).toEqual([[], ['mix-cd'], ['mix-cd']]);
      expect(best('cdRate')).toEqual([[], ['mix-cd'], ['mix-cd']]);
      expect(best('wallSeconds')).toEqual([[], ['random'], ['random']]);
      expect(best('extraForwardPasses')).toEqual([[], ['random', 'mix-cd'], ['random', 'mix-cd']]);
      // Nothing rehearsed without rehearsal: no precision cell for `none`.
      expect(pivotTable(RUNS, 'rehearsalPrecision').rows[0].cells).toEqual([null, null, null]);
    },
  );

  it('shows n when the cells have different numbers of seeds; one seed has no sd', () => {
    const pivot = pivotTable(RUNS.slice(0, 5), 'pretrainTestAcc');
    expect(pivot.showN).toBe(true);
    expect(pivot.rows[2].cells[1]).toEqual({ mean: 0.8, sd: null, n: 1, best: true, runs: [5] });
  });

  it('refuses runs that differ in another setting than strategy, budget and seed, naming it', () => {
    const other = run({
      id: 20,
      strategy: 'random',
      budget: 0.25,
      seed: 3,
      acc: 0.7,
      cd: 0.2,
      config: (c) => ({ ...c, scenario: 'permute' }),
    });
    expect(() => pivotTable([...RUNS, other], 'pretrainTestAcc')).toThrow(PivotError);
    expect(() => pivotTable([...RUNS, other], 'pretrainTestAcc')).toThrow(
      /setting "scenario" \("rot90" in runs 1, 2, .*; "permute" in run 20\)/,
    );
    const lr = run({
      id: 21,
      strategy: 'none',
      seed: 3,
      acc: 0.7,
      cd: 0.2,
      config: (c) => ({ ...c, finetune: { ...c.finetune, optimizer: { ...c.finetune.optimizer, lr: 0.05 } } }),
    });
    expect(() => pivotTable([...RUNS, lr], 'cdRate')).toThrow(/"finetune\.optimizer\.lr"/);
    // A strategy's own settings only count among runs of that strategy.
    const gamma = run({
      id: 22,
      strategy: 'random',
      budget: 0.25,
      seed: 3,
      acc: 0.7,
      cd: 0.2,
      config: (c) => ({ ...c, rehearsal: { ...c.rehearsal, mixCd: { ...c.rehearsal.mixCd, gamma: 0.5 } } }),
    });
    expect(pivotTable([...RUNS, gamma], 'cdRate').rows[1].cells[1]!.runs).toEqual([3, 4, 22]);
    const mixGamma = run({
      id: 23,
      strategy: 'mix-cd',
      budget: 0.25,
      seed: 3,
      acc: 0.7,
      cd: 0.2,
      config: (c) => ({ ...c, rehearsal: { ...c.rehearsal, mixCd: { ...c.rehearsal.mixCd, gamma: 0.5 } } }),
    });
    expect(() => pivotTable([...RUNS, mixGamma], 'cdRate')).toThrow(/"rehearsal\.mixCd\.gamma"/);
  });

  it('refuses an unknown metric and a set without finished runs', () => {
    expect(() => pivotTable(RUNS, 'accuracy' as never)).toThrow(/Unknown metric "accuracy"/);
    expect(() => pivotTable(RUNS.slice(12), 'cdRate')).toThrow(/None of the 1 runs has finished/);
  });
});

const LABELS = { 'mix-cd': 'mix-cd (ours, K=10)', 'loss-based': 'loss_based & 50% {top}' };

describe('formats', () => {
  const pivot = pivotTable(RUNS, 'pretrainTestAcc', { labels: LABELS });

  it('CSV: wide, numbers to 12 significant digits (the one CSV rule), a label with a comma quoted', () => {
    expect(toCsv(pivot)).toBe(
      [
        'strategy,r = 0 mean,r = 0 sd,r = 0 n,r = 0.25 mean,r = 0.25 sd,r = 0.25 n,r = 0.5 mean,r = 0.5 sd,r = 0.5 n',
        `none,0.61,0.0141421356237,2,,,,,,`,
        `random,,,,0.71,0.0141421356237,2,0.76,0.0141421356237,2`,
        `"mix-cd (ours, K=10)",,,,0.79,0.0141421356237,2,0.85,0.0141421356237,2`,
        'loss_based & 50% {top},,,,,,,0.81,0.0141421356237,2',
        '',
      ].join('\n'),
    );
    const parsed: string[][] = parse(toCsv(pivot));
    expect(parsed[3][0]).toBe('mix-cd (ours, K=10)');
    expect(Number(parsed[3][4])).toBe(pivot.rows[2].cells[1]!.mean);
  });

  it('Markdown: best per column in bold, caption saying which way is better', () => {
    expect(toMarkdown(pivot)).toBe(
      [
        '| strategy | r = 0 | r = 0.25 | r = 0.5 |',
        '| :-- | --: | --: | --: |',
        '| none | 0.610 ± 0.014 |  |  |',
        '| random |  | 0.710 ± 0.014 | 0.760 ± 0.014 |',
        '| mix-cd (ours, K=10) |  | **0.790 ± 0.014** | **0.850 ± 0.014** |',
        '| loss\\_based & 50% {top} |  | — | 0.810 ± 0.014 |',
        '',
        '*pretrain-test acc: mean ± sd over seeds; best per column in bold (higher is better).*',
        '',
      ].join('\n'),
    );
    // n shown when the seeds differ; one seed: the mean alone; lower is better for time.
    expect(toMarkdown(pivotTable(RUNS.slice(0, 5), 'wallSeconds'))).toBe(
      [
        '| strategy | r = 0 | r = 0.25 |',
        '| :-- | --: | --: |',
        '| none | 11.0 ± 1.4 (n=2) |  |',
        '| random |  | **12.0 ± 1.4 (n=2)** |',
        '| mix-cd |  | 14.0 (n=1) |',
        '',
        '*wall time (s): mean ± sd over seeds; best per column in bold (lower is better).*',
        '',
      ].join('\n'),
    );
  });

  it('LaTeX: booktabs rules, \\textbf best, $\\pm$, labels escaped', () => {
    expect(toLatex(pivot)).toBe(
      [
        '% pretrain-test acc: mean $\\pm$ sd over seeds; best per column in bold (higher is better).',
        '\\begin{tabular}{lrrr}',
        '\\toprule',
        'strategy & $r = 0$ & $r = 0.25$ & $r = 0.5$ \\\\',
        '\\midrule',
        'none & 0.610 $\\pm$ 0.014 &  &  \\\\',
        'random &  & 0.710 $\\pm$ 0.014 & 0.760 $\\pm$ 0.014 \\\\',
        'mix-cd (ours, K=10) &  & \\textbf{0.790 $\\pm$ 0.014} & \\textbf{0.850 $\\pm$ 0.014} \\\\',
        'loss\\_based \\& 50\\% \\{top\\} &  & -- & 0.810 $\\pm$ 0.014 \\\\',
        '\\bottomrule',
        '\\end{tabular}',
        '',
      ].join('\n'),
    );
    expect(latexEscape('a\\b~c^d#e$f')).toBe('a\\textbackslash{}b\\textasciitilde{}c\\textasciicircum{}d\\#e\\$f');
  });

  it('JSON: the numbers (mean, sd, n, best, run ids), not strings', () => {
    const sd2 = Math.abs(0.3 - 0.28) / Math.SQRT2;
    const expected = {
      metric: 'cdRate',
      metricLabel: 'CD rate',
      higherIsBetter: false,
      columns: [
        { budget: 0, label: 'r = 0' },
        { budget: 0.25, label: 'r = 0.25' },
      ],
      rows: [
        {
          strategy: 'none',
          label: 'none',
          cells: [{ budget: 0, mean: (0.3 + 0.28) / 2, sd: sd2, n: 2, best: false, runs: [1, 2] }, null],
        },
        {
          strategy: 'random',
          label: 'random',
          cells: [null, { budget: 0.25, mean: (0.2 + 0.18) / 2, sd: sd2, n: 2, best: false, runs: [3, 4] }],
        },
        {
          strategy: 'mix-cd',
          label: 'mix-cd',
          cells: [null, { budget: 0.25, mean: 0.1, sd: null, n: 1, best: true, runs: [5] }],
        },
      ],
    };
    const json = toJson(pivotTable(RUNS.slice(0, 5), 'cdRate'));
    const parsed = JSON.parse(json);
    type Cell = { sd: number | null } | null;
    const sds = (rows: { cells: Cell[] }[]) => rows.map((r) => r.cells.find((c) => c !== null)!.sd);
    expect(sds(parsed.rows)).toEqual([expect.closeTo(sd2, 15), expect.closeTo(sd2, 15), null]);
    for (const row of [...parsed.rows, ...expected.rows]) for (const cell of row.cells) if (cell) cell.sd = 0;
    expect(parsed).toEqual(expected);
    expect(json).toBe(JSON.stringify(JSON.parse(json), null, 2) + '\n');
  });

  it('series CSV: one line per run and eval step; none has no budget, null precision is empty', () => {
    expect(seriesToCsv(RUNS.slice(1, 3))).toBe(
      [
        'runId,strategy,budget,seed,step,pretrainTestAcc,finetuneTestAcc,cdRate,rehearsalPrecision',
        '2,none,,2,0,0.9,0.1,0,',
        '2,none,,2,10,0.62,0.95,0.28,',
        '3,random,0.25,1,0,0.9,0.1,0,',
        '3,random,0.25,1,10,0.7,0.95,0.2,0.3',
        '',
      ].join('\n'),
    );
  });
});

describe('several metrics side by side (rows strategy x r, as the README tables)', () => {
  const table = metricsTable(RUNS, ['pretrainTestAcc', 'finetuneTestAcc', 'cdRate'], { labels: LABELS });

  it('has one row per strategy and budget, none once without a budget, readable metric names', () => {
    expect(table.metrics.map((m) => m.label)).toEqual(['pretrain-test acc', 'finetune-test acc', 'CD rate']);
    expect(table.rows.map((r) => [r.strategy, r.budget])).toEqual([
      ['none', null],
      ['random', 0.25],
      ['random', 0.5],
      ['mix-cd', 0.25],
      ['mix-cd', 0.5],
      ['loss-based', 0.5],
    ]);
    expect(table.rows[0].cells[0]!.runs).toEqual([1, 2]);
    expect(table.rows[4].cells[0]!.mean).toBeCloseTo(0.85, 12);
    expect(table.rows[4].cells[2]!.mean).toBeCloseTo(0.05, 12);
    // Best at each budget, per metric (higher accuracy, lower CD rate); none competes with nobody.
    const best = (m: number) => table.rows.filter((r) => r.cells[m]?.best).map((r) => `${r.strategy}@${r.budget}`);
    expect(best(0)).toEqual(['mix-cd@0.25', 'mix-cd@0.5']);
    expect(best(2)).toEqual(['mix-cd@0.25', 'mix-cd@0.5']);
    // finetune-test acc ties at 0.95 everywhere: all best at each budget.
    expect(best(1)).toEqual(['random@0.25', 'random@0.5', 'mix-cd@0.25', 'mix-cd@0.5', 'loss-based@0.5']);
  });

  it('Markdown, LaTeX, CSV and JSON', () => {
    const two = metricsTable(RUNS.slice(0, 6), ['pretrainTestAcc', 'cdRate']);
    expect(metricsToMarkdown(two)).toBe(
      [
        '| strategy | r | pretrain-test acc | CD rate |',
        '| :-- | --: | --: | --: |',
        '| none | — | 0.610 ± 0.014 | 0.290 ± 0.014 |',
        '| random | 0.25 | 0.710 ± 0.014 | 0.190 ± 0.014 |',
        '| mix-cd | 0.25 | **0.790 ± 0.014** | **0.110 ± 0.014** |',
        '',
        '*Mean ± sd over seeds; the best at each r in bold (higher is better for pretrain-test acc; ' +
          'lower is better for CD rate).*',
        '',
      ].join('\n'),
    );
    expect(metricsToLatex(two)).toBe(
      [
        '% Mean $\\pm$ sd over seeds; the best at each r in bold (higher is better for pretrain-test acc; ' +
          'lower is better for CD rate).',
        '\\begin{tabular}{lrrr}',
        '\\toprule',
        'strategy & $r$ & pretrain-test acc & CD rate \\\\',
        '\\midrule',
        'none & -- & 0.610 $\\pm$ 0.014 & 0.290 $\\pm$ 0.014 \\\\',
        'random & 0.25 & 0.710 $\\pm$ 0.014 & 0.190 $\\pm$ 0.014 \\\\',
        'mix-cd & 0.25 & \\textbf{0.790 $\\pm$ 0.014} & \\textbf{0.110 $\\pm$ 0.014} \\\\',
        '\\bottomrule',
        '\\end{tabular}',
        '',
      ].join('\n'),
    );
    const csv: string[][] = parse(metricsToCsv(two));
    expect(csv[0]).toEqual([
      'strategy',
      'r',
      'pretrain-test acc mean',
      'pretrain-test acc sd',
      'pretrain-test acc n',
      'CD rate mean',
      'CD rate sd',
      'CD rate n',
    ]);
    expect(csv[1]).toEqual(['none', '', '0.61', '0.0141421356237', '2', '0.29', '0.0141421356237', '2']);
    expect(csv[3][1]).toBe('0.25');
    const json = JSON.parse(metricsToJson(two));
    expect(json.metrics[1]).toEqual({ metric: 'cdRate', label: 'CD rate', higherIsBetter: false, decimals: 3 });
    expect(json.rows[0]).toMatchObject({ strategy: 'none', budget: null });
    expect(json.rows[2].cells[1]).toMatchObject({ metric: 'cdRate', n: 2, best: true, runs: [5, 6] });
    expect(json.rows[2].cells[1].mean).toBeCloseTo(0.11, 12);
  });

  it('parses a --metrics list and names a wrong name', () => {
    expect(parseMetrics('pretrainTestAcc, finetuneTestAcc,pretrainTestAcc')).toEqual([
      'pretrainTestAcc',
      'finetuneTestAcc',
    ]);
    expect(() => parseMetrics('pretrainTestAcc,accuracy')).toThrow(/"accuracy" is not a metric: give one or more of/);
    expect(() => parseMetrics(' , ')).toThrow(/No metric given/);
  });
});
