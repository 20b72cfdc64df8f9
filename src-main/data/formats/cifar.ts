// CIFAR-10 / CIFAR-100 binary version (the standard download's *.bin files): fixed-size records of
// label byte(s) then 3 x 32 x 32 pixels, channel-planar (all red, all green, all blue). The engine
// stores samples channel-last (NHWC), so each record is interleaved on the way in.
import { DataError } from '../dataset.js';

export const CIFAR_SIDE = 32;
const PIXELS = CIFAR_SIDE * CIFAR_SIDE;

/** The class names the CIFAR-10 download ships in batches.meta.txt, used when that file is absent. */
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export type CifarKind = 'cifar10' | 'cifar100';

/** Bytes of one record: CIFAR-100 carries a coarse and a fine label; we use the fine one. */
export function cifarRecordSize(kind: CifarKind): number {
  return (kind === 'cifar10' ? 1 : 2) + 3 * PIXELS;
}

export function cifarNumClasses(kind: CifarKind): number {
  return kind === 'cifar10' ? 10 : 100;
}

/** Appends one .bin file's records to `images` / `labels` at `offset` samples; returns the count. */
export function parseCifar(
  bytes: Uint8Array,
  file: string,
  kind: CifarKind,
): { images: Uint8Array; labels: Uint8Array } {
  const record = cifarRecordSize(kind);
  if (bytes.length === 0 || bytes.length % record !== 0) {
    const other = kind === 'cifar10' ? 'cifar100' : 'cifar10';
    throw new DataError(
      `${file} has ${bytes.length} bytes, not a whole number of ${kind} records ` +
        `of ${record} bytes; check that it is a ${kind} binary file (or pass --format ` +
        `${other}).`,
      file,
    );
  }
  const count = bytes.length / record;
  const labelOffset = kind === 'cifar10' ? 0 : 1;
  const numClasses = cifarNumClasses(kind);
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const base = i * record;
    const label = bytes[base + labelOffset];
    if (label >= numClasses) {
      throw new DataError(
        `${file} record ${i} has label ${label}, outside ${kind}'s ${numClasses} ` +
          `classes; check that it is a ${kind} binary file.`,
        file,
      );
    }
    labels[i] = label;
    const px = base + record - 3 * PIXELS;
    const out = i * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      images[out + 3 * p] = bytes[px + p];
      images[out + 3 * p + 1] = bytes[px + PIXELS + p];
      images[out + 3 * p + 2] = bytes[px + 2 * PIXELS + p];
    }
  }
  return { images, labels };
}

/** Encodes CIFAR records from NHWC images, for tests and generated data. */
export function writeCifar(kind: CifarKind, images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const record = cifarRecordSize(kind);
  const out = new Uint8Array(labels.length * record);
  for (let i = 0; i < labels.length; i++) {
    const base = i * record;
    if (kind === 'cifar100') out[base] = 0;
    out[base + (kind === 'cifar10' ? 0 : 1)] = labels[i];
    const px = base + record - 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++)
      for (let c = 0; c < 3; c++) out[px + c * PIXELS + p] = images[i * 3 * PIXELS + 3 * p + c];
  }
  return out;
}
