// Partition rules (src-main/sampler/partition.ts): equal-count l0 quantile bins, class bins,
// class x l0 bins, group bins, the candidates filter, empty bins dropped, and binOf agreeing with
// the members/offsets layout for every sample (ties, NaN and negative losses included).
import { describe, expect, it } from 'vitest';
import { buildPartition, candidateIndices, type Partition } from '../../src-main/sampler/partition.js';
import { Rng } from '../../src-main/sampler/rng.js';
import type { PretrainIndex } from '../../src-main/sampler/strategy.js';

/** N samples, numClasses classes, l0 quantised to `levels` values (many ties), 1 in 4 prior-wrong. */
function makeIndex(N: number, numClasses: number, levels: number, seed = 1, withGroups = false): PretrainIndex {
  const rng = new Rng(seed, 3);
  const labels = new Uint8Array(N);
  const priorLoss = new Float32Array(N);
  const priorCorrect = new Uint8Array(N);
  const groups = withGroups ? new Uint16Array(N) : undefined;
  for (let i = 0; i < N; i++) {
    // Skewed class sizes: class c has weight c + 1.
    labels[i] = Math.min(numClasses - 1, Math.floor(Math.sqrt(rng.next()) * numClasses));
    priorLoss[i] = Math.floor(rng.next() * levels) / levels;
    priorCorrect[i] = rng.next() < 0.75 ? 1 : 0;
    if (groups) groups[i] = [3, 70, 65535, 9][rng.int(4)];
  }
  return { size: N, numClasses, labels, priorLoss, priorCorrect, groups };
}

function binMembers(p: Partition, k: number): number[] {
  return Array.from(p.members.subarray(p.offsets[k], p.offsets[k + 1]));
}

/** The layout is a partition of exactly the candidates, and binOf agrees with it everywhere. */
function checkLayout(index: PretrainIndex, p: Partition, candidates: 'prior-correct' | 'all'): void {
  expect(p.offsets.length).toBe(p.numBins + 1);
  expect(p.offsets[0]).toBe(0);
  expect(p.offsets[p.numBins]).toBe(p.members.length);
  const expected = candidateIndices(index, candidates);
  expect(p.candidateCount).toBe(expected.length);
  expect(Array.from(p.members).sort((a, b) => a - b)).toEqual(Array.from(expected));
  const binOfMember = new Int32Array(index.size).fill(-1);
  for (let k = 0; k < p.numBins; k++) {
    expect(p.offsets[k + 1]).toBeGreaterThan(p.offsets[k]); // empty bins are dropped
    for (const i of binMembers(p, k)) binOfMember[i] = k;
  }
  for (let i = 0; i < index.size; i++) expect(p.binOf(i)).toBe(binOfMember[i]);
  expect(p.binOf(-1)).toBe(-1);
  expect(p.binOf(index.size)).toBe(-1);
  expect(p.binOf(1.5)).toBe(-1);
}

const loss = (index: PretrainIndex) => (i: number) => index.priorLoss[i];

describe('partition rule prior-loss', () => {
  it('makes K equal-count bins ordered by l0, over the prior-correct candidates', () => {
    const index = makeIndex(10_007, 3, 50);
    const p = buildPartition(index, 'prior-loss', 7, 'prior-correct');
    expect(p.numBins).toBe(7);
    checkLayout(index, p, 'prior-correct');
    const sizes = Array.from({ length: 7 }, (_, k) => p.offsets[k + 1] - p.offsets[k]);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (let k = 0; k + 1 < 7; k++) {
      expect(Math.max(...binMembers(p, k).map(loss(index)))).toBeLessThanOrEqual(
        Math.min(...binMembers(p, k + 1).map(loss(index))),
      );
    }
    expect(p.byteLength).toBe(4 * p.candidateCount + 4 * 8);
  });

  it('candidates = all includes prior-wrong samples', () => {
    const index = makeIndex(3_001, 3, 1000);
    const p = buildPartition(index, 'prior-loss', 10, 'all');
    expect(p.candidateCount).toBe(3_001);
    checkLayout(index, p, 'all');
  });

  it('drops empty bins when K exceeds the candidates', () => {
    const index = makeIndex(40, 2, 5);
    const p = buildPartition(index, 'prior-loss', 1000, 'prior-correct');
    expect(p.numBins).toBe(p.candidateCount);
    checkLayout(index, p, 'prior-correct');
  });

  it('orders negative, infinite and NaN losses consistently (NaN last)', () => {
    const index = makeIndex(500, 2, 10);
    for (let i = 0; i < 500; i += 7) index.priorLoss[i] = [-1, NaN, Infinity, -0, -Infinity][i % 5];
    const p = buildPartition(index, 'prior-loss', 9, 'all');
    checkLayout(index, p, 'all');
    const order = Array.from(p.members, (i) => index.priorLoss[i]);
    const firstNaN = order.findIndex((x) => Number.isNaN(x));
    expect(order.slice(firstNaN).every((x) => Number.isNaN(x))).toBe(true);
    const finite = order.slice(0, firstNaN);
    for (let j = 1; j < finite.length; j++) expect(finite[j]).toBeGreaterThanOrEqual(finite[j - 1]);
  });
});

