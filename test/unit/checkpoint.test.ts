// The checkpoint file (src-main/engine/checkpoint.ts): written atomically (a temporary file,
// fsync, rename; nothing left beside it, an old checkpoint intact when a write fails), typed
// arrays kept as such, and a missing, damaged, foreign or other-format file told apart.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import {
  CheckpointError,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
  type RunCheckpoint,
} from '../../src-main/engine/checkpoint.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A checkpoint-shaped value with the kinds of data a real one holds. */
function sample(step = 7): RunCheckpoint {
  const series = [{ step: 0, pretrainTestAcc: 0.8, finetuneTestAcc: 0.1, cdRate: 0, rehearsalPrecision: null }];
  return {
    format: 1,
    identity: 'run-abc',
    savedAt: new Date(0).toISOString(),
    config: DEFAULT_RUN_CONFIG,
    backend: 'wasm',
    dataFingerprint: 'f'.repeat(64),
    f0Key: 'k',
    step,
    totalSteps: 40,
    series,
    wallSeconds: 1.5,
    setupSeconds: 0.5,
    engine: {
      kind: 'finetune',
      loop: {
        step,
        series,
        model: {
          weights: [{ name: 'dense_1/kernel', shape: [2, 2], values: Float32Array.of(1, -0, 0.1, NaN) }],
          dropoutCalls: 3,
        },
        optimizer: { frozen: [], head: 'dense_1', groups: [] },
        order: { order: Int32Array.of(2, 0, 1), position: 1 },
        orderRng: Int32Array.of(1, -2, 3, -4),
        strategy: { name: 'mix-cd', nScaled: Float64Array.of(0.5, 1e-300) },
        ledger: {
          counts: Uint32Array.of(0, 4_000_000_000),
          log: Int32Array.of(0, 1),
          categories: Uint8Array.of(2),
          judged: 1,
          rehearsedSinceEval: 1,
          damagedSinceEval: 0,
          totals: { rehearsed: 1, damaged: 0 },
        },
        pendingVerdict: { step: 6, indices: Int32Array.of(5), misclassified: Uint8Array.of(1) },
        compute: { forwardPasses: 1, backwardPasses: 1, extraForwardPasses: 0, probeForwardPasses: 0 },
        seconds: { train: 1, evaluation: 0, sampler: 0, extraInference: 0, observer: 0 },
        virtual: null,
      },
    },
  } as unknown as RunCheckpoint;
}

describe('checkpoint files', () => {
  it('round-trips every kind of value, typed arrays as typed arrays; the folder is created', () => {
    const file = path.join(dir, 'a', 'b', 'cp.bin');
    const cp = sample();
    writeCheckpoint(file, cp);
    expect(readdirSync(path.dirname(file))).toEqual(['cp.bin']);
    const back = readCheckpoint(file)!;
    expect(back).toEqual(cp);
    const loop = back.engine.kind === 'finetune' ? back.engine.loop : null;
    expect(loop!.model.weights[0].values).toBeInstanceOf(Float32Array);
    expect(Object.is(loop!.model.weights[0].values[1], -0)).toBe(true);
    expect(loop!.ledger.counts).toBeInstanceOf(Uint32Array);
    expect(loop!.ledger.counts[1]).toBe(4_000_000_000);
    expect(loop!.strategy.nScaled).toBeInstanceOf(Float64Array);
    // One series, not two copies (shared references stay shared).
    expect(back.series).toBe(loop!.series);
  });

  it('replaces an older checkpoint whole and leaves no temporary file', () => {
    const file = path.join(dir, 'replace', 'cp.bin');
    writeCheckpoint(file, sample(3));
    writeCheckpoint(file, sample(9));
    expect(readdirSync(path.dirname(file))).toEqual(['cp.bin']);
    expect(readCheckpoint(file)!.step).toBe(9);
  });

  it('keeps the old checkpoint when a write fails, and leaves no temporary file', () => {
    const file = path.join(dir, 'fail', 'cp.bin');
    writeCheckpoint(file, sample(3));
    const bad = { ...sample(9), identity: () => 'a function cannot be serialised' } as unknown as RunCheckpoint;
    expect(() => writeCheckpoint(file, bad)).toThrow();
    expect(readdirSync(path.dirname(file))).toEqual(['cp.bin']);
    expect(readCheckpoint(file)!.step).toBe(3);
    // A folder where the file should be: the rename fails, the temporary file is removed.
    const blocked = path.join(dir, 'blocked');
    writeCheckpoint(path.join(blocked, 'cp.bin', 'inner.bin'), sample());
    expect(() => writeCheckpoint(path.join(blocked, 'cp.bin'), sample())).toThrow();
    expect(readdirSync(blocked)).toEqual(['cp.bin']);
  });

  it('reads a missing file as null and removes without complaint', () => {
    const file = path.join(dir, 'none', 'cp.bin');
    expect(readCheckpoint(file)).toBeNull();
    removeCheckpoint(file);
    writeCheckpoint(file, sample());
    removeCheckpoint(file);
    expect(existsSync(file)).toBe(false);
  });

  it('names a truncated or flipped file as damaged, in one sentence saying what to do', () => {
    const file = path.join(dir, 'damaged', 'cp.bin');
    writeCheckpoint(file, sample());
    const whole = readFileSync(file);
    const sentence = (f: string) =>
      new RegExp(
        `^The checkpoint ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(cut short or overwritten\\): ` +
          'delete it and run again without resuming\\.$',
      );
    for (const size of [whole.length - 1, Math.floor(whole.length / 2), 40, 5, 0]) {
      writeFileSync(file, whole);
      truncateSync(file, size);
      expect(() => readCheckpoint(file)).toThrow(CheckpointError);
      expect(() => readCheckpoint(file)).toThrow(sentence(file));
    }
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 10] ^= 0xff;
    writeFileSync(file, flipped);
    expect(() => readCheckpoint(file)).toThrow(sentence(file));
  });

  it('says a foreign file is not a checkpoint, and a file of another format which version reads it', () => {
    const file = path.join(dir, 'foreign.json');
    writeFileSync(file, JSON.stringify({ format: 1 }));
    expect(() => readCheckpoint(file)).toThrow(
      new CheckpointError(
        `${file} is not a mix-cd checkpoint: pass the checkpoint file, or move this file out of the way.`,
      ),
    );
    // A well-formed file of a future format.
    const future = path.join(dir, 'future', 'cp.bin');
    writeCheckpoint(future, { ...sample(), format: 2 } as unknown as RunCheckpoint);
    expect(() => readCheckpoint(future)).toThrow(
      /has format 2, this workbench reads format 1: resume it with the version/,
    );
    // The payload alone (a v8 dump without the header) is foreign too.
    writeFileSync(file, serialize(sample()));
    expect(() => readCheckpoint(file)).toThrow(/is not a mix-cd checkpoint/);
  });
});
