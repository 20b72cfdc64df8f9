// mix-cd's sampler (src-main/sampler/mixCd.ts) checked statistically with fixed seeds: bins are drawn
// in proportion to alpha_k * N_k (chi-square, and the same test rejecting a wrong distribution),
// alpha follows planted CD rates, epsilon keeps bins alive, no repeats within a step, seeds, and
// per-step work that does not grow with N.
import { describe, expect, it } from 'vitest';
import { mixCdSchema, rehearsalSchema, type MixCdConfig } from '../../shared/config.js';
import { createMixCd, type MixCdStrategy } from '../../src-main/sampler/mixCd.js';
import { createStrategy } from '../../src-main/sampler/index.js';
import { Rng } from '../../src-main/sampler/rng.js';
import type { InferFn, PretrainIndex } from '../../src-main/sampler/strategy.js';

// ---------------------------------------------------------------- statistics helpers

function lnGamma(x: number): number {
  // Lanczos (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let s = c[0];
  for (let i = 1; i < 9; i++) s += c[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Regularised upper incomplete gamma Q(s, x) (Numerical Recipes: series / continued fraction). */
function gammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + s * Math.log(x) - lnGamma(s));
  if (x < s + 1) {
    let sum = 1 / s;
    let del = sum;
    for (let ap = s + 1; Math.abs(del) > Math.abs(sum) * 1e-16; ap++) {
      del *= x / ap;
      sum += del;
    }
    return Math.max(0, 1 - sum * front);
  }
  const tiny = 1e-300;
  let b = x + 1 - s;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return front * h;
}

/** Pearson chi-square goodness of fit of counts against probabilities; p = P(X >= stat). */
function chiSquare(
  observed: ArrayLike<number>,
  probability: ArrayLike<number>,
): { stat: number; df: number; p: number } {
  let total = 0;
  for (let k = 0; k < observed.length; k++) total += observed[k];
  let stat = 0;
  let cells = 0;
  for (let k = 0; k < observed.length; k++) {
    if (probability[k] === 0) {
      if (observed[k] > 0) return { stat: Infinity, df: 0, p: 0 };
      continue;
    }
    const e = total * probability[k];
    stat += ((observed[k] - e) * (observed[k] - e)) / e;
    cells++;
  }
  const df = cells - 1;
  return { stat, df, p: gammaQ(df / 2, stat / 2) };
}

function normalise(w: number[]): number[] {
  const s = w.reduce((x, y) => x + y, 0);
  return w.map((x) => x / s);
}

// ---------------------------------------------------------------- fixtures

/**
 * Synthetic pretrain index: class c has classSizes[c] samples (interleaved), losses uniform,
 * every `wrongEvery`-th sample prior-wrong (0: none).
 */
function makeIndex(classSizes: number[], seed = 7, wrongEvery = 0): PretrainIndex {
  const size = classSizes.reduce((a, b) => a + b, 0);
  const rng = new Rng(seed, 99);
  const labels = new Uint8Array(size);
  let i = 0;
  classSizes.forEach((n, c) => {
    for (let j = 0; j < n; j++) labels[i++] = c;
  });
  rng.shuffle(labels);
  const priorLoss = new Float32Array(size);
  const priorCorrect = new Uint8Array(size);
  for (let j = 0; j < size; j++) {
    priorLoss[j] = rng.next() * 2;
    priorCorrect[j] = wrongEvery > 0 && j % wrongEvery === 0 ? 0 : 1;
  }
  return { size, numClasses: classSizes.length, labels, priorLoss, priorCorrect };
}

function mixCdConfig(overrides: Partial<MixCdConfig>): MixCdConfig {
  return mixCdSchema.parse(overrides);
}

const noInfer: InferFn = () => {
  throw new Error('mix-cd must not call infer');
};

/** alpha_k = (s_k + a pi) / (n_k + a), computed independently from counts the test keeps. */
function expectedAlpha(n: number[], s: number[], config: MixCdConfig): number[] {
  const nTot = n.reduce((x, y) => x + y, 0);
  const sTot = s.reduce((x, y) => x + y, 0);
  const pi = config.prior === 'fixed' ? config.priorRate : nTot > 0 ? sTot / nTot : config.priorRate;
  const a = config.priorStrength;
  return n.map((nk, k) => (nk + a > 0 ? (s[k] + a * pi) / (nk + a) : pi));
}

