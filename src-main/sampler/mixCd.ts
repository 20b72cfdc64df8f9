// mix-cd (MIXCD.md, steps 1-5): rehearse from the bins whose estimated collateral-damage (CD)
// rate is high, learning the rates from the training step's own forward pass (no extra inference).
//
// Per step: O(K) to turn the counts into the bin distribution p, O(m log K) to draw, O(m) to
// observe. Nothing is O(N) after the partition is built, and select/observe never read the
// pretrain index (only binOf, a diagnostic, does). State: the partition's 4 bytes per candidate
// plus O(K + m).
import type { MixCdConfig } from '../../shared/config.js';
import type { BinTrace } from '../../shared/results.js';
import type { InferFn, PretrainIndex, RehearsalStrategy } from './strategy.js';
import { buildPartition, type Partition } from './partition.js';
import { contains } from './drawDistinct.js';
import { Rng } from './rng.js';

/** The RNG stream of mix-cd's draws (distinct from random's, oracle-cd's and loss-based's). */
export const MIX_CD_STREAM = 0x3cd;

/** Steps the engine may hand back an outcome late (feedbackDelay <= 1) plus margin. */
const RING = 4;
/** Consecutive draws of exhausted bins before switching to an exact O(K) draw over the rest. */
const MAX_MISSES = 32;
/** Renormalise the decay scale before 1/scale could overflow. */
const MIN_SCALE = 1e-100;

export interface MixCdStrategy extends RehearsalStrategy {
  readonly partition: Partition;
  /** Bytes of typed arrays the strategy holds: partition, per-bin state, step buffers. */
  readonly stateBytes: number;
  /**
   * Loop iterations spent in select/observe (bins scanned, bin draws, samples observed, bin
   * searches): a counting check that a step costs O(K + m), whatever N.
   */
  readonly work: number;
}

/**
 * `partition` may be passed in when already built (benchmarks, tests); otherwise it is built from
 * `config.rule`, `config.bins` and `config.candidates`.
 */
