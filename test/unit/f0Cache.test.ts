// The f0 cache checks every file it loads (issue 11, broken 5 and 9): random bytes, NaNs or zeros
// of the same size in weights.bin, random bytes in prior.bin, or an edited accuracy in
// manifest.json are each said in one line and the entry is recomputed (load gives null).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { F0Cache, f0KeyFor, f0KeyHash } from '../../src-main/engine/f0Cache.js';
import type { PriorPass } from '../../src-main/engine/priorPass.js';

const key = f0KeyFor(DEFAULT_RUN_CONFIG, 'a'.repeat(64), 'wasm');
const weights = [Float32Array.from({ length: 50 }, (_, i) => Math.sin(i)), Float32Array.from([0.5, -0.25])];
const prior: PriorPass = {
  priorLoss: Float32Array.from({ length: 20 }, (_, i) => i / 10),
  priorCorrect: Uint8Array.from({ length: 20 }, (_, i) => i % 2),
  testCorrect: Uint8Array.from({ length: 8 }, (_, i) => (i % 3 ? 1 : 0)),
  pretrainTestAcc: 0.625,
  finetuneTestAcc: 0.1,
  pretrainTrainAcc: 0.5,
};

function savedCache() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-f0cache-'));
  const said: string[] = [];
  const cache = new F0Cache(dir, (m) => said.push(m));
  cache.save(key, weights, prior, 12);
  return { dir, cache, said, folder: path.join(dir, f0KeyHash(key)) };
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return bytes;
}

describe('f0 cache checksums', () => {
  it('loads an intact entry exactly as saved, saying nothing', () => {
    const { cache, said } = savedCache();
    const loaded = cache.load(key)!;
    expect(loaded.weights).toEqual(weights);
    expect(loaded.prior).toEqual(prior);
    expect(cache.loadPrior(key)).toEqual(prior);
    expect(said).toEqual([]);
  });

  const weightsBytes = (fill: (view: Float32Array) => void) => {
    const view = new Float32Array(52);
    fill(view);
    return new Uint8Array(view.buffer);
  };
  const damages: [string, string, (folder: string) => void, RegExp][] = [
    [
      'random bytes in weights.bin',
      'weights.bin',
      (f) => writeFileSync(f, randomBytes(52 * 4)),
      /weights\.bin does not match/,
    ],
    [
      'NaNs in weights.bin',
      'weights.bin',
      (f) =>
        writeFileSync(
          f,
          weightsBytes((v) => v.fill(NaN)),
        ),
      /weights\.bin does not match/,
    ],
    [
      'zeros in weights.bin',
      'weights.bin',
      (f) => writeFileSync(f, new Uint8Array(52 * 4)),
      /weights\.bin does not match/,
    ],
    [
      'random bytes in prior.bin',
      'prior.bin',
      (f) => writeFileSync(f, randomBytes(20 * 5 + 8)),
      /prior\.bin does not match/,
    ],
    [
      'an edited accuracy in manifest.json',
      'manifest.json',
      (f) => writeFileSync(f, readFileSync(f, 'utf8').replace('"pretrainTestAcc": 0.625', '"pretrainTestAcc": 0.846')),
      /manifest\.json was changed/,
    ],
  ];
  for (const [what, file, damage, reason] of damages) {
    it(`recomputes after ${what}, said in one line`, () => {
      const { cache, said, folder } = savedCache();
      const target = path.join(folder, file);
      const size = readFileSync(target).byteLength;
      damage(target);
      if (file !== 'manifest.json') expect(readFileSync(target).byteLength).toBe(size);
      expect(cache.load(key)).toBeNull();
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(reason);
      expect(said[0]).toContain(folder);
      expect(said[0]).toMatch(/it will be recomputed\.$/);
      expect(said[0]).not.toContain('\n');
    });
  }

  it('refuses NaN weights even in an entry written before checksums', () => {
    const { cache, said, folder } = savedCache();
    const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
    delete manifest.sha256;
    writeFileSync(path.join(folder, 'manifest.json'), JSON.stringify(manifest));
    expect(cache.load(key)).not.toBeNull();
    writeFileSync(
      path.join(folder, 'weights.bin'),
      weightsBytes((v) => v.fill(NaN)),
    );
    expect(cache.load(key)).toBeNull();
    expect(said[0]).toMatch(/NaN or infinite weights/);
  });
});

describe('f0 cache staging leftovers', () => {
  it('removes *.tmp-PID left by a process that is gone, and keeps a live one', () => {
    const { dir } = savedCache();
    const dead = `${f0KeyHash(key)}.tmp-999999999`;
    const live = `${f0KeyHash(key)}.tmp-${process.ppid}`;
    mkdirSync(path.join(dir, dead));
    writeFileSync(path.join(dir, 'data-fingerprints.json.tmp-999999998'), '{}');
    mkdirSync(path.join(dir, live));
    new F0Cache(dir, () => {});
    expect(existsSync(path.join(dir, dead))).toBe(false);
    expect(existsSync(path.join(dir, 'data-fingerprints.json.tmp-999999998'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([f0KeyHash(key), live].sort());
  });
});
