import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src-main/data/dataset.js';
import { loadImageIdxPair } from '../../src-main/data/fashionMnist.js';
import { fingerprintBytes } from '../../src-main/data/fingerprint.js';
import { parseIdx, readIdxFile, readIdxFileAsync, writeIdx } from '../../src-main/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'mixcd-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function put(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

const IMAGES = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => (i * 7) % 256);
const LABELS = Uint8Array.from([0, 9, 3, 7]);

/** Runs fn and returns the DataError it throws, failing on success or any other error. */
function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError, nothing was thrown');
}

/** The message names the file, describes the problem and is one sentence. */
function expectMessage(err: DataError, file: string, problem: RegExp): void {
  expect(err.message).toContain(file);
  expect(err.message).toMatch(problem);
  expect(err.message.endsWith('.')).toBe(true);
  expect(err.message).not.toMatch(/\.\s+[A-Z]/);
}

describe('writeIdx / parseIdx / readIdxFile', () => {
  it('round-trips raw and gzipped files', () => {
    const idx = writeIdx([4, 3, 3], IMAGES);
    expect(Array.from(idx.subarray(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 4]);
    for (const [name, bytes] of [
      ['rt-raw', idx],
      ['rt.gz', gzipSync(idx)],
      // The gzip magic decides, not the name.
      ['rt-gz-without-ending', gzipSync(idx)],
    ] as const) {
      const file = put(name, bytes);
      const parsed = parseIdx(readIdxFile(file), file);
      expect(parsed.dims).toEqual([4, 3, 3]);
      expect(Array.from(parsed.data)).toEqual(Array.from(IMAGES));
    }
  });

  it('loads an image/label pair and fingerprints gz and raw copies alike', () => {
    const img = writeIdx([4, 3, 3], IMAGES);
    const lab = writeIdx([4], LABELS);
    const a = loadImageIdxPair(put('pair-img.gz', gzipSync(img)), put('pair-lab', lab), 10);
    expect(a).toMatchObject({ count: 4, height: 3, width: 3, channels: 1, numClasses: 10 });
    expect(Array.from(a.images)).toEqual(Array.from(IMAGES));
    expect(Array.from(a.labels)).toEqual(Array.from(LABELS));
    const fpGz = fingerprintBytes([readIdxFile(join(dir, 'pair-img.gz')), lab]);
    const fpRaw = fingerprintBytes([img, lab]);
    expect(fpGz).toBe(fpRaw);
    expect(fpRaw).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fingerprint boundaries matter', () => {
    const ab = new Uint8Array([1, 2]);
    const c = new Uint8Array([3]);
    expect(fingerprintBytes([ab, c])).not.toBe(fingerprintBytes([new Uint8Array([1]), new Uint8Array([2, 3])]));
    expect(fingerprintBytes([ab, c])).not.toBe(fingerprintBytes([c, ab]));
    expect(fingerprintBytes([])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a bad magic number', () => {
    const bytes = writeIdx([4], LABELS);
    bytes[0] = 0x12;
    const file = put('bad-magic', bytes);
    expectMessage(
      dataError(() => parseIdx(readIdxFile(file), file)),
      file,
      /bad magic number/,
    );
  });

  it('rejects an unsupported element type', () => {
    const bytes = writeIdx([4], LABELS);
    bytes[2] = 0x0d;
    const file = put('float-type', bytes);
    const err = dataError(() => parseIdx(readIdxFile(file), file));
    expectMessage(err, file, /unsupported IDX element type 0x0d \(float32\)/);
  });

  it('rejects truncated data, naming expected and found sizes', () => {
    const bytes = writeIdx([4, 3, 3], IMAGES);
    const file = put('truncated.gz', gzipSync(bytes.subarray(0, bytes.length - 5)));
    const err = dataError(() => parseIdx(readIdxFile(file), file));
    expectMessage(err, file, /truncated/);
    expect(err.message).toMatch(/expects 36 data bytes but found 31/);
  });

  it('rejects a truncated header and an empty file', () => {
    const file = put('short-header', writeIdx([4, 3, 3], IMAGES).subarray(0, 10));
    expectMessage(
      dataError(() => parseIdx(readIdxFile(file), file)),
      file,
      /truncated/,
    );
    const empty = put('empty', new Uint8Array(0));
    expectMessage(
      dataError(() => parseIdx(readIdxFile(empty), empty)),
      empty,
      /empty/,
    );
  });

  it('rejects trailing bytes', () => {
    const bytes = writeIdx([4], LABELS);
    const file = put('trailing', Uint8Array.from([...bytes, 1, 2, 3]));
    const err = dataError(() => parseIdx(readIdxFile(file), file));
    expectMessage(err, file, /3 trailing bytes/);
  });

  it('rejects a missing file', () => {
    const file = join(dir, 'no-such-file.gz');
    expectMessage(
      dataError(() => readIdxFile(file)),
      file,
      /does not exist/,
    );
  });

  it('rejects a directory', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expectMessage(
      dataError(() => readIdxFile(sub)),
      sub,
      /is a directory/,
    );
  });

  it('rejects corrupt and truncated gzip', () => {
    const gz = gzipSync(writeIdx([4, 3, 3], IMAGES));
    const flipped = Uint8Array.from(gz);
    for (let i = 12; i < flipped.length - 8; i++) flipped[i] ^= 0x5a;
    const f1 = put('corrupt.gz', flipped);
    expectMessage(
      dataError(() => readIdxFile(f1)),
      f1,
      /corrupt gzip/,
    );
    const f2 = put('cut.gz', gz.subarray(0, gz.length - 10));
    expectMessage(
      dataError(() => readIdxFile(f2)),
      f2,
      /corrupt gzip/,
    );
  });

  it('reads the same bytes and gives the same errors off the event loop (readIdxFileAsync)', async () => {
    const raw = put('async-raw', writeIdx([4, 3, 3], IMAGES));
    const gz = put('async.gz', gzipSync(writeIdx([4, 3, 3], IMAGES)));
    expect(await readIdxFileAsync(raw)).toEqual(readIdxFile(raw));
    expect(await readIdxFileAsync(gz)).toEqual(readIdxFile(raw));
    const gzBytes = gzipSync(writeIdx([4, 3, 3], IMAGES));
    const cut = put('async-cut.gz', gzBytes.subarray(0, gzBytes.length - 10));
    const sub = join(dir, 'async-directory');
    mkdirSync(sub);
    for (const file of [cut, sub, join(dir, 'async-missing.gz')]) {
      const error = await readIdxFileAsync(file).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DataError);
      expect((error as Error).message).toBe(dataError(() => readIdxFile(file)).message);
    }
  });

  it('rejects images and labels with different counts, naming both files and counts', () => {
    const img = put('count-img', writeIdx([4, 3, 3], IMAGES));
    const lab = put('count-lab', writeIdx([3], LABELS.subarray(0, 3)));
    const err = dataError(() => loadImageIdxPair(img, lab, 10));
    expectMessage(err, img, /4 images/);
    expect(err.message).toContain(lab);
    expect(err.message).toMatch(/3 labels/);
  });

  it('rejects wrong dimensions: a 3-d labels file and a 1-d images file', () => {
    const img = put('dims-img', writeIdx([4, 3, 3], IMAGES));
    const lab = put('dims-lab', writeIdx([4], LABELS));
    // Labels file given a 3-d array (the files swapped on the labels side).
    const e1 = dataError(() => loadImageIdxPair(img, img, 10));
    expectMessage(e1, img, /3 dimensions .* labels file must have 1/);
    // Images file given a 1-d array.
    const e2 = dataError(() => loadImageIdxPair(lab, lab, 10));
    expectMessage(e2, lab, /1 dimensions .* image file must have 3/);
  });

  it('rejects a label out of range, naming the file, index and value', () => {
    const img = put('range-img', writeIdx([4, 3, 3], IMAGES));
    const lab = put('range-lab', writeIdx([4], Uint8Array.from([0, 1, 10, 2])));
    const err = dataError(() => loadImageIdxPair(img, lab, 10));
    expectMessage(err, lab, /label 10 at index 2/);
  });

  it('never throws anything but a DataError on damaged files', () => {
    const img = writeIdx([4, 3, 3], IMAGES);
    const lab = writeIdx([4], LABELS);
    const labFile = put('fuzz-lab', lab);
    const variants: Uint8Array[] = [];
    // Every truncation of the raw file and a sample of truncations of the gzipped one.
    for (let n = 0; n < img.length; n++) variants.push(img.subarray(0, n));
    const gz = gzipSync(img);
    for (let n = 0; n < gz.length; n += 3) variants.push(gz.subarray(0, n));
    // Every single header byte set to a few hostile values.
    for (let i = 0; i < 16; i++) {
      for (const v of [0x00, 0x01, 0x08, 0x7f, 0xff]) {
        const b = Uint8Array.from(img);
        b[i] = v;
        variants.push(b);
      }
    }
    let thrown = 0;
    variants.forEach((bytes, k) => {
      const file = put(`fuzz-${k}`, bytes);
      try {
        loadImageIdxPair(file, labFile, 10);
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        expect((e as DataError).message).toContain(file);
        thrown++;
      }
    });
    expect(thrown).toBeGreaterThan(variants.length / 2);
  });
});
