// eval_points: the accuracy/CD series of a run, appended while it runs.
import type Database from 'better-sqlite3';
import type { EvalPoint } from '../../shared/results.js';
import { HistoryError, sqliteCode } from './errors.js';
import { explainWriteError, type RunsStore } from './runs.js';

interface PointRow {
  step: number;
  pretrain_test_acc: number;
  finetune_test_acc: number;
  cd_rate: number;
  rehearsal_precision: number | null;
  compute_units: number | null;
}

function checkPoint(runId: number, p: EvalPoint): void {
  if (!Number.isInteger(p.step) || p.step < 0) {
    throw new HistoryError(`Eval point of run ${runId} has step ${p.step}; expected an integer >= 0.`, 'invalid-input');
  }
  // SQLite stores NaN as NULL, which would surface as a bare NOT NULL failure; say which field instead.
  for (const key of ['pretrainTestAcc', 'finetuneTestAcc', 'cdRate'] as const) {
    if (!Number.isFinite(p[key])) {
      throw new HistoryError(
        `Eval point of run ${runId} at step ${p.step} has ${key} = ${p[key]}; expected a finite number.`,
        'invalid-input',
      );
    }
  }
  if (p.rehearsalPrecision !== null && !Number.isFinite(p.rehearsalPrecision)) {
    throw new HistoryError(
      `Eval point of run ${runId} at step ${p.step} has rehearsalPrecision = ` +
        `${p.rehearsalPrecision}; expected a finite number or null.`,
      'invalid-input',
    );
  }
}

export class SeriesStore {
  private readonly insert: Database.Statement;
  private readonly select: Database.Statement<[number], PointRow>;
  private readonly appendTx: (runId: number, points: readonly EvalPoint[]) => void;

  constructor(
    db: Database.Database,
    private readonly runs: RunsStore,
  ) {
    this.insert = db.prepare(`INSERT INTO eval_points (run_id, step, pretrain_test_acc, finetune_test_acc, cd_rate,
      rehearsal_precision, compute_units) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.select =
      db.prepare(`SELECT step, pretrain_test_acc, finetune_test_acc, cd_rate, rehearsal_precision, compute_units
      FROM eval_points WHERE run_id = ? ORDER BY step`);
    this.appendTx = db.transaction((runId: number, points: readonly EvalPoint[]) => {
      for (const p of points) {
        try {
          this.insert.run(
            runId,
            p.step,
            p.pretrainTestAcc,
            p.finetuneTestAcc,
            p.cdRate,
            p.rehearsalPrecision,
            p.computeUnits ?? null,
          );
        } catch (err) {
          if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
            throw new HistoryError(`Run ${runId} already has an eval point at step ${p.step}.`, 'duplicate');
          }
          explainWriteError(err, this.runs, runId, 'add eval points');
        }
      }
    });
  }

  /** All points or none: one transaction. Only while the run is running (enforced by a trigger). */
  append(runId: number, points: readonly EvalPoint[]): void {
    for (const p of points) checkPoint(runId, p);
    this.appendTx(runId, points);
  }

  get(runId: number): EvalPoint[] {
    return this.select.all(runId).map((r) => ({
      step: r.step,
      pretrainTestAcc: r.pretrain_test_acc,
      finetuneTestAcc: r.finetune_test_acc,
      cdRate: r.cd_rate,
      rehearsalPrecision: r.rehearsal_precision,
      ...(r.compute_units !== null ? { computeUnits: r.compute_units } : {}),
    }));
  }
}