function expectedProbability(alpha: number[], size: number[], epsilon: number): number[] {
  const byAlpha = normalise(alpha.map((al, k) => al * size[k]));
  const bySize = normalise(size);
  return byAlpha.map((p, k) => (1 - epsilon) * p + epsilon * bySize[k]);
}

/**
 * Run `steps` of select + observe where a rehearsed sample of bin k is CD with probability
 * rate[k]; the test keeps its own decayed counts n_k, s_k (bins via binOf, not the strategy's memory).
 */
function drive(
  strategy: MixCdStrategy,
  rate: (bin: number, step: number) => number,
  steps: number,
  m: number,
  gamma: number,
  outcomeSeed: number,
  startStep = 0,
  counts?: { n: number[]; s: number[] },
): { n: number[]; s: number[] } {
  const K = strategy.partition.numBins;
  const n = counts?.n ?? new Array<number>(K).fill(0);
  const s = counts?.s ?? new Array<number>(K).fill(0);
  const outcomes = new Rng(outcomeSeed, 1);
  for (let t = startStep; t < startStep + steps; t++) {
    const picked = strategy.select(t, m, noInfer);
    const mis = new Uint8Array(picked.length);
    if (t > 0) {
      for (let k = 0; k < K; k++) {
        n[k] *= gamma;
        s[k] *= gamma;
      }
    }
    for (let j = 0; j < picked.length; j++) {
      const k = strategy.binOf!(picked[j]);
      mis[j] = outcomes.next() < rate(k, t) ? 1 : 0;
      n[k] += 1;
      s[k] += mis[j];
    }
    strategy.observe(t, picked, mis);
  }
  return { n, s };
}

/** Bin draw counts over `steps` selects without feedback (the state stays frozen). */
function countDraws(strategy: MixCdStrategy, steps: number, m: number, startStep: number): number[] {
  const counts = new Array<number>(strategy.partition.numBins).fill(0);
  for (let t = startStep; t < startStep + steps; t++) {
    const picked = strategy.select(t, m, noInfer);
    for (const i of picked) counts[strategy.binOf!(i)]++;
  }
  return counts;
}

function binSizes(strategy: MixCdStrategy): number[] {
  const { offsets, numBins } = strategy.partition;
  return Array.from({ length: numBins }, (_, k) => offsets[k + 1] - offsets[k]);
}

// ---------------------------------------------------------------- tests

describe('Rng', () => {
  it('keeps its xoshiro128** stream (the engine seeds f0 and batch order with it)', () => {
    // Values of the original field-based implementation, before the state moved to an Int32Array.
    const a = new Rng(0, 0);
    expect([0, 1, 2, 3, 4].map(() => a.nextUint32())).toEqual([
      3970582364, 2473192417, 3392873667, 2650284561, 2217928904,
    ]);
    expect(a.int(1000)).toBe(190);
    expect(a.next()).toBe(0.9646080667153001);
    const b = new Rng(1, 0x5a3);
    expect([0, 1, 2, 3, 4].map(() => b.nextUint32())).toEqual([
      1322332902, 1353300877, 4281284766, 4262107170, 1102465978,
    ]);
    expect(b.int(1000)).toBe(269);
  });
});

describe('chi-square helper', () => {
  it('matches known chi-square quantiles', () => {
    expect(gammaQ(0.5, 3.841459 / 2)).toBeCloseTo(0.05, 6);
    expect(gammaQ(2.5, 11.0705 / 2)).toBeCloseTo(0.05, 5);
    expect(gammaQ(49.5, 123.2252 / 2)).toBeCloseTo(0.05, 4);
    expect(gammaQ(2.5, 20.515 / 2)).toBeCloseTo(0.001, 5);
  });
});

