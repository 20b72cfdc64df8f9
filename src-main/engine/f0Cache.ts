// f0 and its prior pass, cached on disk by everything that determines them, so every run of a
// study (and every later run) starts from the same f0 and pays for pretraining once.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ModelSpec, RunConfig, ScenarioName } from '../../shared/config.js';
import type { PriorPass } from './priorPass.js';

export interface F0Key {
  /** An imported f0 is keyed by its model file's fingerprint (topology and weights), not its path. */
  model: ModelSpec | { arch: 'file'; fingerprint: string };
  scenario: ScenarioName;
  /** Absent for an imported f0 (not pretrained here). */
  pretrain?: RunConfig['pretrain'];
  dataFingerprint: string;
  /** Backends differ in float rounding, so f0 is per backend. */
  backend: string;
  /** ENGINE_NUMERICS: a change of kernels or training code changes f0 too. */
  engine: number;
}

/**
 * Bump when a change alters the numbers training produces (kernels, initialisation, the step),
 * so cached f0s from older code are not mixed with new runs. 2: wasm BatchMatMul with explicit
 * transposes.
 */
export const ENGINE_NUMERICS = 2;

export interface CachedF0 {
  key: string;
  weights: Float32Array[];
  prior: PriorPass;
  pretrainSeconds: number;
}

interface Manifest {
  format: 1;
  key: F0Key;
  shapes: number[];
  priorCount: number;
  testCount: number;
  pretrainTestAcc: number;
  finetuneTestAcc: number;
  pretrainTrainAcc: number;
  pretrainSeconds: number;
  createdAt: string;
}

/** The key of the f0 a run starts from: everything that determines f0 and its prior pass. */
export function f0KeyFor(
  config: Pick<RunConfig, 'model' | 'scenario' | 'pretrain'>,
  dataFingerprint: string,
  backend: string,
  /** The model file's fingerprint when config.model is an imported file. */
  modelFingerprint?: string,
): F0Key {
  if (config.model.arch === 'file') {
    if (!modelFingerprint) throw new Error('An imported f0 is keyed by its model file fingerprint; none was given.');
    return {
      model: { arch: 'file', fingerprint: modelFingerprint },
      scenario: config.scenario,
      dataFingerprint,
      backend,
      engine: ENGINE_NUMERICS,
    };
  }
  return {
    model: config.model,
    scenario: config.scenario,
    pretrain: config.pretrain,
    dataFingerprint,
    backend,
    engine: ENGINE_NUMERICS,
  };
}

export function f0KeyHash(key: F0Key): string {
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 24);
}

export class F0Cache {
  constructor(readonly dir: string) {}

  private folder(hash: string): string {
    return path.join(this.dir, hash);
  }

  /** The cached f0, or null when absent or unreadable (a damaged entry is recomputed, not trusted). */
  load(key: F0Key): CachedF0 | null {
    const entry = this.readEntry(key);
    if (!entry) return null;
    try {
      const { manifest, folder, hash } = entry;
      const weightBytes = readFileSync(path.join(folder, 'weights.bin'));
      const all = new Float32Array(
        weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength),
      );
      const expected = manifest.shapes.reduce((a, b) => a + b, 0);
      if (all.length !== expected) return null;
      const prior = this.readPrior(folder, manifest);
      if (!prior) return null;
      const weights: Float32Array[] = [];
      let offset = 0;
      for (const size of manifest.shapes) {
        weights.push(all.slice(offset, offset + size));
        offset += size;
      }
      return { key: hash, weights, prior, pretrainSeconds: manifest.pretrainSeconds };
    } catch {
      return null;
    }
  }

  /** Only f0's prior pass (the sample inspector needs no weights), or null like load(). */
  loadPrior(key: F0Key): PriorPass | null {
    const entry = this.readEntry(key);
    if (!entry) return null;
    try {
      return this.readPrior(entry.folder, entry.manifest);
    } catch {
      return null;
    }
  }

  private readEntry(key: F0Key): { hash: string; folder: string; manifest: Manifest } | null {
    const hash = f0KeyHash(key);
    const folder = this.folder(hash);
    if (!existsSync(path.join(folder, 'manifest.json'))) return null;
    try {
      const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as Manifest;
      if (manifest.format !== 1 || JSON.stringify(manifest.key) !== JSON.stringify(key)) return null;
      return { hash, folder, manifest };
    } catch {
      return null;
    }
  }

  private readPrior(folder: string, manifest: Manifest): PriorPass | null {
    const priorBytes = readFileSync(path.join(folder, 'prior.bin'));
    const n = manifest.priorCount;
    if (priorBytes.byteLength !== n * 4 + n + manifest.testCount) return null;
    const copy = new Uint8Array(priorBytes);
    return {
      priorLoss: new Float32Array(copy.buffer.slice(0, n * 4)),
      priorCorrect: copy.slice(n * 4, n * 5),
      testCorrect: copy.slice(n * 5),
      pretrainTestAcc: manifest.pretrainTestAcc,
      finetuneTestAcc: manifest.finetuneTestAcc,
      pretrainTrainAcc: manifest.pretrainTrainAcc,
    };
  }

  save(key: F0Key, weights: Float32Array[], prior: PriorPass, pretrainSeconds: number): string {
    const hash = f0KeyHash(key);
    const folder = this.folder(hash);
    // Write beside, then rename: a crash mid-write never leaves a half entry that looks whole.
    const staging = `${folder}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const total = weights.reduce((a, w) => a + w.length, 0);
    const all = new Float32Array(total);
    let offset = 0;
    for (const w of weights) {
      all.set(w, offset);
      offset += w.length;
    }
    writeFileSync(path.join(staging, 'weights.bin'), new Uint8Array(all.buffer));
    const n = prior.priorLoss.length;
    const priorBytes = new Uint8Array(n * 5 + prior.testCorrect.length);
    priorBytes.set(new Uint8Array(prior.priorLoss.buffer, prior.priorLoss.byteOffset, n * 4), 0);
    priorBytes.set(prior.priorCorrect, n * 4);
    priorBytes.set(prior.testCorrect, n * 5);
    writeFileSync(path.join(staging, 'prior.bin'), priorBytes);
    const manifest: Manifest = {
      format: 1,
      key,
      shapes: weights.map((w) => w.length),
      priorCount: n,
      testCount: prior.testCorrect.length,
      pretrainTestAcc: prior.pretrainTestAcc,
      finetuneTestAcc: prior.finetuneTestAcc,
      pretrainTrainAcc: prior.pretrainTrainAcc,
      pretrainSeconds,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
    rmSync(folder, { recursive: true, force: true });
    renameSync(staging, folder);
    return hash;
  }
}
