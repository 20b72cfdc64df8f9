// What a run measures (MIXCD.md, "What a run measures"), as plain data shared by every face of the app.
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
}
