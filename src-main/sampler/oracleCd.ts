// oracle-cd (docs/method.md, baselines): every R steps run f_t over all candidates (or a fixed random
// pool of them) and rehearse uniformly from the true CD set found. The upper reference; its extra
// inference is counted (exactly the indices handed to `infer`).
import type { OracleCdConfig } from '../../shared/config.js';
import { stateOf, type InferFn, type PretrainIndex, type RehearsalStrategy } from './strategy.js';
import { candidateIndices, type CandidateRule } from './partition.js';
import { contains } from './drawDistinct.js';
import { Rng } from './rng.js';
import { DistinctPool } from './distinctPool.js';

export const ORACLE_CD_STREAM = 0x0c1;
/** The fixed pool is drawn once from its own stream, so it does not depend on the draws. */
export const ORACLE_POOL_STREAM = 0x0c2;
/** Fresh pools (one per refresh) come from a third stream. */
export const ORACLE_FRESH_POOL_STREAM = 0x0c3;

/** A strategy that pays for inference outside the training step. */
export interface ExtraInferenceStrategy extends RehearsalStrategy {
  /** Forward sample-passes spent in `infer` so far (the engine counts the same). */
  readonly extraForwardPasses: number;
  /** Bytes of typed arrays the strategy holds. */
  readonly stateBytes: number;
}

interface OracleCdState {
  rng: Int32Array;
  freshRng: Int32Array | null;
  cdSet: Int32Array;
  lastRefreshBlock: number;
  extra: number;
}

export function createOracleCd(
  index: PretrainIndex,
  config: OracleCdConfig,
  seed: number,
  candidates: CandidateRule = 'prior-correct',
): ExtraInferenceStrategy {
  const N = index.size;
  const R = config.refreshEvery;
  if (!Number.isInteger(R) || R < 1) throw new Error(`oracle-cd refreshEvery must be a positive integer, got ${R}.`);
  const rng = new Rng(seed, ORACLE_CD_STREAM);

  // With a pool, the scored set is fixed for the run; without, it is rebuilt at each refresh
  // (an O(N) pass next to an O(N) inference) so that no 4-byte-per-sample list is kept.
  let pool: Int32Array | null = null;
  // A fresh pool per refresh (equal-compute runs): pool.length candidates drawn anew each time.
  const fresh =
    config.freshPool && config.pool > 0
      ? {
          all: candidateIndices(index, candidates),
          rng: new Rng(seed, ORACLE_FRESH_POOL_STREAM),
          drawer: new DistinctPool(),
        }
      : null;
  if (config.pool > 0) {
    const all = candidateIndices(index, candidates);
    if (config.pool < all.length) {
      const poolRng = new Rng(seed, ORACLE_POOL_STREAM);
      for (let j = 0; j < config.pool; j++) {
        const r = j + poolRng.int(all.length - j);
        const v = all[r];
        all[r] = all[j];
        all[j] = v;
      }
      pool = all.slice(0, config.pool).sort(); // index order: friendlier to batched inference
    } else pool = all;
  }

  /** The true CD set at the last refresh; drawn from in place (its order is irrelevant). */
  let cdSet = new Int32Array(0);
  let lastRefreshBlock = -1;
  let extra = 0;

  function refresh(infer: InferFn): void {
    if (fresh && pool && pool.length < fresh.all.length) {
      fresh.drawer.draw(fresh.rng, fresh.all.length, pool.length, pool);
      for (let j = 0; j < pool.length; j++) pool[j] = fresh.all[pool[j]];
    }
    const scored = pool ?? candidateIndices(index, candidates);
    if (scored.length === 0) {
      cdSet = new Int32Array(0);
      return;
    }
    const { misclassified } = infer(scored);
    extra += scored.length;
    if (misclassified.length !== scored.length) {
      throw new Error(`infer returned ${misclassified.length} verdicts for ${scored.length} samples.`);
    }
    let count = 0;
    for (let j = 0; j < scored.length; j++) if (misclassified[j]) count++;
    cdSet = new Int32Array(count);
    for (let j = 0, c = 0; j < scored.length; j++) if (misclassified[j]) cdSet[c++] = scored[j];
  }

  return {
    name: 'oracle-cd',
    get extraForwardPasses() {
      return extra;
    },
    get stateBytes() {
      return (pool?.byteLength ?? 0) + cdSet.byteLength;
    },
    select(step: number, m: number, infer: InferFn): Int32Array {
      if (m <= 0) return new Int32Array(0); // nothing to rehearse: no inference to pay for
      // Refresh at steps 0, R, 2R, ... (and at the first step seen, e.g. after a resume).
      const block = Math.floor(step / R);
      if (block !== lastRefreshBlock) {
        refresh(infer);
        lastRefreshBlock = block;
      }
      const total = Math.max(0, Math.min(m, N));
      const out = new Int32Array(total);
      const cdCount = cdSet.length;
      if (cdCount >= total) {
        // Partial Fisher-Yates over the CD set: uniform, no repeats.
        for (let d = 0; d < total; d++) {
          const r = d + rng.int(cdCount - d);
          const v = cdSet[r];
          cdSet[r] = cdSet[d];
          cdSet[d] = v;
          out[d] = v;
        }
        return out;
      }
      // Too few CD samples: all of them, then uniform over P without repeats.
      out.set(cdSet);
      for (let d = cdCount; d < total; d++) {
        let i: number;
        do i = rng.int(N);
        while (contains(out, d, i));
        out[d] = i;
      }
      return out;
    },
    observe: () => {},
    // The CD set in its current order (draws permute it in place) and the refresh it came from.
    // A fresh pool is rewritten whole at each refresh, so only its stream is state.
    snapshot: () => ({
      name: 'oracle-cd',
      rng: rng.snapshot(),
      freshRng: fresh ? fresh.rng.snapshot() : null,
      cdSet: cdSet.slice(),
      lastRefreshBlock,
      extra,
    }),
    restore(state) {
      const s = stateOf<OracleCdState>(state, 'oracle-cd');
      if (Boolean(s.freshRng) !== Boolean(fresh)) throw new Error('An oracle-cd state of another pool setting.');
      rng.restore(s.rng);
      if (fresh && s.freshRng) fresh.rng.restore(s.freshRng);
      cdSet = s.cdSet.slice();
      lastRefreshBlock = s.lastRefreshBlock;
      extra = s.extra;
    },
  };
}
