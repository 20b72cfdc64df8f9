// Small generated data written as the four IDX files a run's `dataDir` expects, for tests that go
// through the real data loader (host, CLI, browser mode) instead of handing the engine arrays.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeIdx } from '../../src-main/data/idx.js';
import { makeSyntheticSplit } from '../../src-main/data/synthetic.js';

export interface IdxDataOptions {
  trainCount?: number;
  testCount?: number;
  /** Side of the square images, in pixels. */
  size?: number;
  seed?: number;
}

/**
 * Writes a learnable 10-class task (800 train / 300 test 12x12 images by default: a run trains
 * in about a second) to `dir` under Fashion-MNIST's file names; creates the folder.
 */
export function writeIdxData(
  dir: string,
  { trainCount = 800, testCount = 300, size = 12, seed = 3 }: IdxDataOptions = {},
): void {
  const { train, test } = makeSyntheticSplit({ trainCount, testCount, numClasses: 10, size, seed });
  mkdirSync(dir, { recursive: true });
  const write = (name: string, dims: number[], data: Uint8Array) =>
    writeFileSync(path.join(dir, name), writeIdx(dims, data));
  write('train-images-idx3-ubyte', [train.count, size, size], train.images);
  write('train-labels-idx1-ubyte', [train.count], train.labels);
  write('t10k-images-idx3-ubyte', [test.count, size, size], test.images);
  write('t10k-labels-idx1-ubyte', [test.count], test.labels);
}