describe('mix-cd bin choice: p_k proportional to alpha_k * N_k, mixed with epsilon', () => {
  // Six classes of different sizes (and 1 in 10 samples prior-wrong, so not a candidate); the
  // planted CD rates give alphas spread over 0.02..0.7, far from size-proportional.
  const classSizes = [500, 800, 1000, 1200, 1000, 1500];
  const planted = [0.02, 0.1, 0.3, 0.5, 0.7, 0.05];
  const warmSteps = 150;
  const drawSteps = 3000;
  const m = 16;

  function setup(epsilon: number) {
    const config = mixCdConfig({ rule: 'class', prior: 'fixed', priorRate: 0.3, priorStrength: 4, gamma: 1, epsilon });
    const strategy = createMixCd(makeIndex(classSizes, 11, 10), config, 5);
    const { n, s } = drive(strategy, (k) => planted[k], warmSteps, 32, 1, 123);
    const alpha = expectedAlpha(n, s, config);
    return { config, strategy, alpha, size: binSizes(strategy) };
  }

  it('epsilon = 0: draws follow alpha_k N_k and reject size-proportional', () => {
    const { strategy, alpha, size } = setup(0);
    const trace = strategy.trace!(warmSteps);
    for (let k = 0; k < alpha.length; k++) expect(trace.alpha[k]).toBeCloseTo(alpha[k], 10);
    expect(Math.max(...alpha) / Math.min(...alpha)).toBeGreaterThan(5); // the state is not flat
    const expected = expectedProbability(alpha, size, 0);
    for (let k = 0; k < alpha.length; k++) expect(trace.probability[k]).toBeCloseTo(expected[k], 10);

    const counts = countDraws(strategy, drawSteps, m, warmSteps);
    const good = chiSquare(counts, expected);
    expect(good.df).toBe(5);
    expect(good.p).toBeGreaterThan(0.001);
    // The same counts against a wrong expectation: the test has the power to notice.
    expect(chiSquare(counts, normalise(size)).p).toBeLessThan(1e-12);
    expect(chiSquare(counts, expectedProbability(alpha, size, 0.1)).p).toBeLessThan(1e-6);
    // drawn since the previous trace = what we counted.
    expect(strategy.trace!(warmSteps + drawSteps).drawn).toEqual(counts);
  });

  it('epsilon = 0.3: draws follow the mixture and reject the unmixed distribution', () => {
    const { strategy, alpha, size } = setup(0.3);
    strategy.trace!(0); // reset the drawn counters
    const expected = expectedProbability(alpha, size, 0.3);
    const counts = countDraws(strategy, drawSteps, m, warmSteps);
    expect(chiSquare(counts, expected).p).toBeGreaterThan(0.001);
    expect(chiSquare(counts, expectedProbability(alpha, size, 0)).p).toBeLessThan(1e-12);
    expect(chiSquare(counts, normalise(size)).p).toBeLessThan(1e-12);
  });

  it(
    'pooled prior and decay: alpha matches the decayed-count formula exactly, ' + 'also with feedback one step late',
    () => {
      const config = mixCdConfig({ rule: 'class', prior: 'pooled', priorStrength: 3, gamma: 0.97, epsilon: 0.05 });
      const index = makeIndex(classSizes, 12, 10);
      const strategy = createMixCd(index, config, 8);
      const { n, s } = drive(strategy, (k) => planted[k], 200, 24, 0.97, 9);
      const alpha = expectedAlpha(n, s, config);
      strategy.trace!(200).alpha.forEach((al, k) => expect(al).toBeCloseTo(alpha[k], 9));

      // Delay 1: select(t + 1) happens before observe(t); the remembered bins must still be used.
      const delayed = createMixCd(index, config, 8);
      const K = delayed.partition.numBins;
      const nD = new Array<number>(K).fill(0);
      const sD = new Array<number>(K).fill(0);
      const outcomes = new Rng(9, 1);
      let pending: { t: number; picked: Int32Array; mis: Uint8Array } | null = null;
      for (let t = 0; t <= 200; t++) {
        const picked = t < 200 ? delayed.select(t, 24, noInfer) : null;
        if (pending) {
          const decay = pending.t > 0 ? 0.97 : 1;
          for (let k = 0; k < K; k++) {
            nD[k] *= decay;
            sD[k] *= decay;
          }
          for (let j = 0; j < pending.picked.length; j++) {
            const k = delayed.binOf!(pending.picked[j]);
            nD[k] += 1;
            sD[k] += pending.mis[j];
          }
          const workBefore = delayed.work;
          delayed.observe(pending.t, pending.picked, pending.mis);
          // Exactly one unit per observed sample: no bin search was needed.
          expect(delayed.work - workBefore).toBe(pending.picked.length);
        }
        if (picked) {
          const mis = new Uint8Array(picked.length);
          for (let j = 0; j < picked.length; j++) mis[j] = outcomes.next() < planted[delayed.binOf!(picked[j])] ? 1 : 0;
          pending = { t, picked, mis };
        }
      }
      const alphaD = expectedAlpha(nD, sD, config);
      delayed.trace!(200).alpha.forEach((al, k) => expect(al).toBeCloseTo(alphaD[k], 9));
    },
  );

  it('observe maps indices it did not hand out through binOf, and ignores non-candidates', () => {
    const config = mixCdConfig({
      rule: 'class',
      prior: 'fixed',
      priorRate: 0.5,
      priorStrength: 1,
      gamma: 1,
      epsilon: 0,
    });
    const index = makeIndex([100, 100], 3, 4);
    const strategy = createMixCd(index, config, 1);
    const someClass0 = Array.from({ length: index.size }, (_, i) => i).filter(
      (i) => index.priorCorrect[i] && index.labels[i] === 0,
    );
    const nonCandidate = Array.from({ length: index.size }, (_, i) => i).find((i) => !index.priorCorrect[i])!;
    const picked = Int32Array.from([someClass0[0], someClass0[1], nonCandidate]);
    strategy.observe(0, picked, Uint8Array.from([1, 1, 1]));
    const trace = strategy.trace!(0);
    expect(trace.cdFound).toEqual([2, 0]);
    expect(trace.alpha[0]).toBeCloseTo((2 + 0.5) / (2 + 1), 12);
    expect(trace.alpha[1]).toBeCloseTo(0.5, 12);
  });
});

