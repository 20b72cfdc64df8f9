// The pretrain set of a stored run, read again from its data files: labels for classes, pixels
// for thumbnails. The history keeps only what the run produced, so this is refused (with a note)
// when the files now hold other data than the run's fingerprint says.
import type { SampleShape } from '../../shared/inspect.js';
import type { RunSummary } from '../../shared/results.js';
import type { ImageDataset } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashionMnist.js';
import { pretrainSetOf } from '../data/scenarios.js';

export interface PretrainData {
  dataset: ImageDataset;
  shape: SampleShape;
  /** Bytes per sample in dataset.images. */
  sampleBytes: number;
}

/** An image when it has two spatial dimensions; a row of features otherwise (e.g. 1 x F). */
export function shapeOf(d: Pick<ImageDataset, 'height' | 'width' | 'channels'>): SampleShape {
  if (d.height > 1 && d.width > 1) return { kind: 'image', height: d.height, width: d.width, channels: d.channels };
  return { kind: 'row', features: d.height * d.width * d.channels };
}

/** ~47 MB each for Fashion-MNIST; two cover the pair of runs one looks at side by side. */
const MAX_CACHED = 2;

export class PretrainDataCache {
  private readonly entries = new Map<string, PretrainData>();

  /** The run's pretrain set, or a one-sentence reason why it cannot be read. */
  get(run: Pick<RunSummary, 'id' | 'config' | 'dataFingerprint'>): PretrainData | string {
    const key = JSON.stringify([run.dataFingerprint, run.config.scenario, run.config.dataDir ?? null]);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // most recently used goes last
      this.entries.set(key, hit);
      return hit;
    }
    let data;
    try {
      data = loadFashionMnist(run.config.dataDir);
    } catch (error) {
      return `the run's data could not be read (${error instanceof Error ? error.message : String(error)})`;
    }
    if (data.fingerprint !== run.dataFingerprint) {
      return `the data in ${data.dir} is not the data run ${run.id} used (its fingerprint differs)`;
    }
    const dataset = pretrainSetOf(run.config.scenario, data.train);
    const entry: PretrainData = { dataset, shape: shapeOf(dataset), sampleBytes: dataset.height * dataset.width * dataset.channels };
    if (this.entries.size >= MAX_CACHED) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
    return entry;
  }
}
