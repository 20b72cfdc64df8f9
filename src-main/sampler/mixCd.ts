// mix-cd (docs/method.md, steps 1-5): rehearse from the bins whose estimated collateral-damage (CD)
// rate is high, learning the rates from the training step's own forward pass (no extra inference).
//
// Per step: one O(K) pass to turn the counts into the bin distribution p, O(m log K) to draw,
// O(m) to observe. Nothing is O(N) after the partition is built, select/observe never read the
// pretrain index (only binOf, a diagnostic, does) and `members` is only read, once per draw (at
// N = 10^7 that read is a cache miss, so no more are added, and the reads are batched). State:
// the partition's 4 bytes per candidate plus O(K + m).
//
// The hot loops copy fields into locals and call small module-level helpers over typed arrays.
import type { MixCdConfig } from '../../shared/config.js';
import type { BinTrace } from '../../shared/results.js';
import { stateOf, type InferFn, type PretrainIndex, type RehearsalStrategy, type StrategyState } from './strategy.js';
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
   * Loop iterations spent in select/observe (bins scanned, draws and re-draws, samples observed,
   * bin searches in observe): a counting check that a step costs O(K + m), whatever N.
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
  return new MixCd(index, config, seed, partition);
}

/**
 * One O(K) pass: cumulative[k] = sum_{j<=k} alpha_j N_j with alpha_j = (s_j + a pi) / (n_j + a)
 * and n_j = nScaled[j] * scale (likewise s_j). Returns sum(alpha N).
 */
function accumulateWeights(
  cumulative: Float64Array,
  nScaled: Float64Array,
  sScaled: Float64Array,
  binSize: Float64Array,
  scale: number,
  a: number,
  pi: number,
): number {
  const aPi = a * pi;
  let acc = 0;
  for (let k = 0; k < cumulative.length; k++) {
    const den = nScaled[k] * scale + a;
    acc += (den > 0 ? (sScaled[k] * scale + aPi) / den : pi) * binSize[k];
    cumulative[k] = acc;
  }
  return acc;
}

// Branchless binary searches (adding half times the comparison instead of branching on it): the
// outcomes are random, and mispredictions made the plain search about twice as slow.
/** Smallest k < K with cumulative[k] > u: bins of zero weight are never returned. */
function searchWeight(cumulative: Float64Array, K: number, u: number): number {
  let base = 0;
  let n = K;
  while (n > 1) {
    const half = n >>> 1;
    base += half * +(cumulative[base + half - 1] <= u);
    n -= half;
  }
  return base;
}

/** The bin holding position `pos` of `members`: smallest k < K with offsets[k + 1] > pos. */
function searchPosition(offsets: Int32Array, K: number, pos: number): number {
  let base = 0;
  let n = K;
  while (n > 1) {
    const half = n >>> 1;
    base += half * +(offsets[base + half] <= pos);
    n -= half;
  }
  return base;
}

class MixCd implements MixCdStrategy {
  readonly name = 'mix-cd' as const;
  readonly partition: Partition;
  private readonly rng: Rng;
  private readonly N: number;
  private readonly K: number;
  private readonly C: number;
  private readonly members: Int32Array;
  private readonly offsets: Int32Array;
  private readonly binSize: Float64Array;
  private readonly a: number;
  private readonly gamma: number;
  private readonly epsilon: number;
  private readonly priorRate: number;
  private readonly pooled: boolean;
  private readonly onlyCorrect: boolean;
  private readonly priorCorrect: Uint8Array;

  // Decayed counts n_k, s_k are stored divided by `scale`: decaying every bin is then one
  // multiplication of `scale` instead of an O(K) pass; n_k = nScaled[k] * scale.
  private readonly nScaled: Float64Array;
  private readonly sScaled: Float64Array;
  private nTotalScaled = 0; // sums over bins, for the pooled prior
  private sTotalScaled = 0;
  private scale = 1;
  private lastDecayStep = -1;

  /** Cumulative alpha_k N_k of the current step; the last entry is sum(alpha N). */
  private readonly cumulative: Float64Array;
  /** Share of size-proportional draws this step: epsilon, or 1 when every alpha is 0. */
  private sizeShare = 1;
  /** Members drawn from each bin in the current step; all zero between steps. */
  private readonly taken: Int32Array;
  /** Since the previous trace. */
  private readonly drawn: Float64Array;
  private readonly cdFound: Float64Array;

