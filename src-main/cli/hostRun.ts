// The CLI as a client of the host, in this process, exactly like the desktop app and browser mode:
// runs train in trainer processes, the host is the one writer of the history, `--jobs N` is the
// host's concurrency. This process's event loop stays free while they train, so Ctrl-C and
// SIGTERM (what a cluster sends at a time limit) are seen at once: the first one asks every
// trainer to checkpoint at its current step and stores its run as cancelled (resumable with
// `mixcd resume`); a second one stops them at once.
import type { RunConfig } from '../../shared/config.js';
import {
  RequestError,
  type EventMessage,
  type MethodName,
  type MethodParams,
  type MethodResults,
} from '../../shared/contract.js';
import type { RunSummary } from '../../shared/results.js';
import { fixed } from './table.js';
import { createHost, type Host } from '../host/host.js';
import { createProgress, type ProgressReporter } from './progress.js';

export interface HostRunOptions {
  /** Created if missing. */
  historyFile: string;
  /** f0 cache. */
  cacheDir: string;
  /** Checkpoints (default: `checkpoints` beside the f0 cache). */
  checkpointDir?: string;
  /** Runs trained at once (the host's concurrency). */
  jobs?: number;
  progress: 'bar' | 'lines' | 'quiet';
  studyId?: number | null;
  keepCheckpoints?: boolean;
  /** Folders to save each finished run's final model into (`run --save-model`, `--keep-model`). */
  modelDirs?: (runId: number) => string[];
  /** What continues a stopped run, said when a signal stops it (default: `mixcd resume ID`). */
  stopHint?: string;
}

/** What a process-level signal asked for: null, or the signal that asked to stop. */
let stoppedBy: NodeJS.Signals | null = null;

/** True once SIGINT/SIGTERM asked this process to stop (its runs were checkpointed and stored cancelled). */
export function stopRequested(): boolean {
  return stoppedBy !== null;
}

/** The signal that stopped the runs, for the exit code (128 + its number), or null. */
export function stopSignal(): NodeJS.Signals | null {
  return stoppedBy;
}

/** One request to the in-process host; its error responses become thrown RequestErrors. */
export async function call<M extends MethodName>(
  host: Host,
  method: M,
  params: MethodParams<M>,
): Promise<MethodResults[M]> {
  const response = await host.handle({ id: 1, method, params });
  if (!response.ok)
    throw new RequestError(response.error.message, response.error.field ?? 'params', null, response.error.code);
  return response.result as MethodResults[M];
}

/** Progress for runs shown one at a time (a bar or lines per run), or one line per run as it ends. */
function progressView(mode: HostRunOptions['progress'], parallel: boolean, total: () => number) {
  const reporters = new Map<number, { reporter: ProgressReporter; phase: string | null }>();
  let ended = 0;
  const labels = new Map<number, string>();
  const notes = new Set<string>();
  const label = (config: RunConfig) =>
    `${config.rehearsal.strategy} ${config.rehearsal.computeBudget !== undefined ? 'R' : 'r'}=` +
    `${config.rehearsal.computeBudget ?? config.rehearsal.budget} seed=${config.seed}`;
  const reporterOf = (runId: number) => {
    let entry = reporters.get(runId);
    if (!entry) {
      // In parallel a bar per run would fight over the terminal: lines, then.
      const shown = parallel && mode === 'bar' ? 'lines' : mode;
      entry = {
        reporter: createProgress(shown, total() > 1 ? `[run ${runId}] ${labels.get(runId) ?? ''}` : ''),
        phase: null,
      };
      reporters.set(runId, entry);
    }
    return entry;
  };
  return {
    onEvent(message: EventMessage) {
      // Said even with --quiet (it explains a slow run), once per command: every run gets the same reason.
      if (message.event === 'run.started' && message.data.backendNote && !notes.has(message.data.backendNote)) {
        notes.add(message.data.backendNote);
        process.stderr.write(`mixcd: ${message.data.backendNote}\n`);
      }
      if (mode === 'quiet') return;
      switch (message.event) {
        case 'run.queued':
          labels.set(message.data.runId, label(message.data.config));
          break;
        case 'run.started': {
          const { runId, resumedFromStep } = message.data;
          if (resumedFromStep !== undefined)
            process.stderr.write(`run ${runId}: resuming from its checkpoint at step ${resumedFromStep}\n`);
          break;
        }
        case 'run.progress': {
          const { runId, phase, step, totalSteps, loss } = message.data;
          const entry = reporterOf(runId);
          if (entry.phase !== phase) {
            entry.phase = phase;
            entry.reporter.observer.onPhase?.(phase, phase);
          }
          if (phase === 'pretraining')
            entry.reporter.observer.onPretrainProgress?.({ epoch: 0, step, totalSteps, loss: loss ?? NaN });
          else if (phase === 'finetuning')
            entry.reporter.observer.onProgress?.({ step, totalSteps, loss: loss ?? NaN });
          break;
        }
        case 'run.eval':
          reporterOf(message.data.runId).reporter.observer.onEval?.(message.data.point, null, null);
          break;
        case 'run.finished':
        case 'run.failed':
        case 'run.cancelled': {
          const { runId } = message.data;
          reporters.get(runId)?.reporter.stop();
          reporters.delete(runId);
          ended++;
          if (!parallel && total() === 1) break;
          const what =
            message.event === 'run.finished'
              ? `finished: pretrain-test ${fixed(message.data.summary.final.pretrainTestAcc)}, finetune-test ` +
                `${fixed(message.data.summary.final.finetuneTestAcc)}, ` +
                `${message.data.summary.compute.wallSeconds.toFixed(0)} s`
              : message.event === 'run.failed'
                ? `failed: ${message.data.error}`
                : 'cancelled';
          process.stderr.write(`[${ended}/${total()}] run ${runId} ${labels.get(runId) ?? ''} ${what}\n`);
          break;
        }
      }
    },
    stop() {
      for (const { reporter } of reporters.values()) reporter.stop();
    },
  };
}

