// The local run history: one SQLite file per user (better-sqlite3, synchronous, WAL), shared by
// the CLI and the app. openHistory() opens/migrates it; History is the whole API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { toRunListItem, toRunListTable, type RunListItem, type RunListTable } from '../../shared/contract.js';
import type { BinTrace, ContinualSummary, EvalPoint, RunStatus, RunSummary, StageFinal } from '../../shared/results.js';
import { HistoryError, sqliteCode } from './errors.js';
import { LATEST_SCHEMA_VERSION, inspectSchema, migrate } from './migrations.js';
import { sqliteNativeBinding } from './nativeBinding.js';
import {
  INTERRUPTED_ERROR,
  RunsStore,
  type CreateRunInput,
  type FinishInput,
  type RunFilter,
  type StartInfo,
} from './runs.js';
import { SeriesStore } from './series.js';
import { StudiesStore, type StudyRecord } from './studies.js';
import { TelemetryStore, type ProbeSnapshot, type SampleRehearsals } from './telemetry.js';

/** Electron's userData folder name: package.json productName. */
export const APP_DATA_FOLDER = 'mix-cd workbench';
export const HISTORY_FILE = 'history.db';
/** How long a write waits for another process's write lock before failing, in ms. */
export const BUSY_TIMEOUT_MS = 5000;

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Env lookup that is case-insensitive on Windows, like process.env there (plain objects are not). */
function envValue(env: NodeJS.ProcessEnv, name: string, platform: NodeJS.Platform): string | undefined {
  const direct = env[name];
  if (direct || platform !== 'win32') return direct || undefined;
  const key = Object.keys(env).find((k) => k.toUpperCase() === name);
  return (key && env[key]) || undefined;
}

/**
 * Where the history lives: MIXCD_DB if set, else `<userData>/history.db`, where userData is what
 * Electron's app.getPath('userData') gives for productName "mix-cd workbench", so the CLI and
 * the app share one file.
 */
export function defaultHistoryPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  const override = envValue(env, 'MIXCD_DB', platform);
  if (override) return override;
  if (platform === 'win32') {
    const appData = envValue(env, 'APPDATA', platform) ?? path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, APP_DATA_FOLDER, HISTORY_FILE);
  }
  if (platform === 'darwin')
    return path.posix.join(home, 'Library', 'Application Support', APP_DATA_FOLDER, HISTORY_FILE);
  // Linux and other Unixes: Chromium's XDG rule (the variable when non-empty, else ~/.config).
  const config = env.XDG_CONFIG_HOME || path.posix.join(home, '.config');
  return path.posix.join(config, APP_DATA_FOLDER, HISTORY_FILE);
}

function notADatabase(file: string, why: string): HistoryError {
  return new HistoryError(
    `The run history file "${file}" is not an SQLite database (${why}). It was left unchanged. ` +
      'Move or rename it to start a new history there, or set MIXCD_DB to another file.',
    'not-a-database',
    file,
  );
}

/**
 * Refuses an existing file that is not SQLite before SQLite touches it: checking the 16-byte
 * magic ourselves guarantees the file (and its folder: no -wal/-shm) is left exactly as it was.
 * An empty file is fine: SQLite treats it as a new database.
 */
function checkSqliteHeader(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (stat.isDirectory()) throw notADatabase(file, 'it is a folder');
  if (stat.size === 0) return;
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (stat.size < SQLITE_MAGIC.length || !head.equals(SQLITE_MAGIC))
    throw notADatabase(file, 'its first bytes are not the SQLite header');
}

export class History {
  private readonly runs: RunsStore;
  private readonly series: SeriesStore;
  private readonly telemetry: TelemetryStore;
  private readonly studies: StudiesStore;
  private readonly readRun: (id: number) => RunSummary | null;
  private readonly insertStages: Database.Statement;

