// Which data files a fingerprint belongs to, remembered by the files' identity (path, size,
// modification time, inode), the way make and git's index tell a file has not changed. It spares
// the sample inspector from decompressing and hashing 55 MB each time it opens a run just to
// confirm the data is the run's data; any change to a file's stamp means a full check again.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The memo's file name inside the f0 cache folder (trainers write it, the inspector reads it). */
export const FINGERPRINT_MEMO = 'data-fingerprints.json';

export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface MemoEntry {
  stamps: FileStamp[];
  fingerprint: string;
  /** Dims of the train images file (count, rows, cols): what a thumbnail needs before the pixels. */
  trainImageDims: number[];
}

interface MemoFile {
  format: 1;
  entries: MemoEntry[];
}

export const sameStamps = (a: readonly FileStamp[], b: readonly FileStamp[]) =>
  a.length === b.length &&
  a.every((s, i) => s.path === b[i].path && s.size === b[i].size && s.mtimeMs === b[i].mtimeMs && s.ino === b[i].ino);

/** Stamps of the files, or null when one cannot be stat'ed (then nothing is remembered). */
export function stampFiles(files: readonly string[]): FileStamp[] | null {
  try {
    return files.map((f) => {
      const s = statSync(f);
      return { path: path.resolve(f), size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
    });
  } catch {
    return null;
  }
}

/** A few entries suffice: one per data folder in use. */
const MAX_ENTRIES = 16;

export class FingerprintMemo {
  constructor(readonly file: string) {}

  /** The remembered entry for exactly these stamps, or null (unknown, changed, or an unreadable memo). */
  lookup(stamps: readonly FileStamp[]): MemoEntry | null {
    return this.read().find((e) => sameStamps(e.stamps, stamps)) ?? null;
  }

  remember(entry: MemoEntry): void {
    const others = this.read().filter((e) => !(e.stamps[0]?.path === entry.stamps[0]?.path));
    this.write([entry, ...others]);
  }

  /** Drop what is remembered for these files (they turned out to have changed). */
  forget(firstPath: string): void {
    const entries = this.read();
    const kept = entries.filter((e) => e.stamps[0]?.path !== path.resolve(firstPath));
    if (kept.length !== entries.length) this.write(kept);
  }

  private write(entries: MemoEntry[]): void {
    const memo: MemoFile = { format: 1, entries: entries.slice(0, MAX_ENTRIES) };
    // Write beside, then rename: a reader never sees half a file.
    const staging = `${this.file}.tmp-${process.pid}`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(staging, JSON.stringify(memo));
      renameSync(staging, this.file);
    } catch {
      // A memo that cannot be written only costs the full check next time.
      rmSync(staging, { force: true });
    }
  }

  private read(): MemoEntry[] {
    try {
      const memo = JSON.parse(readFileSync(this.file, 'utf8')) as MemoFile;
      return memo.format === 1 && Array.isArray(memo.entries) ? memo.entries.filter(isEntry) : [];
    } catch {
      return []; // missing or damaged: start over
    }
  }
}

const positive = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;

function isEntry(e: unknown): e is MemoEntry {
  const x = e as MemoEntry;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.fingerprint === 'string' &&
    Array.isArray(x.trainImageDims) &&
    x.trainImageDims.length === 3 &&
    x.trainImageDims.every(positive) &&
    Array.isArray(x.stamps) &&
    x.stamps.every(
      (s) =>
        typeof s?.path === 'string' &&
        typeof s.size === 'number' &&
        typeof s.mtimeMs === 'number' &&
        typeof s.ino === 'number',
    )
  );
}