  // The last RING selections (indices and their bins), so observe needs no search.
  private capacity = 0;
  private ringIndices = new Int32Array(0);
  private ringBins = new Int32Array(0);
  /** Positions in `members` drawn in the current step, to reject repeats. */
  private chosen = new Int32Array(0);
  private readonly ringStep = new Float64Array(RING).fill(-1);
  private readonly ringLength = new Int32Array(RING);
  private ringNext = 0;
  private workCount = 0;

  constructor(index: PretrainIndex, config: MixCdConfig, seed: number, partition: Partition) {
    this.partition = partition;
    this.rng = new Rng(seed, MIX_CD_STREAM);
    this.N = index.size;
    this.K = partition.numBins;
    this.C = partition.candidateCount;
    this.members = partition.members;
    this.offsets = partition.offsets;
    this.binSize = new Float64Array(this.K);
    for (let k = 0; k < this.K; k++) this.binSize[k] = this.offsets[k + 1] - this.offsets[k];
    this.a = config.priorStrength;
    this.gamma = config.gamma;
    this.epsilon = config.epsilon;
    this.priorRate = config.priorRate;
    this.pooled = config.prior === 'pooled';
    this.onlyCorrect = partition.candidates === 'prior-correct';
    this.priorCorrect = index.priorCorrect;
    this.nScaled = new Float64Array(this.K);
    this.sScaled = new Float64Array(this.K);
    this.cumulative = new Float64Array(this.K);
    this.taken = new Int32Array(this.K);
    this.drawn = new Float64Array(this.K);
    this.cdFound = new Float64Array(this.K);
  }

  get work(): number {
    return this.workCount;
  }

  get stateBytes(): number {
    return (
      this.partition.byteLength +
      this.binSize.byteLength +
      this.nScaled.byteLength +
      this.sScaled.byteLength +
      this.cumulative.byteLength +
      this.taken.byteLength +
      this.drawn.byteLength +
      this.cdFound.byteLength +
      this.ringIndices.byteLength +
      this.ringBins.byteLength +
      this.chosen.byteLength +
      this.ringStep.byteLength +
      this.ringLength.byteLength
    );
  }

  private ensureCapacity(m: number): void {
    if (m <= this.capacity) return;
    const capacity = Math.max(m, this.capacity * 2, 16);
    this.capacity = capacity;
    this.ringIndices = new Int32Array(RING * capacity);
    this.ringBins = new Int32Array(RING * capacity);
    this.chosen = new Int32Array(capacity);
    this.ringStep.fill(-1); // old entries are gone; observe falls back to binOf
  }

  /** pi: the fixed prior rate, or the pooled decayed CD rate (priorRate before any observation). */
  private priorMean(): number {
    if (!this.pooled) return this.priorRate;
    return this.nTotalScaled > 0 ? this.sTotalScaled / this.nTotalScaled : this.priorRate;
  }

  /**
   * p_k = sizeShare * N_k / C + (1 - sizeShare) * alpha_k N_k / sum(alpha N). The epsilon share of
   * size-proportional draws is mixed in at draw time (a uniform position in `members`), so one
   * pass over the bins is enough. Every alpha 0: nothing to prefer, p is size-proportional.
   */
  private computeCumulative(): number {
    const total = accumulateWeights(
      this.cumulative,
      this.nScaled,
      this.sScaled,
      this.binSize,
      this.scale,
      this.a,
      this.priorMean(),
    );
    this.sizeShare = total > 0 ? this.epsilon : 1;
    this.workCount += this.K;
    return total;
  }

  /** p_k from the current cumulative (diagnostics and the slow path). */
  private probabilityOf(k: number): number {
    const cumulative = this.cumulative;
    const total = cumulative[this.K - 1];
    const byAlpha = total > 0 ? (cumulative[k] - (k > 0 ? cumulative[k - 1] : 0)) / total : 0;
    return this.sizeShare * (this.binSize[k] / this.C) + (1 - this.sizeShare) * byAlpha;
  }

  /**
   * Slow path when the draws keep hitting exhausted bins: draw exactly from p restricted to the
   * bins with members left (what the re-draws converge to), or, if those all have p = 0, in
   * proportion to the members left.
   */
  private drawRemainingBin(): number {
    const { K, taken, binSize } = this;
    this.workCount += 2 * K;
    let mass = 0;
    let left = 0;
    for (let k = 0; k < K; k++) {
      if (taken[k] < binSize[k]) {
        mass += this.probabilityOf(k);
        left += binSize[k] - taken[k];
      }
    }
    const byMass = mass > 0;
    let u = this.rng.next() * (byMass ? mass : left);
    let last = -1;
    for (let k = 0; k < K; k++) {
      const rest = binSize[k] - taken[k];
      if (rest === 0) continue;
      const w = byMass ? this.probabilityOf(k) : rest;
      if (w <= 0) continue;
      last = k;
      if (u < w) return k;
      u -= w;
    }
    return last; // rounding at the very end of the scan
  }

