// One array task's run: `mixcd run --manifest DIR/manifest.jsonl --index I`. The run goes through the
// host (runConfigs / resumeRuns) into a history file of its own, DIR/shards/.partial-<identity>.db;
// once finished that file is made self-contained (no -wal) and renamed to DIR/shards/<identity>.db,
// atomically, so a shard that exists is always whole. A requeued task finds the partial file with
// its run cancelled or failed and resumes it from its checkpoint.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { openHistory } from '../store/database.js';
import { resumeRuns, runConfigs, stopRequested, type HostRunOptions } from './hostApi.js';
import {
  checkpointDir,
  clusterPaths,
  partialShardFile,
  readManifest,
  shardFile,
  type ClusterPaths,
  type ManifestEntry,
} from './manifest.js';
import { EXIT_REQUEUE } from './sbatch.js';

export interface TaskOptions {
  progress: 'bar' | 'lines' | 'quiet';
  keepCheckpoints?: boolean;
  /** Where the f0 cache is (default: MIXCD_CACHE_DIR, else DIR/f0-cache). */
  cacheDir?: string;
  /** Lines for the job's log (stderr); stdout stays for --json. */
  say?: (line: string) => void;
}

export interface TaskResult {
  /** 0 finished (or already done), EXIT_REQUEUE stopped by a signal (checkpointed), 1 failed. */
  exitCode: number;
  entry: ManifestEntry;
  shard: string;
  run: RunSummary | null;
  alreadyDone: boolean;
}

export function manifestEntry(manifestFile: string, indexText: string): { paths: ClusterPaths; entry: ManifestEntry } {
  const file = path.resolve(manifestFile);
  const entries = readManifest(file);
  const index = Number(indexText);
  if (!Number.isInteger(index) || index < 0 || index >= entries.length)
    throw new ConfigError(`--index "${indexText}" is not valid: ${file} has runs 0 to ${entries.length - 1}.`, 'index');
  return { paths: clusterPaths(path.dirname(file)), entry: entries[index] };
}

/** What a partial shard holds for this identity: nothing yet, a run to resume, or a finished run. */
function partialState(file: string): { resume: number | null; finished: number | null } {
  if (!existsSync(file)) return { resume: null, finished: null };
  const history = openHistory(file);
  try {
    // A run left "running" by a task that was killed (on this node or another) becomes failed: resumable.
    history.markInterruptedRuns();
    // The file belongs to this one manifest line: whatever run it holds is this run (newest first).
    const runs = history.listRuns();
    const finished = runs.find((r) => r.status === 'finished');
    if (finished) return { resume: null, finished: finished.id };
    const stopped = runs.find((r) => r.status === 'failed' || r.status === 'cancelled');
    return { resume: stopped?.id ?? null, finished: null };
  } finally {
    history.close();
  }
}

/** The finished partial history as one self-contained file (no -wal/-shm beside it), renamed into place. */
export function finalizeShard(partial: string, shard: string): void {
  const history = openHistory(partial);
  try {
    history.db.pragma('journal_mode = DELETE'); // checkpoints the WAL into the file and removes it
  } finally {
    history.close();
  }
  renameSync(partial, shard);
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
}

export async function runManifestTask(manifestFile: string, indexText: string, options: TaskOptions) {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { paths, entry } = manifestEntry(manifestFile, indexText);
  const shard = shardFile(paths, entry.identity);
  const partial = partialShardFile(paths, entry.identity);
  const result = (exitCode: number, run: RunSummary | null, alreadyDone = false): TaskResult => ({
    exitCode,
    entry,
    shard,
    run,
    alreadyDone,
  });
  if (existsSync(shard)) {
    say(`Run ${entry.index} (${entry.identity}) is already done: ${shard}; nothing to do.`);
    return result(0, null, true);
  }
  mkdirSync(paths.shards, { recursive: true });
  const checkpoints = checkpointDir(paths, entry.identity);
  mkdirSync(checkpoints, { recursive: true });
  const host: HostRunOptions = {
    historyFile: partial,
    cacheDir: options.cacheDir ?? process.env.MIXCD_CACHE_DIR ?? paths.f0Cache,
    checkpointDir: checkpoints,
    jobs: 1,
    progress: options.progress,
    studyId: null,
    keepCheckpoints: options.keepCheckpoints,
    stopHint: 'the task requeues itself and continues it from there',
  };
  const state = partialState(partial);
  let run: RunSummary | null;
  if (state.finished === null) {
    if (state.resume !== null) say(`Run ${entry.index} (${entry.identity}): resuming it from its checkpoint.`);
    const runs =
      state.resume !== null ? await resumeRuns([state.resume], host) : await runConfigs([entry.config], host);
    run = runs[0] ?? null;
    // A run that finished as the signal came is kept (its shard below); the next run is the script's.
    if (run?.status !== 'finished' && stopRequested()) {
      say(
        `Run ${entry.index} (${entry.identity}) was stopped by a signal and checkpointed; ` +
          `exit ${EXIT_REQUEUE}, so the job script requeues it.`,
      );
      return result(EXIT_REQUEUE, run);
    }
    if (!run || run.status !== 'finished') {
      say(
        `Run ${entry.index} (${entry.identity}) ${run ? `ended ${run.status}` : 'did not start'}` +
          `${run?.error ? `: ${run.error}` : ''}; its partial shard ${partial} stays for a resume.`,
      );
      return result(1, run);
    }
  } else {
    const history = openHistory(partial);
    run = history.getRun(state.finished);
    history.close();
  }
  finalizeShard(partial, shard);
  // The host removes a finished run's checkpoint (unless kept); the emptied folder goes too.
  if (existsSync(checkpoints) && readdirSync(checkpoints).length === 0) rmSync(checkpoints, { recursive: true });
  say(`Run ${entry.index} (${entry.identity}) finished: ${shard}`);
  return result(0, run);
}

/** `mixcd run --manifest M --prepare-f0`: each distinct f0 of the manifest pretrained into the study's cache. */
export async function prepareManifestF0(
  manifestFile: string,
  options: { cacheDir?: string; say?: (line: string) => void; observer?: object },
): Promise<number> {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = path.resolve(manifestFile);
  const entries = readManifest(file);
  const paths = clusterPaths(path.dirname(file));
  const cacheDir = options.cacheDir ?? process.env.MIXCD_CACHE_DIR ?? paths.f0Cache;
  const { ExperimentContext, ensureF0 } = await import('../engine/experiment.js');
  const context = new ExperimentContext({ cacheDir });
  const seen = new Set<string>();
  for (const { config } of entries) {
    // What f0 depends on (engine/f0Cache.ts f0KeyFor); the rest of a config only changes the finetuning.
    const key = JSON.stringify([
      config.model,
      config.pretrain,
      config.scenario,
      config.scenarioFile?.spec ?? null,
      config.dataset,
      config.dataDir ?? null,
      config.backend,
      config.f0Backend ?? null,
    ]);
    if (seen.has(key)) continue;
    seen.add(key);
    const t0 = performance.now();
    const f0 = await ensureF0(config, context, options.observer ?? {});
    say(
      `f0 ${f0.f0Key} ${f0.f0Cached ? 'was already in' : 'pretrained into'} ${cacheDir} ` +
        `(${f0.backend.backend}; pretrain-test ${f0.prior.pretrainTestAcc.toFixed(4)}, ` +
        `${((performance.now() - t0) / 1000).toFixed(0)} s).`,
    );
  }
  return 0;
}
