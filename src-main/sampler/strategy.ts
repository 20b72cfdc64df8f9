// The one interface every rehearsal strategy implements (docs/method.md). Pure TypeScript over typed
// arrays: no tfjs here, so strategies are easy to test statistically and to benchmark alone.
import type { StrategyName } from '../../shared/config.js';
import type { BinTrace } from '../../shared/results.js';

/** What is known about the pretrain set P without running f_t: the prior pass and the labels. */
export interface PretrainIndex {
  /** N, the number of pretrain samples. */
  size: number;
  numClasses: number;
  labels: Uint8Array;
  /** l0[i]: f0's loss on sample i. */
  priorLoss: Float32Array;
  /** c0[i]: 1 when f0 classifies sample i correctly. */
  priorCorrect: Uint8Array;
  /** Optional auxiliary group column (source, domain, ...), for the `group` partition rule. */
  groups?: Uint16Array;
}

/** f_t's current verdict on some pretrain samples, for strategies that pay for extra inference. */
export interface Inference {
  /** 1 where f_t misclassifies sample indices[j]. */
  misclassified: Uint8Array;
  /** f_t's cross-entropy loss on sample indices[j]. */
  loss: Float32Array;
}

/**
 * Runs f_t on the given pretrain samples. Supplied by the engine; every sample it is called with
 * is counted as an extra forward pass.
 */
export type InferFn = (indices: Int32Array) => Inference;

/**
 * MIR's capability (Aljundi et al. 2019): for each given pretrain sample, how much its loss rises
 * when f_t takes one virtual SGD step on this step's finetune batch (loss after - loss before).
 * Supplied by the engine (engine/virtualStep.ts), which restores the weights afterwards and counts
 * 2 forward passes per sample (before and after) as extra inference.
 */
export type InterferenceFn = (indices: Int32Array) => Float32Array;

/**
 * A strategy's state at a step boundary as plain data (numbers, arrays, typed arrays: what a
 * checkpoint serialises), copied so the run can go on; `name` says which strategy it belongs to.
 */
export interface StrategyState {
  readonly name: StrategyName;
  readonly [field: string]: unknown;
}

/** The state's fields, after checking that it is `name`'s (a checkpoint of another strategy throws). */
export function stateOf<T>(state: StrategyState, name: StrategyName): T {
  if (state.name !== name) throw new Error(`A ${state.name} strategy's state cannot restore ${name}.`);
  return state as unknown as T;
}

export interface RehearsalStrategy {
  readonly name: StrategyName;
  /**
   * The m pretrain sample indices to rehearse at finetune step `step` (0-based), distinct within
   * the step. May call `infer` (oracle-cd, loss-based); mix-cd, random and none never do.
   */
  select(step: number, m: number, infer: InferFn, interference?: InterferenceFn): Int32Array;
  /** True for strategies that call `interference` (the engine then prepares the virtual step). */
  readonly needsInterference?: boolean;
  /**
   * The training forward pass's verdict on the samples returned by `select` for `step`, in the
   * same order: 1 where f_t (before the step's update) misclassified it. Possibly delivered one
   * step late (feedbackDelay).
   */
  observe(step: number, indices: Int32Array, misclassified: Uint8Array): void;
  /**
   * Per-bin state for the inspector (bin-based strategies only); counts drawn / CD found since
   * the previous call. `binOf` maps a sample index to its bin (for probe diagnostics).
   */
  trace?(step: number): Omit<BinTrace, 'trueCdRate'>;
  binOf?(index: number): number;
  /**
   * Everything select/observe/trace depend on (RNG states, decayed counts, current sets), copied,
   * for a checkpoint; `restore` on a strategy created with the same config, index and seed then
   * continues exactly as the snapshotted one would have. Every built-in strategy has both.
   */
  snapshot?(): StrategyState;
  restore?(state: StrategyState): void;
}
