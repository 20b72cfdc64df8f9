// What a trainer process does, whatever carries its messages: wait for `start`, run the
// experiment, report as it goes, end with finished or failed. It never touches the history:
// the host is its only writer.
import { existsSync } from 'node:fs';
import { parseRunConfig } from '../../shared/config.js';
import type { RunPhase } from '../../shared/contract.js';
import type { BinTrace } from '../../shared/results.js';
import { readCheckpoint, removeCheckpoint, writeCheckpoint, type RunCheckpoint } from '../engine/checkpoint.js';
import { ExperimentContext, runExperiment, type ExperimentObserver } from '../engine/experiment.js';
import type { ProbeSnapshot } from '../engine/finetune.js';
import { saveModel } from '../engine/modelFile.js';
import { collectProvenance } from '../engine/provenance.js';
import { runIdentity } from '../engine/runIdentity.js';
import type { ResumedTelemetry, StartMessage, TrainerPort, TrainerToHost } from './protocol.js';
import { isStartMessage } from './protocol.js';
import { errorMessage } from '../../shared/errors.js';

/** How often the stop file is looked for: a stop is seen within this of the request. */
const STOP_POLL_MS = 50;

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

/**
 * What the trainer adds to the engine's checkpoint: the telemetry it has sent so far (bin traces,
 * probe categories), so a resumed run, or a cluster shard, holds everything an uninterrupted one does.
 */
type TrainerCheckpoint = RunCheckpoint & { telemetry?: { traces: BinTrace[]; probes: ProbeSnapshot[] } };

/** A stop request: the host's stop file, our own SIGTERM (seen only between async phases), or the host gone. */
function stopSignal(port: TrainerPort, stopFile: string | undefined): () => boolean {
  let signalled = false;
  // Caught, not fatal: the host follows a stop request with SIGKILL if the trainer does not end.
  process.on('SIGTERM', () => (signalled = true));
  let askedToStop = false;
  let lastLook = -Infinity;
  return () => {
    // A file check is a system call: at most every STOP_POLL_MS, not at every training step.
    const now = performance.now();
    if (stopFile !== undefined && !askedToStop && now - lastLook >= STOP_POLL_MS) {
      lastLook = now;
      askedToStop = existsSync(stopFile);
    }
    return signalled || askedToStop || port.hostGone();
  };
}

async function train(port: TrainerPort, start: StartMessage): Promise<TrainerToHost> {
  const { runId, checkpoint } = start;
  const config = parseRunConfig(start.config);
  const progress = progressReporter(port, runId);
  const shouldStop = stopSignal(port, start.stopFile);
  const resume = checkpoint?.resume ? (readCheckpoint(checkpoint.file) as TrainerCheckpoint | null) : null;
  const traces: BinTrace[] = [...(resume?.telemetry?.traces ?? [])];
  const probes: ProbeSnapshot[] = [...(resume?.telemetry?.probes ?? [])];
  let identity = '';
  let pretrained = false;
  const observer: ExperimentObserver = {
    onPhase(phase) {
      if (phase === 'pretraining') pretrained = true;
      progress(phase, 0, phase === 'finetuning' ? config.finetune.steps : 1);
    },
    onPretrainProgress: (p) => progress('pretraining', p.step, p.totalSteps, p.loss),
    onStart(info) {
      // The config as run, on the backend it got: what the numbers depend on.
      identity = runIdentity({ ...info.config, backend: info.backend.backend }, info.dataFingerprint);
      if (resume && resume.identity !== identity)
        throw new Error(
          `The checkpoint ${checkpoint!.file} belongs to another run (other config, data or backend); ` +
            'delete it to start this run from the beginning.',
        );
      const resumed: ResumedTelemetry | null = resume
        ? { step: resume.step, series: resume.series, traces, probes }
        : null;
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
        identity,
        provenance: collectProvenance(info.backend),
        resumed,
        ...(info.backend.fallback ? { backendNote: info.backend.fallback } : {}),
      });
    },
    onProgress: (p) => progress('finetuning', p.step, p.totalSteps, p.loss),
    onEval(point, trace, probe, task) {
      if (trace) traces.push(trace);
      if (probe) probes.push(probe);
      void send(port, { type: 'eval', runId, point, trace, probe, ...(task ? { task } : {}), sentAt: wallClock() });
    },
    onFinalModel(model) {
      for (const dir of start.saveModelTo ?? []) saveModel(model, dir);
    },
    onCheckpoint(state) {
      if (checkpoint)
        writeCheckpoint(checkpoint.file, { ...state, identity, telemetry: { traces, probes } } as TrainerCheckpoint);
    },
    // Training blocks this process's event loop, so a stop request is noticed by polling.
    shouldStop,
  };
  const result = await runExperiment(config, new ExperimentContext({ cacheDir: start.cacheDir }), observer, { resume });
  if (checkpoint && result.status === 'finished' && !checkpoint.keep) removeCheckpoint(checkpoint.file);
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
