import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DataError } from '../../src-main/data/dataset.js';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_OFFICIAL_FINGERPRINT,
  loadFashionMnist,
  locateFashionMnist,
} from '../../src-main/data/fashionMnist.js';
import { writeIdx } from '../../src-main/data/idx.js';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const root = mkdtempSync(join(tmpdir(), 'mixcd-fmnist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const savedEnv = process.env.MIXCD_DATA_DIR;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.MIXCD_DATA_DIR;
  else process.env.MIXCD_DATA_DIR = savedEnv;
});

/** A tiny fake Fashion-MNIST: `n` 4x4 train and test images, files gz or raw as asked. */
function fakeDir(name: string, n: number, gz: boolean[], only?: number): string {
  const d = join(root, name);
  mkdirSync(d);
  const images = Uint8Array.from({ length: n * 16 }, (_, i) => i % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', writeIdx([n, 4, 4], images)],
    ['train-labels-idx1-ubyte', writeIdx([n], labels)],
    ['t10k-images-idx3-ubyte', writeIdx([n, 4, 4], images)],
    ['t10k-labels-idx1-ubyte', writeIdx([n], labels)],
  ];
  files.slice(0, only ?? 4).forEach(([base, bytes], i) => {
    if (gz[i]) writeFileSync(join(d, base + '.gz'), gzipSync(bytes));
    else writeFileSync(join(d, base), bytes);
  });
  return d;
}

describe('locateFashionMnist', () => {
  it('with an explicit empty dir says where it looked and how to get the data', () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    let err: unknown;
    try {
      locateFashionMnist(empty);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    const msg = (err as DataError).message;
    expect(msg).toContain(empty);
    expect(msg).toMatch(/not found/);
    expect(msg).toContain('sudo apt-get install dataset-fashion-mnist');
    expect(msg).toContain('--data-dir DIR');
    // Only the given dir is searched.
    expect(msg).not.toContain(SYSTEM_DIR);
    expect(msg.endsWith('.')).toBe(true);
    expect(msg).not.toMatch(/\.\s+[A-Z]/);
  });

  it('names the missing files of a partial dir and a non-existent dir', () => {
    const partial = fakeDir('partial', 3, [true, true, true, true], 2);
    expect(() => locateFashionMnist(partial)).toThrow(/missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte/);
    const nowhere = join(root, 'does-not-exist');
    expect(() => locateFashionMnist(nowhere)).toThrow(/does-not-exist \(does not exist\)/);
  });

  it('accepts each file gzipped or raw and loads a small copy', () => {
    const d = fakeDir('mixed', 20, [true, false, false, true]);
    const loc = locateFashionMnist(d);
    expect(loc.dir).toBe(d);
    expect(loc.files.trainImages).toBe(join(d, 'train-images-idx3-ubyte.gz'));
    expect(loc.files.trainLabels).toBe(join(d, 'train-labels-idx1-ubyte'));
    const fm = loadFashionMnist(d);
    expect(fm.train).toMatchObject({ count: 20, height: 4, width: 4, channels: 1, numClasses: 10 });
    expect(fm.train.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    // Same contents, other compression: same fingerprint.
    const d2 = fakeDir('mixed2', 20, [false, true, true, false]);
    expect(loadFashionMnist(d2).fingerprint).toBe(fm.fingerprint);
    expect(fm.fingerprint).not.toBe(FASHION_MNIST_OFFICIAL_FINGERPRINT);
  });

  it('refuses an IDX set with 0 images, naming the file (issue 11)', () => {
    const d = fakeDir('empty', 0, [false, false, false, false]);
    expect(() => loadFashionMnist(d)).toThrow(DataError);
    expect(() => loadFashionMnist(d)).toThrow(/train-images-idx3-ubyte holds no images \(0x4x4\)/);
  });

  it('searches $MIXCD_DATA_DIR first when no dir is given', () => {
    const d = fakeDir('env', 5, [true, true, true, true]);
    process.env.MIXCD_DATA_DIR = d;
    expect(locateFashionMnist().dir).toBe(d);
  });
});