  /** Use openHistory(); the database must already be migrated. */
  constructor(
    /** The underlying connection, for tools and tests; writes should go through the methods. */
    readonly db: Database.Database,
    readonly file: string,
    /** Opened by openHistoryReadOnly: the methods that write fail, and close() does not optimize. */
    readonly readOnly = false,
  ) {
    this.runs = new RunsStore(db);
    this.series = new SeriesStore(db, this.runs);
    this.telemetry = new TelemetryStore(db, this.runs);
    this.studies = new StudiesStore(db);
    if (readOnly) for (const id of this.runs.staleIds()) this.stale.add(id);
    // One read transaction, so a run's row and its series are from the same moment.
    const selectStages = db.prepare<[number], { stages: string; continual: string }>(
      'SELECT stages, continual FROM run_stages WHERE run_id = ?',
    );
    this.insertStages = db.prepare('INSERT INTO run_stages (run_id, stages, continual) VALUES (?, ?, ?)');
    this.readRun = db.transaction((id: number) => {
      const run = this.runs.get(id);
      if (run) run.series = this.series.get(id);
      const staged = run ? selectStages.get(id) : undefined;
      if (run && staged) {
        const continual = JSON.parse(staged.continual) as ContinualSummary;
        run.accuracyMatrix = continual.accuracyMatrix;
        run.stages = JSON.parse(staged.stages) as StageFinal[];
        run.continual = continual;
      }
      return run;
    });
  }

  // --- studies ---
  createStudy(name: string, config: unknown): number {
    return this.studies.create(name, config);
  }
  getStudy<C = unknown>(id: number): StudyRecord<C> | null {
    return this.studies.get<C>(id);
  }
  listStudies<C = unknown>(): StudyRecord<C>[] {
    return this.studies.list<C>();
  }
  /** Its runs stay, outside any study. */
  deleteStudy(id: number): void {
    this.studies.delete(id);
  }

  // --- run lifecycle ---
  createRun(input: CreateRunInput): number {
    return this.runs.create(input);
  }
  markRunning(id: number, info: StartInfo): void {
    this.runs.markRunning(id, info);
  }
  finishRun(id: number, input: FinishInput): void {
    this.runs.finish(id, input);
  }
  /** Runs left queued/running by a process that has gone become failed; returns their ids. */
  markInterruptedRuns(isAlive?: (pid: number) => boolean): number[] {
    return this.runs.markInterrupted(isAlive);
  }
  /** A user marks a run whose owner is gone (or not the same process any more) as interrupted. */
  markRunInterrupted(id: number): void {
    this.runs.markInterruptedByUser(id);
  }
  deleteRun(id: number): void {
    this.runs.delete(id);
  }
  /** A failed or cancelled run back to queued, to be resumed from its checkpoint. */
  reopenRun(id: number): void {
    this.runs.reopen(id);
  }
  /** The first finished run with this identity, or null. */
  finishedRunWithIdentity(identity: string): number | null {
    return this.runs.finishedWithIdentity(identity);
  }
  /**
   * Removes a queued or running run's series, telemetry and stages (a resumed run replaces them
   * with its checkpoint's, which may end before what an interrupted attempt had stored).
   */
  clearRunData(id: number): void {
    const status = this.runs.status(id);
    if (status !== 'queued' && status !== 'running') throw this.runs.stateError(id, 'clear its data');
    this.db.transaction(() => {
      for (const table of ['eval_points', 'bin_traces', 'probe_categories', 'sample_rehearsals', 'run_stages'])
        this.db.prepare(`DELETE FROM ${table} WHERE run_id = ?`).run(id);
    })();
  }

  // --- per-run data (only while the run is running) ---
  appendEvalPoints(runId: number, points: readonly EvalPoint[]): void {
    this.series.append(runId, points);
  }
  appendBinTraces(runId: number, traces: readonly BinTrace[]): void {
    this.telemetry.appendBinTraces(runId, traces);
  }
  saveSampleRehearsals(runId: number, counts: Uint32Array, log: Int32Array, logCategories: Uint8Array | null): void {
    this.telemetry.saveSampleRehearsals(runId, counts, log, logCategories);
  }
  saveProbeCategories(runId: number, step: number, indices: Int32Array, categories: Uint8Array): void {
    this.telemetry.saveProbeCategories(runId, step, indices, categories);
  }
  /** A multi-stage run's stages and continual-learning summary (while it is running). */
  saveStages(runId: number, stages: readonly StageFinal[], continual: ContinualSummary): void {
    this.insertStages.run(runId, JSON.stringify(stages), JSON.stringify(continual));
  }

