// Loading throughput per dataset format (`npm run bench -- --only data`): each format's files are
// generated here, then loaded in a child process of its own, which reports samples/s and its peak
// memory above what it used before loading, beside the size of the typed arrays it produced.
// Build, then: node dist/bench/data.js (all), node dist/bench/data.js --one DIR (one dataset folder), or
// --one-reference DIR (a CSV/TSV folder through the previous loader, bench/csvReference.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { loadDeclaredDataset, resolveDataset } from '../src-main/data/declared.js';
import { writeCifar } from '../src-main/data/formats/cifar.js';
import { writeNpy } from '../src-main/data/formats/npy.js';
import { writeIdx } from '../src-main/data/idx.js';
import { mulberry32 } from '../src-main/data/mulberry32.js';
import { loadCsvSplitReference } from './csvReference.js';

const SIDE = 28;

function pixels(count: number, size: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(count * size);
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 256) | 0;
  return out;
}

const labelsOf = (count: number) => Uint8Array.from({ length: count }, (_, i) => i % 10);

interface Generated {
  format: string;
  dir: string;
  samples: number;
  /** Also load it with the previous CSV loader (bench/csvReference.ts), as a reference row. */
  reference?: boolean;
}

/** Writes a table of `rows` lines (after the header) to `file`, waiting when the stream is full. */
async function writeLines(file: string, header: string, rows: number, line: (i: number) => string): Promise<void> {
  const stream = createWriteStream(file);
  stream.write(header + '\n');
  for (let i = 0; i < rows; i++)
    if (!stream.write(line(i) + '\n')) await new Promise<void>((resolve) => stream.once('drain', resolve));
  await new Promise<void>((resolve) => stream.end(resolve));
}

/** Writes one dataset of each format under `root`; returns format -> (path, samples). */
async function generate(root: string): Promise<Generated[]> {
  const out: Generated[] = [];
  {
    const n = 60000;
    const dir = path.join(root, 'idx');
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'train-images-idx3-ubyte.gz'),
      gzipSync(writeIdx([n, SIDE, SIDE], pixels(n, SIDE * SIDE, 1))),
    );
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(writeIdx([n], labelsOf(n))));
    out.push({ format: 'idx (gzip)', dir, samples: n });
  }
  {
    const n = 60000;
    const dir = path.join(root, 'npy');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'x.npy'), writeNpy('|u1', [n, SIDE, SIDE], pixels(n, SIDE * SIDE, 2)));
    writeFileSync(
      path.join(dir, 'y.npy'),
      writeNpy(
        '<i8',
        [n],
        BigInt64Array.from(labelsOf(n), (v) => BigInt(v)),
      ),
    );
    out.push({ format: 'npy (uint8 x, int64 y)', dir, samples: n });
  }
  {
    const n = 50000;
    const dir = path.join(root, 'cifar');
    mkdirSync(dir);
    const per = n / 5;
    for (let b = 1; b <= 5; b++)
      writeFileSync(
        path.join(dir, `data_batch_${b}.bin`),
        writeCifar('cifar10', pixels(per, 3072, 10 + b), labelsOf(per)),
      );
    out.push({ format: 'cifar10 (5 batches)', dir, samples: n });
  }
  {
    const n = 10000;
    const dir = path.join(root, 'csv');
    mkdirSync(dir);
    const px = pixels(n, SIDE * SIDE, 3);
    await writeLines(
      path.join(dir, 'train.csv'),
      ['label', ...Array.from({ length: SIDE * SIDE }, (_, k) => `p${k}`)].join(','),
      n,
      (i) => `${i % 10},${Array.from(px.subarray(i * 784, (i + 1) * 784)).join(',')}`,
    );
    writeFileSync(
      path.join(dir, 'dataset.json'),
      JSON.stringify({ name: 'bench-csv', format: 'csv', splits: { train: 'train.csv' }, shape: [SIDE, SIDE, 1] }),
    );
    out.push({ format: 'csv (784 pixel columns)', dir, samples: n, reference: true });
  }
  {
    // The other path: float features (no shape), text labels and a group column, tab-separated.
    const n = 20000;
    const dir = path.join(root, 'tsv');
    mkdirSync(dir);
    const rand = mulberry32(5);
    const names = ['walk', 'run', 'idle', 'cycle'];
    await writeLines(
      path.join(dir, 'train.tsv'),
      ['label', 'site', ...Array.from({ length: 100 }, (_, k) => `f${k}`)].join('\t'),
      n,
      (i) =>
        `${names[i % 4]}\tsite${i % 7}\t` +
        Array.from({ length: 100 }, () => ((rand() - 0.5) * 20).toFixed(4)).join('\t'),
    );
    writeFileSync(
      path.join(dir, 'dataset.json'),
      JSON.stringify({ name: 'bench-tsv', format: 'tsv', splits: { train: 'train.tsv' }, groupColumn: 'site' }),
    );
    out.push({ format: 'tsv (100 floats, group)', dir, samples: n, reference: true });
  }
  {
    const n = 2000;
    const dir = path.join(root, 'png');
    const px = pixels(n, SIDE * SIDE, 4);
    for (let c = 0; c < 10; c++) mkdirSync(path.join(dir, `class${c}`), { recursive: true });
    for (let i = 0; i < n; i++)
      await sharp(Buffer.from(px.subarray(i * 784, (i + 1) * 784)), { raw: { width: SIDE, height: SIDE, channels: 1 } })
        .png()
        .toFile(path.join(dir, `class${i % 10}`, `${i}.png`));
    out.push({ format: 'png folder (28x28 grey)', dir, samples: n });
  }
  return out;
}

