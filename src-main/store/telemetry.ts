// The sampler's diagnostics: per-bin traces (mix-cd), per-sample rehearsal counts and log, and the
// probe subset's categories. Arrays go in as compact BLOBs (see blobs.ts and migrations.ts).
import type Database from 'better-sqlite3';
import { CATEGORIES, UNKNOWN_CATEGORY, type BinTrace } from '../../shared/results.js';
import { f32Blob, i32Blob, readF32, readI32, readU32, readU8, typedBlob } from './blobs.js';
import { HistoryError, sqliteCode } from './errors.js';
import { explainWriteError, type RunsStore } from './runs.js';

export interface SampleRehearsals {
  /** counts[i]: how often pretrain sample i was rehearsed. */
  counts: Uint32Array;
  /** (step, index) pairs of every rehearsal, in order. */
  log: Int32Array;
  /**
   * Per log entry, the sample's CATEGORY_CODE when rehearsed (UNKNOWN_CATEGORY: no verdict);
   * null for runs recorded before these were stored (schema version 1).
   */
  logCategories: Uint8Array | null;
  /** Set when stored categories are damaged (then logCategories is null): what is wrong, one sentence. */
  logCategoriesProblem?: string;
}

export interface ProbeSnapshot {
  step: number;
  indices: Int32Array;
  /** CATEGORY_CODE per probe sample. */
  categories: Uint8Array;
}

interface TraceRow {
  step: number;
  size: Buffer;
  alpha: Buffer;
  probability: Buffer;
  drawn: Buffer;
  cd_found: Buffer;
  true_cd_rate: Buffer | null;
}

interface RehearsalRow {
  sample_count: number;
  counts_encoding: 'dense-u32' | 'sparse-u32-pairs';
  counts: Buffer;
  log: Buffer;
  log_categories: Buffer | null;
}

const SPARSE = 'sparse-u32-pairs';
const DENSE = 'dense-u32';

/** Dense Uint32 per sample, or (index, count) pairs when fewer than half the samples were rehearsed. */
function encodeCounts(counts: Uint32Array): { encoding: typeof SPARSE | typeof DENSE; blob: Buffer } {
  let nonZero = 0;
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) nonZero++;
  if (2 * nonZero >= counts.length) return { encoding: DENSE, blob: typedBlob(counts) };
  const pairs = new Uint32Array(2 * nonZero);
  for (let i = 0, j = 0; i < counts.length; i++) {
    if (counts[i] !== 0) {
      pairs[j++] = i;
      pairs[j++] = counts[i];
    }
  }
  return { encoding: SPARSE, blob: typedBlob(pairs) };
}

function decodeCounts(row: RehearsalRow): Uint32Array {
  const stored = readU32(row.counts, 'sample rehearsal counts');
  if (row.counts_encoding === DENSE) return stored;
  const counts = new Uint32Array(row.sample_count);
  for (let j = 0; j + 1 < stored.length; j += 2) counts[stored[j]] = stored[j + 1];
  return counts;
}

function checkStep(runId: number, step: number, what: string): void {
  if (!Number.isInteger(step) || step < 0)
    throw new HistoryError(`${what} of run ${runId} has step ${step}; expected an integer >= 0.`, 'invalid-input');
}

function checkTrace(runId: number, t: BinTrace): void {
  checkStep(runId, t.step, 'Bin trace');
  const n = t.size.length;
  const arrays: [string, readonly unknown[] | undefined][] = [
    ['alpha', t.alpha],
    ['probability', t.probability],
    ['drawn', t.drawn],
    ['cdFound', t.cdFound],
    ['trueCdRate', t.trueCdRate],
  ];
  for (const [name, a] of arrays) {
    if (a !== undefined && a.length !== n) {
      throw new HistoryError(
        `Bin trace of run ${runId} at step ${t.step}: ${name} has ${a.length} bins but size has ${n}.`,
        'invalid-input',
      );
    }
  }
}

function checkLogCategories(runId: number, categories: Uint8Array, entries: number): void {
  if (categories.length !== entries) {
    throw new HistoryError(
      `Rehearsal categories of run ${runId}: ${categories.length} values for ` +
        `${entries} log entries; expected one per entry.`,
      'invalid-input',
    );
  }
  for (let j = 0; j < categories.length; j++) {
    if (categories[j] >= CATEGORIES.length && categories[j] !== UNKNOWN_CATEGORY) {
      throw new HistoryError(
        `Rehearsal categories of run ${runId}, entry ${j}: code ${categories[j]} ` +
          `is not a category (0..${CATEGORIES.length - 1}, or ${UNKNOWN_CATEGORY} ` +
          `for unknown).`,
        'invalid-input',
      );
    }
  }
}

export class TelemetryStore {
  private readonly insertTrace: Database.Statement;
  private readonly selectTraces: Database.Statement<[number], TraceRow>;
  private readonly upsertRehearsals: Database.Statement;
  private readonly selectRehearsals: Database.Statement<[number], RehearsalRow>;
  private readonly upsertProbe: Database.Statement;
  private readonly selectProbe: Database.Statement<[number], { step: number; indices: Buffer; categories: Buffer }>;
  private readonly appendTracesTx: (runId: number, rows: unknown[][]) => void;

