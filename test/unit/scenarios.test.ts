import { describe, expect, it } from 'vitest';
import type { ScenarioName } from '../../shared/config.js';
import { DataError, type ImageDataset } from '../../src-main/data/dataset.js';
import {
  PERMUTE_SEED,
  SCENARIO_DESCRIPTIONS,
  buildScenario,
  fixedPixelPermutation,
  permutePixels,
  pretrainSetOf,
  rotate90,
} from '../../src-main/data/scenarios.js';
import { makeSyntheticImages, makeSyntheticSplit } from '../../src-main/data/synthetic.js';

function dataset(count: number, size: number, channels: number, numClasses = 10): ImageDataset {
  const n = count * size * size * channels;
  return {
    count,
    height: size,
    width: size,
    channels,
    numClasses,
    images: Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) % 256),
    labels: Uint8Array.from({ length: count }, (_, i) => (i * 3) % numClasses),
  };
}

function snapshot(d: ImageDataset): { images: number[]; labels: number[] } {
  return { images: Array.from(d.images), labels: Array.from(d.labels) };
}

describe('rot90', () => {
  it('rotates a hand-made 3x3 image 90 degrees counter-clockwise', () => {
    // 1 2 3        3 6 9
    // 4 5 6   ->   2 5 8
    // 7 8 9        1 4 7
    const d: ImageDataset = {
      count: 1,
      height: 3,
      width: 3,
      channels: 1,
      numClasses: 2,
      images: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      labels: Uint8Array.from([1]),
    };
    const r = rotate90(d);
    expect(Array.from(r.images)).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    expect(Array.from(r.labels)).toEqual([1]);
    expect(Array.from(d.images)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('moves the channels of a pixel together', () => {
    // 2x2, 2 channels: pixel (r,c) = [10*(2r+c), 10*(2r+c)+1].
    const d: ImageDataset = {
      count: 1,
      height: 2,
      width: 2,
      channels: 2,
      numClasses: 2,
      images: Uint8Array.from([0, 1, 10, 11, 20, 21, 30, 31]),
      labels: Uint8Array.from([0]),
    };
    // a b  ->  b d
    // c d      a c
    expect(Array.from(rotate90(d).images)).toEqual([10, 11, 30, 31, 0, 1, 20, 21]);
  });

  it('four rotations give the identity, for several sizes and channel counts', () => {
    for (const [size, ch] of [
      [1, 1],
      [4, 1],
      [5, 3],
      [28, 1],
    ]) {
      const d = dataset(3, size, ch);
      const r4 = rotate90(rotate90(rotate90(rotate90(d))));
      expect(Array.from(r4.images)).toEqual(Array.from(d.images));
      if (size > 1) expect(Array.from(rotate90(d).images)).not.toEqual(Array.from(d.images));
    }
  });

  it('rejects non-square images with a DataError', () => {
    const d: ImageDataset = { ...dataset(2, 4, 1), height: 2, width: 8 };
    expect(() => rotate90(d)).toThrow(DataError);
    expect(() => rotate90(d)).toThrow(/square/);
  });

  it('scenario: pretrain as is, finetune rotated with the same labels', () => {
    const train = dataset(6, 5, 1);
    const test = dataset(4, 5, 1);
    const s = buildScenario('rot90', train, test);
    expect(s.name).toBe('rot90');
    expect(s.numClasses).toBe(10);
    expect(s.finetuneClasses).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.pretrainTrain).toBe(train);
    expect(s.pretrainTest).toBe(test);
    expect(Array.from(s.finetuneTrain.images)).toEqual(Array.from(rotate90(train).images));
    expect(Array.from(s.finetuneTest.images)).toEqual(Array.from(rotate90(test).images));
    expect(Array.from(s.finetuneTrain.labels)).toEqual(Array.from(train.labels));
    expect(s.finetuneTrain.images).not.toBe(train.images);
    expect(s.finetuneTrain.labels).not.toBe(train.labels);
  });
});

describe('permute', () => {
  it('is a fixed bijection, the same on every call', () => {
    expect(PERMUTE_SEED).toBe(20240213);
    for (const n of [1, 9, 784]) {
      const p = fixedPixelPermutation(n);
      expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(Array.from(fixedPixelPermutation(n))).toEqual(Array.from(p));
    }
    const p = fixedPixelPermutation(784);
    // Pinned: changing these changes the task and makes old results incomparable.
    expect(Array.from(p.subarray(0, 8))).toEqual([157, 45, 760, 304, 467, 273, 546, 128]);
    expect(Array.from(fixedPixelPermutation(9))).toEqual([7, 6, 1, 4, 3, 5, 8, 0, 2]);
    let fixedPoints = 0;
    p.forEach((v, i) => (fixedPoints += v === i ? 1 : 0));
    expect(fixedPoints).toBeLessThan(10);
  });

  it('applies out[i] = in[perm[i]] per pixel, moving channels together', () => {
    const d = dataset(3, 4, 2);
    const perm = fixedPixelPermutation(16);
    const out = permutePixels(d);
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 16; i++) {
        for (let k = 0; k < 2; k++) {
          expect(out.images[s * 32 + i * 2 + k]).toBe(d.images[s * 32 + perm[i] * 2 + k]);
        }
      }
    }
    const a = buildScenario('permute', d, dataset(2, 4, 2));
    const b = buildScenario('permute', d, dataset(2, 4, 2));
    expect(Array.from(a.finetuneTrain.images)).toEqual(Array.from(b.finetuneTrain.images));
    expect(Array.from(a.finetuneTrain.images)).toEqual(Array.from(out.images));
    expect(a.pretrainTrain).toBe(d);
  });
});

