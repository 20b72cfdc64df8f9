// Turning sample indices into model inputs. Pixels stay uint8 in memory and are scaled to [0, 1]
// only for the few samples of a batch.
import type { ImageDataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';

/** Batch assembly into reusable buffers: a step allocates nothing proportional to the data. */
export class BatchBuilder {
  private pixels: Float32Array;
  private labels: Int32Array;
  private filled = 0;
  readonly featureSize: number;

  constructor(featureSize: number, capacity: number) {
    this.featureSize = featureSize;
    this.pixels = new Float32Array(featureSize * capacity);
    this.labels = new Int32Array(capacity);
  }

  reset(): this {
    this.filled = 0;
    return this;
  }

  add(data: ImageDataset, indices: ArrayLike<number>): this {
    const size = this.featureSize;
    if (sampleSize(data) !== size)
      throw new Error(`Sample size ${sampleSize(data)} does not match the model input ${size}.`);
    const needed = this.filled + indices.length;
    if (needed > this.labels.length) this.grow(needed);
    const images = data.images;
    const values = data.values;
    for (let j = 0; j < indices.length; j++) {
      const src = indices[j] * size;
      const dst = (this.filled + j) * size;
      if (values) this.pixels.set(values.subarray(src, src + size), dst);
      else for (let p = 0; p < size; p++) this.pixels[dst + p] = images[src + p] / 255;
      this.labels[this.filled + j] = data.labels[indices[j]];
    }
    this.filled = needed;
    return this;
  }

  /** Views over the filled part (valid until the next add/reset). */
  view(): { pixels: Float32Array; labels: Int32Array; count: number } {
    return {
      pixels: this.pixels.subarray(0, this.filled * this.featureSize),
      labels: this.labels.subarray(0, this.filled),
      count: this.filled,
    };
  }

  private grow(capacity: number): void {
    const pixels = new Float32Array(this.featureSize * capacity);
    pixels.set(this.pixels);
    const labels = new Int32Array(capacity);
    labels.set(this.labels);
    this.pixels = pixels;
    this.labels = labels;
  }
}

export interface EpochOrderState {
  order: Int32Array;
  position: number;
}

/** Endless epoch-wise shuffled order over [0, n): every sample once per epoch. */
export class EpochOrder {
  private order: Int32Array;
  private position: number;

  constructor(
    n: number,
    private readonly shuffle: (a: Int32Array) => void,
  ) {
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    this.position = n; // shuffle on first use
  }

  /** The permutation and the position in it (copies), for a checkpoint. */
  snapshot(): EpochOrderState {
    return { order: this.order.slice(), position: this.position };
  }

  restore(state: EpochOrderState): void {
    if (state.order.length !== this.order.length) {
      throw new Error(`The batch order holds ${state.order.length} samples, this run's ${this.order.length}.`);
    }
    this.order.set(state.order);
    this.position = state.position;
  }

  next(count: number): Int32Array {
    const out = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      if (this.position >= this.order.length) {
        this.shuffle(this.order);
        this.position = 0;
      }
      out[j] = this.order[this.position++];
    }
    return out;
  }
}