  // --- reading ---
  getRun(id: number): RunSummary | null {
    return this.asStored(this.readRun(id));
  }
  /** Newest first, without series (series: []). */
  listRuns(filter?: RunFilter): RunSummary[] {
    const runs = this.runs.list(filter);
    return this.stale.size ? runs.map((r) => this.asStored(r)!) : runs;
  }
  /**
   * runs.list: each run's list item (the History table's fields, shared/contract.ts RunListItem),
   * with its tags (read in one query, not one per run), or with `format: 'table'` the same as one
   * RunListTable; a dead process's run as the next writer will store it, as listRuns shows it.
   */
  listRunsWithTags(filter?: RunFilter): RunListItem[];
  listRunsWithTags(filter: RunFilter & { format: 'table' }): RunListTable;
  listRunsWithTags(filter?: RunFilter & { format?: 'items' | 'table' }): RunListItem[] | RunListTable {
    const { format, ...only } = filter ?? {};
    const runs = this.listRuns(only);
    const tags = this.runs.allTags();
    // Multi-stage runs' average accuracy: one number each, not their whole continual summaries.
    const averages = new Map(
      this.db
        .prepare<[], { id: number; avg: number | null }>(
          "SELECT run_id AS id, json_extract(continual, '$.averageAccuracy') AS avg FROM run_stages",
        )
        .all()
        .map((r) => [r.id, r.avg]),
    );
    const items = runs.map((run) => toRunListItem(run, tags.get(run.id) ?? [], averages.get(run.id)));
    return format === 'table' ? toRunListTable(items) : items;
  }
  getRunStatus(id: number): RunStatus | null {
    return this.stale.has(id) ? 'failed' : this.runs.status(id);
  }

  /**
   * A read-only history cannot mark runs of dead processes as failed, so it shows them as the next
   * writer will store them (failed, interrupted) instead of "running" forever.
   */
  private readonly stale = new Set<number>();
  private asStored(run: RunSummary | null): RunSummary | null {
    if (!run || !this.stale.has(run.id)) return run;
    return { ...run, status: 'failed', error: run.error ?? INTERRUPTED_ERROR };
  }
  getSeries(runId: number): EvalPoint[] | null {
    return this.runs.status(runId) === null ? null : this.series.get(runId);
  }
  getBinTraces(runId: number): BinTrace[] | null {
    return this.runs.status(runId) === null ? null : this.telemetry.binTraces(runId);
  }
  /** Null when the run is unknown or saved none. */
  getSampleRehearsals(runId: number): SampleRehearsals | null {
    return this.telemetry.sampleRehearsals(runId);
  }
  getProbeCategories(runId: number): ProbeSnapshot[] | null {
    return this.runs.status(runId) === null ? null : this.telemetry.probeCategories(runId);
  }

  // --- tags (editable at any time, finished runs included) ---
  setTags(runId: number, tags: readonly string[]): void {
    this.runs.setTags(runId, tags);
  }
  getTags(runId: number): string[] | null {
    return this.runs.tags(runId);
  }

  close(): void {
    if (!this.db.open) return;
    if (this.readOnly) return void this.db.close();
    try {
      this.db.pragma('optimize'); // cheap; keeps the query planner's statistics current
    } finally {
      this.db.close();
    }
  }
}

function damaged(file: string, what: string): HistoryError {
  return new HistoryError(
    `The run history "${file}" is damaged (${what}); nothing was written to it. Keep a copy, then recover it with ` +
      `\`sqlite3 "${file}" ".recover"\` into a new file, or move it away to start a new history there.`,
    'damaged',
    file,
  );
}

/** SQLite's quick_check (O(pages), a few ms on a large history): damaged pages are named, not misread. */
function quickCheck(db: Database.Database, file: string): void {
  const rows = db.pragma('quick_check') as { quick_check: string }[];
  if (rows.length !== 1 || rows[0].quick_check !== 'ok')
    throw damaged(
      file,
      // One line: quick_check's rows hold newlines ("*** in database main ***\nTree 4 page 4: ...").
      `SQLite's quick_check says: ${rows
        .slice(0, 3)
        .map((r) => r.quick_check.replace(/\s*\n\s*/g, ' '))
        .join('; ')}${rows.length > 3 ? `; and ${rows.length - 3} more` : ''}`,
    );
}

/** Every table the current schema has must be there (a dropped table would surface as a raw SQLite error). */
function checkTables(db: Database.Database, file: string): void {
  const have = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name),
  );
  const missing = REQUIRED_TABLES.filter((t) => !have.has(t));
  if (missing.length) throw damaged(file, `table${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing`);
}

const REQUIRED_TABLES = [
  'schema_migrations',
  'studies',
  'runs',
  'run_tags',
  'eval_points',
  'bin_traces',
  'sample_rehearsals',
  'probe_categories',
];