describe('split', () => {
  it('pretrains on classes 0-7 and finetunes on 8-9 with one 10-way head', () => {
    const train = dataset(50, 3, 1);
    const test = dataset(30, 3, 1);
    const s = buildScenario('split', train, test);
    expect(s.numClasses).toBe(10);
    expect(s.finetuneClasses).toEqual([8, 9]);
    for (const d of [s.pretrainTrain, s.pretrainTest]) {
      expect(d.numClasses).toBe(10);
      expect(Array.from(d.labels).every((l) => l <= 7)).toBe(true);
      expect(new Set(d.labels).size).toBe(8);
    }
    for (const d of [s.finetuneTrain, s.finetuneTest]) {
      expect(d.numClasses).toBe(10);
      expect(new Set(d.labels)).toEqual(new Set([8, 9]));
    }
    expect(s.pretrainTrain.count + s.finetuneTrain.count).toBe(50);
    expect(s.pretrainTest.count + s.finetuneTest.count).toBe(30);
    // Samples are copied whole and in their original order.
    const fineIdx = Array.from(train.labels).flatMap((l, i) => (l >= 8 ? [i] : []));
    expect(s.finetuneTrain.count).toBe(fineIdx.length);
    fineIdx.forEach((i, j) => {
      expect(Array.from(s.finetuneTrain.images.subarray(j * 9, j * 9 + 9))).toEqual(
        Array.from(train.images.subarray(i * 9, i * 9 + 9)),
      );
      expect(s.finetuneTrain.labels[j]).toBe(train.labels[i]);
    });
  });

  it('carries groups along with their samples', () => {
    const train = { ...dataset(20, 2, 1), groups: Uint16Array.from({ length: 20 }, (_, i) => 100 + i) };
    const s = buildScenario('split', train, dataset(10, 2, 1));
    const fineIdx = Array.from(train.labels).flatMap((l, i) => (l >= 8 ? [i] : []));
    expect(Array.from(s.finetuneTrain.groups!)).toEqual(fineIdx.map((i) => 100 + i));
  });
});