describe('mix-cd estimates', () => {
  it('alpha converges to planted per-bin CD rates (gamma = 1)', () => {
    const planted = [0.02, 0.1, 0.25, 0.5, 0.8];
    const config = mixCdConfig({
      rule: 'prior-loss',
      bins: 5,
      prior: 'pooled',
      priorStrength: 1,
      gamma: 1,
      epsilon: 0.2,
    });
    const strategy = createMixCd(makeIndex([20000], 4), config, 2);
    drive(strategy, (k) => planted[k], 2000, 32, 1, 77);
    const trace = strategy.trace!(2000);
    trace.alpha.forEach((al, k) => expect(Math.abs(al - planted[k])).toBeLessThan(0.015));
    // Every bin was rehearsed enough for that, including the low-rate one.
    expect(Math.min(...trace.drawn)).toBeGreaterThan(2000);
  });

  it('with gamma < 1 alpha follows a drifting CD rate; with gamma = 1 it lags behind', () => {
    const before = [0.1, 0.6];
    const after = [0.6, 0.1];
    const rate = (k: number, t: number) => (t < 1000 ? before[k] : after[k]);
    const run = (gamma: number) => {
      const config = mixCdConfig({
        rule: 'prior-loss',
        bins: 2,
        prior: 'pooled',
        priorStrength: 1,
        gamma,
        epsilon: 0.2,
      });
      const strategy = createMixCd(makeIndex([4000], 5), config, 3);
      drive(strategy, rate, 1500, 32, gamma, 78);
      return strategy.trace!(1500).alpha;
    };
    const decayed = run(0.99);
    decayed.forEach((al, k) => expect(Math.abs(al - after[k])).toBeLessThan(0.06));
    const longMemory = run(1);
    longMemory.forEach((al, k) => expect(Math.abs(al - after[k])).toBeGreaterThan(0.1));
  });

  it('epsilon > 0 keeps every bin sampled when some alpha is 0; epsilon = 0 starves them', () => {
    const planted = [0, 0, 0.5, 0.5];
    const run = (epsilon: number) => {
      const config = mixCdConfig({
        rule: 'class',
        prior: 'fixed',
        priorRate: 0,
        priorStrength: 1,
        gamma: 0.995,
        epsilon,
      });
      const strategy = createMixCd(makeIndex([800, 1200, 1000, 1000], 6), config, 4);
      drive(strategy, (k) => planted[k], 100, 32, 0.995, 79);
      const warm = strategy.trace!(100);
      const windows: number[][] = [];
      for (let w = 0; w < 5; w++) {
        drive(strategy, (k) => planted[k], 200, 32, 0.995, 80 + w, 100 + 200 * w);
        windows.push(strategy.trace!(300 + 200 * w).drawn);
      }
      return { warm, windows, alpha: strategy.trace!(1100).alpha };
    };
    const mixed = run(0.05);
    expect(mixed.alpha[0]).toBe(0);
    expect(mixed.alpha[1]).toBe(0);
    // Every trace window rehearses every bin: about eps * N_k / C * m * 200 = 64 and 96 draws.
    for (const drawn of mixed.windows) for (const d of drawn) expect(d).toBeGreaterThan(30);
    const starved = run(0);
    for (const drawn of starved.windows) {
      expect(drawn[0]).toBe(0);
      expect(drawn[1]).toBe(0);
    }
  });

  it('before any observation the draws are size-proportional (all alpha = pi)', () => {
    const config = mixCdConfig({ rule: 'class', prior: 'pooled', priorRate: 0.5, epsilon: 0 });
    const strategy = createMixCd(makeIndex([300, 900, 1800], 8), config, 4);
    const trace = strategy.trace!(0);
    expect(trace.alpha).toEqual([0.5, 0.5, 0.5]);
    const counts = countDraws(strategy, 1000, 16, 0);
    expect(chiSquare(counts, normalise(binSizes(strategy))).p).toBeGreaterThan(0.001);
  });
});

