// The sample inspector's chart builders: the heatmap's cells and tooltip, the estimates beside the
// probe's truth with its correlation sentence, where the budget went, rehearsals per class and per
// bin, one sample's timeline; plus the decoding of raw sample bytes for the thumbnails.
import { describe, expect, it } from 'vitest';
import {
  CATEGORY_COLORS,
  REFERENCE_LABEL,
  binAxisLabels,
  binCorrelation,
  binLabel,
  binDistribution,
  binEstimatesOption,
  binHeatmapOption,
  budgetOption,
  budgetTable,
  classDistribution,
  distributionOption,
  percent,
  runLabel,
  sampleTimelineOption,
  thinnedLabels,
  traceAt,
} from '../../shared/charts/inspector.js';
import { pointCount } from '../../shared/charts/options.js';
import type { BudgetWindow, RunInspection, SampleStory } from '../../shared/inspect.js';
import type { BinTrace } from '../../shared/results.js';
import { bytesPerSample, meanByte, rowPreview, splitSamples, toRgba } from '../../shared/samplePixels.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

type AnySeries = Record<string, any>;
const seriesOf = (option: Record<string, unknown>) => option.series as AnySeries[];
const byId = (option: Record<string, unknown>, id: string) => seriesOf(option).find((s) => s.id === id)!;

const trace = (step: number, over: Partial<BinTrace> = {}): BinTrace => ({
  step,
  size: [100, 50, 10, 40],
  alpha: [0.1, 0.4, 0.2, 0.05],
  probability: [0.2, 0.5, 0.05, 0.25],
  drawn: [1, 2, 3, 4],
  cdFound: [0, 1, 0, 0],
  trueCdRate: [0.3, 0.5, null, 0.02],
  ...over,
});

describe('bin heatmap', () => {
  it('puts steps on x, bins on y and the probability in each cell, skipping missing ones', () => {
    const traces = deepFreeze([
      trace(0, { probability: [0.25, 0.25, 0.25, 0.25] }),
      trace(100, { probability: [0.2, 0.5, Number.NaN, 0.3] }),
    ]);
    const option = binHeatmapOption(traces);
    expect(option.xAxis).toMatchObject({ type: 'category', data: ['0', '100'] });
    expect(option.yAxis).toMatchObject({ type: 'category', name: 'bin', data: ['0', '1', '2', '3'] });
    const [heat] = seriesOf(option);
    expect(heat.type).toBe('heatmap');
    expect(heat.data).toHaveLength(7); // 8 cells, one NaN left out
    expect(heat.data).toContainEqual([1, 1, 0.5, 0.4, 50]);
    expect(heat.data.some((d: number[]) => d[0] === 1 && d[1] === 2)).toBe(false);
    expect(option.visualMap).toMatchObject({ dimension: 2, min: 0, max: 0.5 });
    const tip = (option.tooltip as { formatter: (p: unknown) => string }).formatter({ value: [1, 1, 0.5, 0.4, 50] });
    expect(tip).toContain('bin 1 at step 100');
    expect(tip).toContain('sampling probability 0.5000');
    expect(tip).toContain('alpha (estimated CD rate) 0.400');
    expect(tip).toContain('size 50');
  });

  it(
    'uses short bin names on the axis, long ones only in the tooltip, and keeps ' +
      'a drawable range for all-zero traces',
    () => {
      const option = binHeatmapOption([trace(0, { probability: [0, 0, 0, 0] })], {
        binLabels: ['a', 'b', 'c', 'd'],
        title: 'T',
      });
      expect((option.yAxis as { data: string[] }).data).toEqual(['a', 'b', 'c', 'd']);
      const long = ['class 0 (T-shirt), l0 0.001..0.01', 'b', 'c', 'd'];
      const named = binHeatmapOption([trace(0)], { binLabels: long });
      expect((named.yAxis as { data: string[] }).data).toEqual(['0', '1', '2', '3']);
      expect(
        (named.tooltip as { formatter: (p: unknown) => string }).formatter({ value: [0, 0, 0.2, 0.1, 100] }),
      ).toContain('bin 0: class 0 (T-shirt), l0 0.001..0.01 at step 0');
      expect(binAxisLabels(2, ['x'])).toEqual(['0', '1']); // too few names: none
      // 100 bins: every fifth label on the axis, not 100 overprinted ones; named ones always.
      const many = binHeatmapOption([trace(0, { probability: Array.from({ length: 100 }, () => 0.01) })]);
      const shown = (many.yAxis as { axisLabel: { interval: (i: number, v: string) => boolean } }).axisLabel.interval;
      expect([0, 1, 4, 5, 10].map((i) => shown(i, String(i)))).toEqual([true, false, false, true, true]);
      expect(shown(101, 'outside')).toBe(true);
      expect(thinnedLabels(['0', '1'])).toEqual({ interval: 0 });
      expect(binLabel(-1)).toBe('outside every bin');
      expect(option.visualMap).toMatchObject({ max: 1 });
      expect(option.title).toMatchObject({ text: 'T' });
      expect(binHeatmapOption([]).series).toEqual([expect.objectContaining({ data: [] })]);
    },
  );
});