describe('partition rule class', () => {
  it('makes one bin per class present among the candidates, in class order', () => {
    const index = makeIndex(2_000, 5, 10);
    // Class 2 has no candidate: its bin is dropped.
    for (let i = 0; i < index.size; i++) if (index.labels[i] === 2) index.priorCorrect[i] = 0;
    const p = buildPartition(index, 'class', 10, 'prior-correct');
    expect(p.numBins).toBe(4);
    checkLayout(index, p, 'prior-correct');
    const binClasses = Array.from({ length: 4 }, (_, k) => new Set(binMembers(p, k).map((i) => index.labels[i])));
    expect(binClasses.map((s) => [...s])).toEqual([[0], [1], [3], [4]]);
    expect(p.describeBin(2)).toBe('class 3');
  });

  it('rejects labels outside numClasses', () => {
    const index = makeIndex(100, 3, 10);
    index.labels[5] = 3;
    index.priorCorrect[5] = 1;
    expect(() => buildPartition(index, 'class', 1, 'prior-correct')).toThrow(/label 3, outside 0\.\.2/);
  });
});

describe('partition rule class-loss', () => {
  it('makes K equal-count l0 bins within each class', () => {
    const index = makeIndex(6_000, 4, 30);
    const K = 5;
    const p = buildPartition(index, 'class-loss', K, 'prior-correct');
    checkLayout(index, p, 'prior-correct');
    expect(p.numBins).toBe(4 * K);
    for (let c = 0; c < 4; c++) {
      const bins = Array.from({ length: K }, (_, b) => binMembers(p, c * K + b));
      for (const members of bins) expect(new Set(members.map((i) => index.labels[i]))).toEqual(new Set([c]));
      const sizes = bins.map((b) => b.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      for (let b = 0; b + 1 < K; b++) {
        expect(Math.max(...bins[b].map(loss(index)))).toBeLessThanOrEqual(Math.min(...bins[b + 1].map(loss(index))));
      }
    }
    expect(p.describeBin(K)).toMatch(/^class 1, l0 /);
  });

  it('a small class gets fewer (non-empty) bins', () => {
    const index = makeIndex(600, 3, 100);
    let kept = 0;
    for (let i = 0; i < index.size; i++) {
      if (index.labels[i] === 0) index.priorCorrect[i] = kept++ < 3 ? 1 : 0;
    }
    const p = buildPartition(index, 'class-loss', 8, 'prior-correct');
    checkLayout(index, p, 'prior-correct');
    expect(p.numBins).toBe(3 + 8 + 8);
  });
});

describe('partition rule group', () => {
  it('makes one bin per group value present', () => {
    const index = makeIndex(3_000, 3, 10, 2, true);
    const p = buildPartition(index, 'group', 10, 'all');
    expect(p.numBins).toBe(4);
    checkLayout(index, p, 'all');
    const values = Array.from({ length: 4 }, (_, k) => [...new Set(binMembers(p, k).map((i) => index.groups![i]))]);
    expect(values).toEqual([[3], [9], [70], [65535]]);
  });

  it('explains that the data has no group column', () => {
    const index = makeIndex(100, 3, 10);
    expect(() => buildPartition(index, 'group', 10, 'prior-correct')).toThrow(/"group" needs a group column/);
  });
});

describe('partition edge cases', () => {
  it('no candidates: no bins, binOf -1', () => {
    const index = makeIndex(50, 2, 5);
    index.priorCorrect.fill(0);
    for (const rule of ['prior-loss', 'class', 'class-loss'] as const) {
      const p = buildPartition(index, rule, 4, 'prior-correct');
      expect(p.numBins).toBe(0);
      expect(p.binOf(3)).toBe(-1);
    }
  });

  it('rejects bad bin counts and short columns', () => {
    const index = makeIndex(50, 2, 5);
    expect(() => buildPartition(index, 'prior-loss', 0, 'all')).toThrow(/positive integer/);
    expect(() => buildPartition({ ...index, priorLoss: new Float32Array(10) }, 'prior-loss', 2, 'all')).toThrow(
      /priorLoss/,
    );
  });

  it('builds 1,000,000 samples into 1,000 class x l0 bins', () => {
    const index = makeIndex(1_000_000, 10, 1 << 20);
    const p = buildPartition(index, 'class-loss', 100, 'prior-correct');
    expect(p.numBins).toBe(1000);
    // Spot-check binOf against the layout.
    const rng = new Rng(5, 5);
    for (let n = 0; n < 2000; n++) {
      const k = rng.int(p.numBins);
      const i = p.members[p.offsets[k] + rng.int(p.offsets[k + 1] - p.offsets[k])];
      expect(p.binOf(i)).toBe(k);
    }
  });
});
