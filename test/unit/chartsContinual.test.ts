// Per-task retention curves of multi-stage runs (shared/charts/continual.ts), their CSV export
// (task-series-csv) and what History's list says of a multi-stage run (RunListItem.multiStage):
// every task drawn over the global steps with the stage starts marked, the mean over seeds, colours
// from the one palette, and the slim list's additive fields.
import { describe, expect, it } from 'vitest';
import { seriesColor } from '../../shared/charts/colors.js';
import {
  meanTaskSeries,
  stageBoundaries,
  taskNamesOf,
  taskPointsByStep,
  taskRetentionOption,
  type TaskCurveRun,
} from '../../shared/charts/continual.js';
import { pointCount } from '../../shared/charts/options.js';
import { parseRunConfig } from '../../shared/config.js';
import { RUN_LIST_COLUMNS, toRunListItem, toRunListTable } from '../../shared/contract.js';
import { TASK_SERIES_COLUMNS, taskSeriesToCsv } from '../../shared/export/accuracyMatrix.js';
import type { ContinualSummary, RunSummary, TaskPoint } from '../../shared/results.js';
import { parseScenarioSpec } from '../../shared/scenarioFile.js';

const TASKS = ['pretrain', 'rot90', 'permute'];
/** Two stages of 20 steps, evals every 10: stage 2's step 0 repeats stage 1's last eval. */
function taskSeries(shift = 0): TaskPoint[] {
  const out: TaskPoint[] = [];
  for (const stage of [1, 2])
    for (const step of [0, 10, 20]) {
      const g = (stage - 1) * 20 + step;
      out.push({ stage, step, globalStep: g, accuracy: [0.9 - g / 100 + shift, 0.1 + g / 50, g / 40] });
    }
  return out;
}

const spec = parseScenarioSpec(
  {
    name: 'two',
    datasets: { d: { path: 'd' } },
    pretrain: { train: { dataset: 'd' }, test: { dataset: 'd', split: 'test' } },
    stages: [
      { name: 'rot90', train: { dataset: 'd' }, test: { dataset: 'd', split: 'test' } },
      { name: 'permute', train: { dataset: 'd' }, test: { dataset: 'd', split: 'test' } },
    ],
  },
  'two.json',
);

function run(id: number, seed: number, shift = 0, strategy: 'mix-cd' | 'none' = 'mix-cd'): RunSummary {
  const config = parseRunConfig({
    seed,
    scenarioFile: { path: '/x/two.json', spec },
    rehearsal: { strategy, budget: strategy === 'none' ? 0 : 0.1 },
  });
  const continual: ContinualSummary = {
    taskNames: TASKS,
    initialAccuracy: [0.9, 0.1, 0.1],
    accuracyMatrix: [
      [0.7, 0.5],
      [0.5, 0.4],
      [0.2, 0.5],
    ],
    averageAccuracy: 0.4666,
    forgetting: [0.4, 0.1, null],
    backwardTransfer: -0.1,
    taskSeries: taskSeries(shift),
    sources: [],
  };
  return {
    id,
    studyId: null,
    status: 'finished',
    createdAt: '2026-01-01T00:00:00Z',
    config,
    backend: 'wasm',
    device: 'cpu',
    dataFingerprint: 'f',
    prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.1 },
    final: { pretrainTestAcc: 0.5, finetuneTestAcc: 0.5, cdRate: 0.1, rehearsalPrecision: 0.2 },
    compute: { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0, wallSeconds: 1 },
    series: [],
    continual,
  } as unknown as RunSummary;
}

