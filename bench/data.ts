// Loading throughput per dataset format (`npm run bench -- --only data`): each format's files are
// generated here, then loaded in a child process of its own, which reports samples/s and its peak
// memory above what it used before loading, beside the size of the typed arrays it produced.
// Build, then: node dist/bench/data.js (all) or node dist/bench/data.js --one FORMAT DIR
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
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

const SIDE = 28;

function pixels(count: number, size: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(count * size);
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 256) | 0;
  return out;
}

const labelsOf = (count: number) => Uint8Array.from({ length: count }, (_, i) => i % 10);

/** Writes one dataset of each format under `root`; returns format -> (path, samples). */
async function generate(root: string): Promise<{ format: string; dir: string; samples: number }[]> {
  const out: { format: string; dir: string; samples: number }[] = [];
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
    const file = path.join(dir, 'train.csv');
    const stream = createWriteStream(file);
    stream.write(['label', ...Array.from({ length: SIDE * SIDE }, (_, k) => `p${k}`)].join(',') + '\n');
    const px = pixels(n, SIDE * SIDE, 3);
    for (let i = 0; i < n; i++)
      stream.write(`${i % 10},${Array.from(px.subarray(i * 784, (i + 1) * 784)).join(',')}\n`);
    await new Promise<void>((resolve) => stream.end(resolve));
    writeFileSync(
      path.join(dir, 'dataset.json'),
      JSON.stringify({ name: 'bench-csv', format: 'csv', splits: { train: 'train.csv' }, shape: [SIDE, SIDE, 1] }),
    );
    out.push({ format: 'csv (784 pixel columns)', dir, samples: n });
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

export async function benchData(): Promise<string[]> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mixcd-bench-data-'));
  const self = fileURLToPath(import.meta.url);
  const lines = [
    `${'format'.padEnd(26)} ${'samples'.padStart(8)} ${'samples/s'.padStart(10)} ` +
      `${'typed MB'.padStart(9)} ${'peak MB'.padStart(8)}  peak / typed`,
  ];
  try {
    for (const { format, dir } of await generate(root)) {
      const child = spawnSync(process.execPath, [self, '--one', dir], { encoding: 'utf8' });
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
  );
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--one');
  if (at > 0) await loadOne(process.argv[at + 1]);
  else for (const line of await benchData()) console.log(line);
}
