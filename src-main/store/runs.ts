// The runs table and its tags: lifecycle (queued -> running -> finished/failed/cancelled),
// summaries and listing. Per-run series live in series.ts and telemetry.ts.
import os from 'node:os';
import { SYSTEM_PROBE, ownerAlive, processAlive, processIdentity, type OwnerProbe } from './owner.js';
import type Database from 'better-sqlite3';
import { parseRunConfig, type RunConfig, type ScenarioName, type StrategyName } from '../../shared/config.js';
import {
  RUN_STATUSES,
  type ComputeCounts,
  type Provenance,
  type RunStatus,
  type RunSummary,
  type TimeBreakdown,
} from '../../shared/results.js';
import { HistoryError, sqliteCode } from './errors.js';
import { computeUnits } from '../../shared/computeBudget.js';

export const TERMINAL_STATUSES = ['finished', 'failed', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export const INTERRUPTED_ERROR = 'interrupted: the process running it stopped before it finished';

export interface CreateRunInput {
  config: RunConfig;
  studyId?: number | null;
  status?: 'queued' | 'running';
}

export interface StartInfo {
  /** The backend actually used (config.backend is only the request, e.g. 'auto'). */
  backend: string;
  device: string;
  dataFingerprint: string;
  /** Defaults to the run's existing start time, else now. */
  startedAt?: Date | string;
  /** The config as run, with backend-dependent defaults resolved; replaces the stored one. */
  config?: RunConfig;
  /** The run's identity (engine/runIdentity.ts). */
  identity?: string;
  provenance?: Provenance;
}

export interface FinishInput {
  status: TerminalStatus;
  error?: string | null;
  exitCode?: number | null;
  compute: ComputeCounts;
  timing?: TimeBreakdown;
  /** Optional because a run can fail before f0 is evaluated; unknown values read back as NaN. */
  prior?: RunSummary['prior'];
  final?: RunSummary['final'];
}

export interface RunFilter {
  /** A study's id, or null for runs outside any study. */
  studyId?: number | null;
  scenario?: ScenarioName;
  strategy?: StrategyName;
  status?: RunStatus | readonly RunStatus[];
  tag?: string;
  limit?: number;
  offset?: number;
}

interface RunRow {
  id: number;
  study_id: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  status: RunStatus;
  config_json: string;
  backend: string | null;
  device: string | null;
  data_fingerprint: string | null;
  error: string | null;
  wall_seconds: number | null;
  forward_passes: number | null;
  backward_passes: number | null;
  extra_forward_passes: number | null;
  timing_json: string | null;
  compute_json: string | null;
  identity: string | null;
  provenance_json: string | null;
  prior_pretrain_acc: number | null;
  prior_finetune_acc: number | null;
  final_pretrain_acc: number | null;
  final_finetune_acc: number | null;
  final_cd_rate: number | null;
  final_rehearsal_precision: number | null;
}

const SUMMARY_COLUMNS = `id, study_id, created_at, started_at, finished_at, status, config_json, backend, device,
  data_fingerprint, error, wall_seconds, forward_passes, backward_passes, extra_forward_passes, timing_json,
  compute_json, identity, provenance_json,
  prior_pretrain_acc, prior_finetune_acc, final_pretrain_acc, final_finetune_acc, final_cd_rate,
  final_rehearsal_precision`;

const isTerminal = (s: RunStatus): s is TerminalStatus => (TERMINAL_STATUSES as readonly string[]).includes(s);
const now = () => new Date().toISOString();
const iso = (t: Date | string) => (typeof t === 'string' ? new Date(t).toISOString() : t.toISOString());
// NaN, not 0, for a value never measured: it cannot be mistaken for a result, and JSON shows null.
const num = (v: number | null) => (v === null ? NaN : v);

function toSummary(row: RunRow): RunSummary {
  const summary: RunSummary = {
    id: row.id,
    studyId: row.study_id,
    status: row.status,
    // Not re-validated: the config was validated when stored, and a later schema change must
    // not make old runs unreadable.
    config: JSON.parse(row.config_json) as RunConfig,
    backend: row.backend ?? '',
    device: row.device ?? '',
    dataFingerprint: row.data_fingerprint ?? '',
    prior: { pretrainTestAcc: num(row.prior_pretrain_acc), finetuneTestAcc: num(row.prior_finetune_acc) },
    final: {
      pretrainTestAcc: num(row.final_pretrain_acc),
      finetuneTestAcc: num(row.final_finetune_acc),
      cdRate: num(row.final_cd_rate),
      rehearsalPrecision: row.final_rehearsal_precision,
    },
    compute: {
      forwardPasses: row.forward_passes ?? 0,
      backwardPasses: row.backward_passes ?? 0,
      extraForwardPasses: row.extra_forward_passes ?? 0,
      wallSeconds: row.wall_seconds ?? 0,
      // Units follow from the stored counts (forward 1, backward 2), also for runs recorded before they were stored.
      units: computeUnits({ forwardPasses: row.forward_passes ?? 0, backwardPasses: row.backward_passes ?? 0 }),
      ...(row.compute_json !== null ? (JSON.parse(row.compute_json) as Partial<ComputeCounts>) : {}),
    },
    error: row.error,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    series: [],
    identity: row.identity,
    provenance: row.provenance_json === null ? null : (JSON.parse(row.provenance_json) as Provenance),
  };
  if (row.timing_json !== null) summary.timing = JSON.parse(row.timing_json) as TimeBreakdown;
  return summary;
}

/** The compute fields beyond the pass counts, as stored JSON (units are re-derived on read). */
function computeExtras(c: ComputeCounts): string | null {
  const extras: Partial<ComputeCounts> = {};
  for (const key of ['flops', 'forwardFlopsPerSample', 'probeForwardPasses', 'priorPassForwardPasses'] as const) {
    if (c[key] !== undefined) {
      checkCount(c[key], key);
      extras[key] = c[key];
    }
  }
  if (c.resolved) extras.resolved = c.resolved;
  return Object.keys(extras).length ? JSON.stringify(extras) : null;
}

function checkId(id: number, what = 'run'): void {
  if (!Number.isSafeInteger(id) || id < 1)
    throw new HistoryError(`${id} is not a valid ${what} id (ids are positive integers).`, 'invalid-input');
}

function checkCount(value: number, name: string): void {
  if (!Number.isFinite(value) || value < 0)
    throw new HistoryError(`compute.${name} is ${value}; expected a finite number >= 0.`, 'invalid-input');
}

export { processAlive } from './owner.js';

export class RunsStore {
  private readonly insertRun: Database.Statement;
  private readonly updateConfig: Database.Statement;
  private readonly updateIdentity: Database.Statement;
  private readonly reopenStmt: Database.Statement;
  private readonly selectByIdentity: Database.Statement<[string], { id: number }>;
  private readonly statusOf: Database.Statement<[number], { status: RunStatus; started_at: string | null }>;
  private readonly updateRunning: Database.Statement;
  private readonly updateFinish: Database.Statement;
  private readonly selectRun: Database.Statement<[number], RunRow>;
  private readonly deleteStmt: Database.Statement;
  private readonly studyExists: Database.Statement<[number], { one: number }>;
  private readonly selectUnfinished: Database.Statement<
    [],
    { id: number; owner_pid: number | null; owner_host: string | null; owner_start: string | null }
  >;
  private readonly markFailed: Database.Statement;
  private readonly deleteTags: Database.Statement;
  private readonly insertTag: Database.Statement;
  private readonly selectTags: Database.Statement<[number], { tag: string }>;
  private readonly selectAllTags: Database.Statement<[], { run_id: number; tag: string }>;
  private readonly listCache = new Map<string, Database.Statement>();
  private readonly replaceTags: (runId: number, tags: string[]) => void;

  constructor(private readonly db: Database.Database) {
    this.insertRun =
      db.prepare(`INSERT INTO runs (study_id, created_at, started_at, status, config_json, scenario, strategy,
      budget, seed, owner_pid, owner_host, owner_start)
      VALUES (@studyId, @createdAt, @startedAt, @status, @config, @scenario, @strategy,
      @budget, @seed, @pid, @host, @start)`);
    this.statusOf = db.prepare('SELECT status, started_at FROM runs WHERE id = ?');
    this.updateRunning = db.prepare(`UPDATE runs SET status = 'running', started_at = @startedAt, backend = @backend,
      device = @device, data_fingerprint = @dataFingerprint, owner_pid = @pid, owner_host = @host, owner_start = @start
      WHERE id = @id`);
    this.updateFinish = db.prepare(`UPDATE runs SET status = @status, finished_at = @finishedAt, error = @error,
      exit_code = @exitCode, wall_seconds = @wallSeconds, forward_passes = @forwardPasses,
      backward_passes = @backwardPasses, extra_forward_passes = @extraForwardPasses, timing_json = @timing,
      compute_json = @computeJson,
      prior_pretrain_acc = @priorPretrain, prior_finetune_acc = @priorFinetune, final_pretrain_acc = @finalPretrain,
      final_finetune_acc = @finalFinetune, final_cd_rate = @finalCd, final_rehearsal_precision = @finalPrecision
      WHERE id = @id`);
    this.selectRun = db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM runs WHERE id = ?`);
    this.updateConfig = db.prepare('UPDATE runs SET config_json = @config WHERE id = @id');
    this.updateIdentity = db.prepare(
      'UPDATE runs SET identity = @identity, provenance_json = coalesce(@provenance, provenance_json) WHERE id = @id',
    );
    // Back to the queue, as if never ended: what resume continues (the migration 6 trigger allows
    // it only from failed or cancelled; a finished run is never reopened).
    this.reopenStmt = db.prepare(`UPDATE runs SET status = 'queued', finished_at = NULL, error = NULL,
      exit_code = NULL, owner_pid = @pid, owner_host = @host, owner_start = @start WHERE id = @id`);
    this.selectByIdentity = db.prepare(
      `SELECT id FROM runs WHERE identity = ? AND status = 'finished' ORDER BY id LIMIT 1`,
    );
    this.deleteStmt = db.prepare('DELETE FROM runs WHERE id = ?');
    this.studyExists = db.prepare('SELECT 1 AS one FROM studies WHERE id = ?');
    this.selectUnfinished = db.prepare(
      `SELECT id, owner_pid, owner_host, owner_start FROM runs WHERE status IN ('queued', 'running')`,
    );
    this.markFailed = db.prepare(
      `UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')`,
    );
    this.deleteTags = db.prepare('DELETE FROM run_tags WHERE run_id = ?');
    this.insertTag = db.prepare('INSERT INTO run_tags (run_id, tag) VALUES (?, ?)');
    this.selectTags = db.prepare('SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag');
    this.selectAllTags = db.prepare('SELECT run_id, tag FROM run_tags ORDER BY run_id, tag');
    this.replaceTags = db.transaction((runId: number, tags: string[]) => {
      this.deleteTags.run(runId);
      for (const tag of tags) this.insertTag.run(runId, tag);
    });
  }

  /** The run's status, or null when there is no such run. */
  status(id: number): RunStatus | null {
    return this.statusOf.get(id)?.status ?? null;
  }

  private require(id: number): { status: RunStatus; started_at: string | null } {
    checkId(id);
    const row = this.statusOf.get(id);
    if (!row) throw new HistoryError(`There is no run ${id} in the history.`, 'unknown-run');
    return row;
  }

  /** The clear error for a write to run `id` that a trigger refused (or that we refuse first). */
  stateError(id: number, action: string): HistoryError {
    const status = this.status(id);
    if (status === null)
      return new HistoryError(`Cannot ${action}: there is no run ${id} in the history.`, 'unknown-run');
    if (isTerminal(status)) {
      return new HistoryError(
        `Cannot ${action}: run ${id} is ${status}, and finished runs are never altered.`,
        'run-state',
      );
    }
    return new HistoryError(`Cannot ${action}: run ${id} is ${status}, not running.`, 'run-state');
  }

  create(input: CreateRunInput): number {
    // Parsed so the stored config is complete (defaults filled) and re-runs exactly.
    const config = parseRunConfig(input.config);
    const status = input.status ?? 'queued';
    if (status !== 'queued' && status !== 'running') {
      throw new HistoryError(`A new run starts 'queued' or 'running', not '${String(status)}'.`, 'invalid-input');
    }
    const studyId = input.studyId ?? null;
    if (studyId !== null) {
      checkId(studyId, 'study');
      if (!this.studyExists.get(studyId))
        throw new HistoryError(`There is no study ${studyId} in the history.`, 'unknown-study');
    }
    const createdAt = now();
    const info = this.insertRun.run({
      studyId,
      createdAt,
      startedAt: status === 'running' ? createdAt : null,
      status,
      config: JSON.stringify(config),
      scenario: config.scenario,
      strategy: config.rehearsal.strategy,
      budget: config.rehearsal.budget,
      seed: config.seed,
      pid: process.pid,
      host: os.hostname(),
      start: processIdentity(process.pid),
    });
    return Number(info.lastInsertRowid);
  }

  markRunning(id: number, info: StartInfo): void {
    const row = this.require(id);
    if (row.status !== 'queued' && row.status !== 'running') throw this.stateError(id, 'start it');
    this.updateRunning.run({
      id,
      startedAt: info.startedAt !== undefined ? iso(info.startedAt) : (row.started_at ?? now()),
      backend: info.backend,
      device: info.device,
      dataFingerprint: info.dataFingerprint,
      pid: process.pid,
      host: os.hostname(),
      start: processIdentity(process.pid),
    });
    if (info.config) this.updateConfig.run({ id, config: JSON.stringify(info.config) });
    if (info.identity)
      this.updateIdentity.run({
        id,
        identity: info.identity,
        provenance: info.provenance ? JSON.stringify(info.provenance) : null,
      });
  }

  /**
   * A failed or cancelled run goes back to queued, to be resumed from its checkpoint (its data is
   * replaced by the checkpoint's when the trainer starts). Finished runs are never reopened.
   */
  reopen(id: number): void {
    const row = this.require(id);
    if (row.status !== 'failed' && row.status !== 'cancelled')
      throw new HistoryError(
        row.status === 'finished'
          ? `Run ${id} is finished: there is nothing to resume (finished runs are never altered).`
          : `Run ${id} is ${row.status}: only a failed or cancelled run can be resumed; ` +
              `mark a run whose process is gone with \`mixcd mark-interrupted ${id}\` first.`,
        'run-state',
      );
    this.reopenStmt.run({ id, pid: process.pid, host: os.hostname(), start: processIdentity(process.pid) });
  }

  /** The first finished run with this identity, if any (a study reuses it instead of repeating it). */
  finishedWithIdentity(identity: string): number | null {
    return this.selectByIdentity.get(identity)?.id ?? null;
  }

  finish(id: number, input: FinishInput): void {
    const row = this.require(id);
    if (!(TERMINAL_STATUSES as readonly string[]).includes(input.status)) {
      throw new HistoryError(
        `A run finishes as ${TERMINAL_STATUSES.join(', ')}, not '${String(input.status)}'.`,
        'invalid-input',
      );
    }
    if (isTerminal(row.status)) throw this.stateError(id, `mark it ${input.status}`);
    if (row.status === 'queued' && input.status === 'finished') {
      throw new HistoryError(
        `Cannot mark run ${id} finished: it never started (it is queued); it can only fail or be cancelled.`,
        'run-state',
      );
    }
    const c = input.compute;
    checkCount(c.forwardPasses, 'forwardPasses');
    checkCount(c.backwardPasses, 'backwardPasses');
    checkCount(c.extraForwardPasses, 'extraForwardPasses');
    checkCount(c.wallSeconds, 'wallSeconds');
    this.updateFinish.run({
      id,
      status: input.status,
      finishedAt: now(),
      error: input.error ?? null,
      exitCode: input.exitCode ?? null,
      wallSeconds: c.wallSeconds,
      forwardPasses: c.forwardPasses,
      backwardPasses: c.backwardPasses,
      extraForwardPasses: c.extraForwardPasses,
      timing: input.timing ? JSON.stringify(input.timing) : null,
      computeJson: computeExtras(c),
      priorPretrain: input.prior?.pretrainTestAcc ?? null,
      priorFinetune: input.prior?.finetuneTestAcc ?? null,
      finalPretrain: input.final?.pretrainTestAcc ?? null,
      finalFinetune: input.final?.finetuneTestAcc ?? null,
      finalCd: input.final?.cdRate ?? null,
      finalPrecision: input.final?.rehearsalPrecision ?? null,
    });
  }

  get(id: number): RunSummary | null {
    const row = this.selectRun.get(id);
    return row ? toSummary(row) : null;
  }

  list(filter: RunFilter = {}): RunSummary[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.studyId === null) where.push('study_id IS NULL');
    else if (filter.studyId !== undefined) {
      where.push('study_id = ?');
      params.push(filter.studyId);
    }
    if (filter.scenario !== undefined) {
      where.push('scenario = ?');
      params.push(filter.scenario);
    }
    if (filter.strategy !== undefined) {
      where.push('strategy = ?');
      params.push(filter.strategy);
    }
    if (filter.status !== undefined) {
      const statuses: readonly RunStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
      for (const s of statuses) {
        if (!RUN_STATUSES.includes(s))
          throw new HistoryError(
            `Unknown run status '${String(s)}'; expected one of ${RUN_STATUSES.join(', ')}.`,
            'invalid-input',
          );
      }
      if (statuses.length === 0) return [];
      where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
    if (filter.tag !== undefined) {
      where.push('id IN (SELECT run_id FROM run_tags WHERE tag = ?)');
      params.push(filter.tag);
    }
    const limit = filter.limit ?? -1; // SQLite: a negative LIMIT means none
    const offset = filter.offset ?? 0;
    if (!Number.isInteger(limit) || !Number.isInteger(offset) || offset < 0) {
      throw new HistoryError(
        `limit and offset must be integers (offset >= 0); got ${limit} and ${offset}.`,
        'invalid-input',
      );
    }
    params.push(limit, offset);
    // Ties on created_at (same millisecond) fall back to id, which also grows with time.
    const sql = `SELECT ${SUMMARY_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`;
    let stmt = this.listCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.listCache.set(sql, stmt); // bounded: one entry per filter shape
    }
    return (stmt.all(...params) as RunRow[]).map(toSummary);
  }

  setTags(id: number, tags: readonly string[]): void {
    this.require(id);
    const clean = [...new Set(tags.map((t) => t.trim()))];
    if (clean.some((t) => t.length === 0))
      throw new HistoryError(`Tags of run ${id} must not be empty.`, 'invalid-input');
    this.replaceTags(id, clean);
  }

  /** Every run's tags in one query (a list shows them all; one query per run made History quadratic). */
  allTags(): Map<number, string[]> {
    const byRun = new Map<number, string[]>();
    for (const { run_id, tag } of this.selectAllTags.iterate()) {
      const list = byRun.get(run_id);
      if (list) list.push(tag);
      else byRun.set(run_id, [tag]);
    }
    return byRun;
  }

  tags(id: number): string[] | null {
    if (this.status(id) === null) return null;
    return this.selectTags.all(id).map((r) => r.tag);
  }

  delete(id: number): void {
    checkId(id);
    if (this.deleteStmt.run(id).changes === 0)
      throw new HistoryError(`Cannot delete run ${id}: there is no such run in the history.`, 'unknown-run');
  }

  /**
   * Runs left queued/running by a process that no longer exists become failed. A run owned by a
   * live process on this machine (this one included) is left alone, so a second CLI does not
   * fail the first one's run; "live" means the PID exists and, where the start time was recorded,
   * it is the same process (not a new one that got the PID after a restart). Runs owned by another
   * host are treated as dead: SQLite's WAL only works between processes on one machine, so such a
   * run came with a copied file.
   */
  markInterrupted(isAlive: (pid: number) => boolean = processAlive, probe?: Partial<OwnerProbe>): number[] {
    const marked: number[] = [];
    this.db
      .transaction(() => {
        const finishedAt = now();
        for (const id of this.staleIds(isAlive, probe)) {
          if (this.markFailed.run(INTERRUPTED_ERROR, finishedAt, id).changes > 0) marked.push(id);
        }
      })
      .immediate();
    return marked;
  }

  /** The queued/running runs whose owner is gone (what markInterrupted would fail), without writing. */
  staleIds(isAlive: (pid: number) => boolean = processAlive, probe?: Partial<OwnerProbe>): number[] {
    const host = os.hostname();
    const full: OwnerProbe = { ...SYSTEM_PROBE, ...probe, isAlive };
    return this.selectUnfinished
      .all()
      .filter((run) => !ownerAlive({ pid: run.owner_pid, host: run.owner_host, start: run.owner_start }, host, full))
      .map((run) => run.id);
  }

  /**
   * A user's "this run is not running any more": stores a queued/running run as failed
   * (interrupted). Refused while its owner is provably the same live process (cancel it instead).
   */
  markInterruptedByUser(id: number, probe: OwnerProbe = SYSTEM_PROBE): void {
    const row = this.db.prepare('SELECT status, owner_pid, owner_host, owner_start FROM runs WHERE id = ?').get(id) as
      | { status: RunStatus; owner_pid: number | null; owner_host: string | null; owner_start: string | null }
      | undefined;
    if (!row) throw new HistoryError(`There is no run ${id} in the history.`, 'unknown-run');
    if (row.status !== 'queued' && row.status !== 'running')
      throw new HistoryError(
        `Run ${id} is ${row.status}: only a queued or running run can be marked interrupted.`,
        'run-state',
      );
    const host = os.hostname();
    if (
      row.owner_start !== null &&
      row.owner_host === host &&
      row.owner_pid !== null &&
      probe.isAlive(row.owner_pid) &&
      probe.identityOf(row.owner_pid) === row.owner_start
    ) {
      throw new HistoryError(
        `Run ${id} is still ${row.status} in process ${row.owner_pid} (the same ` +
          `process that started it): cancel it instead.`,
        'run-state',
      );
    }
    this.markFailed.run(INTERRUPTED_ERROR, now(), id);
  }
}

/** Re-throws a trigger refusal as a HistoryError that names the run; anything else unchanged. */
export function explainWriteError(err: unknown, runs: RunsStore, runId: number, action: string): never {
  const code = sqliteCode(err);
  if (code === 'SQLITE_CONSTRAINT_TRIGGER' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY')
    throw runs.stateError(runId, action);
  throw err;
}
