// Runs an experiment in this process and records it in the history as it goes (tests and benchmarks
// with their own data; the workbench itself, CLI included, runs every run through the host).
import type { RunConfig } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { checkModel, runExperiment, type ExperimentContext, type ExperimentObserver } from '../engine/experiment.js';
import type { History } from '../store/database.js';
import { RunRecorder } from './recorder.js';
import { errorMessage } from '../../shared/errors.js';

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
  // A model file or declared spec that cannot work is refused before anything is stored.
  await checkModel(config, context);
  const recorder = RunRecorder.create(history, config, options.studyId ?? null);
  options.onCreated?.(recorder.id);
  try {
    const result = await runExperiment(config, context, {
      ...observer,
      onStart(info) {
        recorder.started({
          backend: info.backend.backend,
          device: info.backend.device,
          dataFingerprint: info.dataFingerprint,
          config: info.config,
        });
        observer.onStart?.(info);
      },
      onEval(point, trace, probe, task) {
        recorder.eval(point, trace, probe);
        observer.onEval?.(point, trace, probe, task);
      },
    });
    recorder.finished(result);
  } catch (error) {
    recorder.failed(errorMessage(error));
    throw error;
  }
  return recorder.summary();
}
