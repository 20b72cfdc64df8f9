// What a trainer process does, whatever carries its messages: wait for `start`, run the
// experiment, report as it goes, end with finished or failed. It never touches the history:
// the host is its only writer.
import { parseRunConfig } from '../../shared/config.js';
import type { RunPhase } from '../../shared/contract.js';
import { ExperimentContext, runExperiment, type ExperimentObserver } from '../engine/experiment.js';
import type { StartMessage, TrainerPort, TrainerToHost } from './protocol.js';
import { isStartMessage } from './protocol.js';
import { errorMessage } from '../../shared/errors.js';

/** At most ~5 progress messages per second: enough for a smooth bar, no flood on a fast run. */
export const PROGRESS_INTERVAL_MS = 200;

const wallClock = () => performance.timeOrigin + performance.now();

/** A message that cannot leave means the host is gone; hostGone() then stops the run. */
function send(port: TrainerPort, message: TrainerToHost): Promise<void> {
  return port.post(message).catch(() => {});
}

/** Progress, throttled per phase; a phase's first and last step always go out. */
function progressReporter(port: TrainerPort, runId: number) {
  let phase: RunPhase | null = null;
  let phaseStart = 0;
  let lastPost = 0;
  return (next: RunPhase, step: number, totalSteps: number, loss?: number) => {
    const now = performance.now();
    const newPhase = next !== phase;
    if (newPhase) {
      phase = next;
      phaseStart = now;
    } else if (step < totalSteps && now - lastPost < PROGRESS_INTERVAL_MS) return;
    lastPost = now;
    const message: TrainerToHost = { type: 'progress', runId, phase: next, step, totalSteps };
    if (loss !== undefined) message.loss = loss;
    if (step > 0 && step < totalSteps) message.etaSeconds = ((now - phaseStart) / 1000 / step) * (totalSteps - step);
    void send(port, message);
  };
}

async function train(port: TrainerPort, start: StartMessage): Promise<TrainerToHost> {
  const { runId } = start;
  const config = parseRunConfig(start.config);
  const progress = progressReporter(port, runId);
  let pretrained = false;
  const observer: ExperimentObserver = {
    onPhase(phase) {
      if (phase === 'pretraining') pretrained = true;
      progress(phase, 0, phase === 'finetuning' ? config.finetune.steps : 1);
    },
    onPretrainProgress: (p) => progress('pretraining', p.step, p.totalSteps, p.loss),
    onStart(info) {
      void send(port, {
        type: 'started',
        runId,
        backend: info.backend.backend,
        device: info.backend.device,
        dataFingerprint: info.dataFingerprint,
        f0Key: info.f0Key,
        f0Cached: !pretrained,
        model: info.model,
        config: info.config,
      });
    },
    onProgress: (p) => progress('finetuning', p.step, p.totalSteps, p.loss),
    onEval(point, trace, probe) {
      void send(port, { type: 'eval', runId, point, trace, probe, sentAt: wallClock() });
    },
    // Training blocks this process's event loop, so a vanished host is noticed by polling.
    shouldStop: () => port.hostGone(),
  };
  const result = await runExperiment(config, new ExperimentContext({ cacheDir: start.cacheDir }), observer);
  return { type: 'finished', runId, result };
}

/** Serve one run, then resolve with the exit code the process should end with. */
export function serveTrainer(port: TrainerPort): Promise<number> {
  return new Promise((resolve) => {
    let busy = false;
    port.onMessage(async (message) => {
      if (busy || !isStartMessage(message)) return; // one run per process; anything else is not for us
      busy = true;
      let outcome: TrainerToHost;
      try {
        outcome = await train(port, message);
      } catch (error) {
        outcome = {
          type: 'failed',
          runId: message.runId,
          error: errorMessage(error),
        };
      }
      await send(port, outcome);
      resolve(outcome.type === 'finished' ? 0 : 1);
    });
  });
}