function openError(file: string, err: unknown, readOnly: boolean): Error {
  if (err instanceof HistoryError) return err;
  const code = sqliteCode(err);
  if (code === 'SQLITE_NOTADB') return notADatabase(file, `SQLite says: ${(err as Error).message}`);
  if (code === 'SQLITE_CORRUPT' || code?.startsWith('SQLITE_CORRUPT')) return damaged(file, (err as Error).message);
  if (
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_READONLY' ||
    code?.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_IOERR_SHMOPEN'
  ) {
    return new HistoryError(
      `Cannot ${readOnly ? 'read' : 'open for writing'} the run history "${file}" ` +
        `(SQLite says: ${(err as Error).message}). ` +
        (readOnly
          ? 'Check that this user may read the file and its folder, or copy the file somewhere writable and pass --db.'
          : 'Check that this user may write the file and its folder (a read-only mount ' +
            'cannot hold a history that runs write), or pass --db with another file.'),
      'unreadable',
      file,
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Opens an existing history for reading only: never creates the file or its folder, never
 * migrates and never writes (so a read-only mount, or another user's file, can be listed).
 * quick_check runs on open. A history from an older schema is upgraded by the next command that
 * writes; reading it here would misread it, so it is refused with that advice.
 */
export function openHistoryReadOnly(file: string): History {
  if (file === ':memory:') return openHistory(file);
  if (!fs.existsSync(file)) {
    throw new HistoryError(
      `The run history "${file}" does not exist; nothing was created. Check --db or MIXCD_DB ` +
        '(`mixcd run` or `mixcd study` create a history when they store their first run).',
      'missing',
      file,
    );
  }
  checkSqliteHeader(file);
  let db: Database.Database | undefined;
  try {
    const nativeBinding = sqliteNativeBinding();
    const options = { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) };
    db = new Database(file, options);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    let version: number;
    try {
      version = inspectSchema(db, file);
    } catch (err) {
      const code = sqliteCode(err);
      if (code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN') throw err;
      // A WAL history in a folder this user cannot write (a read-only mount, another user's file):
      // SQLite cannot make its -shm there, so read a snapshot of the file instead, writing nothing.
      db.close();
      const image = fs.readFileSync(file);
      image[18] = image[19] = 1; // header: rollback journal instead of WAL, which an in-memory image cannot use
      db = new Database(image, options);
      version = inspectSchema(db, file);
    }
    quickCheck(db, file);
    if (version < LATEST_SCHEMA_VERSION) {
      db.close();
      db = undefined;
      // Written by an older mix-cd: one read-write open migrates it (where this user may write).
      const history = openHistory(file);
      return history;
    }
    checkTables(db, file);
  } catch (err) {
    db?.close();
    throw openError(file, err, true);
  }
  return new History(db, file, true);
}

/**
 * Opens (creating if needed, with its folders) and migrates the history at `file`; ':memory:'
 * gives a private in-memory history. Throws HistoryError for a file that is not SQLite, another
 * program's database, or a newer schema, leaving such files unchanged.
 */
export function openHistory(file: string): History {
  const memory = file === ':memory:';
  if (!memory) {
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    } catch (err) {
      throw new HistoryError(
        `Cannot create the folder of the run history "${file}" (${(err as Error).message}). ` +
          `Pass --db or set MIXCD_DB to a file in a folder you can write.`,
        'unreadable',
        file,
      );
    }
    checkSqliteHeader(file);
  }
  let db: Database.Database | undefined;
  try {
    // Under Electron, its own build of the driver when this install has one (see nativeBinding.ts).
    const nativeBinding = sqliteNativeBinding();
    db = new Database(file, nativeBinding ? { nativeBinding } : {});
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`); // first, so the steps below wait for other openers
    db.pragma('foreign_keys = ON');
    inspectSchema(db, file); // read-only refusals before the first write (the WAL switch)
    if (!memory) quickCheck(db, file); // a damaged page is named before anything writes into the file
    db.pragma('journal_mode = WAL'); // readers (the app) never block the writer (a run), and vice versa
    // With WAL, NORMAL is still crash-safe for the app; only an OS crash or power cut can lose the
    // last commits, and it saves an fsync per append.
    db.pragma('synchronous = NORMAL');
    migrate(db, file);
    checkTables(db, file);
  } catch (err) {
    db?.close();
    throw openError(file, err, false);
  }
  return new History(db, file);
}