describe('bin estimates', () => {
  it('finds the trace at or before a step', () => {
    const traces = [trace(0), trace(100), trace(200)];
    expect(traceAt(traces, 100)?.step).toBe(100);
    expect(traceAt(traces, 150)?.step).toBe(100);
    expect(traceAt(traces, 999)?.step).toBe(200);
    expect(traceAt([], 5)).toBeNull();
  });

  it('draws alpha beside the true CD rate with gaps, sizes on a second axis, and r in the subtitle', () => {
    const t = deepFreeze(trace(1500));
    const option = binEstimatesOption(t);
    expect(byId(option, 'alpha').data).toEqual([0.1, 0.4, 0.2, 0.05]);
    expect(byId(option, 'true-cd').data).toEqual([0.3, 0.5, null, 0.02]);
    expect(byId(option, 'size')).toMatchObject({ yAxisIndex: 1, data: [100, 50, 10, 40] });
    expect((option.xAxis as { data: string[] }).data).toEqual(['0', '1', '2', '3']);
    expect(option.yAxis).toHaveLength(2);
    // Pearson over the 3 bins with a probe value: alpha (0.1, 0.4, 0.05) vs truth (0.3, 0.5, 0.02).
    const { r, n, text } = binCorrelation(t);
    expect(n).toBe(3);
    expect(r).toBeCloseTo(0.883706, 5);
    expect(text).toBe('Pearson r = 0.88 over 3 bins at step 1500');
    expect((option.title as { subtext: string }).subtext).toBe(text);
    expect((binEstimatesOption(t, { correlationInTitle: false }).title as { subtext: string }).subtext).toBe('');
    // The tooltip names the bin in full and gives each series' value, gaps as a dash.
    const tip = (option.tooltip as { formatter: (p: unknown) => string }).formatter([
      { dataIndex: 2, seriesName: 'alpha (estimate)', value: 0.2 },
      { dataIndex: 2, seriesName: 'true CD rate (probe)', value: null },
    ]);
    expect(tip).toBe('bin 2\nalpha (estimate): 0.200\ntrue CD rate (probe): —');
  });

  it('says why there is no correlation', () => {
    expect(binCorrelation(null).text).toContain('no mix-cd bins');
    expect(binCorrelation(trace(10, { trueCdRate: undefined })).text).toBe(
      'No true CD rate per bin at step 10: the run has no probe subset.',
    );
    expect(binCorrelation(trace(10, { trueCdRate: [0.1, null, null, null] })).text).toBe(
      'No Pearson r at step 10: only 1 bin has probe samples.',
    );
    expect(binCorrelation(trace(10, { trueCdRate: [0.1, 0.1, 0.1, 0.1] })).text).toContain('do not vary');
    // Without a probe the truth series is all gaps, not zeros.
    expect(byId(binEstimatesOption(trace(10, { trueCdRate: undefined })), 'true-cd').data).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });
});

