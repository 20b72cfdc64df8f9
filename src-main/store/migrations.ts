// Numbered schema migrations. Rules: a released migration is never edited (databases already at
// that version would silently differ from new ones); change the schema by appending a migration.
import type Database from 'better-sqlite3';
import { HistoryError } from './errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const TERMINAL = `('finished', 'failed', 'cancelled')`;

/**
 * Per-run data (eval points, bin traces, ...) may only be written while its run is running, and a
 * finished/failed/cancelled run's data can only go away with the whole run. Enforced in SQL so a
 * second process, an old build or a hand-typed UPDATE cannot alter a finished run either.
 * Part of migration 1: frozen like the rest of it.
 *
 * The status subquery is NULL inside ON DELETE CASCADE (SQLite deletes the parent row before it
 * runs the cascade), which is what lets deleting a whole run through.
 * RAISE messages are literals, not expressions, so older sqlite3 shells can still read the schema.
 */
function runDataTriggers(table: string): string {
  return `
CREATE TRIGGER ${table}_insert_needs_running BEFORE INSERT ON ${table}
WHEN (SELECT status FROM runs WHERE id = NEW.run_id) IS NOT 'running'
BEGIN SELECT RAISE(ABORT, 'mixcd: ${table} rows can only be added to a running run'); END;

CREATE TRIGGER ${table}_update_needs_running BEFORE UPDATE ON ${table}
WHEN (SELECT status FROM runs WHERE id = OLD.run_id) IS NOT 'running'
  OR (SELECT status FROM runs WHERE id = NEW.run_id) IS NOT 'running'
BEGIN SELECT RAISE(ABORT, 'mixcd: ${table} rows can only be changed while their run is running'); END;

CREATE TRIGGER ${table}_delete_frozen BEFORE DELETE ON ${table}
WHEN (SELECT status FROM runs WHERE id = OLD.run_id) IN ${TERMINAL}
BEGIN SELECT RAISE(ABORT, 'mixcd: finished runs are never altered: delete the whole run instead'); END;
`;
}

/** Every runs column except study_id: a finished run may only lose its study, nothing else. */
const RUN_COLUMNS_BUT_STUDY = [
  'id',
  'created_at',
  'started_at',
  'finished_at',
  'status',
  'config_json',
  'scenario',
  'strategy',
  'budget',
  'seed',
  'backend',
  'device',
  'data_fingerprint',
  'error',
  'exit_code',
  'wall_seconds',
  'forward_passes',
  'backward_passes',
  'extra_forward_passes',
  'timing_json',
  'prior_pretrain_acc',
  'prior_finetune_acc',
  'final_pretrain_acc',
  'final_finetune_acc',
  'final_cd_rate',
  'final_rehearsal_precision',
  'owner_pid',
  'owner_host',
];
const rowOf = (prefix: string) => `(${RUN_COLUMNS_BUT_STUDY.map((c) => `${prefix}.${c}`).join(', ')})`;