describe('per-task retention curves', () => {
  it('keeps one point per global step (a stage start repeats the last eval) and finds the stage starts', () => {
    const points = taskSeries();
    expect(taskPointsByStep(points).map((p) => p.globalStep)).toEqual([0, 10, 20, 30, 40]);
    expect(taskPointsByStep(points)[2].stage).toBe(2); // the later of the two at step 20
    expect(stageBoundaries(points, TASKS)).toEqual([{ step: 20, stage: 2, label: 'stage 2: permute' }]);
  });

  it("draws every task of a lone run over the global steps in its strategy's shades, stage starts marked", () => {
    const curve: TaskCurveRun = { label: '#1', taskNames: TASKS, points: taskSeries(), strategy: 'mix-cd' };
    const option = taskRetentionOption([curve]);
    const series = option.series as { name: string; data: [number, number][]; color: string; lineStyle: object }[];
    expect(series.map((s) => s.name)).toEqual(TASKS);
    expect(series.map((s) => s.color)).toEqual([0, 1, 2].map((t) => seriesColor('mix-cd', t)));
    expect(series.map((s) => s.lineStyle)).toEqual([{ type: 'solid' }, { type: 'dashed' }, { type: 'dotted' }]);
    const fixture = taskSeries();
    const at = (g: number) => fixture.filter((p) => p.globalStep === g).at(-1)!.accuracy[1];
    expect(series[1].data).toEqual([0, 10, 20, 30, 40].map((g) => [g, at(g)]));
    expect(series[1].data[4][1]).toBeCloseTo(0.9, 12);
    expect(pointCount(option)).toBe(15);
    const mark = (option.series as { markLine?: { data: unknown[] } }[])[0].markLine!;
    expect(mark.data).toEqual([{ xAxis: 20, label: { formatter: 'stage 2: permute' } }]);
    expect((option.yAxis as { min: number; max: number }).max).toBe(1);
  });

  it('colours several runs by their own colours, tasks by dash, and names both in the legend', () => {
    const runs: TaskCurveRun[] = [
      { label: '#1 mix-cd', taskNames: TASKS, points: taskSeries(), color: '#111111' },
      { label: '#2 none', taskNames: TASKS, points: taskSeries(), color: '#222222' },
    ];
    const series = taskRetentionOption(runs).series as { name: string; color: string }[];
    expect(series.map((s) => s.name)).toEqual([
      '#1 mix-cd · pretrain',
      '#1 mix-cd · rot90',
      '#1 mix-cd · permute',
      '#2 none · pretrain',
      '#2 none · rot90',
      '#2 none · permute',
    ]);
    expect(series.map((s) => s.color)).toEqual(['#111111', '#111111', '#111111', '#222222', '#222222', '#222222']);
    // No points yet (a run just queued): lines without data and no stage marks, not an error.
    const empty = taskRetentionOption([{ label: '#3', taskNames: TASKS, points: [] }]);
    expect(pointCount(empty)).toBe(0);
    expect((empty.series as { markLine?: unknown }[])[0].markLine).toBeUndefined();
  });

  it('averages each task over the seeds of a group, step by step', () => {
    const mean = meanTaskSeries([run(1, 1, 0), run(2, 2, 0.1)]);
    expect(mean.map((p) => p.globalStep)).toEqual([0, 10, 20, 30, 40]);
    expect(mean[0].accuracy[0]).toBeCloseTo(0.95, 12);
    expect(mean[4].accuracy[2]).toBeCloseTo(1, 12);
    expect(mean[2].stage).toBe(2);
  });

  it("names a multi-stage config's tasks as the engine does, and none for a single stage", () => {
    expect(taskNamesOf(run(1, 1).config)).toEqual(TASKS);
    expect(taskNamesOf(parseRunConfig({}))).toBeNull();
    expect(taskNamesOf(null)).toBeNull();
  });
});

describe('task-series-csv', () => {
  it('writes one line per run, eval and task, and skips single-stage runs', () => {
    const single = { ...run(3, 3), continual: undefined } as RunSummary;
    const lines = taskSeriesToCsv([run(1, 1), single, run(2, 2, 0, 'none')])
      .trim()
      .split('\n');
    expect(lines[0]).toBe(TASK_SERIES_COLUMNS.join(','));
    expect(lines.length).toBe(1 + 2 * 6 * 3);
    expect(lines[1]).toBe('1,mix-cd,0.1,1,1,rot90,0,0,pretrain,0.9');
    expect(lines[3 * 3 + 2]).toBe('1,mix-cd,0.1,1,2,permute,0,20,rot90,0.5');
    expect(lines[19]).toBe('2,none,,2,1,rot90,0,0,pretrain,0.9');
  });
});

describe("History's list of a multi-stage run", () => {
  it('says it is multi-stage with its average accuracy; single-stage items and rows stay as they were', () => {
    const item = toRunListItem(run(1, 1), ['t']);
    expect(item.multiStage).toEqual({ scenario: 'two', stages: 2, averageAccuracy: 0.4666 });
    // runs.list reads the average apart (not the whole continual summary).
    expect(toRunListItem({ ...run(1, 1), continual: undefined }, [], 0.5).multiStage!.averageAccuracy).toBe(0.5);
    const single = toRunListItem({ ...run(2, 1), config: parseRunConfig({}), continual: undefined }, []);
    expect('multiStage' in single).toBe(false);
    const table = toRunListTable([item, single]);
    const at = RUN_LIST_COLUMNS.indexOf('multiStage');
    expect(table.rows[0][at]).toEqual(item.multiStage);
    expect(table.rows[1][at]).toBeNull();
    expect(table.rows[1].length).toBe(RUN_LIST_COLUMNS.length);
  });
});