const window = (
  step: number,
  rehearsed: [number, number, number, number],
  probe: [number, number, number, number] | null,
  unknown = 0,
): BudgetWindow => ({ step, rehearsed, unknown, probe });

describe('where the budget went', () => {
  const mix = [
    window(0, [0, 0, 0, 0], [0, 90, 10, 0]),
    window(100, [30, 60, 0, 10], [10, 80, 8, 2], 5),
    window(200, [20, 70, 5, 5], [20, 70, 6, 4]),
  ];
  const random = [
    window(0, [0, 0, 0, 0], [0, 90, 10, 0]),
    window(100, [10, 80, 10, 0], [20, 70, 8, 2]),
    window(200, [10, 80, 5, 5], [30, 60, 6, 4]),
  ];

  it('shares per category per run, and the pretrain set as the mean of the runs after f0', () => {
    const table = budgetTable(
      deepFreeze([
        { label: 'run 1 · mix-cd r=0.1', windows: mix },
        { label: 'run 2 · random r=0.1', windows: random },
      ]),
    );
    expect(table.categories).toEqual(['collateral-damage', 'unforgotten', 'unlearned', 'newly-learned']);
    expect(table.labels[0]).toBe('CD (forgotten)');
    expect(table.runs[0].rehearsed).toEqual([0.25, 0.65, 0.025, 0.075]);
    expect(table.runs[0].rehearsals).toBe(205);
    expect(table.runs[0].unknown).toBe(5);
    expect(table.runs[1].rehearsed).toEqual([0.1, 0.8, 0.075, 0.025]);
    // mix-cd's own probe: CD 0.1 and 0.2 -> 0.15; random's: 0.2 and 0.3 -> 0.25; pooled 0.2.
    expect(table.pretrain![0]).toBeCloseTo(0.2, 12);
    expect(table.pretrain![1]).toBeCloseTo(0.7, 12);
  });

  it('draws the pretrain set first in grey, then one bar series per run', () => {
    const option = budgetOption([
      { label: 'run 1 · mix-cd r=0.1', windows: mix },
      { label: 'run 2 · random r=0.1', windows: random },
    ]);
    const series = seriesOf(option);
    expect(series.map((s) => s.name)).toEqual([REFERENCE_LABEL, 'run 1 · mix-cd r=0.1', 'run 2 · random r=0.1']);
    expect((option.xAxis as { data: string[] }).data).toEqual([
      'CD (forgotten)',
      'unforgotten',
      'unlearned',
      'newly learned',
    ]);
    expect(series[1].data[0]).toBeCloseTo(0.25, 12);
    expect(series[2].data[0]).toBeCloseTo(0.1, 12);
    expect(series[1].label.formatter({ value: 0.25 })).toBe('25%');
  });

  it('leaves out the reference without a probe', () => {
    const option = budgetOption([{ label: 'x', windows: [window(100, [1, 1, 0, 0], null)] }]);
    expect(seriesOf(option).map((s) => s.name)).toEqual(['x']);
    expect(budgetTable([{ label: 'x', windows: [] }]).runs[0].rehearsed).toEqual([0, 0, 0, 0]);
  });

  it('formats shares and labels runs', () => {
    expect(percent(0.2345)).toBe('23.4%');
    expect(percent(null)).toBe('—');
    expect(runLabel(12, 'mix-cd', 0.1)).toBe('run 12 · mix-cd r=0.1');
    expect(runLabel(3, 'none', 0)).toBe('run 3 · none');
  });
});