describe('all scenarios', () => {
  it('never mutate their inputs and have one-line descriptions', () => {
    const train = dataset(40, 6, 1);
    const test = dataset(20, 6, 1);
    const before = [snapshot(train), snapshot(test)];
    for (const name of ['rot90', 'permute', 'split'] as ScenarioName[]) {
      const s = buildScenario(name, train, test);
      expect(s.description).toBe(SCENARIO_DESCRIPTIONS[name]);
      expect(s.description).not.toContain('\n');
      expect(s.description.length).toBeGreaterThan(10);
    }
    expect([snapshot(train), snapshot(test)]).toEqual(before);
  });

  it('pretrainSetOf gives the same pretrain set as the whole scenario (the inspector relies on it)', () => {
    const train = dataset(40, 6, 1);
    const test = dataset(20, 6, 1);
    for (const name of ['rot90', 'permute', 'split'] as ScenarioName[]) {
      expect(snapshot(pretrainSetOf(name, train))).toEqual(snapshot(buildScenario(name, train, test).pretrainTrain));
    }
    expect(pretrainSetOf('split', train).labels.every((l) => l < 8)).toBe(true);
    expect(() => pretrainSetOf('split', dataset(10, 6, 1, 2))).toThrow(/needs at least 3 classes/);
  });

  it('reject train and test sets that do not match', () => {
    expect(() => buildScenario('rot90', dataset(2, 4, 1), dataset(2, 5, 1))).toThrow(DataError);
  });
});

describe('synthetic images', () => {
  const opts = { count: 300, numClasses: 10, size: 12, seed: 7 };

  it('is deterministic per seed', () => {
    const a = makeSyntheticImages(opts);
    const b = makeSyntheticImages(opts);
    // Byte comparison: toEqual over tens of thousands of elements is slow.
    expect(Buffer.compare(a.images, b.images)).toBe(0);
    expect(Buffer.compare(a.labels, b.labels)).toBe(0);
    const c = makeSyntheticImages({ ...opts, seed: 8 });
    expect(Buffer.compare(c.images, a.images)).not.toBe(0);
  });

  it('has the promised shape and balanced labels', () => {
    const a = makeSyntheticImages(opts);
    expect(a).toMatchObject({ count: 300, height: 12, width: 12, channels: 1, numClasses: 10 });
    expect(a.images.length).toBe(300 * 144);
    const hist = new Array(10).fill(0);
    for (const l of a.labels) hist[l]++;
    expect(hist).toEqual(new Array(10).fill(30));
  });

  it('gives new samples of the same task on another stream', () => {
    const { train, test } = makeSyntheticSplit({ trainCount: 400, testCount: 200, numClasses: 5, size: 12, seed: 3 });
    expect(Array.from(test.images.subarray(0, 144))).not.toEqual(Array.from(train.images.subarray(0, 144)));
    // Nearest class mean from train (a weak classifier: shifts blur the means) does well on
    // test, so it is the same task, and near chance (0.2) on rotated test: a different task.
    const D = 144;
    const means = Array.from({ length: 5 }, () => new Float64Array(D));
    const counts = new Array(5).fill(0);
    for (let i = 0; i < train.count; i++) {
      counts[train.labels[i]]++;
      for (let k = 0; k < D; k++) means[train.labels[i]][k] += train.images[i * D + k];
    }
    means.forEach((m, c) => m.forEach((v, k) => (m[k] = v / counts[c])));
    const accuracy = (d: ImageDataset): number => {
      let ok = 0;
      for (let i = 0; i < d.count; i++) {
        let best = 0;
        let bestDist = Infinity;
        for (let c = 0; c < 5; c++) {
          let dist = 0;
          for (let k = 0; k < D; k++) dist += (d.images[i * D + k] - means[c][k]) ** 2;
          if (dist < bestDist) [best, bestDist] = [c, dist];
        }
        ok += best === d.labels[i] ? 1 : 0;
      }
      return ok / d.count;
    };
    expect(accuracy(test)).toBeGreaterThan(0.8);
    expect(accuracy(rotate90(test))).toBeLessThan(0.4);
  });
});
