// Compact in-memory datasets: pixels stay uint8 (1 byte a pixel) until a batch is built.

export interface ImageDataset {
  count: number;
  height: number;
  width: number;
  /** 1 for grayscale. */
  channels: number;
  numClasses: number;
  /** count * height * width * channels bytes, sample-major, row-major (NHWC). */
  images: Uint8Array;
  /** One class label per sample, 0 <= label < numClasses. */
  labels: Uint8Array;
  /** Optional auxiliary group per sample (source, domain, ...), for mix-cd's `group` rule. */
  groups?: Uint16Array;
  classNames?: string[];
  /** Names of the group ids, when the data named them (a CSV group column, a scenario's sources). */
  groupNames?: string[];
  /**
   * Non-pixel features (CSV or npy float columns), count * height * width * channels values used as
   * they are; when present `images` is empty and the model reads these instead of pixels / 255.
   */
  values?: Float32Array;
}

export function sampleSize(d: Pick<ImageDataset, 'height' | 'width' | 'channels'>): number {
  return d.height * d.width * d.channels;
}

/** Errors about input data: the message names the file (or source) and what is wrong. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}