  constructor(
    db: Database.Database,
    private readonly runs: RunsStore,
  ) {
    this.insertTrace = db.prepare(`INSERT INTO bin_traces (run_id, step, size, alpha, probability, drawn, cd_found,
      true_cd_rate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.selectTraces = db.prepare(`SELECT step, size, alpha, probability, drawn, cd_found, true_cd_rate
      FROM bin_traces WHERE run_id = ? ORDER BY step`);
    // Upserts: the engine may checkpoint these while the run goes on; the UPDATE path is still
    // subject to the "only while running" trigger.
    this.upsertRehearsals =
      db.prepare(`INSERT INTO sample_rehearsals (run_id, sample_count, counts_encoding, counts, log, log_categories)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET sample_count = excluded.sample_count,
      counts_encoding = excluded.counts_encoding, counts = excluded.counts, log = excluded.log,
      log_categories = excluded.log_categories`);
    this.selectRehearsals = db.prepare(
      'SELECT sample_count, counts_encoding, counts, log, log_categories FROM sample_rehearsals WHERE run_id = ?',
    );
    this.upsertProbe = db.prepare(`INSERT INTO probe_categories (run_id, step, indices, categories) VALUES (?, ?, ?, ?)
      ON CONFLICT (run_id, step) DO UPDATE SET indices = excluded.indices, categories = excluded.categories`);
    this.selectProbe = db.prepare(
      'SELECT step, indices, categories FROM probe_categories WHERE run_id = ? ORDER BY step',
    );
    this.appendTracesTx = db.transaction((runId: number, rows: unknown[][]) => {
      for (const row of rows) {
        try {
          this.insertTrace.run(...row);
        } catch (err) {
          if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
            throw new HistoryError(`Run ${runId} already has a bin trace at step ${String(row[1])}.`, 'duplicate');
          }
          explainWriteError(err, this.runs, runId, 'add bin traces');
        }
      }
    });
  }

  appendBinTraces(runId: number, traces: readonly BinTrace[]): void {
    // Encode (and validate) everything before the transaction, so a bad trace writes nothing.
    const rows = traces.map((t) => {
      checkTrace(runId, t);
      const at = `bin trace of run ${runId} at step ${t.step}`;
      return [
        runId,
        t.step,
        i32Blob(t.size, `${at}: size`),
        f32Blob(t.alpha),
        f32Blob(t.probability),
        i32Blob(t.drawn, `${at}: drawn`),
        i32Blob(t.cdFound, `${at}: cdFound`),
        t.trueCdRate === undefined ? null : f32Blob(t.trueCdRate),
      ];
    });
    this.appendTracesTx(runId, rows);
  }

  binTraces(runId: number): BinTrace[] {
    return this.selectTraces.all(runId).map((r) => {
      const what = `bin trace of run ${runId} at step ${r.step}`;
      const trace: BinTrace = {
        step: r.step,
        size: Array.from(readI32(r.size, what)),
        alpha: Array.from(readF32(r.alpha, what)),
        probability: Array.from(readF32(r.probability, what)),
        drawn: Array.from(readI32(r.drawn, what)),
        cdFound: Array.from(readI32(r.cd_found, what)),
      };
      if (r.true_cd_rate !== null)
        trace.trueCdRate = Array.from(readF32(r.true_cd_rate, what), (v) => (Number.isNaN(v) ? null : v));
      return trace;
    });
  }

  /** logCategories: one CATEGORY_CODE per log entry, or null when the verdicts are not known. */
  saveSampleRehearsals(runId: number, counts: Uint32Array, log: Int32Array, logCategories: Uint8Array | null): void {
    if (log.length % 2 !== 0) {
      throw new HistoryError(
        `Rehearsal log of run ${runId} has ${log.length} values; expected (step, index) pairs.`,
        'invalid-input',
      );
    }
    if (logCategories) checkLogCategories(runId, logCategories, log.length / 2);
    for (let j = 1; j < log.length; j += 2) {
      if (log[j] < 0 || log[j] >= counts.length) {
        throw new HistoryError(
          `Rehearsal log of run ${runId}, entry ${(j - 1) / 2}: sample index ${log[j]} ` +
            `is outside 0..${counts.length - 1}.`,
          'invalid-input',
        );
      }
    }
    const { encoding, blob } = encodeCounts(counts);
    try {
      this.upsertRehearsals.run(
        runId,
        counts.length,
        encoding,
        blob,
        typedBlob(log),
        logCategories ? typedBlob(logCategories) : null,
      );
    } catch (err) {
      explainWriteError(err, this.runs, runId, 'save sample rehearsals');
    }
  }

  sampleRehearsals(runId: number): SampleRehearsals | null {
    const row = this.selectRehearsals.get(runId);
    if (!row) return null;
    const log = readI32(row.log, `rehearsal log of run ${runId}`);
    const counts = decodeCounts(row);
    if (row.log_categories === null) return { counts, log, logCategories: null };
    const logCategories = readU8(row.log_categories);
    try {
      // Damaged categories must not reach the screen as wrong ones; the counts and log stay usable.
      checkLogCategories(runId, logCategories, log.length / 2);
    } catch (error) {
      return { counts, log, logCategories: null, logCategoriesProblem: (error as Error).message.replace(/\.$/, '') };
    }
    return { counts, log, logCategories };
  }

  saveProbeCategories(runId: number, step: number, indices: Int32Array, categories: Uint8Array): void {
    checkStep(runId, step, 'Probe categories');
    if (indices.length !== categories.length) {
      throw new HistoryError(
        `Probe categories of run ${runId} at step ${step}: ${indices.length} indices ` +
          `but ${categories.length} categories.`,
        'invalid-input',
      );
    }
    try {
      this.upsertProbe.run(runId, step, typedBlob(indices), typedBlob(categories));
    } catch (err) {
      explainWriteError(err, this.runs, runId, 'save probe categories');
    }
  }

  probeCategories(runId: number): ProbeSnapshot[] {
    return this.selectProbe.all(runId).map((r) => ({
      step: r.step,
      indices: readI32(r.indices, `probe indices of run ${runId} at step ${r.step}`),
      categories: readU8(r.categories),
    }));
  }
}
