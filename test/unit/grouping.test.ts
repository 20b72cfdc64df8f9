// The one grouping of runs (shared/grouping.ts) and its users: the Compare panels, the study table
// (Pareto plot) and the export pivot keep apart what differs in any setting but the seed, and a
// repeated run (same settings, same seed) is named a duplicate, not counted as a seed.
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { groupBySettings, paretoPoints } from '../../shared/charts/compare.js';
import { pivotTable } from '../../shared/export/pivot.js';
import { duplicateNotes, groupRuns, settingsKey } from '../../shared/grouping.js';
import type { RunSummary } from '../../shared/results.js';
import { studyTable } from '../../shared/studyTable.js';

function run(id: number, over: Record<string, unknown>, pretrain = 0.8): RunSummary {
  return {
    id,
    studyId: null,
    status: 'finished',
    config: parseRunConfig(over),
    backend: 'wasm',
    device: 'CPU',
    dataFingerprint: 'x',
    prior: { pretrainTestAcc: 0.88, finetuneTestAcc: 0.1 },
    final: { pretrainTestAcc: pretrain, finetuneTestAcc: 0.7, cdRate: 0.1, rehearsalPrecision: 0.2 },
    compute: { forwardPasses: 1, backwardPasses: 1, extraForwardPasses: 0, wallSeconds: 1 },
    createdAt: '2026-01-01T00:00:00.000Z',
    series: [],
  };
}

const random = (id: number, steps: number, seed: number, pretrain = 0.8) =>
  run(id, { seed, finetune: { steps }, rehearsal: { strategy: 'random', budget: 0.1 } }, pretrain);

describe('groupRuns', () => {
  it('keeps apart runs of 100 and 400 steps, naming the difference', () => {
    const groups = groupRuns([random(1, 100, 1), random(2, 100, 2), random(3, 400, 1)]);
    expect(groups.map((g) => [g.label, g.runs.map((r) => r.id), g.seeds])).toEqual([
      ['random r=0.1 finetune.steps=100', [1, 2], [1, 2]],
      ['random r=0.1 finetune.steps=400', [3], [1]],
    ]);
  });

  it('names a repeated run (same settings and seed) a duplicate instead of a second seed', () => {
    const [group] = groupRuns([random(11, 100, 1), random(15, 100, 1), random(12, 100, 2)]);
    expect(group.runs.map((r) => r.id)).toEqual([11, 12]);
    expect(group.seeds).toEqual([1, 2]);
    expect(group.duplicates.map((d) => [d.run.id, d.of.id])).toEqual([[15, 11]]);
    expect(duplicateNotes(group)).toEqual(['run #15 repeats #11 (same settings, seed 1): not counted as a seed']);
    // The earliest run is the one kept, whatever order the runs come in.
    const [reordered] = groupRuns([random(15, 100, 1), random(11, 100, 1)]);
    expect(reordered.runs.map((r) => r.id)).toEqual([11]);
  });

  it("ignores a none run's budget and other strategies' settings", () => {
    const none = (id: number, budget: number) => run(id, { seed: id, rehearsal: { strategy: 'none', budget } });
    expect(settingsKey(none(1, 0.1).config)).toBe(settingsKey(none(2, 0.3).config));
    const a = run(1, { rehearsal: { strategy: 'random', mixCd: { bins: 5 } } });
    const b = run(2, { rehearsal: { strategy: 'random', mixCd: { bins: 9 } } });
    expect(settingsKey(a.config)).toBe(settingsKey(b.config));
    const c = run(3, { rehearsal: { strategy: 'mix-cd', mixCd: { bins: 5 } } });
    const d = run(4, { rehearsal: { strategy: 'mix-cd', mixCd: { bins: 9 } } });
    expect(settingsKey(c.config)).not.toBe(settingsKey(d.config));
  });
});

describe('every panel and table groups the same way', () => {
  const runs = [random(1, 100, 1, 0.8), random(2, 100, 1, 0.2), random(3, 400, 1, 0.6), random(4, 400, 2, 0.7)];

  it('Compare curves: two groups, the duplicate set apart', () => {
    const groups = groupBySettings(runs);
    expect(groups.map((g) => g.runs.length)).toEqual([1, 2]);
    expect(groups[0].duplicates.map((d) => d.run.id)).toEqual([2]);
  });

  it('study table and Pareto plot: two points, not one pooled "(n=3)"', () => {
    const cells = studyTable(runs);
    expect(cells.map((c) => [c.label, c.runs, c.duplicates])).toEqual([
      ['random r=0.1 finetune.steps=100', [1], [2]],
      ['random r=0.1 finetune.steps=400', [3, 4], []],
    ]);
    // The duplicate's 0.2 is not averaged in.
    expect(cells[0].pretrainTestAcc).toEqual({ mean: 0.8, sd: 0, n: 1 });
    expect(paretoPoints(cells).map((p) => [p.label, p.n])).toEqual([
      ['random r=0.1 finetune.steps=100', 1],
      ['random r=0.1 finetune.steps=400', 2],
    ]);
  });

  it('export pivot: a duplicate is not a second seed', () => {
    const table = pivotTable(
      [random(1, 100, 1, 0.8), random(2, 100, 1, 0.2), random(5, 100, 2, 0.6)],
      'pretrainTestAcc',
    );
    const cell = table.rows[0].cells[0]!;
    expect(cell.runs).toEqual([1, 5]);
    expect(cell.n).toBe(2);
    expect(cell.mean).toBeCloseTo(0.7, 10);
  });
});

describe('one colour per group in every chart', () => {
  it('gives a group the same colour in the curves and the Pareto plot, and strategies their own hue', async () => {
    const { bandChartOption, bandSeries, paretoOption } = await import('../../shared/charts/compare.js');
    const { groupColors, strategyColor } = await import('../../shared/charts/colors.js');
    const withSeries = (r: RunSummary) => ({
      ...r,
      series: [{ step: 0, pretrainTestAcc: 0.8, finetuneTestAcc: 0.5, cdRate: 0.1, rehearsalPrecision: null }],
    });
    const runs = [random(1, 100, 1), random(2, 400, 1), run(3, { rehearsal: { strategy: 'mix-cd' } })].map(withSeries);
    const groups = groupBySettings(runs);
    const colors = groupColors(groups);
    const colorOf = (key: string) => colors.get(key);
    // Two random groups: two shades of random's hue; mix-cd its own.
    expect(new Set(colors.values()).size).toBe(3);
    expect(colors.get(groups[2].key)).toBe(strategyColor('mix-cd'));
    const bands = bandChartOption(bandSeries(groups, 'pretrainTestAcc'), { yName: 'y', colorOf });
    const pareto = paretoOption(studyTable(runs), { pointColorOf: colorOf });
    const bandColor = (label: string) =>
      (bands.series as { name: string; id: string; color: string }[]).find(
        (s) => s.name === label && s.id.endsWith('-mean'),
      )!.color;
    const pointColor = (label: string) =>
      (pareto.series as { type: string; data: { name: string; itemStyle?: { color: string } }[] }[])
        .filter((s) => s.type === 'scatter')
        .flatMap((s) => s.data)
        .find((d) => d.name.startsWith(label))!.itemStyle!.color;
    for (const g of groups) expect(pointColor(`${g.label} (`)).toBe(bandColor(g.label));
    // The legend wraps instead of paging, and the plot starts below it.
    expect((bands.legend as { type: string }).type).toBe('plain');
  });
});
