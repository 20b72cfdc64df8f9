// f0 and its prior pass, cached on disk by everything that determines them, so every run of a
// study (and every later run) starts from the same f0 and pays for pretraining once.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ModelSpec, RunConfig, ScenarioName } from '../../shared/config.js';
import type { PriorPass } from './priorPass.js';
import { errorMessage } from '../../shared/errors.js';
import { scenarioKey } from '../data/scenarioFile.js';

export interface F0Key {
  /** An imported f0 is keyed by its model file's fingerprint (topology and weights), not its path. */
  model: ModelSpec | { arch: 'file'; fingerprint: string };
  /** A built-in scenario's name, or `file:<hash>` of a scenario file's pretrain part (scenarioKey). */
  scenario: ScenarioName | string;
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
  /**
   * SHA-256 of weights.bin and prior.bin, and of this manifest without this field (so an edited
   * accuracy is caught too). Absent in entries written before checksums existed.
   */
  sha256?: { 'weights.bin': string; 'prior.bin': string; manifest: string };
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** The manifest's own checksum: over its JSON without the sha256 field, keys in written order. */
function manifestDigest(manifest: Manifest): string {
  const { sha256: _omit, ...rest } = manifest;
  return sha256(JSON.stringify(rest));
}

/** Leftover staging folders ("HASH.tmp-PID") of processes that are gone: a crash mid-save. */
function isStaleStaging(name: string): boolean {
  const match = /\.tmp-(\d+)$/.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/** The key of the f0 a run starts from: everything that determines f0 and its prior pass. */
export function f0KeyFor(
  config: Pick<RunConfig, 'model' | 'scenario' | 'pretrain'> & Partial<Pick<RunConfig, 'scenarioFile'>>,
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
    scenario: config.scenarioFile ? scenarioKey(config.scenarioFile.spec) : config.scenario,
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
  constructor(
    readonly dir: string,
    /** Where a damaged entry is said, in one line, before it is recomputed. */
    private readonly report: (message: string) => void = (message) => process.stderr.write(`mixcd: ${message}\n`),
  ) {
    this.sweepStaging(); // what a crash mid-save (of f0 or the fingerprint memo) left behind
  }

  /** Removes staging folders left by processes that crashed while saving; returns their names. */
  sweepStaging(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const stale = names.filter(isStaleStaging);
    for (const name of stale) rmSync(path.join(this.dir, name), { recursive: true, force: true });
    return stale;
  }

  /** Says why an entry is not used; the caller then recomputes it. */
  private damaged(folder: string, why: string): null {
    this.report(`The cached f0 in ${folder} is damaged (${why}); it will be recomputed.`);
    return null;
  }

  /** Checksums of the entry's files and manifest; null when they match (or the entry predates them). */
  private checksumProblem(folder: string, manifest: Manifest, files: Record<'weights.bin' | 'prior.bin', Uint8Array>) {
    const sums = manifest.sha256;
    if (!sums) return null;
    if (manifestDigest(manifest) !== sums.manifest) return 'manifest.json was changed after it was written';
    for (const name of ['weights.bin', 'prior.bin'] as const) {
      if (sha256(files[name]) !== sums[name]) return `${name} does not match its checksum`;
    }
    return null;
  }

  private folder(hash: string): string {
    return path.join(this.dir, hash);
  }

  /**
   * The cached f0, or null when absent or damaged: sizes, checksums (files and manifest) and finite
   * weights are checked, and a damaged entry is said in one line and recomputed, not trusted.
   */
  load(key: F0Key): CachedF0 | null {
    const entry = this.readEntry(key);
    if (!entry) return null;
    const { manifest, folder, hash } = entry;
    try {
      const weightBytes = readFileSync(path.join(folder, 'weights.bin'));
      const priorBytes = readFileSync(path.join(folder, 'prior.bin'));
      const problem = this.checksumProblem(folder, manifest, { 'weights.bin': weightBytes, 'prior.bin': priorBytes });
      if (problem) return this.damaged(folder, problem);
      const all = new Float32Array(
        weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + weightBytes.byteLength),
      );
      const expected = manifest.shapes.reduce((a, b) => a + b, 0);
      if (all.length !== expected)
        return this.damaged(folder, `weights.bin holds ${all.length} weights, not ${expected}`);
      if (!all.every(Number.isFinite)) return this.damaged(folder, 'weights.bin holds NaN or infinite weights');
      const prior = this.readPrior(folder, manifest, priorBytes);
      if (!prior) return this.damaged(folder, 'prior.bin has the wrong size');
      const weights: Float32Array[] = [];
      let offset = 0;
      for (const size of manifest.shapes) {
        weights.push(all.slice(offset, offset + size));
        offset += size;
      }
      return { key: hash, weights, prior, pretrainSeconds: manifest.pretrainSeconds };
    } catch (error) {
      return this.damaged(folder, errorMessage(error));
    }
  }

  /** Only f0's prior pass (the sample inspector needs no weights), or null like load(). */
  loadPrior(key: F0Key): PriorPass | null {
    const entry = this.readEntry(key);
    if (!entry) return null;
    try {
      const priorBytes = readFileSync(path.join(entry.folder, 'prior.bin'));
      const sums = entry.manifest.sha256;
      if (sums && (manifestDigest(entry.manifest) !== sums.manifest || sha256(priorBytes) !== sums['prior.bin']))
        return this.damaged(entry.folder, 'prior.bin or manifest.json does not match its checksum');
      return this.readPrior(entry.folder, entry.manifest, priorBytes);
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
      if (manifest.format !== 1 || JSON.stringify(manifest.key) !== JSON.stringify(key))
        return this.damaged(folder, 'manifest.json is not the manifest of this f0');
      return { hash, folder, manifest };
    } catch (error) {
      return this.damaged(folder, `manifest.json cannot be read: ${errorMessage(error)}`);
    }
  }

  private readPrior(_folder: string, manifest: Manifest, priorBytes: Uint8Array): PriorPass | null {
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
    this.sweepStaging();
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const total = weights.reduce((a, w) => a + w.length, 0);
    const all = new Float32Array(total);
    let offset = 0;
    for (const w of weights) {
      all.set(w, offset);
      offset += w.length;
    }
    const weightBytes = new Uint8Array(all.buffer);
    writeFileSync(path.join(staging, 'weights.bin'), weightBytes);
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
    manifest.sha256 = { 'weights.bin': sha256(weightBytes), 'prior.bin': sha256(priorBytes), manifest: '' };
    manifest.sha256.manifest = manifestDigest(manifest);
    writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
    rmSync(folder, { recursive: true, force: true });
    renameSync(staging, folder);
    return hash;
  }
}
