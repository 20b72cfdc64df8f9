// Raw sample bytes from inspect.data, made drawable: split per sample, turned into RGBA for a
// canvas, or into a short row of feature values. Pure (atob exists in browsers and Node 16+), so
// the gallery's decoding is unit-tested without a DOM.
import type { SampleData, SampleShape } from './inspect.js';

/** Bytes per sample: height*width*channels for an image, `features` (x 4 for float32) for a row. */
export function bytesPerSample(shape: SampleShape): number {
  if (shape.kind === 'image') return shape.height * shape.width * shape.channels;
  return shape.features * (shape.values === 'float32' ? 4 : 1);
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * One inspect.data answer as index -> that sample's bytes (views into one decoded buffer: a page
 * of thumbnails is decoded once). Throws when the byte count does not match the shape, so a
 * mismatch shows as one sentence rather than as scrambled pictures.
 */
export function splitSamples(data: SampleData): Map<number, Uint8Array> {
  const bytes = decodeBase64(data.data);
  const per = bytesPerSample(data.shape);
  if (bytes.length !== per * data.indices.length) {
    throw new Error(
      `The host sent ${bytes.length} bytes for ${data.indices.length} samples ` +
        `of ${per} bytes each; the thumbnails cannot be drawn.`,
    );
  }
  const out = new Map<number, Uint8Array>();
  data.indices.forEach((index, i) => out.set(index, bytes.subarray(i * per, (i + 1) * per)));
  return out;
}

/**
 * RGBA pixels for a canvas ImageData: one channel as grey, three as RGB, four as RGBA; any
 * other count shows its first channel as grey (still a picture of something, never garbage).
 */
export function toRgba(
  bytes: Uint8Array,
  shape: { height: number; width: number; channels: number },
): Uint8ClampedArray<ArrayBuffer> {
  const n = shape.height * shape.width;
  const c = shape.channels;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const at = i * c;
    const o = i * 4;
    if (c === 3 || c === 4) {
      out[o] = bytes[at];
      out[o + 1] = bytes[at + 1];
      out[o + 2] = bytes[at + 2];
      out[o + 3] = c === 4 ? bytes[at + 3] : 255;
    } else {
      out[o] = out[o + 1] = out[o + 2] = bytes[at];
      out[o + 3] = 255;
    }
  }
  return out;
}

/** Mean byte value: exposed on each thumbnail so a test can tell a real picture from a blank one. */
export function meanByte(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return bytes.length ? sum / bytes.length : 0;
}

/**
 * The first `max` feature values of a tabular row, and how many were left out. A float32 row
 * (little-endian, as the host sends it) shows its values at 3 significant digits.
 */
export function rowPreview(
  bytes: Uint8Array,
  max = 12,
  shape?: SampleShape,
): { values: (number | string)[]; more: number } {
  if (shape?.kind !== 'row' || shape.values !== 'float32')
    return { values: Array.from(bytes.subarray(0, max)), more: Math.max(0, bytes.length - max) };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = Math.floor(bytes.byteLength / 4);
  const values = Array.from({ length: Math.min(max, count) }, (_, i) => formatValue(view.getFloat32(4 * i, true)));
  return { values, more: Math.max(0, count - max) };
}

/** 3 significant digits without trailing zeros: 0.25, -1.3, 1.2e+3; 0 as 0. */
export function formatValue(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}
