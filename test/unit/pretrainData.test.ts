// The inspector's view of a run's pretrain set: the full check of the data (decompress + hash all
// four files) the first time, then the fingerprint memo (the files' stamps) and lazy pixels. Both
// paths must give the same labels, shape and pixels; a change to the files goes back to the full
// check; other data is refused by name.
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScenarioName } from '../../shared/config.js';
import { parseRunConfig } from '../../shared/config.js';
import { loadFashionMnist } from '../../src-main/data/fashionMnist.js';
import { FingerprintMemo, stampFiles } from '../../src-main/data/fingerprintMemo.js';
import { pretrainIndicesOf, pretrainSetOf } from '../../src-main/data/scenarios.js';
import { PretrainDataCache } from '../../src-main/inspector/pretrainData.js';
import { writeIdxData } from '../helpers/idxData.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-pretrain-data-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dataDir = path.join(work, 'data');
writeIdxData(dataDir, { trainCount: 200, testCount: 50, size: 6, seed: 4 });
const data = loadFashionMnist(dataDir);
const memoFile = (cacheDir: string) => path.join(cacheDir, 'data-fingerprints.json');

function run(scenario: ScenarioName, fingerprint = data.fingerprint) {
  return { id: 1, config: parseRunConfig({ scenario, dataDir }), dataFingerprint: fingerprint };
}

