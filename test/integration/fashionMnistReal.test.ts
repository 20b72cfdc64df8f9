// The real Fashion-MNIST files (Debian's dataset-fashion-mnist, which CI installs): decompressing
// and hashing 70,000 images is integration work, kept out of the fast unit project.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_OFFICIAL_FINGERPRINT, loadFashionMnist } from '../../src-main/data/fashionMnist.js';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

describe('real Fashion-MNIST', () => {
  it.skipIf(!existsSync(SYSTEM_DIR))('loads 60000/10000 28x28 images with a stable fingerprint', () => {
    delete process.env.MIXCD_DATA_DIR;
    const t0 = performance.now();
    const a = loadFashionMnist();
    const ms = performance.now() - t0;
    expect(a.dir).toBe(SYSTEM_DIR);
    expect(a.train).toMatchObject({ count: 60000, height: 28, width: 28, channels: 1, numClasses: 10 });
    expect(a.test).toMatchObject({ count: 10000, height: 28, width: 28, channels: 1, numClasses: 10 });
    expect(a.train.images.length).toBe(60000 * 784);
    expect(a.test.images.length).toBe(10000 * 784);
    const hist = new Array(10).fill(0);
    for (const l of a.train.labels) hist[l]++;
    expect(hist).toEqual(new Array(10).fill(6000));
    const testHist = new Array(10).fill(0);
    for (const l of a.test.labels) testHist[l]++;
    expect(testHist).toEqual(new Array(10).fill(1000));
    expect(a.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const b = loadFashionMnist(SYSTEM_DIR);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(a.fingerprint).toBe(FASHION_MNIST_OFFICIAL_FINGERPRINT);
    // The target is < 1.5 s; the bound here leaves room for a loaded test machine.
    expect(ms).toBeLessThan(5000);
  });
});