function inspection(
  runId: number,
  strategy: 'mix-cd' | 'random',
  byClass: number[],
  byBin: { bins: number[]; outside: number } | null,
): RunInspection {
  return {
    runId,
    studyId: 1,
    status: 'finished',
    strategy,
    budget: 0.1,
    seed: 1,
    pretrainSize: 100,
    numClasses: 2,
    classNames: ['T-shirt', 'Trouser'],
    classSizes: [60, 40],
    shape: { kind: 'image', height: 2, width: 2, channels: 1 },
    evalSteps: [0, 100],
    probeSize: 10,
    binTraces: [],
    partition: byBin
      ? {
          runId: 1,
          rule: 'class',
          sizes: [50, 30],
          outside: 20,
          labels: ['class 0 (T-shirt)', 'class 1 (Trouser), l0 0.01..0.2'],
        }
      : null,
    rehearsals: byClass.reduce((a, b) => a + b, 0),
    distinctRehearsed: 5,
    byClass,
    byBin,
    budgetWindows: [],
    notes: [],
  };
}

describe('rehearsals side by side', () => {
  const a = inspection(1, 'mix-cd', [30, 10], { bins: [30, 10], outside: 0 });
  const b = inspection(2, 'random', [20, 20], { bins: [16, 12], outside: 12 });

  it('per class: shares of each run beside the class sizes', () => {
    const dist = classDistribution(deepFreeze([a, b]));
    expect(dist.categories).toEqual(['T-shirt', 'Trouser']);
    const option = distributionOption(dist, { axisName: 'class' });
    const series = seriesOf(option);
    expect(series.map((s) => s.name)).toEqual(['pretrain set', 'run 1 · mix-cd r=0.1', 'run 2 · random r=0.1']);
    expect(series[0].data).toEqual([0.6, 0.4]);
    expect(series[1].data).toEqual([0.75, 0.25]);
    expect(series[2].data).toEqual([0.5, 0.5]);
    expect((option.xAxis as { data: string[] }).data).toEqual(['T-shirt', 'Trouser']);
  });

  it('per bin: the shared partition, with the samples outside every bin as their own column', () => {
    const dist = binDistribution([a, b])!;
    expect(dist.categories).toEqual(['0', '1', 'outside']);
    expect(dist.names).toEqual([
      'bin 0: class 0 (T-shirt)',
      'bin 1: class 1 (Trouser), l0 0.01..0.2',
      'outside every bin',
    ]);
    expect(dist.reference!.counts).toEqual([50, 30, 20]);
    expect(dist.runs[0].counts).toEqual([30, 10, 0]);
    expect(dist.runs[1].counts).toEqual([16, 12, 12]);
    const option = distributionOption(dist, { axisName: 'bin' });
    const series = seriesOf(option);
    expect(series[2].data).toEqual([0.4, 0.3, 0.3]);
    const tip = (option.tooltip as { formatter: (p: unknown) => string }).formatter([
      { dataIndex: 2, seriesName: 'run 2 · random r=0.1', value: 0.3 },
    ]);
    expect(tip).toBe('outside every bin\nrun 2 · random r=0.1: 30.0%');
    expect(pointCount(distributionOption(dist, { axisName: 'bin' }))).toBe(9);
    expect(binDistribution([inspection(3, 'random', [1, 1], null)])).toBeNull();
  });
});

