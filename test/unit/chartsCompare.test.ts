// The compare builders: seeds pooled into settings groups, mean/sd bands over steps, the
// stacked band series, the Pareto points with their error bars, and inputs left untouched.
import { describe, expect, it } from 'vitest';
import {
  bandChartOption,
  bandSeries,
  groupBySettings,
  paretoOption,
  CAP,
  PARETO_SYMBOL,
  paretoPoints,
  renderErrorBar,
  type Band,
} from '../../shared/charts/compare.js';
import { DEFAULT_RUN_CONFIG, type RunConfig } from '../../shared/config.js';
import type { EvalPoint, RunSummary } from '../../shared/results.js';
import { studyTable } from '../../shared/studyTable.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const pt = (step: number, pretrainTestAcc: number, finetuneTestAcc = 0.5): EvalPoint => ({
  step,
  pretrainTestAcc,
  finetuneTestAcc,
  cdRate: 0.1,
  rehearsalPrecision: null,
});

function run(
  id: number,
  over: { strategy?: RunConfig['rehearsal']['strategy']; budget?: number; seed?: number; steps?: number },
  series: EvalPoint[],
  final = { pt: 0.8, ft: 0.6 },
): RunSummary {
  const config: RunConfig = structuredClone(DEFAULT_RUN_CONFIG);
  config.rehearsal.strategy = over.strategy ?? 'mix-cd';
  config.rehearsal.budget = over.budget ?? 0.1;
  config.seed = over.seed ?? 1;
  if (over.steps) config.finetune.steps = over.steps;
  return {
    id,
    studyId: null,
    status: 'finished',
    config,
    backend: 'cpu',
    device: 'cpu',
    dataFingerprint: 'x',
    prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.1 },
    final: { pretrainTestAcc: final.pt, finetuneTestAcc: final.ft, cdRate: 0.1, rehearsalPrecision: null },
    compute: { forwardPasses: 1, backwardPasses: 1, extraForwardPasses: 0, wallSeconds: 1 },
    createdAt: '2026-01-01T00:00:00Z',
    series,
  };
}

describe('groupBySettings', () => {
  it('pools seeds but keeps every other setting apart', () => {
    const runs = deepFreeze([
      run(1, { seed: 1 }, []),
      run(2, { seed: 2 }, []),
      run(3, { seed: 1, budget: 0.2 }, []),
      run(4, { seed: 1, strategy: 'random' }, []),
      run(5, { seed: 3, steps: 99 }, []),
    ]);
    const groups = groupBySettings(runs);
    expect(groups.map((g) => g.runs.map((r) => r.id))).toEqual([[1, 2], [3], [4], [5]]);
    expect(groups[0].seeds).toEqual([1, 2]);
    expect(groups[1].label).toBe('mix-cd r=0.2');
    expect(groups[2].label).toBe('random r=0.1');
    // Same strategy and budget, other steps: the differing setting is named.
    expect(groups[0].label).toBe('mix-cd r=0.1 finetune.steps=1500');
    expect(groups[3].label).toBe('mix-cd r=0.1 finetune.steps=99');
    expect(new Set(groups.map((g) => g.key)).size).toBe(4);
    expect(groups[0].key).not.toContain('"seed":1,"backend"');
  });

  it('gives the same key whatever the order of config keys', () => {
    const a = run(1, {}, []);
    const b = run(2, { seed: 7 }, []);
    const reordered = { ...b, config: Object.fromEntries(Object.entries(b.config).reverse()) as RunConfig };
    expect(groupBySettings([a, reordered])).toHaveLength(1);
  });
});

