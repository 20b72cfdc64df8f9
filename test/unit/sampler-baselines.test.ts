// The baselines that pay for extra inference (src-main/sampler/oracleCd.ts, lossBased.ts): they
// call infer with exactly the expected samples (the counted extra passes) and pick correctly.
import { describe, expect, it } from 'vitest';
import { lossBasedSchema, oracleCdSchema } from '../../shared/config.js';
import { createOracleCd } from '../../src-main/sampler/oracleCd.js';
import { createLossBased } from '../../src-main/sampler/lossBased.js';
import { candidateIndices } from '../../src-main/sampler/partition.js';
import { DistinctPool } from '../../src-main/sampler/distinctPool.js';
import { Rng } from '../../src-main/sampler/rng.js';
import type { Inference, InferFn, PretrainIndex } from '../../src-main/sampler/strategy.js';

function makeIndex(N: number, seed = 1): PretrainIndex {
  const rng = new Rng(seed, 4);
  const labels = new Uint8Array(N);
  const priorLoss = new Float32Array(N);
  const priorCorrect = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    labels[i] = rng.int(10);
    priorLoss[i] = rng.next();
    priorCorrect[i] = rng.next() < 2 / 3 ? 1 : 0;
  }
  return { size: N, numClasses: 10, labels, priorLoss, priorCorrect };
}

/** A deterministic pseudo-random value in [0, 1) per (sample, salt): the model's current verdict. */
function hash01(i: number, salt: number): number {
  let z = Math.imul(i ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
}

/** An infer mock recording its calls; f_t misclassifies sample i when isCd(i) (it may change). */
function recordingInfer(isCd: (i: number) => boolean, lossOf: (i: number) => number = (i) => hash01(i, 1)) {
  const calls: Int32Array[] = [];
  const infer: InferFn = (indices): Inference => {
    calls.push(Int32Array.from(indices));
    return {
      misclassified: Uint8Array.from(indices, (i) => (isCd(i) ? 1 : 0)),
      loss: Float32Array.from(indices, lossOf),
    };
  };
  return { calls, infer };
}

const distinct = (a: ArrayLike<number>) => new Set(Array.from(a)).size === a.length;

describe('oracle-cd', () => {
  const index = makeIndex(3_000);
  const candidates = Array.from(candidateIndices(index, 'prior-correct'));

  it('scores all candidates at steps 0, R, 2R, ... and rehearses only the current true CD set', () => {
    let epoch = 0; // the model drifts: a different CD set at each refresh
    const isCd = (i: number) => hash01(i, 100 + epoch) < 0.2;
    const { calls, infer } = recordingInfer(isCd);
    const oracle = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 10 }), 7, 'prior-correct');
    const refreshSteps: number[] = [];
    for (let t = 0; t < 35; t++) {
      const before = calls.length;
      epoch = Math.floor(t / 10); // ground truth at refresh time
      const picked = oracle.select(t, 32, infer);
      if (calls.length > before) refreshSteps.push(t);
      expect(picked.length).toBe(32);
      expect(distinct(picked)).toBe(true);
      // Between refreshes the set is that of the last refresh.
      for (const i of picked) {
        expect(index.priorCorrect[i]).toBe(1);
        expect(isCd(i)).toBe(true);
      }
      oracle.observe(t, picked, new Uint8Array(32));
    }
    expect(refreshSteps).toEqual([0, 10, 20, 30]);
    for (const call of calls) expect(Array.from(call)).toEqual(candidates);
    expect(oracle.extraForwardPasses).toBe(4 * candidates.length);
  });

  it('draws uniformly from the CD set', () => {
    const cdSet = candidates.filter((i) => hash01(i, 5) < 0.05); // ~100 samples
    const inSet = new Set(cdSet);
    const { infer } = recordingInfer((i) => inSet.has(i));
    const oracle = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 1000 }), 8);
    const counts = new Map<number, number>(cdSet.map((i) => [i, 0]));
    const steps = 2000;
    for (let t = 0; t < steps; t++) for (const i of oracle.select(t, 10, infer)) counts.set(i, counts.get(i)! + 1);
    // Chi-square against uniform, with a normal approximation for df ~ 100: within 4 sd.
    const expected = (steps * 10) / cdSet.length;
    let stat = 0;
    for (const c of counts.values()) stat += ((c - expected) * (c - expected)) / expected;
    const df = cdSet.length - 1;
    expect(Math.abs(stat - df) / Math.sqrt(2 * df)).toBeLessThan(4);
  });

  it('too few CD samples: all of them, then uniform over P; none: uniform over P', () => {
    const few = candidates.slice(0, 5);
    const { infer } = recordingInfer((i) => few.includes(i));
    const oracle = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 5 }), 9);
    const picked = oracle.select(0, 20, infer);
    expect(picked.length).toBe(20);
    expect(distinct(picked)).toBe(true);
    for (const i of few) expect(picked).toContain(i);

    const empty = recordingInfer(() => false);
    const blind = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 5 }), 9);
    const uniform = blind.select(0, 20, empty.infer);
    expect(uniform.length).toBe(20);
    expect(distinct(uniform)).toBe(true);
    // Uniform over all of P: prior-wrong samples appear too, over enough draws.
    let wrong = 0;
    for (let t = 1; t < 50; t++)
      for (const i of blind.select(t, 20, empty.infer)) wrong += index.priorCorrect[i] ? 0 : 1;
    expect(wrong / (49 * 20)).toBeGreaterThan(0.25);
  });

  it('a fixed pool: the same random candidates at every refresh, counted exactly', () => {
    const { calls, infer } = recordingInfer((i) => hash01(i, 3) < 0.3);
    const oracle = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 4, pool: 500 }), 10);
    for (let t = 0; t < 12; t++) oracle.select(t, 16, infer);
    expect(calls.length).toBe(3);
    const pool = Array.from(calls[0]);
    expect(pool.length).toBe(500);
    expect(distinct(pool)).toBe(true);
    for (const i of pool) expect(index.priorCorrect[i]).toBe(1);
    for (const call of calls) expect(Array.from(call)).toEqual(pool);
    expect(oracle.extraForwardPasses).toBe(3 * 500);
    // Same seed, same pool; another seed, another pool.
    const again = recordingInfer(() => false);
    createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 4, pool: 500 }), 10).select(0, 1, again.infer);
    expect(Array.from(again.calls[0])).toEqual(pool);
    const other = recordingInfer(() => false);
    createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 4, pool: 500 }), 11).select(0, 1, other.infer);
    expect(Array.from(other.calls[0])).not.toEqual(pool);
  });

  it('candidates = all scores all of P; a pool larger than the candidates is all of them', () => {
    const all = recordingInfer(() => false);
    const oracle = createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 10 }), 1, 'all');
    oracle.select(0, 4, all.infer);
    expect(all.calls[0].length).toBe(index.size);
    const big = recordingInfer(() => false);
    createOracleCd(index, oracleCdSchema.parse({ refreshEvery: 10, pool: 1e6 }), 1).select(0, 4, big.infer);
    expect(Array.from(big.calls[0])).toEqual(candidates);
  });
});

