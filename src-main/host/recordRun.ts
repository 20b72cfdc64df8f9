// Runs an experiment and records it in the history as it goes: the run row first (so a crash
// leaves a failed run, not nothing), eval points as they arrive, the rest at the end.
import type { RunConfig } from '../../shared/config.js';
import type { BinTrace, EvalPoint, RunSummary } from '../../shared/results.js';
import { runExperiment, type ExperimentContext, type ExperimentObserver } from '../engine/experiment.js';
import type { ProbeSnapshot } from '../engine/finetune.js';
import type { History } from '../store/database.js';

export interface RecordOptions {
  studyId?: number | null;
  /** Called with the new run's id before anything else happens. */
  onCreated?(id: number): void;
}

export async function recordRun(
  history: History,
  config: RunConfig,
  context: ExperimentContext,
  observer: ExperimentObserver = {},
  options: RecordOptions = {},
): Promise<RunSummary> {
  const id = history.createRun({ config, studyId: options.studyId ?? null, status: 'queued' });
  options.onCreated?.(id);
  const wallStart = performance.now();
  try {
    const result = await runExperiment(config, context, {
      ...observer,
      onStart(info) {
        history.markRunning(id, {
          backend: info.backend.backend,
          device: info.backend.device,
          dataFingerprint: info.dataFingerprint,
          startedAt: new Date().toISOString(),
        });
        observer.onStart?.(info);
      },
      onEval(point: EvalPoint, trace: BinTrace | null, probe: ProbeSnapshot | null) {
        history.appendEvalPoints(id, [point]);
        if (trace) history.appendBinTraces(id, [trace]);
        if (probe) history.saveProbeCategories(id, probe.step, probe.indices, probe.categories);
        observer.onEval?.(point, trace, probe);
      },
    });
    const t0 = performance.now();
    history.saveSampleRehearsals(id, result.rehearsalCounts, result.rehearsalLog);
    const storeAtEnd = (performance.now() - t0) / 1000;
    history.finishRun(id, {
      status: result.status,
      compute: result.compute,
      timing: { ...result.timing, store: result.timing.store + storeAtEnd },
      prior: result.prior,
      final: result.final,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const run = history.getRun(id);
    if (run && (run.status === 'queued' || run.status === 'running')) {
      history.finishRun(id, {
        status: 'failed',
        error: message,
        compute: { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0, wallSeconds: (performance.now() - wallStart) / 1000 },
      });
    }
    throw error;
  }
  return history.getRun(id)!;
}
