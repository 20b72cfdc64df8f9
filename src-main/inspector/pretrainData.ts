// The pretrain set P of a stored run, read again from its data files: labels for classes, pixels
// for thumbnails. The history keeps only what the run produced, so this is refused (with a
// reason) when the files now hold other data than the run's fingerprint says.
//
// Speed: confirming the fingerprint means decompressing and hashing all four files (~55 MB,
// 0.2-0.3 s). The first time, that is done off the event loop (thread pool) and remembered by
// the files' stamps (FingerprintMemo); later opens, in this host or the next, read only the
// train labels (60 kB) and read the pixels in the background for the thumbnails to come.
import path from 'node:path';
import type { SampleShape } from '../../shared/inspect.js';
import type { RunSummary } from '../../shared/results.js';
import { DataError, sampleSize, type ImageDataset } from '../data/dataset.js';
import {
  FASHION_MNIST_CLASSES,
  loadFashionMnistAsync,
  locateFashionMnist,
  parseImages,
  parseLabels,
  type FashionMnistFiles,
  type FashionMnistLocation,
} from '../data/fashionMnist.js';
import { FINGERPRINT_MEMO, FingerprintMemo, sameStamps, stampFiles, type MemoEntry } from '../data/fingerprintMemo.js';
import { readIdxFile, readIdxFileAsync } from '../data/idx.js';
import { loadFileScenario, type FileScenarioData } from '../data/scenarioFile.js';
import { pretrainIndicesOf, pretrainSetOf } from '../data/scenarios.js';
import { errorMessage } from '../../shared/errors.js';

export interface PretrainData {
  /** |P|. */
  count: number;
  labels: Uint8Array;
  numClasses: number;
  classNames: string[];
  /** Auxiliary groups (mix-cd's `group` rule); Fashion-MNIST has none. */
  groups?: Uint16Array;
  /** The groups' names where the data named them (a CSV group column). */
  groupNames?: string[];
  shape: SampleShape;
  /** Bytes per sample in pixels(). */
  sampleBytes: number;
  /** P's bytes, sample-major (read in the background after the labels). */
  pixels(): Promise<Uint8Array>;
}

/** An image when it has two spatial dimensions; a row of features otherwise (e.g. 1 x F). */
export function shapeOf(d: Pick<ImageDataset, 'height' | 'width' | 'channels' | 'values'>): SampleShape {
  if (d.height > 1 && d.width > 1) return { kind: 'image', height: d.height, width: d.width, channels: d.channels };
  const features = d.height * d.width * d.channels;
  return d.values ? { kind: 'row', features, values: 'float32' } : { kind: 'row', features };
}

/**
 * A set's samples as the inspector sends them (sampleBytes each): pixels as they are, a row of
 * float features as little-endian float32, float images (npy) as grey levels spread over the
 * set's own range of values (they have no fixed 0-255 scale).
 */
export function sampleBytesOf(d: ImageDataset): { bytes: Uint8Array; sampleBytes: number } {
  const size = sampleSize(d);
  if (!d.values) return { bytes: d.images, sampleBytes: size };
  if (shapeOf(d).kind === 'row') {
    const le = new Float32Array(d.values);
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
      const view = new DataView(le.buffer);
      d.values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    }
    return { bytes: new Uint8Array(le.buffer), sampleBytes: 4 * size };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of d.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  return { bytes: Uint8Array.from(d.values, (v) => Math.round((v - lo) * scale)), sampleBytes: size };
}

/** Two data sets (~47 MB of pixels each for Fashion-MNIST) cover a pair of runs side by side. */
const MAX_CACHED = 2;
const NUM_CLASSES = FASHION_MNIST_CLASSES.length;

const message = errorMessage;

export interface PretrainDataOptions {
  /** Start reading the pixels as soon as the labels are in (the UI); off for the CLI. Default on. */
  prefetchPixels?: boolean;
}

/** The data files changed under an open run: what was read no longer fits what is on disk. */
export class StaleDataError extends DataError {}

