// Every dataset format from small files written here: valid ones load with the right counts,
// classes, shapes and fingerprints; each kind of malformed one gives its one sentence.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src-main/data/dataset.js';
import { describeDataset, loadDeclaredDataset, resolveDataset } from '../../src-main/data/declared.js';
import { loadFashionMnist } from '../../src-main/data/fashionMnist.js';
import { writeCifar } from '../../src-main/data/formats/cifar.js';
import { parseNpy, writeNpy } from '../../src-main/data/formats/npy.js';
import { writeIdx } from '../../src-main/data/idx.js';

const root = mkdtempSync(join(tmpdir(), 'mixcd-declared-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function put(dir: string, name: string, content: string | Uint8Array): string {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  return file;
}

async function failsWith(target: string, pattern: RegExp, format?: string): Promise<void> {
  const error = await describeDataset(target, format).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  expect((error as Error).message).toMatch(pattern);
  // One sentence: no line breaks, ends with a full stop.
  expect((error as Error).message).not.toContain('\n');
  expect((error as Error).message.trim()).toMatch(/\.$/);
}

describe('IDX datasets', () => {
  const dir = folder('idx');
  const images = Uint8Array.from({ length: 5 * 2 * 3 }, (_, i) => i);
  put(dir, 'train-images-idx3-ubyte.gz', gzipSync(writeIdx([5, 2, 3], images)));
  put(dir, 'train-labels-idx1-ubyte', writeIdx([5], Uint8Array.from([0, 1, 2, 1, 0])));
  put(dir, 't10k-images-idx3-ubyte', writeIdx([2, 2, 3], images.subarray(0, 12)));
  put(dir, 't10k-labels-idx1-ubyte', writeIdx([2], Uint8Array.from([2, 2])));

  it('finds both splits by their usual names, numbers the classes, and keeps the built-in fingerprint', async () => {
    const d = await describeDataset(dir);
    expect(d).toMatchObject({ format: 'idx', count: 7, numClasses: 3, classNames: ['0', '1', '2'] });
    expect(d.sampleShape).toEqual([2, 3, 1]);
    expect(d.hasGroups).toBe(false);
    expect(d.splits.train.perClass).toEqual([2, 2, 1]);
    expect(d.splits.test.perClass).toEqual([0, 0, 2]);
    // The built-in Fashion-MNIST loader hashes the same decompressed files in the same order.
    const builtIn = loadFashionMnist(undefined, {
      dir,
      files: {
        trainImages: join(dir, 'train-images-idx3-ubyte.gz'),
        trainLabels: join(dir, 'train-labels-idx1-ubyte'),
        testImages: join(dir, 't10k-images-idx3-ubyte'),
        testLabels: join(dir, 't10k-labels-idx1-ubyte'),
      },
    });
    expect(d.fingerprint).toBe(builtIn.fingerprint);
  });

  it('takes class names from dataset.json and rejects labels outside them', async () => {
    const named = folder('idx-named');
    put(named, 'a.idx', writeIdx([5, 2, 3], images));
    put(named, 'b.idx', writeIdx([5], Uint8Array.from([0, 1, 2, 1, 0])));
    put(
      named,
      'dataset.json',
      JSON.stringify({
        name: 'tiny',
        format: 'idx',
        splits: { train: { images: 'a.idx', labels: 'b.idx' } },
        classNames: ['x', 'y', 'z'],
      }),
    );
    expect((await describeDataset(named)).classNames).toEqual(['x', 'y', 'z']);
    put(
      named,
      'dataset.json',
      JSON.stringify({
        name: 'tiny',
        format: 'idx',
        splits: { train: { images: 'a.idx', labels: 'b.idx' } },
        classNames: ['x', 'y'],
      }),
    );
    await failsWith(named, /b\.idx has label 2 at index 2, outside the 2 classes/);
  });

  it('names a count mismatch and a bad dataset.json field', async () => {
    const bad = folder('idx-bad');
    put(bad, 'train-images-idx3-ubyte', writeIdx([5, 2, 3], images));
    put(bad, 'train-labels-idx1-ubyte', writeIdx([4], Uint8Array.from([0, 1, 2, 1])));
    await failsWith(bad, /holds 5 images but .*holds 4 labels/);
    const spec = folder('idx-spec');
    put(spec, 'dataset.json', JSON.stringify({ name: 'x', format: 'idxx', splits: { train: 'a' } }));
    await failsWith(spec, /dataset\.json field "format" is not valid/);
  });
});

describe('CSV and TSV datasets', () => {
  it('streams a CSV with text labels, a group and an id column into float features', async () => {
    const dir = folder('csv');
    put(dir, 'train.csv', 'id,label,domain,f1,f2\n1,cat,web,0.5,1\n2,dog,web,1.5,-2\n3,cat,print,2,3\n');
    put(dir, 'test.csv', 'id,label,domain,f1,f2\n9,dog,print,0,0\n');
    put(
      dir,
      'dataset.json',
      JSON.stringify({
        name: 'pets',
        format: 'csv',
        splits: { train: 'train.csv', test: 'test.csv' },
        groupColumn: 'domain',
        idColumn: 'id',
      }),
    );
    const loaded = await loadDeclaredDataset(resolveDataset(dir));
    const train = loaded.splits.train;
    expect(train.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(train.labels)).toEqual([0, 1, 0]);
    expect(train.groupNames).toEqual(['print', 'web']);
    expect(Array.from(train.groups!)).toEqual([1, 1, 0]);
    expect(Array.from(train.values!)).toEqual([0.5, 1, 1.5, -2, 2, 3]);
    expect([train.height, train.width, train.channels]).toEqual([1, 2, 1]);
    const d = await describeDataset(dir);
    expect(d).toMatchObject({ name: 'pets', count: 4, hasGroups: true, valueType: 'float32' });
    expect(d.splits.train.perGroup).toEqual({ print: 1, web: 2 });
    expect(d.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads declared pixel columns of a TSV as uint8 images, and the fingerprint follows the content', async () => {
    const dir = folder('tsv');
    const rows = ['label\tp0\tp1\tp2\tp3', '0\t0\t255\t10\t20', '1\t1\t2\t3\t4'];
    put(dir, 'train.tsv', rows.join('\n') + '\n');
    put(
      dir,
      'dataset.json',
      JSON.stringify({ name: 'px', format: 'tsv', splits: { train: 'train.tsv' }, shape: [2, 2, 1] }),
    );
    const a = await loadDeclaredDataset(resolveDataset(dir));
    expect(Array.from(a.splits.train.images)).toEqual([0, 255, 10, 20, 1, 2, 3, 4]);
    expect(a.splits.train.values).toBeUndefined();
    put(dir, 'train.tsv', [rows[0], rows[1], '1\t1\t2\t3\t5'].join('\n') + '\n');
    const b = await loadDeclaredDataset(resolveDataset(dir));
    expect(b.fingerprint).not.toBe(a.fingerprint);
  });

  it('names ragged rows, non-numeric values, a missing label column, and a wrong declared shape', async () => {
    const dir = folder('csv-bad');
    put(dir, 'ragged.csv', 'label,a,b\n0,1,2\n1,3\n');
    await failsWith(join(dir, 'ragged.csv'), /ragged\.csv line 3 has 2 fields but the header has 3/);
    put(dir, 'text.csv', 'label,a,b\n0,1,2\n1,3,x\n');
    await failsWith(join(dir, 'text.csv'), /text\.csv line 3 column "b" has "x", which is not a number/);
    put(dir, 'nolabel.csv', 'y,a\n0,1\n');
    await failsWith(join(dir, 'nolabel.csv'), /has no label column "label"/);
    put(dir, 'mixed.csv', 'label,a\n0,1\ncat,2\n');
    await failsWith(join(dir, 'mixed.csv'), /line 3 has label "cat" but the labels above it are integers/);
    put(dir, 'empty.csv', 'label,a\n');
    await failsWith(join(dir, 'empty.csv'), /has no data rows/);
    const shaped = folder('csv-shape');
    put(shaped, 'train.csv', 'label,a,b,c\n0,1,2,3\n');
    put(
      shaped,
      'dataset.json',
      JSON.stringify({ name: 's', format: 'csv', splits: { train: 'train.csv' }, shape: [2, 2, 1] }),
    );
    await failsWith(shaped, /has 3 feature columns but the declared shape 2x2x1 needs 4/);
    const labels = folder('csv-labels');
    put(labels, 'train.csv', 'label,a\n0,1\n3,2\n');
    put(
      labels,
      'dataset.json',
      JSON.stringify({ name: 'l', format: 'csv', splits: { train: 'train.csv' }, classNames: ['a', 'b'] }),
    );
    await failsWith(labels, /sample 1 has label 3, not one of the 2 classes/);
  });
});

async function png(file: string, w: number, h: number, rgb: [number, number, number]): Promise<void> {
  mkdirSync(join(file, '..'), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toFile(file);
}

describe('image folders', () => {
  it('decodes PNG, JPEG and WebP per class folder, resized to the declared shape', async () => {
    const dir = folder('images');
    mkdirSync(join(dir, 'train', 'red'), { recursive: true });
    mkdirSync(join(dir, 'test', 'green'), { recursive: true });
    await png(join(dir, 'train', 'red', 'a.png'), 6, 4, [255, 0, 0]);
    await sharp({ create: { width: 3, height: 3, channels: 3, background: { r: 0, g: 0, b: 255 } } })
      .jpeg()
      .toFile(join(dir, 'train', 'red', 'b.jpg'));
    await png(join(dir, 'train', 'green', 'c.png'), 4, 4, [0, 255, 0]);
    await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 255, b: 0 } } })
      .webp({ lossless: true })
      .toFile(join(dir, 'test', 'green', 'd.webp'));
    await png(join(dir, 'test', 'red', 'e.png'), 4, 4, [255, 0, 0]);
    put(
      dir,
      'dataset.json',
      JSON.stringify({ name: 'colours', format: 'images', splits: { train: 'train', test: 'test' }, shape: [2, 2, 3] }),
    );
    const loaded = await loadDeclaredDataset(resolveDataset(dir));
    const train = loaded.splits.train;
    expect(train.classNames).toEqual(['green', 'red']);
    expect([train.count, train.height, train.width, train.channels]).toEqual([3, 2, 2, 3]);
    expect(Array.from(train.labels)).toEqual([0, 1, 1]);
    expect(Array.from(train.images.subarray(0, 3))).toEqual([0, 255, 0]); // c.png, green
    expect(Array.from(train.images.subarray(12, 15))).toEqual([255, 0, 0]); // a.png, red
    expect(loaded.splits.test!.count).toBe(2);
    // Grey: one channel.
    put(
      dir,
      'dataset.json',
      JSON.stringify({ name: 'grey', format: 'images', splits: { train: 'train' }, shape: [2, 2, 1] }),
    );
    const grey = await loadDeclaredDataset(resolveDataset(dir));
    expect(grey.splits.train.channels).toBe(1);
    expect(grey.splits.train.images.length).toBe(3 * 4);
  });

  it('names an empty class folder, an unreadable image and a differently sized one', async () => {
    const empty = folder('images-empty');
    await png(join(empty, 'a', 'x.png'), 2, 2, [1, 2, 3]);
    mkdirSync(join(empty, 'b'));
    put(join(empty, 'b'), 'notes.txt', 'no images here');
    await failsWith(empty, /\(class "b"\) holds no PNG, JPEG or WebP image/, 'images');
    const broken = folder('images-broken');
    await png(join(broken, 'a', 'x.png'), 2, 2, [1, 2, 3]);
    put(join(broken, 'a'), 'y.png', 'this is not a png');
    await failsWith(broken, /y\.png cannot be read as an image/);
    const sizes = folder('images-sizes');
    await png(join(sizes, 'a', 'x.png'), 2, 2, [1, 2, 3]);
    await png(join(sizes, 'a', 'y.png'), 3, 2, [1, 2, 3]);
    await failsWith(sizes, /y\.png is 3x2 with 3 channels but the folder's images are 2x2 with 3; declare "shape"/);
  });
});

