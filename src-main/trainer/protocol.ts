// The typed messages between the host and one trainer process, and the transport they travel on.
// One trainer runs one run: the host sends `start`, the trainer answers with started, progress
// and eval messages, then exactly one of finished or failed, and exits. Cancel is a signal
// (SIGTERM), not a message: training is synchronous, so a message would wait for the run's end.
import type { RunConfig } from '../../shared/config.js';
import type { RunPhase } from '../../shared/contract.js';
import type { BinTrace, EvalPoint, Provenance, TaskPoint } from '../../shared/results.js';
import type { ExperimentResult } from '../engine/experiment.js';
import type { ProbeSnapshot } from '../engine/finetune.js';

export interface StartMessage {
  type: 'start';
  runId: number;
  config: RunConfig;
  /** Where f0s are cached, shared by all trainers so every run of a study loads one f0. */
  cacheDir: string;
  /**
   * The run's checkpoint file (written at every evaluation and when stopped; see
   * docs/checkpoints.md). With `resume` the run continues from it when it exists.
   */
  checkpoint?: { file: string; resume: boolean; keep: boolean };
  /**
   * Created by the host to ask for a stop: training is synchronous, so neither a message nor a
   * signal handler is seen until the run ends, but a file is polled between steps. The trainer
   * then checkpoints at that step and ends the run as cancelled.
   */
  stopFile?: string;
  /** Folders the finetuned model is saved into when the run finishes (TensorFlow.js LayersModel). */
  saveModelTo?: string[];
}

/** What a resumed run had before its checkpoint: the host stores it in place of what it had. */
export interface ResumedTelemetry {
  step: number;
  series: EvalPoint[];
  traces: BinTrace[];
  probes: ProbeSnapshot[];
}

export type HostToTrainer = StartMessage;

export type TrainerToHost =
  | {
      type: 'started';
      runId: number;
      backend: string;
      device: string;
      dataFingerprint: string;
      f0Key: string;
      /** f0 came from the cache (this trainer did not pretrain). */
      f0Cached: boolean;
      model: string;
      /** The config as run: backend-dependent defaults resolved (stored so a re-run is exact). */
      config?: RunConfig;
      /** engine/runIdentity.ts of the config as run, on the backend it got. */
      identity?: string;
      provenance?: Provenance;
      /** Set when the run continues from a checkpoint. */
      resumed?: ResumedTelemetry | null;
      /** 'auto' fell back from the GPU: why, in one line. */
      backendNote?: string;
    }
  | {
      type: 'progress';
      runId: number;
      phase: RunPhase;
      step: number;
      totalSteps: number;
      loss?: number;
      etaSeconds?: number;
    }
  | {
      type: 'eval';
      runId: number;
      point: EvalPoint;
      trace: BinTrace | null;
      probe: ProbeSnapshot | null;
      /** A multi-stage run's task accuracies at this eval. */
      task?: TaskPoint;
      /** performance.timeOrigin + performance.now() when posted, for latency measurements. */
      sentAt: number;
    }
  /** Typed arrays (rehearsal counts and log) arrive intact: the channel uses 'advanced' serialization. */
  | { type: 'finished'; runId: number; result: ExperimentResult }
  | { type: 'failed'; runId: number; error: string };

export type TrainerMessageType = TrainerToHost['type'];

const TRAINER_MESSAGE_TYPES: ReadonlySet<string> = new Set<TrainerMessageType>([
  'started',
  'progress',
  'eval',
  'finished',
  'failed',
]);

export function isTrainerMessage(value: unknown): value is TrainerToHost {
  return (
    typeof value === 'object' &&
    value !== null &&
    TRAINER_MESSAGE_TYPES.has((value as { type?: unknown }).type as string)
  );
}

export function isStartMessage(value: unknown): value is StartMessage {
  const m = value as Partial<StartMessage> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === 'start' &&
    typeof m.runId === 'number' &&
    typeof m.cacheDir === 'string' &&
    typeof m.config === 'object'
  );
}

/**
 * The trainer's side of the channel, implemented twice in trainer/main.ts: over Node's
 * child_process IPC (CLI, browser mode, tests) and over Electron's utilityProcess
 * (process.parentPort, the desktop app). The training code sees only this interface.
 */
export interface TrainerPort {
  /** Resolves once the message has left this process. */
  post(message: TrainerToHost): Promise<void>;
  onMessage(listener: (message: unknown) => void): void;
  /** True once the host is gone; polled between training steps so an orphan stops itself. */
  hostGone(): boolean;
}
