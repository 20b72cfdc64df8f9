// The chart option builders: what they draw, the f0 reference line, fixed or fitted accuracy
// ranges with round ticks, the retention chart's zoom, room for the legend, and that the runs
// handed in (reactive state on the page) come back untouched.
import { describe, expect, it } from 'vitest';
import {
  ANIMATION_LIMIT,
  cdRateOption,
  finetuneCurveOption,
  pointCount,
  precisionOption,
  retentionCurveOption,
  type CurveRun,
} from '../../shared/charts/options.js';
import type { EvalPoint } from '../../shared/results.js';
import { forFile, niceAxis, niceStep, stepDecimals } from '../../shared/charts/axes.js';
import {
  groupColors,
  legendRows,
  paletteColor,
  runColors,
  seriesColor,
  strategyColor,
} from '../../shared/charts/colors.js';

const point = (step: number, over: Partial<EvalPoint> = {}): EvalPoint => ({
  step,
  pretrainTestAcc: 0.9 - step / 1000,
  finetuneTestAcc: 0.1 + step / 1000,
  cdRate: step / 2000,
  rehearsalPrecision: step === 0 ? null : 0.25,
  ...over,
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const runs = (): CurveRun[] => [
  { label: '#1 mix-cd', points: [point(0), point(100), point(200)], f0PretrainAcc: 0.9 },
  { label: '#2 random', points: [point(0), point(100)] },
];

type Series = {
  name: string;
  type: string;
  data: [number, number | null][];
  markLine?: { data: { yAxis: number }[]; lineStyle: { type: string } };
};
const seriesOf = (option: Record<string, unknown>) => option.series as Series[];

describe('chart options', () => {
  it('draws pretrain-test accuracy per run with f0 as a dashed markLine', () => {
    const option = retentionCurveOption(runs());
    const series = seriesOf(option);
    expect(series.map((s) => s.name)).toEqual(['#1 mix-cd', '#2 random']);
    expect(series.every((s) => s.type === 'line')).toBe(true);
    expect(series[0].data).toEqual([
      [0, 0.9],
      [100, 0.8],
      [200, 0.7],
    ]);
    expect(series[0].markLine?.data).toEqual([{ yAxis: 0.9 }]);
    expect(series[0].markLine?.lineStyle.type).toBe('dashed');
    expect(series[1].markLine).toBeUndefined(); // no f0 known: no line rather than a line at 0
    expect((option.legend as { data: string[] }).data).toEqual(['#1 mix-cd', '#2 random']);
    expect(option.tooltip).toMatchObject({ trigger: 'axis' });
    expect(pointCount(option)).toBe(5);
  });

  it('fixes accuracy and rate axes to [0, 1] and names both axes', () => {
    for (const build of [retentionCurveOption, finetuneCurveOption, cdRateOption, precisionOption]) {
      const option = build(runs());
      expect(option.yAxis).toMatchObject({ type: 'value', min: 0, max: 1 });
      expect((option.yAxis as { name: string }).name).toBeTruthy();
      expect(option.xAxis).toMatchObject({ type: 'value', name: 'finetune step' });
    }
  });

  it('plots each measure, with missing precision as gaps', () => {
    expect(seriesOf(finetuneCurveOption(runs()))[0].data[1]).toEqual([100, 0.2]);
    expect(seriesOf(cdRateOption(runs()))[0].data[2]).toEqual([200, 0.1]);
    expect(seriesOf(precisionOption(runs()))[0].data.map((d) => d[1])).toEqual([null, 0.25, 0.25]);
    const nan = [{ label: 'x', points: [point(0, { cdRate: Number.NaN })] }];
    expect(seriesOf(cdRateOption(nan))[0].data).toEqual([[0, null]]);
  });

  it('turns animation off for series longer than the limit', () => {
    expect(retentionCurveOption(runs()).animation).toBe(true);
    const long = [{ label: 'long', points: Array.from({ length: ANIMATION_LIMIT + 1 }, (_, i) => point(i)) }];
    expect(retentionCurveOption(long).animation).toBe(false);
  });

  it('leaves its inputs untouched', () => {
    const input = deepFreeze(runs());
    const before = structuredClone(input);
    for (const build of [retentionCurveOption, finetuneCurveOption, cdRateOption, precisionOption]) {
      const option = build(input);
      // The option shares no arrays with the input, so ECharts may keep or change it freely.
      expect(seriesOf(option)[0].data).not.toBe(input[0].points);
    }
    expect(input).toEqual(before);
  });

  it('gives an empty chart for no runs', () => {
    const option = retentionCurveOption([]);
    expect(option.series).toEqual([]);
    expect(pointCount(option)).toBe(0);
  });
});

describe('y range, zoom and room for the legend (issue 11)', () => {
  // A 2-point gap: 0.831 against 0.855 at the end.
  const gap = (): CurveRun[] => [
    {
      label: '#1 random r=0.1 seed 1',
      points: [point(0, { pretrainTestAcc: 0.88 }), point(100, { pretrainTestAcc: 0.831 })],
      f0PretrainAcc: 0.88,
    },
    {
      label: '#2 mix-cd r=0.1 seed 1',
      points: [point(0, { pretrainTestAcc: 0.88 }), point(100, { pretrainTestAcc: 0.855 })],
      f0PretrainAcc: 0.88,
    },
  ];
  type Axis = {
    min: number;
    max: number;
    interval: number;
    nameLocation: string;
    axisLabel: { formatter(v: number): string };
  };

  it('rounds axes to 1, 2 or 5 x 10^k with the decimals the step needs', () => {
    expect(niceStep(0.0024)).toBeCloseTo(0.0005, 12);
    expect(niceStep(0.06)).toBeCloseTo(0.02, 12);
    expect(stepDecimals(0.05)).toBe(2);
    expect(stepDecimals(0.2)).toBe(1);
    expect(stepDecimals(5)).toBe(0);
    const axis = niceAxis(0.831, 0.88, { clamp: [0, 1] });
    expect(axis).toEqual({ min: 0.82, max: 0.9, interval: 0.02, decimals: 2 });
    // Near 1, the range stays inside [0, 1] and keeps its width.
    const top = niceAxis(0.985, 0.999, { clamp: [0, 1], minSpan: 0.02 });
    expect(top.max).toBe(1);
    expect(top.max - top.min).toBeGreaterThanOrEqual(0.02);
    // A tiny spread is not zoomed into noise.
    const tiny = niceAxis(0.7854, 0.7878, { minSpan: 0.02 });
    expect(tiny.decimals).toBeLessThanOrEqual(3);
    expect(tiny.min).toBeLessThanOrEqual(0.7854);
    expect(tiny.max).toBeGreaterThanOrEqual(0.7878);
  });

  it('fits the y axis to the data (and f0) when asked, and keeps 0-1 by default', () => {
    const fixed = retentionCurveOption(gap()).yAxis as Axis;
    expect(fixed).toMatchObject({ min: 0, max: 1 });
    const fitted = retentionCurveOption(gap(), { yRange: 'auto' }).yAxis as Axis;
    expect(fitted).toMatchObject({ min: 0.82, max: 0.9, interval: 0.02 });
    expect(fitted.axisLabel.formatter(0.83)).toBe('0.83');
    // The 2-point gap is over a quarter of the plot's height, not 2% of it.
    expect((0.855 - 0.831) / (fitted.max - fitted.min)).toBeGreaterThan(0.25);
    for (const build of [finetuneCurveOption, cdRateOption, precisionOption]) {
      const y = build(gap(), { yRange: 'auto' }).yAxis as Axis;
      expect(y.min).toBeGreaterThanOrEqual(0);
      expect(y.max).toBeLessThanOrEqual(1);
    }
    // No data: 0-1 either way.
    expect(retentionCurveOption([], { yRange: 'auto' }).yAxis).toMatchObject({ min: 0, max: 1 });
  });

  it('zooms the retention chart over the steps (inside + slider) and no other', () => {
    const zoom = retentionCurveOption(gap()).dataZoom as { type: string; xAxisIndex: number }[];
    expect(zoom.map((z) => z.type)).toEqual(['inside', 'slider']);
    expect(zoom.every((z) => z.xAxisIndex === 0)).toBe(true);
    for (const build of [finetuneCurveOption, cdRateOption, precisionOption])
      expect(build(gap()).dataZoom).toBeUndefined();
    // A file keeps the zoom window but not the slider.
    const file = forFile(retentionCurveOption(gap()), { start: 20, end: 80 });
    expect(file.dataZoom).toEqual([expect.objectContaining({ type: 'inside', start: 20, end: 80 })]);
    expect((file.grid as { bottom: number }).bottom).toBe(48);
  });

  it('puts the y-axis title along the axis and the plot below a legend that wraps instead of paging', () => {
    const many: CurveRun[] = Array.from({ length: 8 }, (_, i) => ({
      label: `#${i + 1} mix-cd r=0.1 seed ${i + 1}`,
      points: [point(0)],
    }));
    for (const build of [retentionCurveOption, finetuneCurveOption, cdRateOption, precisionOption]) {
      const option = build(many);
      const legend = option.legend as { type: string; top: number };
      expect(legend.type).toBe('plain');
      const y = option.yAxis as Axis;
      // Rotated in the middle of the axis: never at its top end, where the legend is.
      expect(y.nameLocation).toBe('middle');
      expect((option.grid as { top: number }).top).toBeGreaterThanOrEqual(22 * legendRows(many.map((r) => r.label)));
      expect(legendRows(many.map((r) => r.label))).toBeGreaterThan(1);
    }
  });
});

describe('one palette for every panel (issue 11)', () => {
  it('colours a run by its strategy, as Compare colours its group, from one palette function', () => {
    // Monitor: runs in id order; each strategy's runs take its shades.
    const colors = runColors([
      { id: 7, strategy: 'random' },
      { id: 3, strategy: 'mix-cd' },
      { id: 5, strategy: 'mix-cd' },
    ]);
    expect(colors.get('3')).toBe(strategyColor('mix-cd'));
    expect(colors.get('5')).toBe(seriesColor('mix-cd', 1));
    expect(colors.get('7')).toBe(strategyColor('random'));
    expect(new Set(colors.values()).size).toBe(3);
    // The same lone strategies in Compare's groups get the same colours.
    const groups = groupColors([
      { key: 'g-mix', runs: [{ config: { rehearsal: { strategy: 'mix-cd' } } }] },
      { key: 'g-random', runs: [{ config: { rehearsal: { strategy: 'random' } } }] },
    ]);
    expect(groups.get('g-mix')).toBe(colors.get('3'));
    expect(groups.get('g-random')).toBe(colors.get('7'));
    // A series without a strategy gets the palette by position; shades wrap.
    expect(paletteColor(0)).toBe(strategyColor('random'));
    expect(seriesColor('mir', 4)).toBe(seriesColor('mir', 0));
  });

  it('draws a curve in the colour it is given, its f0 line too', () => {
    const option = retentionCurveOption([
      { label: '#3 mix-cd', points: [point(0)], f0PretrainAcc: 0.9, color: strategyColor('mix-cd') },
      { label: '#4', points: [point(0)] },
    ]);
    const [mix, plain] = option.series as { color?: string; markLine?: { lineStyle: { color?: string } } }[];
    expect(mix.color).toBe(strategyColor('mix-cd'));
    expect(mix.markLine?.lineStyle.color).toBeUndefined(); // inherits the series' colour
    expect(plain.color).toBeUndefined();
  });
});
