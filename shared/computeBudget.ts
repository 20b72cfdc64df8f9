// Compute at equal cost (issue 16): what a run spends in compute units, and the per-strategy
// rehearsal count m that makes a strategy spend what random mixing spends at r = R.
//
// Units: a forward sample-pass of the model costs 1, a backward 2 (the usual ratio: the backward
// pass computes gradients for both activations and weights), an extra inference 1 per sample.
// A training step on B + m samples therefore costs 3 (B + m). The prior pass (once per f0) and the
// probe (diagnostic) are reported apart and not counted.
import { ConfigError, type ModelSpec, type RehearsalConfig, type RunConfig } from './config.js';

export const UNIT_COST = { forward: 1, backward: 2 } as const;

/** Compute units of counted passes: forward (training and extra inference) x 1 + backward x 2. */
export function computeUnits(counts: { forwardPasses: number; backwardPasses: number }): number {
  return counts.forwardPasses * UNIT_COST.forward + counts.backwardPasses * UNIT_COST.backward;
}

/** What a compute budget resolved to for one run; stored with the run. */
export interface ResolvedRehearsal {
  /** The requested compute budget R (random mixing's ratio), or null for a plain budget run. */
  computeBudget: number | null;
  /** Rehearsed samples per step. */
  m: number;
  /**
   * Scored candidates: per step for loss-based and MIR (c * m after resolution), per refresh for
   * oracle-cd (0: all candidates); null for strategies that score nothing.
   */
  pool: number | null;
  /** Compute units per finetune step, averaged over a refresh period for oracle-cd. */
  unitsPerStep: number;
  /** Random mixing's units per step at r = R (or at the run's own r without a compute budget). */
  referenceUnitsPerStep: number;
  /** The rehearsal settings the strategy actually runs with (m, pool sizes resolved). */
  rehearsal: RehearsalConfig;
}

const TRAIN_SAMPLE = UNIT_COST.forward + UNIT_COST.backward;

/**
 * Units per step of each strategy with m rehearsed and a scored pool:
 *   none/random/mix-cd: 3 (B + m)
 *   loss-based:         3 (B + m) + k              (k candidates scored once)
 *   MIR:                3 (B + m) + 2 k            (scored before and after the virtual step; the
 *                                                   virtual step's gradient is the finetune half
 *                                                   of the training step's, reused: see engine/virtualStep.ts)
 *   oracle-cd:          3 (B + m) + P / refresh    (P candidates scored every `refresh` steps)
 */
export function unitsPerStep(
  strategy: RehearsalConfig['strategy'],
  B: number,
  m: number,
  pool: number,
  refreshEvery = 1,
): number {
  const train = TRAIN_SAMPLE * (B + m);
  switch (strategy) {
    case 'loss-based':
      return train + pool;
    case 'mir':
      return train + 2 * pool;
    case 'oracle-cd':
      return train + pool / refreshEvery;
    default:
      return train;
  }
}

/**
 * m and the scored pools for a run. Without `rehearsal.computeBudget` this is m = round(r * B) and
 * the configured pools; with it, every strategy spends random mixing's units at r = R per step:
 * loss-based and MIR get m = round(E / (3 + c)) resp. round(E / (3 + 2c)) with E = 3 round(R B)
 * the units random spends on rehearsal, and the rest of E as their scored pool; oracle-cd spends
 * half of E on rehearsal and the other half on its refresh pool (or all that is left after an
 * explicit pool). Throws a ConfigError in one sentence where no m >= 1 fits.
 */
