// MIR, maximally interfered retrieval (Aljundi et al., NeurIPS 2019): each step draw a random pool
// of round(c * m) distinct candidates, ask the engine how much each one's loss rises under a
// virtual SGD step on the incoming finetune batch, and rehearse the m that rise most. Its extra
// inference (2 forward passes per candidate: before and after the virtual step) is counted.
import type { MirConfig } from '../../shared/config.js';
import { stateOf, type PretrainIndex } from './strategy.js';
import type { ExtraInferenceStrategy } from './oracleCd.js';
import { DistinctPool } from './distinctPool.js';
import { candidateIndices, type CandidateRule } from './partition.js';
import { Rng } from './rng.js';

export const MIR_STREAM = 0x31e;

/** Positions 0..k-1 ordered by decreasing score (NaN last), ties by position: deterministic. */
export function topByScore(score: Float32Array, m: number): Int32Array {
  const order = Array.from({ length: score.length }, (_, p) => p);
  const key = (p: number) => (score[p] === score[p] ? score[p] : -Infinity);
  order.sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(order.slice(0, Math.min(m, order.length)));
}

export function createMir(
  index: PretrainIndex,
  config: MirConfig,
  seed: number,
  candidates: CandidateRule = 'prior-correct',
): ExtraInferenceStrategy {
  // As loss-based: the pool is drawn from mix-cd's candidates (f0-correct samples by default).
  let members: Int32Array | null = candidates === 'all' ? null : candidateIndices(index, candidates);
  if (members && members.length === 0) members = null;
  const N = members ? members.length : index.size;
  const rng = new Rng(seed, MIR_STREAM);
  const drawer = new DistinctPool();
  let pool = new Int32Array(0);
  let extra = 0;

  return {
    name: 'mir',
    needsInterference: true,
    get extraForwardPasses() {
      return extra;
    },
    get stateBytes() {
      return pool.byteLength + drawer.byteLength + (members?.byteLength ?? 0);
    },
    select(_step, m, _infer, interference) {
      if (m <= 0 || N === 0) return new Int32Array(0);
      if (!interference) throw new Error('mir needs the engine to supply interference (a virtual SGD step).');
      const k = Math.min(N, Math.max(m, Math.round(config.poolFactor * m)));
      if (pool.length !== k) pool = new Int32Array(k);
      drawer.draw(rng, N, k, pool);
      if (members) for (let p = 0; p < k; p++) pool[p] = members[pool[p]];
      const rise = interference(pool);
      extra += 2 * k;
      if (rise.length !== k) throw new Error(`interference returned ${rise.length} scores for ${k} samples.`);
      const best = topByScore(rise, m);
      const out = new Int32Array(best.length);
      for (let j = 0; j < best.length; j++) out[j] = pool[best[j]];
      return out;
    },
    observe: () => {},
    // The pool is scratch, rewritten every step: the stream and the count are the state.
    snapshot: () => ({ name: 'mir', rng: rng.snapshot(), extra }),
    restore(state) {
      const s = stateOf<{ rng: Int32Array; extra: number }>(state, 'mir');
      rng.restore(s.rng);
      extra = s.extra;
    },
  };
}