const INITIAL_SCHEMA = `
CREATE TABLE studies (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  config_json TEXT NOT NULL CHECK (json_valid(config_json))
);
CREATE INDEX studies_by_created ON studies (created_at);

-- AUTOINCREMENT: a deleted run's id is never handed out again, so an id quoted in notes or
-- exported files keeps meaning one run. Times are ISO-8601 UTC strings (sortable as text).
-- scenario/strategy/budget/seed repeat config_json fields so listings filter without parsing JSON.
-- owner_pid/owner_host name the process that queued or runs it, for markInterruptedRuns.
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  study_id INTEGER REFERENCES studies (id) ON DELETE SET NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
  config_json TEXT NOT NULL CHECK (json_valid(config_json)),
  scenario TEXT NOT NULL,
  strategy TEXT NOT NULL,
  budget REAL NOT NULL,
  seed INTEGER NOT NULL,
  backend TEXT,
  device TEXT,
  data_fingerprint TEXT,
  error TEXT,
  exit_code INTEGER,
  wall_seconds REAL,
  forward_passes INTEGER,
  backward_passes INTEGER,
  extra_forward_passes INTEGER,
  timing_json TEXT CHECK (timing_json IS NULL OR json_valid(timing_json)),
  prior_pretrain_acc REAL,
  prior_finetune_acc REAL,
  final_pretrain_acc REAL,
  final_finetune_acc REAL,
  final_cd_rate REAL,
  final_rehearsal_precision REAL,
  owner_pid INTEGER,
  owner_host TEXT
);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE INDEX runs_by_study ON runs (study_id, created_at);
CREATE INDEX runs_by_scenario_strategy ON runs (scenario, strategy, created_at);
CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('queued', 'running');

-- Tags live outside runs so they stay editable after a run is frozen.
CREATE TABLE run_tags (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  tag TEXT NOT NULL CHECK (length(tag) > 0),
  PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id);

-- Small fixed-size rows keyed by (run, step): WITHOUT ROWID stores them in the key's b-tree.
CREATE TABLE eval_points (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step INTEGER NOT NULL CHECK (step >= 0),
  pretrain_test_acc REAL NOT NULL,
  finetune_test_acc REAL NOT NULL,
  cd_rate REAL NOT NULL,
  rehearsal_precision REAL,
  PRIMARY KEY (run_id, step)
) WITHOUT ROWID;

-- Per-bin arrays as little-endian BLOBs: size, drawn, cd_found Int32; alpha, probability,
-- true_cd_rate Float32 (NaN = null). Rows are KBs, so an ordinary rowid table (WITHOUT ROWID
-- suits only small rows).
CREATE TABLE bin_traces (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step INTEGER NOT NULL CHECK (step >= 0),
  size BLOB NOT NULL,
  alpha BLOB NOT NULL,
  probability BLOB NOT NULL,
  drawn BLOB NOT NULL,
  cd_found BLOB NOT NULL,
  true_cd_rate BLOB,
  PRIMARY KEY (run_id, step)
);

-- counts: how often each pretrain sample was rehearsed, for sample_count samples, stored as
--   'dense-u32':        sample_count little-endian Uint32, or
--   'sparse-u32-pairs': little-endian Uint32 (index, count) pairs, ascending index, count > 0,
-- whichever is smaller (sparse wins when fewer than half the samples were ever rehearsed).
-- log: little-endian Int32 (step, index) pairs of every rehearsal, in order.
CREATE TABLE sample_rehearsals (
  run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  sample_count INTEGER NOT NULL CHECK (sample_count >= 0),
  counts_encoding TEXT NOT NULL CHECK (counts_encoding IN ('dense-u32', 'sparse-u32-pairs')),
  counts BLOB NOT NULL,
  log BLOB NOT NULL
);

-- Diagnostic probe subset: indices little-endian Int32, categories Uint8 (CATEGORY_CODE).
CREATE TABLE probe_categories (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step INTEGER NOT NULL CHECK (step >= 0),
  indices BLOB NOT NULL,
  categories BLOB NOT NULL,
  PRIMARY KEY (run_id, step)
);

-- Finished runs are never altered by later runs. The one exception is the ON DELETE SET NULL
-- that follows deleting the run's study (the study row is already gone then), and only when
-- nothing but study_id changes.
CREATE TRIGGER runs_frozen BEFORE UPDATE ON runs
WHEN OLD.status IN ${TERMINAL}
  AND NOT (
    OLD.study_id IS NOT NULL AND NEW.study_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM studies WHERE id = OLD.study_id)
    AND ${rowOf('NEW')} IS ${rowOf('OLD')}
  )
BEGIN SELECT RAISE(ABORT, 'mixcd: finished runs are never altered (this run is finished, failed or cancelled)'); END;
${runDataTriggers('eval_points')}
${runDataTriggers('bin_traces')}
${runDataTriggers('sample_rehearsals')}
${runDataTriggers('probe_categories')}
`;

// log_categories: one Uint8 per log entry, the sample's CATEGORY_CODE when it was rehearsed
// (255: its verdict never arrived). NULL for runs recorded before it existed.
const REHEARSAL_CATEGORIES = `ALTER TABLE sample_rehearsals ADD COLUMN log_categories BLOB;`;

