// What a run measures (docs/method.md, "What a run measures"), as plain data shared by every face of the app.
import type { RunConfig } from './config.js';

/** Category of a pretrain sample at step t, given prior correctness c0 and current correctness. */
export const CATEGORIES = ['collateral-damage', 'unforgotten', 'unlearned', 'newly-learned'] as const;
export type Category = (typeof CATEGORIES)[number];
/** Compact codes used in stored per-sample arrays (index into CATEGORIES). */
export const CATEGORY_CODE = { 'collateral-damage': 0, unforgotten: 1, unlearned: 2, 'newly-learned': 3 } as const;
/** Stored in place of a category code where none is known (a verdict that never arrived). */
export const UNKNOWN_CATEGORY = 255;

export function categoryOf(priorCorrect: boolean, nowCorrect: boolean): Category {
  if (priorCorrect) return nowCorrect ? 'unforgotten' : 'collateral-damage';
  return nowCorrect ? 'newly-learned' : 'unlearned';
}

export const RUN_STATUSES = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One evaluation of f_t (and step 0 = f0 before finetuning). */
export interface EvalPoint {
  step: number;
  pretrainTestAcc: number;
  finetuneTestAcc: number;
  /** Share of f0-correct pretrain-test samples that f_t misclassifies. */
  cdRate: number;
  /** Share of samples rehearsed since the previous eval that were CD when rehearsed (null: none rehearsed). */
  rehearsalPrecision: number | null;
  /** Compute units spent up to this step (forward 1, backward 2, extra inference 1; shared/computeBudget.ts). */
  computeUnits?: number;
}

/** What a run's compute budget resolved to (shared/computeBudget.ts). */
export interface ResolvedBudget {
  /** The requested compute budget R (random mixing's r), or null for a run at a plain budget. */
  computeBudget: number | null;
  /** Rehearsed samples per step. */
  m: number;
  /** Scored candidates per step (loss-based, MIR) or per refresh (oracle-cd); null: none. */
  pool: number | null;
  unitsPerStep: number;
  referenceUnitsPerStep: number;
}

export interface ComputeCounts {
  /** Sample-passes through the network forward: training batches and extra inference (not evaluation). */
  forwardPasses: number;
  backwardPasses: number;
  /** Forward sample-passes a strategy spent outside the training step (oracle-cd, loss-based). */
  extraForwardPasses: number;
  wallSeconds: number;
  /** forwardPasses x 1 + backwardPasses x 2 (extra inference is in forwardPasses). */
  units?: number;
  /** Units as FLOPs: units x the forward FLOPs of one sample, from the layer shapes. */
  flops?: number;
  forwardFlopsPerSample?: number;
  /** Reported apart, not counted in units: the probe's forward passes (diagnostic), f0's prior pass (once per f0). */
  probeForwardPasses?: number;
  priorPassForwardPasses?: number;
  /** The rehearsal count and pools the run used (equal-compute runs: resolved from rehearsal.computeBudget). */
  resolved?: ResolvedBudget;
}

/** Where a run's time went, in seconds. */
export interface TimeBreakdown {
  setup: number;
  train: number;
  evaluation: number;
  /** select + observe of the rehearsal strategy, without its extra inference. */
  sampler: number;
  /** Forward passes a strategy asked for (oracle-cd, loss-based). */
  extraInference: number;
  /** Time spent handing results to the history (database writes). */
  store: number;
}

/** Per-bin sampler state at one eval (mix-cd only). */
export interface BinTrace {
  step: number;
  size: number[];
  alpha: number[];
  probability: number[];
  /** Samples drawn from each bin since the previous trace. */
  drawn: number[];
  /** Of those, found to be collateral damage. */
  cdFound: number[];
  /** True CD rate per bin on the probe subset (diagnostic), when a probe is configured. */
  trueCdRate?: (number | null)[];
}

