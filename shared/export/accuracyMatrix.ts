// Multi-stage runs' accuracy matrices as tables (the export's `matrix-csv` / `matrix-md`): one row
// per run and task, one column per stage, then the task's forgetting; and their per-task series
// (`task-series-csv`): one row per run, eval and task. Pure, for the CLI and the page.
import { stringify } from 'csv-stringify/browser/esm/sync';
import type { RunSummary } from '../results.js';
import { csvNumber } from './formats.js';

export interface MatrixRow {
  run: number;
  strategy: string;
  budget: number;
  seed: number;
  task: string;
  /** f0's accuracy on the task, then after each stage. */
  f0: number;
  afterStage: number[];
  forgetting: number | null;
}

/** The rows of every multi-stage run among `runs` (others have no matrix and are skipped). */
export function matrixRows(runs: readonly RunSummary[]): MatrixRow[] {
  return runs.flatMap((r) =>
    r.continual
      ? r.continual.taskNames.map((task, i) => ({
          run: r.id,
          strategy: r.config.rehearsal.strategy,
          budget: r.config.rehearsal.budget,
          seed: r.config.seed,
          task,
          f0: r.continual!.initialAccuracy[i],
          afterStage: r.continual!.accuracyMatrix[i],
          forgetting: r.continual!.forgetting[i],
        }))
      : [],
  );
}

const stageCount = (rows: MatrixRow[]) => Math.max(0, ...rows.map((r) => r.afterStage.length));

export function matrixToCsv(runs: readonly RunSummary[]): string {
  const rows = matrixRows(runs);
  const stages = stageCount(rows);
  const header = [
    'run',
    'strategy',
    'budget',
    'seed',
    'task',
    'f0',
    ...Array.from({ length: stages }, (_, j) => `after stage ${j + 1}`),
    'forgetting',
  ];
  const num = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
  return stringify([
    header,
    ...rows.map((r) => [
      r.run,
      r.strategy,
      r.budget,
      r.seed,
      r.task,
      num(r.f0),
      ...Array.from({ length: stages }, (_, j) => num(r.afterStage[j])),
      num(r.forgetting),
    ]),
  ]);
}

export function matrixToMarkdown(runs: readonly RunSummary[], decimals = 3): string {
  const rows = matrixRows(runs);
  const stages = stageCount(rows);
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(decimals));
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [
    line([
      'run',
      'strategy',
      'r',
      'seed',
      'task',
      'f0',
      ...Array.from({ length: stages }, (_, j) => `after ${j + 1}`),
      'forgetting',
    ]),
    line([':--', ':--', '--:', '--:', ':--', '--:', ...Array.from({ length: stages }, () => '--:'), '--:']),
    ...rows.map((r) =>
      line([
        r.run,
        r.strategy,
        r.budget,
        r.seed,
        r.task,
        f(r.f0),
        ...Array.from({ length: stages }, (_, j) => f(r.afterStage[j])),
        f(r.forgetting),
      ]),
    ),
    '',
  ].join('\n');
}

export const TASK_SERIES_COLUMNS = [
  'run',
  'strategy',
  'budget',
  'seed',
  'stage',
  'stageName',
  'step',
  'globalStep',
  'task',
  'accuracy',
] as const;

/**
 * Long CSV of every multi-stage run's task accuracies: one line per run, eval and task, in the
 * order the run took them (a stage's step 0 repeats the previous stage's last eval at the same
 * global step, as stored); single-stage runs have none and are skipped.
 */
export function taskSeriesToCsv(runs: readonly RunSummary[]): string {
  const rows = runs.flatMap((run) => {
    const c = run.continual;
    if (!c) return [];
    const { strategy, budget } = run.config.rehearsal;
    return c.taskSeries.flatMap((p) =>
      c.taskNames.map((task, t) => [
        String(run.id),
        strategy,
        strategy === 'none' ? '' : csvNumber(budget),
        String(run.config.seed),
        String(p.stage),
        c.taskNames[p.stage] ?? '',
        String(p.step),
        String(p.globalStep),
        task,
        csvNumber(p.accuracy[t] ?? null),
      ]),
    );
  });
  return stringify([[...TASK_SERIES_COLUMNS], ...rows]);
}
