// Loading a big CSV / TSV must need about its typed arrays, not a multiple of them (issue 12: "a
// 1 GB CSV must not need 10 GB"). Each table is written here, then loaded in a child process of
// its own by the bench's measure (built: dist/bench/data.js --one DIR), which reports the peak RSS
// above the RSS before loading and the typed arrays' size. The previous loader needed 11x.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src-main/data/mulberry32.js';

const BENCH = path.resolve(__dirname, '../../dist/bench/data.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-csv-memory-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What the runtime itself may add while streaming (csv-parse's buffers, V8's young generation). */
const FIXED_MB = 64;
/** Peak above the pre-load RSS, as a multiple of the typed arrays, beyond FIXED_MB. */
const RATIO = 2.5;

interface Measure {
  seconds: number;
  samples: number;
  typedBytes: number;
  peakBytes: number;
}

function dataset(name: string, file: string, text: string, spec: Record<string, unknown>): string {
  const dir = path.join(work, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, file), text);
  writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify({ name, splits: { train: file }, ...spec }));
  return dir;
}

function measure(dir: string): Measure {
  const child = spawnSync(process.execPath, [BENCH, '--one', dir], { encoding: 'utf8', timeout: 120_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as Measure;
}

function expectCompact(m: Measure, rows: number): void {
  const mb = (b: number) => b / 1e6;
  expect(m.samples).toBe(rows);
  // One line for the log: the figures behind the bound.
  console.log(
    `${rows} rows: typed ${mb(m.typedBytes).toFixed(1)} MB, peak ${mb(m.peakBytes).toFixed(1)} MB ` +
      `(${(m.peakBytes / m.typedBytes).toFixed(2)}x), ${Math.round(rows / m.seconds)} rows/s`,
  );
  expect(mb(m.peakBytes)).toBeLessThan(RATIO * mb(m.typedBytes) + FIXED_MB);
}

describe('CSV loading memory', () => {
  it('784 pixel columns (~80 MB of CSV) load into uint8 within 2.5x the typed arrays + 64 MB', () => {
    const rows = 28_000;
    const rand = mulberry32(11);
    const lines = ['label,' + Array.from({ length: 784 }, (_, k) => `p${k}`).join(',')];
    const row = new Array<number>(785);
    for (let i = 0; i < rows; i++) {
      row[0] = i % 10;
      for (let k = 1; k <= 784; k++) row[k] = (rand() * 256) | 0;
      lines.push(row.join(','));
    }
    const dir = dataset('pixels', 'train.csv', lines.join('\n') + '\n', { format: 'csv', shape: [28, 28, 1] });
    lines.length = 0;
    expectCompact(measure(dir), rows);
  });

  // The previous loader passes this one at this size (its float32 path only doubled); it guards
  // the float path against keeping rows or strings, which would need several times the arrays.
  it('float features with text labels and a group column (TSV) load into float32 within 2.5x + 64 MB', () => {
    const rows = 30_000;
    const rand = mulberry32(12);
    const names = ['walk', 'run', 'idle', 'cycle'];
    const lines = [['label', 'site', ...Array.from({ length: 200 }, (_, k) => `f${k}`)].join('\t')];
    for (let i = 0; i < rows; i++)
      lines.push(
        `${names[i % 4]}\tsite${i % 5}\t` +
          Array.from({ length: 200 }, () => ((rand() - 0.5) * 20).toFixed(4)).join('\t'),
      );
    const dir = dataset('floats', 'train.tsv', lines.join('\n') + '\n', { format: 'tsv', groupColumn: 'site' });
    lines.length = 0;
    expectCompact(measure(dir), rows);
  });
});
