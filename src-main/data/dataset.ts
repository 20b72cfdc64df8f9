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