/** The JSON summary of a run; these names are a public interface (tools are built on them). */
export interface RunSummary {
  id: number;
  studyId: number | null;
  status: RunStatus;
  config: RunConfig;
  backend: string;
  device: string;
  dataFingerprint: string;
  prior: { pretrainTestAcc: number; finetuneTestAcc: number };
  final: { pretrainTestAcc: number; finetuneTestAcc: number; cdRate: number; rehearsalPrecision: number | null };
  compute: ComputeCounts;
  timing?: TimeBreakdown;
  error?: string | null;
  createdAt: string;
  finishedAt?: string | null;
  series: EvalPoint[];
  /** Multi-stage runs only: A[i][j] = accuracy on task i (0 = pretrain) after stage j + 1. */
  accuracyMatrix?: number[][];
  /** Multi-stage runs only: one `final`-shaped object per stage. */
  stages?: StageFinal[];
  /** Multi-stage runs only: forgetting, backward transfer, retention curves per task. */
  continual?: ContinualSummary;
  /**
   * Hash of the config, data fingerprints and engine numerics version (engine/runIdentity.ts):
   * equal identities give equal numbers. Null for runs recorded before it was stored.
   */
  identity?: string | null;
  /** Versions and machine the run ran on; null for runs recorded before it was stored. */
  provenance?: Provenance | null;
}

/** Where and with what a run ran (stored with each run for reproducibility). */
export interface Provenance {
  workbenchVersion: string;
  /** The git commit of the workbench's sources, when it runs from a checkout; else null. */
  gitCommit: string | null;
  node: string;
  /** Electron's version when the trainer runs inside the desktop app; else null. */
  electron: string | null;
  tfjs: string;
  /** The backend used and the version of the package that provides it. */
  backend: { name: string; version: string | null; device: string };
  machine: { hostname: string; platform: string; arch: string; cpuModel: string; cores: number; memoryGb: number };
}

/** A multi-stage run's stage: the same fields as `final`, at the end of that stage, with its name. */
export interface StageFinal {
  name: string;
  /** Task 0 (the pretrain test set). */
  pretrainTestAcc: number;
  /** This stage's own test set. */
  finetuneTestAcc: number;
  /** Share of pretrain-test samples the stage's starting model got right that are now wrong. */
  cdRate: number;
  rehearsalPrecision: number | null;
  /** Rehearsal pool size and the prior pass's extra forward passes at the stage's start. */
  poolSize: number;
  priorPassForwardPasses: number;
}

/** Continual-learning measures of a multi-stage run (MIXCD.md, "Multi-stage"). */
export interface ContinualSummary {
  /** Task 0 = pretrain, then each stage's task. */
  taskNames: string[];
  /** f0's accuracy on every task's test set, before stage 1. */
  initialAccuracy: number[];
  /** A[i][j]: test accuracy on task i after stage j + 1. */
  accuracyMatrix: number[][];
  /** Mean over all tasks of their accuracy after the last stage. */
  averageAccuracy: number;
  /**
   * Per task: the best accuracy it had from the moment it was learned (f0 for task 0, after its
   * stage for task i) up to the stage before the last, minus its final accuracy; null for the last task.
   */
  forgetting: (number | null)[];
  /** Mean over tasks 0..S-1 of (final accuracy - accuracy right after learning it). */
  backwardTransfer: number | null;
  /** Every task's test accuracy at every eval of every stage (retention curves). */
  taskSeries: TaskPoint[];
  /** The scenario's datasets with their fingerprints. */
  sources: { key: string; origin: string; fingerprint: string }[];
}

/** One eval of a multi-stage run: every task's test accuracy (task 0 = pretrain, then each stage's). */
export interface TaskPoint {
  /** 1-based stage the eval belongs to. */
  stage: number;
  /** Step within the stage. */
  step: number;
  /** On the run's one step axis: (stage - 1) x steps + step. */
  globalStep: number;
  accuracy: number[];
}