describe('bandSeries', () => {
  const runs = () =>
    deepFreeze([
      run(1, { seed: 1 }, [pt(0, 0.9), pt(100, 0.6), pt(200, 0.5)]),
      run(2, { seed: 2 }, [pt(0, 0.9), pt(100, 0.8)]), // stopped early: no step 200
      run(3, { seed: 3 }, [pt(0, 0.9), pt(100, 0.7), pt(200, Number.NaN)]),
    ]);

  it('gives exact mean and sample sd per step, counting only the runs with a value there', () => {
    const [band] = bandSeries(groupBySettings(runs()), 'pretrainTestAcc');
    expect(band.n).toBe(3);
    expect(band.points.map((p) => p.step)).toEqual([0, 100, 200]);
    const [p0, p100, p200] = band.points;
    expect(p0).toMatchObject({ mean: 0.9, sd: 0, n: 3, lower: 0.9, upper: 0.9 });
    expect(p100.n).toBe(3);
    expect(p100.mean).toBeCloseTo(0.7, 12);
    expect(p100.sd).toBeCloseTo(0.1, 12); // values 0.6, 0.8, 0.7: sample sd 0.1
    expect(p100.lower).toBeCloseTo(0.6, 12);
    expect(p100.upper).toBeCloseTo(0.8, 12);
    expect(p200).toMatchObject({ mean: 0.5, sd: 0, n: 1 });
  });

  it('clamps the band to [0, 1] unless told otherwise', () => {
    const wide = [run(1, { seed: 1 }, [pt(0, 0.05)]), run(2, { seed: 2 }, [pt(0, 0.95)])];
    const [clamped] = bandSeries(groupBySettings(wide), 'pretrainTestAcc');
    expect(clamped.points[0].lower).toBe(0);
    expect(clamped.points[0].upper).toBe(1);
    const [free] = bandSeries(groupBySettings(wide), 'pretrainTestAcc', null);
    expect(free.points[0].lower).toBeLessThan(0);
  });

  it('builds a transparent lower line and a stacked width area per group, plus the mean line', () => {
    const bands = bandSeries(groupBySettings(runs()), 'pretrainTestAcc');
    const frozen = deepFreeze(structuredClone(bands)) as Band[];
    const option = bandChartOption(frozen, { title: 'Retention', yName: 'pretrain-test accuracy', f0: 0.9 });
    const series = option.series as Record<string, any>[];
    expect(series).toHaveLength(3);
    const [lower, width, mean] = series;
    expect(lower.stack).toBe(width.stack);
    expect(lower.lineStyle.opacity).toBe(0);
    expect(width.areaStyle).toBeDefined();
    expect(lower.data[1][1]).toBeCloseTo(0.6, 12);
    expect(width.data[1][1]).toBeCloseTo(0.2, 12); // upper - lower
    expect(lower.data[1][1] + width.data[1][1]).toBeCloseTo(0.8, 12);
    expect(mean.data.map((d: number[]) => d[0])).toEqual([0, 100, 200]);
    expect(mean.markLine.data).toEqual([{ yAxis: 0.9 }]);
    expect(new Set(series.map((s) => s.name))).toEqual(new Set([bands[0].label]));
    expect(new Set(series.map((s) => s.color)).size).toBe(1);
    expect(option.yAxis).toMatchObject({ min: 0, max: 1 });
    expect(frozen).toEqual(bands);
    expect(option.title).toMatchObject({ text: 'Retention' });
    // On the page the figure captions the chart: no title drawn, the legend moves up.
    const bare = bandChartOption(frozen, { yName: 'y' });
    expect(bare.title).toBeUndefined();
    expect(bare.legend).toMatchObject({ top: 0 });
  });

  it('fits y to the bands, means and f0 on request, and zooms over the steps when asked', () => {
    const bands = bandSeries(groupBySettings(runs()), 'pretrainTestAcc');
    const fitted = bandChartOption(bands, { yName: 'y', f0: 0.92, yRange: 'auto', zoom: true });
    const y = fitted.yAxis as { min: number; max: number; interval: number; nameLocation: string };
    // Bands span 0.5 (mean at step 200) to 0.9 and f0 is 0.92: all inside, round ends.
    expect(y.min).toBeLessThanOrEqual(0.5);
    expect(y.min).toBeGreaterThan(0);
    expect(y.max).toBeGreaterThanOrEqual(0.92);
    expect(y.max).toBeLessThanOrEqual(1);
    expect(y.nameLocation).toBe('middle');
    expect((fitted.dataZoom as { type: string }[]).map((z) => z.type)).toEqual(['inside', 'slider']);
    expect(bandChartOption(bands, { yName: 'y' }).dataZoom).toBeUndefined();
    expect(bandChartOption(bands, { yName: 'y', unitRange: false }).yAxis).toMatchObject({ min: y.min, max: y.max });
  });
});