describe('PretrainDataCache', () => {
  it.each(['rot90', 'split'] as ScenarioName[])(
    'gives the same pretrain set through the full check and the memo (%s)',
    async (scenario) => {
      const cacheDir = mkdtempSync(path.join(work, 'cache-'));
      const expected = pretrainSetOf(scenario, data.train);
      const full = await new PretrainDataCache(cacheDir).get(run(scenario));
      if (typeof full === 'string') throw new Error(full);
      const memo = JSON.parse(readFileSync(memoFile(cacheDir), 'utf8'));
      expect(memo.entries[0]).toMatchObject({ fingerprint: data.fingerprint, trainImageDims: [200, 6, 6] });
      // A new host (new cache object) on the same files: the memo answers (and is not rewritten,
      // which the full check would do), pixels come later.
      const old = new Date('2026-01-01T00:00:00Z');
      utimesSync(memoFile(cacheDir), old, old);
      const fast = await new PretrainDataCache(cacheDir).get(run(scenario));
      expect(statSync(memoFile(cacheDir)).mtimeMs).toBe(old.getTime());
      if (typeof fast === 'string') throw new Error(fast);
      for (const got of [full, fast]) {
        expect(got.count).toBe(expected.count);
        expect(Array.from(got.labels)).toEqual(Array.from(expected.labels));
        expect(got.shape).toEqual({ kind: 'image', height: 6, width: 6, channels: 1 });
        expect(got.sampleBytes).toBe(36);
        expect(got.classNames).toHaveLength(10);
        expect(Array.from(await got.pixels())).toEqual(Array.from(expected.images));
      }
    },
  );

  it('checks the files in full again once their stamps change, and refuses other data', async () => {
    const cacheDir = mkdtempSync(path.join(work, 'cache-'));
    await new PretrainDataCache(cacheDir).get(run('rot90'));
    const files = [data.files.trainImages, data.files.trainLabels, data.files.testImages, data.files.testLabels];
    const memo = new FingerprintMemo(memoFile(cacheDir));
    expect(memo.lookup(stampFiles(files)!)).not.toBeNull();
    const later = new Date(Date.now() + 5000);
    utimesSync(data.files.trainLabels, later, later);
    expect(memo.lookup(stampFiles(files)!)).toBeNull();
    // Still the same bytes: the full check passes and remembers the new stamps.
    expect(typeof (await new PretrainDataCache(cacheDir).get(run('rot90')))).toBe('object');
    expect(memo.lookup(stampFiles(files)!)).not.toBeNull();

    const other = await new PretrainDataCache(cacheDir).get(run('rot90', 'f'.repeat(64)));
    expect(other).toBe(`the data in ${dataDir} is not the data run 1 used (its fingerprint differs)`);
    const missing = await new PretrainDataCache(cacheDir).get({
      ...run('rot90'),
      config: parseRunConfig({ dataDir: path.join(work, 'nowhere') }),
    });
    expect(missing).toMatch(/^the run's data could not be found \(Fashion-MNIST was not found/);
  });

  it('trusts the stamps: unchanged stamps skip the full check (the memo is really used)', async () => {
    const dir = path.join(work, 'stamped');
    writeIdxData(dir, { trainCount: 200, testCount: 50, size: 6, seed: 4 });
    const labels = path.join(dir, 't10k-labels-idx1-ubyte');
    const stamp = new Date('2026-01-01T00:00:00Z'); // a whole second, so it can be put back exactly
    utimesSync(labels, stamp, stamp);
    const cacheDir = mkdtempSync(path.join(work, 'cache-'));
    const fingerprint = loadFashionMnist(dir).fingerprint;
    const stamped = {
      id: 1,
      config: parseRunConfig({ scenario: 'rot90', dataDir: dir }),
      dataFingerprint: fingerprint,
    };
    expect(typeof (await new PretrainDataCache(cacheDir).get(stamped))).toBe('object');
    // Change a test label in place, same size, and put the old modification time back: only a
    // full check could tell (its fingerprint now differs), and the memo path does not look.
    const bytes = readFileSync(labels);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] + 1) % 10;
    writeFileSync(labels, bytes);
    utimesSync(labels, stamp, stamp);
    expect(loadFashionMnist(dir).fingerprint).not.toBe(fingerprint);
    expect(typeof (await new PretrainDataCache(cacheDir).get(stamped))).toBe('object');
    // Without the memo, the full check refuses the changed data.
    rmSync(memoFile(cacheDir));
    expect(await new PretrainDataCache(cacheDir).get(stamped)).toMatch(/is not the data run 1 used/);
  });

  it('ignores a damaged memo file, or entries that make no sense (full check instead)', async () => {
    const files = [data.files.trainImages, data.files.trainLabels, data.files.testImages, data.files.testLabels];
    const stamps = stampFiles(files)!;
    const damaged = [
      '{"format": 1, "entries": [{"stamps": 3}]',
      JSON.stringify({ format: 1, entries: [{ stamps, fingerprint: data.fingerprint, trainImageDims: [200, 6, 0] }] }),
      JSON.stringify({
        format: 1,
        entries: [{ stamps: [{ path: 'x' }], fingerprint: data.fingerprint, trainImageDims: [200, 6, 6] }],
      }),
    ];
    for (const text of damaged) {
      const cacheDir = mkdtempSync(path.join(work, 'cache-'));
      writeFileSync(memoFile(cacheDir), text);
      const got = await new PretrainDataCache(cacheDir).get(run('permute'));
      if (typeof got === 'string') throw new Error(got);
      expect(Array.from(await got.pixels())).toEqual(Array.from(data.train.images));
      // ... and the full check left a good entry behind.
      expect(new FingerprintMemo(memoFile(cacheDir)).lookup(stamps)).toMatchObject({
        fingerprint: data.fingerprint,
        trainImageDims: [200, 6, 6],
      });
    }
  });

  it(
    'never shows other pixels: images swapped after the labels were trusted ' + 'are refused, then checked in full',
    async () => {
      const dir = path.join(work, 'swapped');
      writeIdxData(dir, { trainCount: 200, testCount: 50, size: 6, seed: 4 });
      const fingerprint = loadFashionMnist(dir).fingerprint;
      const swapped = {
        id: 1,
        config: parseRunConfig({ scenario: 'split', dataDir: dir }),
        dataFingerprint: fingerprint,
      };
      const cacheDir = mkdtempSync(path.join(work, 'cache-'));
      expect(typeof (await new PretrainDataCache(cacheDir).get(swapped))).toBe('object'); // full check; memo written
      const viaMemo = await new PretrainDataCache(cacheDir, { prefetchPixels: false }).get(swapped);
      if (typeof viaMemo === 'string') throw new Error(viaMemo);
      // Another data set of the same dimensions takes the images file's place.
      const other = path.join(work, 'other');
      writeIdxData(other, { trainCount: 200, testCount: 50, size: 6, seed: 9 });
      writeFileSync(
        path.join(dir, 'train-images-idx3-ubyte'),
        readFileSync(path.join(other, 'train-images-idx3-ubyte')),
      );
      await expect(viaMemo.pixels()).rejects.toThrow(/changed since this run was opened; open the run again/);
      // The memo forgot it; opening again checks in full and refuses the data by its fingerprint.
      expect(await new PretrainDataCache(cacheDir).get(swapped)).toMatch(/is not the data run 1 used/);
    },
  );
});

describe('pretrainIndicesOf', () => {
  it("lists the train samples of P in P's order", () => {
    expect(pretrainIndicesOf('rot90', data.train.labels, 10)).toBeNull();
    const split = pretrainIndicesOf('split', data.train.labels, 10)!;
    expect(Array.from(split, (i) => data.train.labels[i])).toEqual(
      Array.from(pretrainSetOf('split', data.train).labels),
    );
  });
});
