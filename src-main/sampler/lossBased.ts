// loss-based (docs/method.md, baselines): each step score a random pool of round(c * m) distinct
// candidates with f_t (extra inference, counted) and rehearse the m with the highest current loss.
// Candidates as for mix-cd (prior-correct by default): a prior-wrong sample's high loss says
// nothing about forgetting, and the spec draws the pool from the candidates.
import type { LossBasedConfig } from '../../shared/config.js';
import { stateOf, type InferFn, type PretrainIndex } from './strategy.js';
import type { ExtraInferenceStrategy } from './oracleCd.js';
import { DistinctPool } from './distinctPool.js';
import { candidateIndices, type CandidateRule } from './partition.js';
import { Rng } from './rng.js';

export const LOSS_BASED_STREAM = 0x105;

export function createLossBased(
  index: PretrainIndex,
  config: LossBasedConfig,
  seed: number,
  candidates: CandidateRule = 'prior-correct',
): ExtraInferenceStrategy {
  // Positions drawn in [0, N) map through `members` to sample indices (null: all of P).
  let members: Int32Array | null = candidates === 'all' ? null : candidateIndices(index, candidates);
  if (members && members.length === 0) members = null; // f0 got nothing right: fall back to all of P
  const N = members ? members.length : index.size;
  const c = config.poolFactor;
  const rng = new Rng(seed, LOSS_BASED_STREAM);
  const drawer = new DistinctPool();
  // Reused across steps; `infer` is synchronous and must not keep the array.
  let pool = new Int32Array(0);
  let heap = new Int32Array(0); // positions into the pool, min-heap on loss
  let extra = 0;

  /** NaN (a diverged loss) ranks lowest, so the heap order stays total. */
  const valueAt = (loss: Float32Array, p: number): number => {
    const v = loss[p];
    return v === v ? v : -Infinity;
  };

  function siftDown(loss: Float32Array, size: number, at: number): void {
    const p = heap[at];
    const v = valueAt(loss, p);
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && valueAt(loss, heap[child + 1]) < valueAt(loss, heap[child])) child++;
      if (valueAt(loss, heap[child]) >= v) break;
      heap[at] = heap[child];
      at = child;
    }
    heap[at] = p;
  }

  return {
    name: 'loss-based',
    get extraForwardPasses() {
      return extra;
    },
    get stateBytes() {
      return pool.byteLength + heap.byteLength + drawer.byteLength + (members?.byteLength ?? 0);
    },
    select(_step: number, m: number, infer: InferFn): Int32Array {
      if (m <= 0 || N === 0) return new Int32Array(0);
      const k = Math.min(N, Math.max(m, Math.round(c * m)));
      if (pool.length !== k) pool = new Int32Array(k);
      drawer.draw(rng, N, k, pool);
      if (members) for (let p = 0; p < k; p++) pool[p] = members[pool[p]];
      const { loss } = infer(pool);
      extra += k;
      if (loss.length !== k) throw new Error(`infer returned ${loss.length} losses for ${k} samples.`);
      const want = Math.min(m, k);
      if (heap.length < want) heap = new Int32Array(want);
      // Top-m by loss: a min-heap of the m highest seen, O(k log m); a later sample must have a
      // strictly higher loss to displace a kept one.
      for (let p = 0; p < want; p++) heap[p] = p;
      for (let at = (want >> 1) - 1; at >= 0; at--) siftDown(loss, want, at);
      for (let p = want; p < k; p++) {
        if (valueAt(loss, p) > valueAt(loss, heap[0])) {
          heap[0] = p;
          siftDown(loss, want, 0);
        }
      }
      // Pop the minimum into the back: the result is ordered by decreasing loss.
      const out = new Int32Array(want);
      for (let size = want; size > 0; size--) {
        out[size - 1] = pool[heap[0]];
        heap[0] = heap[size - 1];
        siftDown(loss, size - 1, 0);
      }
      return out;
    },
    observe: () => {},
    // The pool and the heap are scratch, rewritten every step: the stream and the count are the state.
    snapshot: () => ({ name: 'loss-based', rng: rng.snapshot(), extra }),
    restore(state) {
      const s = stateOf<{ rng: Int32Array; extra: number }>(state, 'loss-based');
      rng.restore(s.rng);
      extra = s.extra;
    },
  };
}