export class PretrainDataCache {
  private readonly entries = new Map<string, Promise<PretrainData | string>>();
  private readonly memo: FingerprintMemo;
  private readonly prefetch: boolean;

  constructor(cacheDir: string, options: PretrainDataOptions = {}) {
    this.memo = new FingerprintMemo(path.join(cacheDir, FINGERPRINT_MEMO));
    this.prefetch = options.prefetchPixels ?? true;
  }

  /** The run's pretrain set, or a one-sentence reason why it cannot be read. */
  async get(run: Pick<RunSummary, 'id' | 'config' | 'dataFingerprint'>): Promise<PretrainData | string> {
    const file = run.config.scenarioFile;
    const key = JSON.stringify([
      run.dataFingerprint,
      run.config.scenario,
      run.config.dataDir ?? null,
      file ? [file.path, file.spec] : null,
    ]);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // most recently used goes last
    } else {
      // Nothing thrown is kept either: it comes back as a reason.
      entry = this.load(run, key).catch((error: unknown) => `the run's data could not be read (${message(error)})`);
      if (this.entries.size >= MAX_CACHED) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, entry);
    const data = await entry;
    // A reason is not kept: the user may fix the data folder and try again.
    if (typeof data === 'string' && this.entries.get(key) === entry) this.entries.delete(key);
    return data;
  }

  private async load(
    run: Pick<RunSummary, 'id' | 'config' | 'dataFingerprint'>,
    key: string,
  ): Promise<PretrainData | string> {
    if (run.config.scenarioFile) return this.loadScenarioFile(run, run.config.scenarioFile);
    let location: FashionMnistLocation;
    try {
      location = locateFashionMnist(run.config.dataDir);
    } catch (error) {
      return `the run's data could not be found (${message(error)})`;
    }
    const { dir, files } = location;
    const all = [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
    const stamps = stampFiles(all);
    const known = stamps ? this.memo.lookup(stamps) : null;
    if (known) {
      if (known.fingerprint !== run.dataFingerprint)
        return `the data in ${dir} is not the data run ${run.id} used (its fingerprint differs)`;
      const fast = this.fromMemo(run, files, known, key);
      if (typeof fast !== 'string') return fast;
      this.memo.forget(files.trainImages);
      // The files changed in a way their stamps did not show: check them in full below.
    }
    let data;
    try {
      data = await loadFashionMnistAsync(run.config.dataDir, location);
    } catch (error) {
      return `the run's data could not be read (${message(error)})`;
    }
    // Remembered only if the files read were stamped alike before and after the read.
    const after = stampFiles(all);
    if (stamps && after && sameStamps(stamps, after)) {
      this.memo.remember({
        stamps,
        fingerprint: data.fingerprint,
        trainImageDims: [data.train.count, data.train.height, data.train.width],
      });
    }
    if (data.fingerprint !== run.dataFingerprint)
      return `the data in ${data.dir} is not the data run ${run.id} used (its fingerprint differs)`;
    const pretrain = pretrainSetOf(run.config.scenario, data.train);
    const pixels = Promise.resolve(pretrain.images);
    return {
      count: pretrain.count,
      labels: pretrain.labels,
      numClasses: pretrain.numClasses,
      classNames: pretrain.classNames ?? [...FASHION_MNIST_CLASSES],
      groups: pretrain.groups,
      shape: shapeOf(pretrain),
      sampleBytes: pretrain.height * pretrain.width * pretrain.channels,
      pixels: () => pixels,
    };
  }

  /**
   * A run of a scenario file: its datasets loaded again as the run loaded them (the same code,
   * paths relative to the scenario file's recorded path, --data-dir for the built-in), checked
   * against the run's fingerprint (over every source), and its pretrain train set with the head's
   * classes, the data's class and group names and its sample shape. No memo: the declared
   * formats are fingerprinted from their decoded content, so a check is a full load anyway.
   */
  private async loadScenarioFile(
    run: Pick<RunSummary, 'id' | 'config' | 'dataFingerprint'>,
    file: NonNullable<RunSummary['config']['scenarioFile']>,
  ): Promise<PretrainData | string> {
    let loaded: FileScenarioData;
    try {
      loaded = await loadFileScenario(file.spec, file.path, run.config.dataDir);
    } catch (error) {
      return `the data of scenario file ${file.path} could not be read (${message(error)})`;
    }
    if (loaded.fingerprint !== run.dataFingerprint) {
      const where = loaded.sources.map((s) => s.origin).join(', ');
      return (
        `the data of scenario file ${file.path} (${where}) is not the data run ${run.id} used ` +
        `(its fingerprint differs: the files changed since the run)`
      );
    }
    const pretrain = loaded.scenario.pretrainTrain;
    const { bytes, sampleBytes } = sampleBytesOf(pretrain);
    const pixels = Promise.resolve(bytes);
    return {
      count: pretrain.count,
      labels: pretrain.labels,
      numClasses: loaded.scenario.numClasses,
      classNames: pretrain.classNames ?? [],
      groups: pretrain.groups,
      groupNames: pretrain.groupNames,
      shape: shapeOf(pretrain),
      sampleBytes,
      pixels: () => pixels,
    };
  }

  /** Labels now (one small file), pixels in the background; a reason if the files disagree. */
  private fromMemo(
    run: Pick<RunSummary, 'config'>,
    files: FashionMnistFiles,
    known: MemoEntry,
    key: string,
  ): PretrainData | string {
    let trainLabels: Uint8Array;
    try {
      trainLabels = parseLabels(readIdxFile(files.trainLabels), files.trainLabels, NUM_CLASSES);
    } catch (error) {
      return message(error);
    }
    const dims = known.trainImageDims;
    const [count, height, width] = dims;
    if (trainLabels.length !== count) return `${files.trainLabels} holds ${trainLabels.length} labels, not ${count}`;
    const indices = pretrainIndicesOf(run.config.scenario, trainLabels, NUM_CLASSES);
    const labels = indices ? Uint8Array.from(indices, (i) => trainLabels[i]) : trainLabels;
    const sampleBytes = height * width;
    const imagesStamp = known.stamps[0];
    let pixels: Promise<Uint8Array> | null = null;
    const readPixels = async (): Promise<Uint8Array> => {
      // The images file must still be the one the memo vouched for, before and after the read.
      const unchanged = () => sameStamps(stampFiles([files.trainImages]) ?? [], [imagesStamp]);
      const before = unchanged();
      const bytes = await readIdxFileAsync(files.trainImages);
      const images = before && unchanged() ? parseImages(bytes, files.trainImages) : null;
      if (!images || images.dims.join('x') !== dims.join('x')) {
        // Forget all of it, so the next open checks the files in full.
        this.entries.delete(key);
        this.memo.forget(files.trainImages);
        throw new StaleDataError(
          `${files.trainImages} changed since this run was opened; open the run again.`,
          files.trainImages,
        );
      }
      if (!indices) return images.data;
      const out = new Uint8Array(indices.length * sampleBytes);
      indices.forEach((i, j) => out.set(images.data.subarray(i * sampleBytes, (i + 1) * sampleBytes), j * sampleBytes));
      return out;
    };
    const data: PretrainData = {
      count: labels.length,
      labels,
      numClasses: NUM_CLASSES,
      classNames: [...FASHION_MNIST_CLASSES],
      shape: shapeOf({ height, width, channels: 1 }),
      sampleBytes,
      pixels: () => {
        // A failed read is not kept, so the next thumbnail request tries again.
        pixels ??= readPixels().catch((error: unknown) => {
          pixels = null;
          throw error;
        });
        return pixels;
      },
    };
    // Thumbnails are what the page asks for next: start reading now, in the thread pool. A
    // failure here is reported to whoever asks for the pixels, not here.
    if (this.prefetch) data.pixels().catch(() => {});
    return data;
  }
}