describe('sample timeline', () => {
  const detail = (over: Partial<SampleStory> = {}): SampleStory => ({
    sample: { index: 7, count: 3, class: 0, category: 'collateral-damage' },
    priorCorrect: true,
    rehearsals: [
      { step: 40, category: 'collateral-damage' },
      { step: 90, category: null },
      { step: 130, category: 'unforgotten' },
    ],
    probe: [
      { step: 0, category: 'unforgotten' },
      { step: 100, category: 'collateral-damage' },
      { step: 200, category: 'unforgotten' },
    ],
    ...over,
  });

  it('draws the probe category at each eval and the verdict at each rehearsal', () => {
    const option = sampleTimelineOption(deepFreeze(detail()), { lastStep: 300 });
    expect((option.yAxis as { data: string[] }).data).toEqual(['verdict unknown', 'unforgotten', 'CD (forgotten)']);
    expect(byId(option, 'probe').data.map((d: { value: unknown }) => d.value)).toEqual([
      [0, 'unforgotten'],
      [100, 'CD (forgotten)'],
      [200, 'unforgotten'],
    ]);
    const marks = byId(option, 'rehearsals').data;
    expect(marks.map((d: { value: unknown }) => d.value)).toEqual([
      [40, 'CD (forgotten)'],
      [90, 'verdict unknown'],
      [130, 'unforgotten'],
    ]);
    expect(marks[0].itemStyle.color).toBe(CATEGORY_COLORS['collateral-damage']);
    expect(option.xAxis).toMatchObject({ min: 0, max: 300 });
  });

  it('without a probe: only the rehearsals; all four rows when f0 is unknown', () => {
    const option = sampleTimelineOption(
      detail({ probe: null, priorCorrect: null, rehearsals: [{ step: 5, category: 'newly-learned' }] }),
    );
    expect(seriesOf(option).map((s) => s.id)).toEqual(['rehearsals']);
    expect((option.yAxis as { data: string[] }).data).toEqual([
      'unlearned',
      'newly learned',
      'unforgotten',
      'CD (forgotten)',
    ]);
    expect(option.xAxis).toMatchObject({ max: 5 });
  });
});

describe('sample bytes', () => {
  const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

  it('splits one answer into per-sample views and refuses a byte count that does not fit', () => {
    const shape = { kind: 'image' as const, height: 1, width: 2, channels: 1 };
    const samples = splitSamples({ shape, indices: [9, 4], data: b64([1, 2, 3, 4]) });
    expect([...samples.keys()]).toEqual([9, 4]);
    expect([...samples.get(4)!]).toEqual([3, 4]);
    expect(() => splitSamples({ shape, indices: [9, 4], data: b64([1, 2, 3]) })).toThrow(
      /3 bytes for 2 samples of 2 bytes/,
    );
    expect(bytesPerSample({ kind: 'row', features: 5 })).toBe(5);
    expect(bytesPerSample({ kind: 'image', height: 28, width: 28, channels: 3 })).toBe(2352);
  });

  it('turns grey and RGB pixels into RGBA', () => {
    expect([...toRgba(new Uint8Array([10, 200]), { height: 1, width: 2, channels: 1 })]).toEqual([
      10, 10, 10, 255, 200, 200, 200, 255,
    ]);
    expect([...toRgba(new Uint8Array([1, 2, 3, 4, 5, 6]), { height: 2, width: 1, channels: 3 })]).toEqual([
      1, 2, 3, 255, 4, 5, 6, 255,
    ]);
    expect(meanByte(new Uint8Array([0, 10, 20]))).toBe(10);
    expect(rowPreview(new Uint8Array([1, 2, 3, 4]), 3)).toEqual({ values: [1, 2, 3], more: 1 });
  });

  it('reads a float32 row (CSV features as they are) at any byte offset, 3 significant digits', () => {
    const shape = { kind: 'row' as const, features: 3, values: 'float32' as const };
    expect(bytesPerSample(shape)).toBe(12);
    const two = new Uint8Array(new Float32Array([0.25, -1.2345, 1234.5, 0, 7, -0.000123]).buffer);
    const samples = splitSamples({ shape, indices: [5, 6], data: b64([...two]) });
    expect(rowPreview(samples.get(5)!, 12, shape)).toEqual({ values: ['0.25', '-1.23', '1230'], more: 0 });
    // A view that does not start on a 4-byte boundary reads the same values.
    const shifted = new Uint8Array(13);
    shifted.set(two.subarray(12), 1);
    expect(rowPreview(shifted.subarray(1), 2, shape)).toEqual({ values: ['0', '7'], more: 1 });
    // Bytes stay bytes without the float32 mark.
    expect(rowPreview(two.subarray(0, 4), 2, { kind: 'row', features: 4 }).values).toHaveLength(2);
  });
});