  private decayTo(step: number): void {
    if (this.lastDecayStep >= 0 && step > this.lastDecayStep) {
      const elapsed = step - this.lastDecayStep;
      this.scale *= elapsed === 1 ? this.gamma : Math.pow(this.gamma, elapsed);
      if (this.scale < MIN_SCALE) {
        const { nScaled, sScaled, scale } = this;
        for (let k = 0; k < this.K; k++) {
          nScaled[k] *= scale;
          sScaled[k] *= scale;
        }
        this.nTotalScaled *= scale;
        this.sTotalScaled *= scale;
        this.scale = 1;
        this.workCount += this.K;
      }
    }
    if (step > this.lastDecayStep) this.lastDecayStep = step;
  }

  select(step: number, m: number, _infer: InferFn): Int32Array {
    const { N, C } = this;
    // All candidates fit when m >= C; the rest of the budget is filled uniformly from the other
    // samples of P so that every strategy rehearses the same m.
    const total = Math.max(0, Math.min(m, N));
    const fromBins = Math.min(total, C);
    const out = new Int32Array(total);
    this.ensureCapacity(total);
    const slot = this.ringNext;
    this.ringNext = (slot + 1) % RING;
    const base = slot * this.capacity;
    const ringBins = this.ringBins;
    if (fromBins > 0) this.drawFromBins(fromBins, out, ringBins, base);
    // Budget beyond the candidates (tiny data only): distinct non-candidates, uniformly.
    for (let d = fromBins; d < total; d++) {
      let i: number;
      do i = this.rng.int(N);
      while ((this.onlyCorrect ? this.priorCorrect[i] !== 0 : true) || contains(out, d, i));
      out[d] = i;
      ringBins[base + d] = -1;
    }
    this.ringIndices.set(out, base);
    this.ringLength[slot] = total;
    this.ringStep[slot] = step;
    return out;
  }

  /** Step 4: `count` draws, bins from p, uniform within the bin, no repeats within the step. */
  private drawFromBins(count: number, out: Int32Array, ringBins: Int32Array, base: number): void {
    const alphaTotal = this.computeCumulative();
    const { rng, K, C, offsets, binSize, taken, drawn, chosen, cumulative, members, sizeShare } = this;
    const alphaShare = 1 - sizeShare;
    let work = 0;
    let misses = 0;
    let d = 0;
    while (d < count) {
      work++;
      let k: number;
      let pos: number;
      const u = rng.next();
      if (u < sizeShare) {
        // Size-proportional: a uniform position among all candidates.
        pos = rng.int(C);
        k = searchPosition(offsets, K, pos);
      } else {
        // (u - share) / (1 - share) is uniform in [0, 1), so the point falls below the total.
        k = searchWeight(cumulative, K, ((u - sizeShare) / alphaShare) * alphaTotal);
        pos = -1;
      }
      let size = binSize[k];
      if (taken[k] === size) {
        // Fewer members than draws: re-draw the bin.
        if (++misses <= MAX_MISSES) continue;
        k = this.drawRemainingBin();
        // Unreachable while taken[] is reset each step; fail loudly rather than spin.
        if (k < 0) throw new Error('mix-cd: no bin has members left to draw (internal error).');
        size = binSize[k];
        pos = -1;
      }
      misses = 0;
      const first = offsets[k];
      if (pos < 0) pos = first + rng.int(size);
      if (taken[k] > 0) {
        // Uniform within the bin without repeats: re-draw a position already taken this step
        // (scanned only when the bin was drawn from before; it still has members left).
        while (contains(chosen, d, pos)) {
          pos = first + rng.int(size);
          work++;
        }
      }
      chosen[d] = pos;
      taken[k]++;
      drawn[k]++;
      ringBins[base + d] = k;
      d++;
    }
    // Read the samples in a separate tight loop: at N = 10^7 each read misses the cache, and
    // independent loads in a short loop overlap where loads spread through the draw loop wait
    // one by one.
    for (let e = 0; e < count; e++) {
      out[e] = members[chosen[e]];
      taken[ringBins[base + e]] = 0;
    }
    this.workCount += work;
  }