describe('loss-based', () => {
  const index = makeIndex(10_000);

  it('scores round(c * m) distinct samples per step and rehearses the m highest losses', () => {
    for (const [c, m, pool] of [
      [4, 16, 64],
      [2.5, 5, 13],
      [1, 8, 8],
    ] as const) {
      const { calls, infer } = recordingInfer(
        () => false,
        (i) => hash01(i, 9),
      );
      const strategy = createLossBased(index, lossBasedSchema.parse({ poolFactor: c }), 3);
      for (let t = 0; t < 40; t++) {
        const picked = strategy.select(t, m, infer);
        const scored = Array.from(calls[t]);
        expect(scored.length).toBe(pool);
        expect(distinct(scored)).toBe(true);
        const top = scored.sort((x, y) => Math.fround(hash01(y, 9)) - Math.fround(hash01(x, 9))).slice(0, m);
        expect(Array.from(picked)).toEqual(top); // highest first
      }
      expect(calls.length).toBe(40);
      expect(strategy.extraForwardPasses).toBe(40 * pool);
    }
  });

  it('draws the pool uniformly over the candidates (indices by decile)', () => {
    const { calls, infer } = recordingInfer(() => false);
    const strategy = createLossBased(index, lossBasedSchema.parse({ poolFactor: 8 }), 4);
    const counts = new Array<number>(10).fill(0);
    for (let t = 0; t < 300; t++) strategy.select(t, 16, infer);
    for (const call of calls) for (const i of call) counts[Math.floor(i / 1000)]++;
    const candidatesPerDecile = new Array<number>(10).fill(0);
    let candidates = 0;
    for (let i = 0; i < index.size; i++)
      if (index.priorCorrect[i]) {
        candidatesPerDecile[Math.floor(i / 1000)]++;
        candidates++;
      }
    const stat = counts.reduce((s, c, d) => {
      const expected = (300 * 128 * candidatesPerDecile[d]) / candidates;
      return s + ((c - expected) * (c - expected)) / expected;
    }, 0);
    expect(stat).toBeLessThan(27.88); // chi-square df 9, p = 0.001
  });

  it('scores only the candidates: prior-correct samples by default, all of P on request', () => {
    const { calls, infer } = recordingInfer(() => false);
    createLossBased(index, lossBasedSchema.parse({ poolFactor: 8 }), 7).select(0, 64, infer);
    expect(calls[0].length).toBe(512);
    expect(Array.from(calls[0]).every((i) => index.priorCorrect[i] === 1)).toBe(true);
    const all = recordingInfer(() => false);
    for (let t = 0; t < 20; t++)
      createLossBased(index, lossBasedSchema.parse({ poolFactor: 8 }), t, 'all').select(0, 64, all.infer);
    expect(all.calls.flatMap((c) => Array.from(c)).some((i) => index.priorCorrect[i] === 0)).toBe(true);
  });

  it('NaN losses rank lowest; large pools stay distinct', () => {
    const { infer } = recordingInfer(
      () => false,
      (i) => (i % 2 ? NaN : hash01(i, 2)),
    );
    const strategy = createLossBased(index, lossBasedSchema.parse({ poolFactor: 3 }), 5);
    for (const i of strategy.select(0, 10, infer)) expect(i % 2).toBe(0);
    const pool = new DistinctPool();
    const rng = new Rng(1, 1);
    for (const [n, k] of [
      [100_000, 6_400],
      [100_000, 64_000],
      [10, 10],
      [10, 20],
    ]) {
      const out = new Int32Array(k);
      const got = pool.draw(rng, n, k, out);
      expect(got).toBe(Math.min(n, k));
      expect(distinct(out.subarray(0, got))).toBe(true);
      expect(out.subarray(0, got).every((v) => v >= 0 && v < n)).toBe(true);
    }
  });

  it('same seed, same pools', () => {
    const a = recordingInfer(() => false);
    const b = recordingInfer(() => false);
    const s1 = createLossBased(index, lossBasedSchema.parse({}), 6);
    const s2 = createLossBased(index, lossBasedSchema.parse({}), 6);
    for (let t = 0; t < 5; t++) {
      expect(Array.from(s1.select(t, 8, a.infer))).toEqual(Array.from(s2.select(t, 8, b.infer)));
    }
    expect(a.calls.map((c) => Array.from(c))).toEqual(b.calls.map((c) => Array.from(c)));
  });
});