describe('mix-cd draws: no repeats within a step', () => {
  const distinct = (a: Int32Array) => new Set(a).size === a.length;

  it('tiny bins and m close to the candidate count', () => {
    const index = makeIndex([1, 2, 3, 50], 9);
    const config = mixCdConfig({ rule: 'class', epsilon: 0.1 });
    const strategy = createMixCd(index, config, 10);
    const before = Int32Array.from(strategy.partition.members);
    for (const m of [1, 5, 10, 40, 55]) {
      for (let t = 0; t < 200; t++) {
        const picked = strategy.select(t, m, noInfer);
        expect(picked.length).toBe(m);
        expect(distinct(picked)).toBe(true);
        strategy.observe(
          t,
          picked,
          Uint8Array.from(picked, (i) => (i % 3 === 0 ? 1 : 0)),
        );
      }
    }
    // m = C: exactly all candidates.
    const all = strategy.select(1000, 56, noInfer);
    expect(Array.from(all).sort((x, y) => x - y)).toEqual(Array.from({ length: 56 }, (_, i) => i));
    // select only reads `members`: the partition order binOf relies on is intact.
    expect(strategy.partition.members).toEqual(before);
  });

  it('degenerate weights (epsilon = 0, only one bin with alpha > 0) still fill m distinct samples', () => {
    const index = makeIndex([5, 5, 5, 50], 9);
    const config = mixCdConfig({ rule: 'class', prior: 'fixed', priorRate: 0, priorStrength: 1, gamma: 1, epsilon: 0 });
    const strategy = createMixCd(index, config, 11);
    // Make bin 3 the only one with alpha > 0.
    const class3 = Array.from({ length: index.size }, (_, i) => i).filter((i) => index.labels[i] === 3);
    strategy.observe(0, Int32Array.from(class3.slice(0, 4)), Uint8Array.from([1, 1, 1, 1]));
    expect(strategy.trace!(0).probability).toEqual([0, 0, 0, 1]);
    for (let t = 1; t < 100; t++) {
      const picked = strategy.select(t, 58, noInfer);
      expect(picked.length).toBe(58);
      expect(distinct(picked)).toBe(true);
      expect(picked.filter((i) => index.labels[i] === 3).length).toBe(50);
    }
  });

  it('m above the candidate count: all candidates, then distinct non-candidates', () => {
    const index = makeIndex([30, 30], 10, 3); // 20 of 60 prior-wrong
    const strategy = createMixCd(index, mixCdConfig({ rule: 'class' }), 12);
    const candidates = strategy.partition.candidateCount;
    expect(candidates).toBe(40);
    const picked = strategy.select(0, 50, noInfer);
    expect(picked.length).toBe(50);
    expect(distinct(picked)).toBe(true);
    expect(picked.filter((i) => index.priorCorrect[i] === 1).length).toBe(40);
    strategy.observe(0, picked, new Uint8Array(50).fill(1));
    expect(strategy.trace!(0).cdFound.reduce((a, b) => a + b, 0)).toBe(40); // non-candidates not counted
    expect(strategy.select(1, 100, noInfer).length).toBe(60); // capped at N
    expect(strategy.select(2, 0, noInfer).length).toBe(0);
  });

  it('no candidates at all: uniform over P', () => {
    const index = makeIndex([50], 10);
    index.priorCorrect.fill(0);
    const strategy = createMixCd(index, mixCdConfig({ rule: 'prior-loss' }), 1);
    expect(strategy.partition.numBins).toBe(0);
    const picked = strategy.select(0, 10, noInfer);
    expect(picked.length).toBe(10);
    expect(distinct(picked)).toBe(true);
    strategy.observe(0, picked, new Uint8Array(10));
    expect(strategy.trace!(0).alpha).toEqual([]);
  });
});