  observe(step: number, indices: Int32Array, misclassified: Uint8Array): void {
    this.decayTo(step);
    const inverse = 1 / this.scale;
    let slot = -1;
    for (let r = 0; r < RING; r++) if (this.ringStep[r] === step) slot = r;
    const base = slot * this.capacity;
    const remembered = slot >= 0 ? this.ringLength[slot] : 0;
    const { ringIndices, ringBins, nScaled, sScaled, cdFound, partition } = this;
    const count = indices.length;
    let work = count;
    let nAdded = 0;
    let sAdded = 0;
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
      nAdded += inverse;
      if (misclassified[j]) {
        sScaled[k] += inverse;
        sAdded += inverse;
        cdFound[k]++;
      }
    }
    this.nTotalScaled += nAdded;
    this.sTotalScaled += sAdded;
    this.workCount += work;
  }

  trace(step: number): Omit<BinTrace, 'trueCdRate'> {
    const { K, a, nScaled, sScaled, scale } = this;
    const size = Array.from(this.binSize);
    const alpha = new Array<number>(K);
    const probability = new Array<number>(K);
    const pi = this.priorMean();
    for (let k = 0; k < K; k++) {
      const den = nScaled[k] * scale + a;
      alpha[k] = den > 0 ? (sScaled[k] * scale + a * pi) / den : pi;
    }
    if (K > 0) {
      this.computeCumulative();
      for (let k = 0; k < K; k++) probability[k] = this.probabilityOf(k);
    }
    const result = { step, size, alpha, probability, drawn: Array.from(this.drawn), cdFound: Array.from(this.cdFound) };
    this.drawn.fill(0);
    this.cdFound.fill(0);
    return result;
  }

  binOf(i: number): number {
    return this.partition.binOf(i);
  }

  /**
   * The decayed counts (as stored: scaled, with their scale), the draws and CD found since the
   * last trace, the ring of recent selections (a verdict held back by feedbackDelay finds its
   * bins there), the RNG and the work counter. `cumulative` is recomputed before every use and
   * `taken`/`chosen` are zero or scratch between steps, so they are not state.
   */
  snapshot(): StrategyState {
    const state: MixCdState = {
      rng: this.rng.snapshot(),
      numBins: this.K,
      nScaled: this.nScaled.slice(),
      sScaled: this.sScaled.slice(),
      nTotalScaled: this.nTotalScaled,
      sTotalScaled: this.sTotalScaled,
      scale: this.scale,
      lastDecayStep: this.lastDecayStep,
      sizeShare: this.sizeShare,
      drawn: this.drawn.slice(),
      cdFound: this.cdFound.slice(),
      capacity: this.capacity,
      ringIndices: this.ringIndices.slice(),
      ringBins: this.ringBins.slice(),
      ringStep: this.ringStep.slice(),
      ringLength: this.ringLength.slice(),
      ringNext: this.ringNext,
      work: this.workCount,
    };
    return { name: 'mix-cd', ...state };
  }

  restore(state: StrategyState): void {
    const s = stateOf<MixCdState>(state, 'mix-cd');
    if (s.numBins !== this.K) throw new Error(`A mix-cd state of ${s.numBins} bins cannot restore ${this.K} bins.`);
    this.rng.restore(s.rng);
    this.nScaled.set(s.nScaled);
    this.sScaled.set(s.sScaled);
    this.nTotalScaled = s.nTotalScaled;
    this.sTotalScaled = s.sTotalScaled;
    this.scale = s.scale;
    this.lastDecayStep = s.lastDecayStep;
    this.sizeShare = s.sizeShare;
    this.drawn.set(s.drawn);
    this.cdFound.set(s.cdFound);
    this.capacity = s.capacity;
    this.ringIndices = s.ringIndices.slice();
    this.ringBins = s.ringBins.slice();
    this.chosen = new Int32Array(s.capacity);
    this.ringStep.set(s.ringStep);
    this.ringLength.set(s.ringLength);
    this.ringNext = s.ringNext;
    this.workCount = s.work;
  }
}

interface MixCdState {
  rng: Int32Array;
  numBins: number;
  nScaled: Float64Array;
  sScaled: Float64Array;
  nTotalScaled: number;
  sTotalScaled: number;
  scale: number;
  lastDecayStep: number;
  sizeShare: number;
  drawn: Float64Array;
  cdFound: Float64Array;
  capacity: number;
  ringIndices: Int32Array;
  ringBins: Int32Array;
  ringStep: Float64Array;
  ringLength: Int32Array;
  ringNext: number;
  work: number;
}
