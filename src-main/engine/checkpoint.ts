// A run's checkpoint (docs/checkpoints.md): the finetune loop's whole state at a step boundary
// plus what a resumed run must agree on (the config as run, the backend, the data and f0), in one
// file written atomically. node:v8's serializer keeps typed arrays as typed arrays (weights,
// optimizer slots, RNG states, the rehearsal log) and shared references once.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { RunConfig } from '../../shared/config.js';
import type { EvalPoint } from '../../shared/results.js';
import type { FinetuneState } from './finetune.js';
import type { MultiStageState } from './multiStage.js';

export const CHECKPOINT_FORMAT = 1;

/** The engine's state: one finetune loop, or a multi-stage run around its current stage's loop. */
export type EngineState = { kind: 'finetune'; loop: FinetuneState } | { kind: 'multi-stage'; stages: MultiStageState };

export interface RunCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** The caller's name for the run (e.g. a hash of config, data and engine version); the engine ignores it. */
  identity: string;
  /** When it was taken (ISO 8601). */
  savedAt: string;
  /** The config as run (backend defaults resolved); a resumed run must resolve to the same. */
  config: RunConfig;
  /** The tfjs backend it ran on (BackendInfo.backend). */
  backend: string;
  dataFingerprint: string;
  f0Key: string;
  /** Steps done (on the global step axis for a multi-stage run). */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  /** The eval points so far (global steps for a multi-stage run). */
  series: EvalPoint[];
  /** Wall seconds of the run so far, over every segment (setup included). */
  wallSeconds: number;
  /** Setup seconds so far, over every segment. */
  setupSeconds: number;
  engine: EngineState;
}

/** A checkpoint file that cannot be used: one sentence naming the file and what to do. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** The file starts with this line, then the SHA-256 of the payload, then the payload (v8). */
const MAGIC = Buffer.from('mix-cd checkpoint\n', 'latin1');
const DIGEST = 32;

/**
 * Write `cp` to `file` atomically: a temporary file beside it (file.tmp-PID), fsync, rename, then
 * fsync of the folder; the folder is created. A reader sees the old file or the new one, whole.
 */
export function writeCheckpoint(file: string, cp: RunCheckpoint): void {
  const payload = serialize(cp);
  const digest = createHash('sha256').update(payload).digest();
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  let fd: number | null = openSync(tmp, 'w', 0o600);
  try {
    for (const part of [MAGIC, digest, payload]) {
      let at = 0;
      while (at < part.length) at += writeSync(fd, part, at, part.length - at);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
  syncFolder(dir);
}

/** The rename is durable only once the folder's entry is on disk (not possible on every platform). */
function syncFolder(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open a folder for fsync; the rename itself is still atomic there.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * The checkpoint in `file`, or null when there is none. A damaged file, one that is not a
 * checkpoint, or one of another format throws a CheckpointError.
 */
export function readCheckpoint(file: string): RunCheckpoint | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CheckpointError(
      `The checkpoint ${file} cannot be read (${(error as Error).message}): check its permissions, or delete it.`,
    );
  }
  const damaged = () =>
    new CheckpointError(
      `The checkpoint ${file} is damaged (cut short or overwritten): delete it and run again without resuming.`,
    );
  const head = bytes.subarray(0, MAGIC.length);
  if (!head.equals(MAGIC)) {
    // A file cut short inside the first line is damaged; anything else is not a checkpoint.
    if (bytes.length < MAGIC.length && MAGIC.subarray(0, bytes.length).equals(bytes)) throw damaged();
    throw new CheckpointError(
      `${file} is not a mix-cd checkpoint: pass the checkpoint file, or move this file out of the way.`,
    );
  }
  if (bytes.length < MAGIC.length + DIGEST) throw damaged();
  const digest = bytes.subarray(MAGIC.length, MAGIC.length + DIGEST);
  const payload = bytes.subarray(MAGIC.length + DIGEST);
  if (!createHash('sha256').update(payload).digest().equals(digest)) throw damaged();
  let cp: unknown;
  try {
    cp = deserialize(payload);
  } catch {
    throw damaged();
  }
  const format = (cp as { format?: unknown } | null)?.format;
  if (format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `The checkpoint ${file} has format ${String(format)}, this workbench reads format ${CHECKPOINT_FORMAT}: ` +
        'resume it with the version that wrote it, or delete it and run again.',
    );
  }
  return cp as RunCheckpoint;
}

/** Delete the checkpoint and a temporary file this process left beside it; none is fine. */
export function removeCheckpoint(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.tmp-${process.pid}`, { force: true });
}
