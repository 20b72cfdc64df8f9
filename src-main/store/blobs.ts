// Numeric arrays as compact little-endian BLOBs (4 bytes a value for Float32/Int32/Uint32, 1 for
// Uint8): a 100-bin trace is ~2 KB instead of ~10 KB of JSON, and decodes without parsing.
// Little-endian is fixed in the file format so a database copied between machines reads the same.
import { HistoryError } from './errors.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Kind = 'f32' | 'i32' | 'u32';

function put(view: DataView, kind: Kind, offset: number, value: number): void {
  if (kind === 'f32') view.setFloat32(offset, value, true);
  else if (kind === 'i32') view.setInt32(offset, value, true);
  else view.setUint32(offset, value, true);
}

/** A typed array's bytes as a Buffer; zero-copy on little-endian hosts (all common ones). */
export function typedBlob(values: Float32Array | Int32Array | Uint32Array | Uint8Array): Buffer {
  if (HOST_LE || values.BYTES_PER_ELEMENT === 1)
    return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const kind: Kind = values instanceof Float32Array ? 'f32' : values instanceof Int32Array ? 'i32' : 'u32';
  const out = Buffer.allocUnsafe(values.length * 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < values.length; i++) put(view, kind, i * 4, values[i]);
  return out;
}

/** Float32 BLOB from plain numbers; null is stored as NaN (the one "missing" a float can carry). */
export function f32Blob(values: ArrayLike<number | null>): Buffer {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null ? NaN : v;
  }
  return typedBlob(out);
}

/**
 * Int32 BLOB from plain numbers. Rejects non-integers instead of letting Int32Array truncate
 * them, since a silently rounded count would be a wrong number in the history.
 */
export function i32Blob(values: ArrayLike<number>, what: string): Buffer {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new HistoryError(`${what}[${i}] is ${v}, which is not a 32-bit integer.`, 'invalid-input');
    }
    out[i] = v;
  }
  return typedBlob(out);
}

function bytesOf(blob: Uint8Array, width: number, what: string): Uint8Array {
  if (blob.byteLength % width !== 0) {
    throw new HistoryError(
      `Stored ${what} has ${blob.byteLength} bytes, not a multiple of ${width}: the history file is damaged.`,
      'not-a-database',
    );
  }
  return blob;
}

// Decoders copy: SQLite's buffers need not be 4-byte aligned, which typed-array views require.
function decode<T extends Float32Array | Int32Array | Uint32Array>(
  blob: Uint8Array,
  make: (n: number) => T,
  kind: Kind,
  what: string,
): T {
  const bytes = bytesOf(blob, 4, what);
  const out = make(bytes.byteLength / 4);
  if (HOST_LE) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    out[i] =
      kind === 'f32'
        ? view.getFloat32(i * 4, true)
        : kind === 'i32'
          ? view.getInt32(i * 4, true)
          : view.getUint32(i * 4, true);
  }
  return out;
}

export const readF32 = (blob: Uint8Array, what: string): Float32Array =>
  decode(blob, (n) => new Float32Array(n), 'f32', what);
export const readI32 = (blob: Uint8Array, what: string): Int32Array =>
  decode(blob, (n) => new Int32Array(n), 'i32', what);
export const readU32 = (blob: Uint8Array, what: string): Uint32Array =>
  decode(blob, (n) => new Uint32Array(n), 'u32', what);
export const readU8 = (blob: Uint8Array): Uint8Array => Uint8Array.from(blob);