describe('paretoOption', () => {
  const cells = () => {
    const runs = [
      run(1, { seed: 1 }, [], { pt: 0.8, ft: 0.6 }),
      run(2, { seed: 2 }, [], { pt: 0.6, ft: 0.8 }),
      run(3, { seed: 1, strategy: 'random' }, [], { pt: 0.5, ft: 0.9 }),
    ];
    return deepFreeze(studyTable(runs));
  };

  it('places one point per strategy x budget at the mean finals, with ± sd bars', () => {
    const points = paretoPoints(cells());
    expect(points.map((p) => p.label)).toEqual(['random r=0.1', 'mix-cd r=0.1']);
    const mix = points[1];
    expect(mix.x).toBeCloseTo(0.7, 12);
    expect(mix.y).toBeCloseTo(0.7, 12);
    expect(mix.xSd).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(mix.n).toBe(2);

    const option = paretoOption(cells());
    const series = option.series as Record<string, any>[];
    const scatter = series.find((s) => s.id === 'pareto-mix-cd')!;
    const bars = series.find((s) => s.id === 'pareto-mix-cd-sd')!;
    expect(scatter.type).toBe('scatter');
    expect(scatter.data[0].value[0]).toBeCloseTo(0.7, 12);
    expect(scatter.data[0].name).toBe('mix-cd r=0.1 (n=2)');
    const [x, y, xLo, xHi, yLo, yHi] = bars.data[0];
    expect(x).toBeCloseTo(0.7, 12);
    expect(y).toBeCloseTo(0.7, 12);
    expect(xHi - xLo).toBeCloseTo(2 * Math.SQRT2 * 0.1, 12);
    expect(yHi - yLo).toBeCloseTo(2 * Math.SQRT2 * 0.1, 12);
    expect(bars.encode).toEqual({ x: [0, 2, 3], y: [1, 4, 5] });
    // A single seed: zero-length bars at the point.
    const random = series.find((s) => s.id === 'pareto-random-sd')!;
    expect(random.data[0]).toEqual([0.9, 0.5, 0.9, 0.9, 0.5, 0.5]);

    const colored = paretoOption(cells(), { title: 'T', colorOf: (s) => (s === 'mix-cd' ? '#000' : undefined) })
      .series as Record<string, any>[];
    expect(colored.filter((s) => s.name === 'mix-cd').map((s) => s.color)).toEqual(['#000', '#000']);
    expect(colored.find((s) => s.name === 'random')!.color).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('labels each point up and to the right, clear of its own bars, with a halo', () => {
    const scatter = (paretoOption(cells()).series as Record<string, any>[]).find((s) => s.type === 'scatter')!;
    const { position, lineHeight } = scatter.label;
    // From the symbol's top-left corner to its centre, where both bars cross.
    const [left, top] = [position[0] - PARETO_SYMBOL / 2, position[1] - PARETO_SYMBOL / 2];
    expect(left).toBeGreaterThan(CAP); // right of the vertical bar and of the horizontal bar's caps' reach
    expect(top + lineHeight).toBeLessThan(-CAP); // the text ends above the horizontal bar and its caps
    expect(scatter.label).toMatchObject({ show: true, align: 'left', verticalAlign: 'top', textBorderColor: '#fff' });
    expect(scatter.labelLayout).toEqual({ moveOverlap: 'shiftY' });
  });

  it('gives the axes round ticks with few decimals, even for finals 0.7854 ... 0.7878', () => {
    const close = studyTable([
      run(1, { seed: 1 }, [], { pt: 0.7854, ft: 0.8312 }),
      run(2, { seed: 2 }, [], { pt: 0.7878, ft: 0.8318 }),
      run(3, { seed: 1, strategy: 'random' }, [], { pt: 0.7861, ft: 0.8325 }),
    ]);
    const option = paretoOption(close);
    for (const axis of [option.xAxis, option.yAxis] as {
      min: number;
      max: number;
      interval: number;
      axisLabel: { formatter(v: number): string };
    }[]) {
      const ticks: string[] = [];
      for (let v = axis.min; v <= axis.max + 1e-9; v += axis.interval) ticks.push(axis.axisLabel.formatter(v));
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(ticks.length).toBeLessThanOrEqual(8);
      // One number of decimals on every tick, at most 3.
      expect(new Set(ticks.map((t) => t.split('.')[1]?.length ?? 0)).size).toBe(1);
      expect(ticks.every((t) => /^\d\.\d{1,3}$/.test(t))).toBe(true);
      expect(
        [1, 2, 5].some((m) => Math.abs(axis.interval / 10 ** Math.floor(Math.log10(axis.interval)) - m) < 1e-9),
      ).toBe(true);
    }
    const y = option.yAxis as { min: number; max: number };
    expect(y.min).toBeLessThanOrEqual(0.7854);
    expect(y.max).toBeGreaterThanOrEqual(0.7878);
  });

  it('draws the bars through the axes it is given', () => {
    const values = [0.7, 0.7, 0.6, 0.8, 0.5, 0.9];
    const api = {
      value: (d: number) => values[d],
      coord: ([a, b]: [number, number]) => [a * 100, 100 - b * 100],
      visual: () => 'red',
    };
    const drawn = renderErrorBar({}, api) as {
      children: { shape: Record<string, number>; style: Record<string, unknown> }[];
    };
    expect(drawn.children).toHaveLength(6);
    expect(drawn.children.every((c) => c.style.stroke === 'red')).toBe(true);
    expect(drawn.children[0].shape).toMatchObject({ x1: 60, x2: 80 });
    expect(drawn.children[3].shape.y1).toBeCloseTo(50, 9);
    expect(drawn.children[3].shape.y2).toBeCloseTo(10, 9);
  });

  it('leaves out cells without finite means', () => {
    const broken = studyTable([run(1, {}, [], { pt: Number.NaN, ft: 0.5 })]);
    expect(paretoPoints(broken)).toEqual([]);
  });
});
