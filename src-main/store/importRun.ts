// Importing a finished run from another history file (a cluster task's shard) into this one, as if
// it had run here: through the History API (created running, marked running with its backend,
// device, fingerprint, identity and provenance, its series and telemetry appended, finished with
// its compute, timing, prior and final), so every trigger of the schema holds, in ONE transaction:
// a run is imported whole or not at all. Idempotent by identity: a finished run with the same
// identity already here is not imported again.
import type { BinTrace, RunSummary } from '../../shared/results.js';
import { errorMessage } from '../../shared/errors.js';
import { ConfigError } from '../../shared/config.js';
import { openHistoryReadOnly, type History } from './database.js';
import { HistoryError } from './errors.js';
import type { ProbeSnapshot, SampleRehearsals } from './telemetry.js';

/** Everything of one finished run that the views and exports read. */
export interface RunRecord {
  run: RunSummary;
  startedAt: string | null;
  binTraces: BinTrace[];
  probe: ProbeSnapshot[];
  rehearsals: SampleRehearsals | null;
}

export class ShardError extends Error {
  override name = 'ShardError';
}

/** Reads run `id` of `source` whole (a finished run). Throws ShardError when a part is unreadable. */
export function readRunRecord(source: History, id: number): RunRecord {
  const run = source.getRun(id);
  if (!run) throw new ShardError(`it has no run ${id}`);
  const rehearsals = source.getSampleRehearsals(id);
  if (rehearsals?.logCategoriesProblem) throw new ShardError(rehearsals.logCategoriesProblem);
  const started = source.db.prepare('SELECT started_at FROM runs WHERE id = ?').get(id) as
    { started_at: string | null } | undefined;
  return {
    run,
    startedAt: started?.started_at ?? null,
    binTraces: source.getBinTraces(id) ?? [],
    probe: source.getProbeCategories(id) ?? [],
    rehearsals,
  };
}

export type ImportOutcome = { added: true; id: number } | { added: false; existingId: number };

/**
 * Stores `record` (a finished run) in `target` under `studyId`, unless a finished run with
 * `identity` is there already (`copy`: store it anyway, as a study reusing a run of its history
 * does). One transaction: on any error nothing of the run stays.
 */
export function importRunRecord(
  target: History,
  record: RunRecord,
  options: { identity: string; studyId: number | null; copy?: boolean },
): ImportOutcome {
  const { run } = record;
  if (run.status !== 'finished') throw new ShardError(`its run ${run.id} is ${run.status}, not finished`);
  return target.db.transaction((): ImportOutcome => {
    const existingId = options.copy ? null : target.finishedRunWithIdentity(options.identity);
    if (existingId !== null) return { added: false, existingId };
    const id = target.createRun({ config: run.config, studyId: options.studyId, status: 'running' });
    target.markRunning(id, {
      backend: run.backend,
      device: run.device,
      dataFingerprint: run.dataFingerprint,
      ...(record.startedAt ? { startedAt: record.startedAt } : {}),
      config: run.config,
      identity: options.identity,
      ...(run.provenance ? { provenance: run.provenance } : {}),
    });
    if (run.series.length) target.appendEvalPoints(id, run.series);
    if (record.binTraces.length) target.appendBinTraces(id, record.binTraces);
    for (const p of record.probe) target.saveProbeCategories(id, p.step, p.indices, p.categories);
    if (record.rehearsals)
      target.saveSampleRehearsals(id, record.rehearsals.counts, record.rehearsals.log, record.rehearsals.logCategories);
    if (run.stages && run.continual) target.saveStages(id, run.stages, run.continual);
    target.finishRun(id, {
      status: 'finished',
      compute: run.compute,
      ...(run.timing ? { timing: run.timing } : {}),
      prior: run.prior,
      final: run.final,
    });
    return { added: true, id };
  })();
}

export type ShardImport =
  | { file: string; outcome: 'added'; runId: number; identity: string }
  | { file: string; outcome: 'present'; runId: number; identity: string }
  | { file: string; outcome: 'damaged'; reason: string };

/**
 * Imports the finished run of one shard file (a history holding one run) into `target`. A file
 * that is not SQLite, is damaged or truncated, or holds no finished run comes back as damaged
 * with the reason, and nothing of it is stored. `identity` is used when the run has none stored.
 */
export function importShard(
  target: History,
  file: string,
  options: { studyId: number | null | (() => number); identity?: string },
): ShardImport {
  let source: History;
  try {
    source = openHistoryReadOnly(file);
  } catch (error) {
    return { file, outcome: 'damaged', reason: errorMessage(error) };
  }
  let record: RunRecord;
  try {
    const finished = source.listRuns({ status: 'finished' });
    if (finished.length !== 1)
      throw new ShardError(
        finished.length ? `it holds ${finished.length} finished runs, not one` : 'it holds no finished run',
      );
    record = readRunRecord(source, finished[0].id);
  } catch (error) {
    return { file, outcome: 'damaged', reason: errorMessage(error) };
  } finally {
    source.close();
  }
  const identity = record.run.identity ?? options.identity;
  if (!identity) return { file, outcome: 'damaged', reason: 'its run has no identity' };
  try {
    const existing = target.finishedRunWithIdentity(identity);
    if (existing !== null) return { file, outcome: 'present', runId: existing, identity };
    const studyId = typeof options.studyId === 'function' ? options.studyId() : options.studyId;
    const outcome = importRunRecord(target, record, { identity, studyId });
    return outcome.added
      ? { file, outcome: 'added', runId: outcome.id, identity }
      : { file, outcome: 'present', runId: outcome.existingId, identity };
  } catch (error) {
    // The shard's data refused by the schema's checks is the shard's fault; anything else (the
    // target history unwritable, a full disk) is not, and stops the merge.
    if (error instanceof ShardError || error instanceof ConfigError || shardDataError(error))
      return { file, outcome: 'damaged', reason: errorMessage(error) };
    throw error;
  }
}

function shardDataError(error: unknown): boolean {
  return error instanceof HistoryError && ['invalid-input', 'duplicate', 'run-state'].includes(error.code);
}