export function resolveRehearsal(config: Pick<RunConfig, 'finetune' | 'rehearsal'>): ResolvedRehearsal {
  const { rehearsal } = config;
  const B = config.finetune.batchSize;
  const strategy = rehearsal.strategy;
  const R = rehearsal.computeBudget;
  const nominal = strategy === 'none' ? 0 : Math.round(rehearsal.budget * B);
  const refresh = rehearsal.oracleCd.refreshEvery;
  if (R === undefined) {
    // The configured pools as the strategies compute them (loss-based: round(c m) capped below by m).
    const pool =
      strategy === 'loss-based'
        ? Math.max(nominal, Math.round(rehearsal.lossBased.poolFactor * nominal))
        : strategy === 'mir'
          ? Math.max(nominal, Math.round(rehearsal.mir.poolFactor * nominal))
          : strategy === 'oracle-cd'
            ? rehearsal.oracleCd.pool
            : null;
    return {
      computeBudget: null,
      m: nominal,
      pool,
      // oracle-cd over all candidates: the pool size is only known with the data.
      unitsPerStep: unitsPerStep(strategy, B, nominal, pool ?? 0, refresh),
      referenceUnitsPerStep: TRAIN_SAMPLE * (B + Math.round(rehearsal.budget * B)),
      rehearsal,
    };
  }
  const mR = Math.round(R * B);
  const reference = TRAIN_SAMPLE * (B + mR);
  const E = TRAIN_SAMPLE * mR; // what random spends on rehearsal per step
  const noFit = (what: string) =>
    new ConfigError(
      `--compute-budget ${R} (config field "rehearsal.computeBudget") leaves ` +
        `${strategy} ${what}: no m >= 1 fits; raise the compute budget.`,
      'rehearsal.computeBudget',
    );
  const done = (m: number, pool: number | null, next: RehearsalConfig): ResolvedRehearsal => ({
    computeBudget: R,
    m,
    pool,
    unitsPerStep: unitsPerStep(strategy, B, m, pool ?? 0, refresh),
    referenceUnitsPerStep: reference,
    rehearsal: next,
  });
  // The strategies read m from budget (m = round(r B)); m / B rounds back to m exactly.
  const withM = (m: number): RehearsalConfig => ({ ...rehearsal, budget: m / B });
  switch (strategy) {
    case 'none':
      return done(0, null, withM(0));
    case 'random':
    case 'mix-cd':
      return done(mR, null, withM(mR));
    case 'loss-based':
    case 'mir': {
      const c = strategy === 'mir' ? rehearsal.mir.poolFactor : rehearsal.lossBased.poolFactor;
      const perCandidate = strategy === 'mir' ? 2 : 1;
      let m = Math.round(E / (TRAIN_SAMPLE + perCandidate * c));
      // The pool must hold at least the m it keeps.
      while (m > 0 && Math.floor((E - TRAIN_SAMPLE * m) / perCandidate) < m) m--;
      if (m < 1) throw noFit(`${E} units per step for rehearsal, less than one rehearsed sample and its scored pool`);
      const pool = Math.floor((E - TRAIN_SAMPLE * m) / perCandidate);
      const factor = pool / m; // round(factor * m) === pool
      const next = withM(m);
      if (strategy === 'mir') next.mir = { ...rehearsal.mir, poolFactor: factor };
      else next.lossBased = { ...rehearsal.lossBased, poolFactor: factor };
      return done(m, pool, next);
    }
    case 'oracle-cd': {
      let m: number;
      let pool: number;
      if (rehearsal.oracleCd.pool > 0) {
        // An explicit pool: its refresh is paid first, rehearsal gets what is left.
        m = Math.floor((E - rehearsal.oracleCd.pool / refresh) / TRAIN_SAMPLE);
        if (m < 1) {
          throw noFit(
            `${E} units per step, of which refreshing ${rehearsal.oracleCd.pool} candidates ` +
              `every ${refresh} steps takes ${(rehearsal.oracleCd.pool / refresh).toFixed(1)}`,
          );
        }
        pool = rehearsal.oracleCd.pool;
      } else {
        // All candidates (~50,000 every R steps) never fit a per-step budget of a few hundred
        // units, so the budget is split: half rehearsed samples, half a refresh pool drawn anew
        // at every refresh.
        m = Math.round(mR / 2);
        if (m < 1 || m >= mR) m = mR > 1 ? mR - 1 : 0;
        if (m < 1) throw noFit(`${E} units per step, too few to split between rehearsal and the refresh pool`);
        pool = refresh * (E - TRAIN_SAMPLE * m);
      }
      return done(m, pool, { ...withM(m), oracleCd: { ...rehearsal.oracleCd, pool, freshPool: true } });
    }
    default: {
      const unknown: never = strategy;
      throw new Error(`Unknown rehearsal strategy ${JSON.stringify(unknown)}.`);
    }
  }
}

/**
 * Forward FLOPs of one sample through the model (multiply-adds x 2), from the layer shapes of the
 * built-in MLP and CNN; undefined for declared and imported models (not counted yet).
 */
export function forwardFlopsPerSample(
  spec: ModelSpec,
  input: { height: number; width: number; channels: number },
  numClasses: number,
): number | undefined {
  if (spec.arch !== 'mlp' && spec.arch !== 'cnn') return undefined;
  if (spec.arch === 'mlp') {
    const sizes = [input.height * input.width * input.channels, ...spec.hidden, numClasses];
    let flops = 0;
    for (let l = 0; l + 1 < sizes.length; l++) flops += 2 * sizes[l] * sizes[l + 1];
    return flops;
  }
  let flops = 0;
  let { height, width, channels } = input;
  const k = spec.kernelSize;
  for (const filters of spec.filters) {
    flops += 2 * k * k * channels * filters * height * width; // 'same' conv at full resolution
    channels = filters;
    height = Math.ceil(height / 2);
    width = Math.ceil(width / 2);
  }
  return flops + 2 * height * width * channels * numClasses;
}
