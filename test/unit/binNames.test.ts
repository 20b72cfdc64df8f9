// The inspector's bin names (shared/binNames.ts, used by the host for inspect.run): readable and
// consistent, with the class's name, the prior-loss quantile range and the losses at the bin's
// ends under one rule (3 significant digits; scientific below 0.001, both ends alike; 0 as 0).
// f0's losses of a well-learnt set run from exactly 0 (a sample f0 is certain of) through 1e-7 to
// a few units: the sampler's own description read "l0 0.00..0.00" for the first bins.
import { describe, expect, it } from 'vitest';
import { binNames, formatLoss, lossFormat } from '../../shared/binNames.js';
import { buildPartition } from '../../src-main/sampler/partition.js';
import { Rng } from '../../src-main/sampler/rng.js';
import type { PretrainIndex } from '../../src-main/sampler/strategy.js';

const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover'];

/** Losses as f0 gives them: a fifth exactly 0, many below 1e-6, a tail up to about 5. */
function index(N = 6000, numClasses = 3): PretrainIndex {
  const rng = new Rng(7, 3);
  const labels = new Uint8Array(N);
  const priorLoss = new Float32Array(N);
  const priorCorrect = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    labels[i] = i % numClasses;
    const u = rng.next();
    priorLoss[i] = u < 0.2 ? 0 : Math.exp(-16 + 17.6 * rng.next());
    priorCorrect[i] = 1;
  }
  return { size: N, numClasses, labels, priorLoss, priorCorrect };
}

const names = (idx: PretrainIndex, rule: 'class-loss' | 'prior-loss' | 'class', bins: number) => {
  const p = buildPartition(idx, rule, bins, 'prior-correct');
  return binNames({
    rule,
    offsets: p.offsets,
    members: p.members,
    priorLoss: idx.priorLoss,
    labels: idx.labels,
    classNames: CLASS_NAMES,
  });
};

/** The loss numbers in a name: "(a–b)" or "(a)". */
const losses = (name: string) => /\(([^()]*)\)$/.exec(name)![1].split('–');

describe('bin names', () => {
  it('names class x loss bins by class name, quantile range and end losses, one number format throughout', () => {
    const all = names(index(), 'class-loss', 10);
    expect(all).toHaveLength(30);
    expect(all[0]).toMatch(/^class 0 \(T-shirt\/top\), prior loss 0–10th pct \(0\)$/);
    expect(all[9]).toMatch(/^class 0 \(T-shirt\/top\), prior loss 90–100th pct \(\d\.\d+–\d\.\d+\)$/);
    expect(all[10]).toMatch(/^class 1 \(Trouser\), prior loss 0–10th pct/);
    for (const name of all) {
      expect(name).not.toMatch(/0\.00\.\.|l0 |\.\./);
      // Both ends of a range alike: 0 or plain (0.001 and up) with 3 significant digits, or scientific.
      const ends = losses(name);
      const plain = ends.every((v) => v === '0' || (/^\d+(\.\d+)?$/.test(v) && Number(v) >= 0.001));
      const scientific = ends.every((v) => /^(0|\d\.\d{2}e-\d+)$/.test(v));
      expect(plain || scientific).toBe(true);
      for (const v of ends) if (plain && v !== '0') expect(v.replace('.', '').replace(/^0+/, '')).toHaveLength(3);
    }
    // The quantiles tile 0-100% within each class.
    const quantiles = all.slice(0, 10).map((n) => /loss (\d+)–(\d+)th/.exec(n)!.slice(1).map(Number));
    expect(quantiles.map((q) => q[0])).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(quantiles.map((q) => q[1])).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });

  it('keeps plain notation when every loss is 0.001 or more, and tells close ends apart', () => {
    const idx = index(600, 2);
    for (let i = 0; i < idx.size; i++) idx.priorLoss[i] = 0.0121 + (i % 300) * 1e-4;
    const all = names(idx, 'prior-loss', 4);
    expect(all[0]).toBe('prior loss 0–25th pct (0.0121–0.0195)');
    for (const name of all) for (const v of losses(name)) expect(v).toMatch(/^\d+\.\d+$/);
    // Ends that 3 digits cannot tell apart get more.
    const fmt = lossFormat([0.01211, 0.01214]);
    expect(fmt(0.01211)).toBe(fmt(0.01214));
    idx.priorLoss.fill(0.01211);
    idx.priorLoss[idx.size - 1] = 0.01214;
    expect(names(idx, 'prior-loss', 1)[0]).toBe('prior loss 0–100th pct (0.01211–0.01214)');
  });

  it('names class bins by class and name alone, and says 0 for a loss of exactly 0', () => {
    expect(names(index(), 'class', 3)).toEqual(['class 0 (T-shirt/top)', 'class 1 (Trouser)', 'class 2 (Pullover)']);
    expect(lossFormat([0, 0.5])(0)).toBe('0');
    expect(lossFormat([0, 0.5])(0.5)).toBe('0.500');
    expect(lossFormat([1.19e-7, 0.0121])(0.0121)).toBe('1.21e-2'); // a range reaching below 0.001
    expect(formatLoss(0.925)).toBe('0.925');
    expect(formatLoss(1.19e-7)).toBe('1.19e-7');
  });

  it("names group bins by the data's group names where it has them", () => {
    const idx = { ...index(30), groups: Uint16Array.from({ length: 30 }, (_, i) => i % 2) };
    const p = buildPartition(idx, 'group', 4, 'prior-correct');
    const naming = { rule: 'group' as const, offsets: p.offsets, members: p.members, ...idx };
    expect(binNames({ ...naming, groupNames: ['north', 'south'] })).toEqual(['group 0 (north)', 'group 1 (south)']);
    expect(binNames(naming)).toEqual(['group 0', 'group 1']);
  });
});