export function createMixCd(
  index: PretrainIndex,
  config: MixCdConfig,
  seed: number,
  partition: Partition = buildPartition(index, config.rule, config.bins, config.candidates),
): MixCdStrategy {
  const { members, offsets, numBins: K, candidateCount: C } = partition;
  const N = index.size;
  const { priorStrength: a, gamma, epsilon, priorRate } = config;
  const pooled = config.prior === 'pooled';
  const onlyCorrect = partition.candidates === 'prior-correct';
  const priorCorrect = index.priorCorrect;
  const rng = new Rng(seed, MIX_CD_STREAM);

  // Decayed counts n_k, s_k are stored divided by `scale`: decaying every bin is then one
  // multiplication of `scale` instead of an O(K) pass; n_k = nScaled[k] * scale.
  const nScaled = new Float64Array(K);
  const sScaled = new Float64Array(K);
  let nTotalScaled = 0; // sum over bins, for the pooled prior
  let sTotalScaled = 0;
  let scale = 1;
  let lastDecayStep = -1;

  /** Cumulative (unnormalised) bin weights of the current step; the last entry is the total. */
  const cumulative = new Float64Array(K);
  /** Members drawn from each bin in the current step; all zero between steps. */
  const taken = new Int32Array(K);
  /** Since the previous trace. */
  const drawn = new Float64Array(K);
  const cdFound = new Float64Array(K);

  // The last RING selections (indices and their bins), so observe needs no search.
  let capacity = 0;
  let ringIndices = new Int32Array(0);
  let ringBins = new Int32Array(0);
  let swapFrom = new Int32Array(0);
  const ringStep = new Float64Array(RING).fill(-1);
  const ringLength = new Int32Array(RING);
  let ringNext = 0;
  let work = 0;

  function ensureCapacity(m: number): void {
    if (m <= capacity) return;
    capacity = Math.max(m, capacity * 2, 16);
    ringIndices = new Int32Array(RING * capacity);
    ringBins = new Int32Array(RING * capacity);
    swapFrom = new Int32Array(capacity);
    ringStep.fill(-1); // old entries are gone; observe falls back to binOf
  }

  /** pi: the fixed prior rate, or the pooled decayed CD rate (priorRate before any observation). */
  function priorMean(): number {
    if (!pooled) return priorRate;
    return nTotalScaled > 0 ? sTotalScaled / nTotalScaled : priorRate;
  }

  /**
   * Fill `cumulative` with p_k ∝ (1 - eps) * alpha_k N_k / sum(alpha N) + eps * N_k / C.
   * If every alpha_k is 0 there is no information: p is size-proportional.
   */
  function computeCumulative(): void {
    const pi = priorMean();
    const aPi = a * pi;
    let weighted = 0;
    for (let k = 0; k < K; k++) {
      const n = nScaled[k] * scale;
      const den = n + a;
      const alpha = den > 0 ? (sScaled[k] * scale + aPi) / den : pi;
      const w = alpha * (offsets[k + 1] - offsets[k]);
      cumulative[k] = w;
      weighted += w;
    }
    const eps = weighted > 0 ? epsilon : 1;
    const byAlpha = weighted > 0 ? (1 - eps) / weighted : 0;
    const bySize = eps / C;
    let acc = 0;
    for (let k = 0; k < K; k++) {
      acc += byAlpha * cumulative[k] + bySize * (offsets[k + 1] - offsets[k]);
      cumulative[k] = acc;
    }
    work += 2 * K;
  }

  /** Smallest k with cumulative[k] > u: bins of zero weight are never returned. */
  function searchBin(u: number): number {
    let lo = 0;
    let hi = K - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Slow path when the draws keep hitting exhausted bins: draw exactly from p restricted to the
   * bins with members left (what the re-draws converge to), or, if those all have p = 0, in
   * proportion to the members left.
   */
  function drawRemainingBin(): number {
    work += 2 * K;
    let mass = 0;
    let left = 0;
    for (let k = 0; k < K; k++) {
      if (offsets[k] + taken[k] < offsets[k + 1]) {
        mass += cumulative[k] - (k > 0 ? cumulative[k - 1] : 0);
        left += offsets[k + 1] - offsets[k] - taken[k];
      }
    }
    const byMass = mass > 0;
    let u = rng.next() * (byMass ? mass : left);
    let last = -1;
    for (let k = 0; k < K; k++) {
      const rest = offsets[k + 1] - offsets[k] - taken[k];
      if (rest === 0) continue;
      const w = byMass ? cumulative[k] - (k > 0 ? cumulative[k - 1] : 0) : rest;
      if (w <= 0) continue;
      last = k;
      if (u < w) return k;
      u -= w;
    }
    return last; // rounding at the very end of the scan
  }

  function findRingSlot(step: number): number {
    for (let r = 0; r < RING; r++) if (ringStep[r] === step) return r;
    return -1;
  }

  function decayTo(step: number): void {
    if (lastDecayStep >= 0 && step > lastDecayStep) {
      const elapsed = step - lastDecayStep;
      scale *= elapsed === 1 ? gamma : Math.pow(gamma, elapsed);
      if (scale < MIN_SCALE) {
        for (let k = 0; k < K; k++) {
          nScaled[k] *= scale;
          sScaled[k] *= scale;
        }
        nTotalScaled *= scale;
        sTotalScaled *= scale;
        scale = 1;
        work += K;
      }
    }
    if (step > lastDecayStep) lastDecayStep = step;
  }

  const strategy: MixCdStrategy = {
    name: 'mix-cd',
    partition,
    get work() {
      return work;
    },
    get stateBytes() {
      return (
        partition.byteLength +
        nScaled.byteLength +
        sScaled.byteLength +
        cumulative.byteLength +
        taken.byteLength +
        drawn.byteLength +
        cdFound.byteLength +
        ringIndices.byteLength +
        ringBins.byteLength +
        swapFrom.byteLength +
        ringStep.byteLength +
        ringLength.byteLength
      );
    },

    select(step: number, m: number, _infer: InferFn): Int32Array {
      // All candidates fit when m >= C; the rest of the budget is filled uniformly from the other
      // samples of P so that every strategy rehearses the same m.
      const total = Math.max(0, Math.min(m, N));
      const fromBins = Math.min(total, C);
      const out = new Int32Array(total);
      ensureCapacity(total);
      const slot = ringNext;
      ringNext = (ringNext + 1) % RING;
      const base = slot * capacity;

      if (fromBins > 0) {
        computeCumulative();
        const totalWeight = cumulative[K - 1];
        let misses = 0;
        let d = 0;
        while (d < fromBins) {
          work++;
          // u < totalWeight strictly, so the search lands on a bin of positive weight.
          let k = searchBin(rng.next() * totalWeight);
          if (offsets[k] + taken[k] === offsets[k + 1]) {
            // Fewer members than draws: re-draw the bin.
            if (++misses <= MAX_MISSES) continue;
            k = drawRemainingBin();
            // Unreachable while taken[] is reset each step; fail loudly rather than spin.
            if (k < 0) throw new Error('mix-cd: no bin has members left to draw (internal error).');
          }
          misses = 0;
          // Partial Fisher-Yates inside the bin: members[lo..hi) are the ones not yet drawn this
          // step, so the draw is uniform without repeats and O(1). Undone below.
          const lo = offsets[k] + taken[k];
          const j = lo + rng.int(offsets[k + 1] - lo);
          const sample = members[j];
          members[j] = members[lo];
          members[lo] = sample;
          swapFrom[d] = j;
          taken[k]++;
          drawn[k]++;
          out[d] = sample;
          ringBins[base + d] = k;
          d++;
        }
        // Undo the swaps in reverse order: `members` is back in partition order (binOf relies on
        // it) and `taken` back to zero.
        for (let e = fromBins - 1; e >= 0; e--) {
          const k = ringBins[base + e];
          const lo = offsets[k] + --taken[k];
          const j = swapFrom[e];
          const sample = members[lo];
          members[lo] = members[j];
          members[j] = sample;
        }
      }
      // Budget beyond the candidates (tiny data only): distinct non-candidates, uniformly.
      for (let d = fromBins; d < total; d++) {
        let i: number;
        do i = rng.int(N);
        while ((onlyCorrect ? priorCorrect[i] !== 0 : true) || contains(out, d, i));
        out[d] = i;
        ringBins[base + d] = -1;
      }
      ringIndices.set(out, base);
      ringLength[slot] = total;
      ringStep[slot] = step;
      return out;
    },

    observe(step: number, indices: Int32Array, misclassified: Uint8Array): void {
      decayTo(step);
      const inverse = 1 / scale;
      const slot = findRingSlot(step);
      const base = slot * capacity;
      const remembered = slot >= 0 ? ringLength[slot] : 0;
      const count = indices.length;
      work += count;
      for (let j = 0; j < count; j++) {
        // The bin remembered from select; search only if the engine handed back other indices.
        let k: number;
        if (j < remembered && ringIndices[base + j] === indices[j]) k = ringBins[base + j];
        else {
          k = partition.binOf(indices[j]);
          work++;
        }
        if (k < 0) continue; // not a candidate: not counted
        nScaled[k] += inverse;
        nTotalScaled += inverse;
        if (misclassified[j]) {
          sScaled[k] += inverse;
          sTotalScaled += inverse;
          cdFound[k]++;
        }
      }
    },

    trace(step: number): Omit<BinTrace, 'trueCdRate'> {
      const size = new Array<number>(K);
      const alpha = new Array<number>(K);
      const probability = new Array<number>(K);
      const pi = priorMean();
      for (let k = 0; k < K; k++) {
        size[k] = offsets[k + 1] - offsets[k];
        const den = nScaled[k] * scale + a;
        alpha[k] = den > 0 ? (sScaled[k] * scale + a * pi) / den : pi;
      }
      if (K > 0) {
        computeCumulative();
        const total = cumulative[K - 1];
        for (let k = 0; k < K; k++) probability[k] = (cumulative[k] - (k > 0 ? cumulative[k - 1] : 0)) / total;
      }
      const result = {
        step,
        size,
        alpha,
        probability,
        drawn: Array.from(drawn),
        cdFound: Array.from(cdFound),
      };
      drawn.fill(0);
      cdFound.fill(0);
      return result;
    },

    binOf(i: number): number {
      return partition.binOf(i);
    },
  };
  return strategy;
}