/** In a child: load one dataset and print { seconds, samples, typedBytes, peakBytes } as JSON. */
async function loadOne(dir: string): Promise<void> {
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const loaded = await loadDeclaredDataset(resolveDataset(dir));
  const seconds = (performance.now() - t0) / 1000;
  const d = loaded.splits.train;
  const typedBytes =
    d.images.byteLength + (d.values?.byteLength ?? 0) + d.labels.byteLength + (d.groups?.byteLength ?? 0);
  const peakBytes = process.resourceUsage().maxRSS * 1024 - before;
  process.stdout.write(JSON.stringify({ seconds, samples: d.count, typedBytes, peakBytes }) + '\n');
}

/** The same with the previous CSV loader (the table's split only; labels counted as uint8, as above). */
async function loadOneReference(dir: string): Promise<void> {
  const spec = JSON.parse(readFileSync(path.join(dir, 'dataset.json'), 'utf8')) as {
    format: 'csv' | 'tsv';
    splits: { train: string };
    shape?: [number, number, number];
    groupColumn?: string;
  };
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const raw = await loadCsvSplitReference(path.join(dir, spec.splits.train), {
    delimiter: spec.format === 'csv' ? ',' : '\t',
    labelColumn: 'label',
    groupColumn: spec.groupColumn,
    shape: spec.shape,
  });
  const seconds = (performance.now() - t0) / 1000;
  const typedBytes =
    (raw.images?.byteLength ?? 0) + (raw.values?.byteLength ?? 0) + raw.count + (raw.groups ? raw.count * 2 : 0);
  const peakBytes = process.resourceUsage().maxRSS * 1024 - before;
  process.stdout.write(JSON.stringify({ seconds, samples: raw.count, typedBytes, peakBytes }) + '\n');
}

export async function benchData(): Promise<string[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mixcd-bench-data-'));
  const self = fileURLToPath(import.meta.url);
  const lines = [
    `${'format'.padEnd(26)} ${'samples'.padStart(8)} ${'samples/s'.padStart(10)} ` +
      `${'typed MB'.padStart(9)} ${'peak MB'.padStart(8)}  peak / typed`,
  ];
  try {
    const runs: { format: string; dir: string; mode: string }[] = [];
    for (const { format, dir, reference } of await generate(root)) {
      runs.push({ format, dir, mode: '--one' });
      if (reference) runs.push({ format: '  previous loader', dir, mode: '--one-reference' });
    }
    for (const { format, dir, mode } of runs) {
      const child = spawnSync(process.execPath, [self, mode, dir], { encoding: 'utf8' });
      if (child.status !== 0) {
        lines.push(`${format.padEnd(26)} failed: ${child.stderr.trim().split('\n')[0]}`);
        continue;
      }
      const r = JSON.parse(child.stdout) as { seconds: number; samples: number; typedBytes: number; peakBytes: number };
      const mb = (b: number) => (b / 1e6).toFixed(1);
      lines.push(
        `${format.padEnd(26)} ${String(r.samples).padStart(8)} ${Math.round(r.samples / r.seconds)
          .toLocaleString('en')
          .padStart(10)} ${mb(r.typedBytes).padStart(9)} ${mb(r.peakBytes).padStart(8)}  ` +
          (r.peakBytes / r.typedBytes).toFixed(2),
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  lines.push(
    "peak = the loading process's peak RSS above its RSS before loading (includes file buffers and decoder memory).",
    'previous loader = the CSV/TSV loader before the compact rewrite (bench/csvReference.ts), in the same run.',
  );
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--one');
  const ref = process.argv.indexOf('--one-reference');
  if (at > 0) await loadOne(process.argv[at + 1]);
  else if (ref > 0) await loadOneReference(process.argv[ref + 1]);
  else for (const line of await benchData()) console.log(line);
}