// owner_start: the owner process's boot id and start time ("BOOT_ID/START_TICKS", see owner.ts), so
// a new process that got the old PID (after a container restart) is not taken for the owner.
const OWNER_START = `ALTER TABLE runs ADD COLUMN owner_start TEXT;`;
// Multi-stage runs (scenario files with several stages): each stage's final values and the
// continual-learning summary (accuracy matrix, forgetting, backward transfer, per-task retention
// curves) as JSON, one row per run. Single-stage runs have no row.
const RUN_STAGES = `
CREATE TABLE run_stages (
  run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  stages TEXT NOT NULL,
  continual TEXT NOT NULL
);
${runDataTriggers('run_stages')}
`;
// Compute at equal cost (issue 16): per run, the compute summary beside the pass counts (units,
// FLOPs, prior pass and probe reported apart, the resolved m and pools of a compute budget) as
// JSON; per eval point, the compute units spent up to it. NULL for runs recorded before.
const COMPUTE_UNITS = `ALTER TABLE runs ADD COLUMN compute_json TEXT;
ALTER TABLE eval_points ADD COLUMN compute_units REAL;`;

// Resume and scale-out (issue 14). identity: a hash of the run's config, data fingerprints and the
// engine's numerics version (engine/runIdentity.ts): equal identities give equal numbers, so a study
// can reuse a finished run and `mixcd merge` imports a cluster shard once. provenance_json: the
// versions and machine the run ran on. The frozen-run trigger gains one exception: a failed or
// cancelled run may be reopened (back to queued or running) to be resumed from its checkpoint; a
// finished run stays frozen.
const RESUME_AND_PROVENANCE = `ALTER TABLE runs ADD COLUMN identity TEXT;
ALTER TABLE runs ADD COLUMN provenance_json TEXT CHECK (provenance_json IS NULL OR json_valid(provenance_json));
CREATE INDEX runs_by_identity ON runs (identity) WHERE identity IS NOT NULL;
DROP TRIGGER runs_frozen;
CREATE TRIGGER runs_frozen BEFORE UPDATE ON runs
WHEN OLD.status IN ${TERMINAL}
  AND NOT (
    OLD.study_id IS NOT NULL AND NEW.study_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM studies WHERE id = OLD.study_id)
    AND ${rowOf('NEW')} IS ${rowOf('OLD')}
  )
  AND NOT (OLD.status IN ('failed', 'cancelled') AND NEW.status IN ('queued', 'running'))
BEGIN SELECT RAISE(ABORT, 'mixcd: finished runs are never altered (this run is finished, failed or cancelled)'); END;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
  { version: 2, name: 'category of each rehearsal', sql: REHEARSAL_CATEGORIES },
  { version: 3, name: 'owner process start time', sql: OWNER_START },
  { version: 4, name: 'multi-stage runs: stages and continual-learning summary', sql: RUN_STAGES },
  { version: 5, name: 'compute units', sql: COMPUTE_UNITS },
  { version: 6, name: 'run identity, provenance, resumable runs', sql: RESUME_AND_PROVENANCE },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(
        `Migration "${m.name}" has version ${m.version}; expected ${i + 1} (versions are 1, 2, 3, ... in order).`,
      );
  });
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

function currentVersion(db: Database.Database): number {
  if (!tableExists(db, 'schema_migrations')) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Read-only checks before anything is written, so a file we must refuse is left byte-for-byte as
 * it was: another program's database, or one written by a newer mix-cd.
 */
export function inspectSchema(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  const latest = migrations.length;
  if (!tableExists(db, 'schema_migrations')) {
    const other = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' LIMIT 1`)
      .get() as { name: string } | undefined;
    if (other) {
      throw new HistoryError(
        `"${file}" is an SQLite database but not a mix-cd run history (it has a ` +
          `table "${other.name}" and no schema_migrations table). ` +
          'It was left unchanged: point MIXCD_DB at another file.',
        'foreign-database',
        file,
      );
    }
    return 0;
  }
  const current = currentVersion(db);
  if (current > latest) {
    throw new HistoryError(
      `The run history "${file}" was written by a newer version of mix-cd workbench (schema version ${current}; ` +
        `this version knows up to ${latest}). Update the app to open it; the file was left unchanged.`,
      'newer-schema',
      file,
    );
  }
  return current;
}

/**
 * Brings the schema up to date in one IMMEDIATE transaction: it takes the write lock first, so
 * two processes opening a new file at once do not both migrate; either all pending migrations
 * apply or none. Returns the versions applied (empty when already current).
 */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): number[] {
  checkOrder(migrations);
  const apply = db.transaction((): number[] => {
    const current = inspectSchema(db, file, migrations); // again, under the lock
    if (current === migrations.length) return [];
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const m of migrations.slice(current)) {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    return applied;
  });
  return apply.immediate();
}
