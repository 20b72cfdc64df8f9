// The chart option builders: what they draw, the f0 reference line, fixed accuracy ranges, and
// that the runs handed in (reactive state on the page) come back untouched.
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