/**
 * Starts a host on the history, lets `submit` queue runs through its API, and waits until every
 * run it queued has ended; returns them as stored. SIGINT/SIGTERM stop the runs (see the top).
 */
export async function driveHost(
  options: HostRunOptions,
  submit: (host: Host) => Promise<number[]>,
): Promise<RunSummary[]> {
  const host = createHost({
    historyFile: options.historyFile,
    cacheDir: options.cacheDir,
    checkpointDir: options.checkpointDir,
    concurrency: options.jobs ?? 1,
    keepCheckpoints: options.keepCheckpoints,
    modelDirs: options.modelDirs,
  });
  const ended = new Set<number>();
  let waiting: number[] = [];
  let wake: (() => void) | null = null;
  const view = progressView(options.progress, (options.jobs ?? 1) > 1, () => waiting.length);
  const unsubscribe = host.subscribe((message) => {
    view.onEvent(message);
    if (message.event === 'run.finished' || message.event === 'run.failed' || message.event === 'run.cancelled') {
      ended.add(message.data.runId);
      wake?.();
    }
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    stoppedBy ??= signal;
    if (signals === 1) {
      process.stderr.write(
        `\nmixcd: ${signal}: stopping; each running run is checkpointed at its current step and stored as ` +
          `cancelled (${options.stopHint ?? '`mixcd resume ID` continues it'}). ` +
          `${signal === 'SIGINT' ? 'Ctrl-C' : 'The signal'} ` +
          'again stops at once.\n',
      );
      void host.stopAll();
    } else {
      void host.stopAll({ immediately: true });
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    waiting = await submit(host);
    if (stoppedBy) await host.stopAll(); // a signal that came while the runs were being queued
    while (waiting.some((id) => !ended.has(id))) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
    view.stop();
    const runs: RunSummary[] = [];
    for (const id of waiting) runs.push(await call(host, 'runs.get', { id }));
    return runs;
  } finally {
    view.stop();
    unsubscribe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await host.close();
  }
}

/** Runs through the host; resolves when all ended (finished, failed or cancelled by a signal). */
export function runConfigs(configs: RunConfig[], options: HostRunOptions): Promise<RunSummary[]> {
  return driveHost(options, async (host) => {
    const ids: number[] = [];
    for (const config of configs) {
      if (stoppedBy) break;
      ids.push((await call(host, 'runs.start', { config, studyId: options.studyId ?? undefined })).runId);
    }
    return ids;
  });
}

/** Continues failed/cancelled runs of options.historyFile from their checkpoints (exact). */
export function resumeRuns(runIds: number[], options: HostRunOptions): Promise<RunSummary[]> {
  return driveHost(options, async (host) => {
    const ids: number[] = [];
    for (const id of runIds) ids.push((await call(host, 'runs.resume', { id })).runId);
    return ids;
  });
}