describe('mix-cd determinism', () => {
  const run = (seed: number) => {
    const config = mixCdConfig({ rule: 'class-loss', bins: 4 });
    const strategy = createMixCd(makeIndex([400, 600, 500], 13, 7), config, seed);
    const outcomes = new Rng(1, 2);
    const draws: number[] = [];
    for (let t = 0; t < 50; t++) {
      const picked = strategy.select(t, 20, noInfer);
      draws.push(...picked);
      strategy.observe(
        t,
        picked,
        Uint8Array.from(picked, () => (outcomes.next() < 0.3 ? 1 : 0)),
      );
    }
    return draws;
  };

  it('same seed gives the same draws, another seed different ones', () => {
    expect(run(42)).toEqual(run(42));
    const a = run(42);
    const b = run(43);
    expect(a).not.toEqual(b);
    expect(a.filter((x, i) => x === b[i]).length).toBeLessThan(a.length / 10);
  });
});

describe('mix-cd per-step work does not depend on N', () => {
  function perStepWork(N: number): { work: number; bytesPerSample: number } {
    const index = makeIndex([N], 14);
    const config = mixCdConfig({ rule: 'prior-loss', bins: 100, candidates: 'all' });
    const strategy = createMixCd(index, config, 15);
    // Detach the index's buffers: select and observe must not read the pretrain index at all.
    for (const arr of [index.labels, index.priorLoss, index.priorCorrect])
      structuredClone(arr.buffer, { transfer: [arr.buffer as ArrayBuffer] });
    expect(index.priorLoss.length).toBe(0);
    const workBefore = strategy.work;
    const steps = 200;
    const m = 32;
    const mis = new Uint8Array(m);
    for (let t = 0; t < steps; t++) {
      const picked = strategy.select(t, m, noInfer);
      expect(picked.length).toBe(m);
      mis.fill(t & 1);
      strategy.observe(t, picked, mis);
    }
    return { work: (strategy.work - workBefore) / steps, bytesPerSample: strategy.stateBytes / N };
  }

  it('counts O(K + m) loop iterations per step for N = 5,000 and N = 1,000,000 alike', () => {
    const small = perStepWork(5_000);
    const large = perStepWork(1_000_000);
    // K to build p, one per draw, one per observed sample, plus the rare re-draw of a position
    // already taken in the step (bins of 50 or 10,000 members here).
    const base = 100 + 32 + 32;
    for (const { work } of [small, large]) {
      expect(work).toBeGreaterThanOrEqual(base);
      expect(work).toBeLessThan(base + 1);
    }
    expect(large.bytesPerSample).toBeLessThan(4.01); // members only, plus O(K + m)
  });
});

describe('createStrategy', () => {
  const index = makeIndex([300, 300], 16, 5);
  const cfg = (strategy: string) => rehearsalSchema.parse({ strategy, mixCd: { rule: 'class' } });

  it('dispatches on rehearsal.strategy', () => {
    for (const name of ['none', 'random', 'mix-cd', 'oracle-cd', 'loss-based'] as const) {
      expect(createStrategy(cfg(name), index, 1).name).toBe(name);
    }
    const mix = createStrategy(cfg('mix-cd'), index, 1) as MixCdStrategy;
    expect(mix.partition.numBins).toBe(2);
    expect(createStrategy(cfg('none'), index, 1).select(0, 8, noInfer).length).toBe(0);
  });

  it('gives each strategy its own random stream of the seed', () => {
    const uniformMix = rehearsalSchema.parse({
      strategy: 'mix-cd',
      mixCd: { rule: 'prior-loss', bins: 1, candidates: 'all', epsilon: 1 },
    });
    const a = createStrategy(uniformMix, index, 1).select(0, 16, noInfer);
    const b = createStrategy(cfg('random'), index, 1).select(0, 16, noInfer);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});