describe('CIFAR binary', () => {
  const images = Uint8Array.from({ length: 3 * 32 * 32 * 3 }, (_, i) => (i * 13) % 256);
  it('reads CIFAR-10 batches channel-last with the standard class names, and CIFAR-100 fine labels', async () => {
    const dir = folder('cifar10');
    put(dir, 'data_batch_1.bin', writeCifar('cifar10', images.subarray(0, 2 * 3072), [3, 9]));
    put(dir, 'data_batch_2.bin', writeCifar('cifar10', images.subarray(2 * 3072), [0]));
    put(dir, 'test_batch.bin', writeCifar('cifar10', images.subarray(0, 3072), [1]));
    const loaded = await loadDeclaredDataset(resolveDataset(dir));
    expect(Array.from(loaded.splits.train.labels)).toEqual([3, 9, 0]);
    expect(loaded.splits.train.images).toEqual(images);
    expect(loaded.splits.train.classNames![3]).toBe('cat');
    expect((await describeDataset(dir)).sampleShape).toEqual([32, 32, 3]);
    const c100 = folder('cifar100');
    put(c100, 'train.bin', writeCifar('cifar100', images, [99, 5, 0]));
    put(c100, 'test.bin', writeCifar('cifar100', images.subarray(0, 3072), [42]));
    const d = await describeDataset(c100);
    expect(d).toMatchObject({ format: 'cifar100', count: 4, numClasses: 100 });
  });

  it('names a file that is not whole records and a label out of range', async () => {
    const dir = folder('cifar-bad');
    put(dir, 'data_batch_1.bin', new Uint8Array(3073 + 5));
    await failsWith(dir, /not a whole number of cifar10 records of 3073 bytes/);
    const bad = writeCifar('cifar10', images.subarray(0, 3072), [0]);
    bad[0] = 12;
    put(dir, 'data_batch_1.bin', bad);
    await failsWith(dir, /record 0 has label 12, outside cifar10's 10 classes/);
  });
});

describe('NumPy .npy', () => {
  it('round-trips the header and loads x, y and group (uint8 images and NCHW floats)', async () => {
    const dir = folder('npy');
    const x = Uint8Array.from({ length: 4 * 2 * 2 }, (_, i) => i);
    put(dir, 'x_train.npy', writeNpy('|u1', [4, 2, 2], x));
    put(dir, 'y_train.npy', writeNpy('<i8', [4], BigInt64Array.from([0n, 1n, 1n, 2n])));
    put(dir, 'group_train.npy', writeNpy('<i4', [4], Int32Array.from([7, 7, 3, 3])));
    const d = await describeDataset(dir);
    expect(d).toMatchObject({ format: 'npy', count: 4, numClasses: 3, hasGroups: true, groupNames: ['3', '7'] });
    expect(d.sampleShape).toEqual([2, 2, 1]);
    expect(parseNpy(writeNpy('<f4', [2, 3], new Float32Array(6)), 'a').shape).toEqual([2, 3]);
    const chw = folder('npy-chw');
    // One 3-channel 1x2 sample, channel-planar: r = [1, 2], g = [3, 4], b = [5, 6].
    put(chw, 'x.npy', writeNpy('<f4', [1, 3, 1, 2], Float32Array.from([1, 2, 3, 4, 5, 6])));
    put(chw, 'y.npy', writeNpy('|u1', [1], Uint8Array.from([0])));
    const loaded = await loadDeclaredDataset(resolveDataset(chw));
    expect(Array.from(loaded.splits.train.values!)).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('names the wrong dtype, the wrong shape, a count mismatch and a file that is not .npy', async () => {
    const dir = folder('npy-bad');
    put(dir, 'x.npy', writeNpy('<i4', [2, 3], new Int32Array(6)));
    put(dir, 'y.npy', writeNpy('|u1', [2], new Uint8Array(2)));
    await failsWith(dir, /x\.npy has dtype i4; x must be uint8 pixels or float32 values/);
    put(dir, 'x.npy', writeNpy('<f4', [2, 3], new Float32Array(6)));
    put(dir, 'y.npy', writeNpy('<f4', [2], new Float32Array(2)));
    await failsWith(dir, /y\.npy has dtype f4 and shape \(2\); y must be a 1-D integer array of 2 entries/);
    put(dir, 'y.npy', writeNpy('|u1', [3], new Uint8Array(3)));
    await failsWith(dir, /y\.npy has 3 entries but .*x\.npy holds 2 samples/);
    put(dir, 'y.npy', 'not numpy');
    await failsWith(dir, /y\.npy is not a NumPy \.npy file/);
    const full = writeNpy('|u1', [2], new Uint8Array(2));
    put(dir, 'y.npy', full.subarray(0, full.length - 1));
    await failsWith(dir, /declares shape \(2\) of \|u1 \(2 bytes\) but holds 1 data bytes/);
  });
});

describe('resolving paths', () => {
  it('says what a folder of unknown files lacks and rejects an unknown --format', async () => {
    const dir = folder('unknown');
    put(dir, 'readme.txt', 'hello');
    await failsWith(dir, /does not look like a dataset in a known format; add a dataset\.json/);
    await failsWith(dir, /--format "parquet" is not known/, 'parquet');
    await failsWith(join(root, 'nope'), /does not exist/);
  });
});
