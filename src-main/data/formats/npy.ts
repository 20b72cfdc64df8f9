// NumPy .npy: the magic "\x93NUMPY", a version, a header length, a Python-dict header
// ({'descr': '<f4', 'fortran_order': False, 'shape': (N, 28, 28), }) padded with spaces, then the raw
// C-order data. This is what `np.save` writes and the usual export from PyTorch code.
import { DataError } from '../dataset.js';

export interface NpyArray {
  /** NumPy's type string without the byte-order mark: u1, i1, i2, u2, i4, u4, i8, u8, f4, f8. */
  dtype: string;
  shape: number[];
  /** A copy of the elements as numbers (integers stay exact below 2^53). */
  data: Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DataError(
      `${file} is not a NumPy .npy file (it does not start with \\x93NUMPY); save the array with numpy.save.`,
      file,
    );
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLenSize = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + headerLenSize;
  if (bytes.length < start + headerLen) {
    throw new DataError(`${file} is truncated inside its .npy header; save the array again.`, file);
  }
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataError(
      `${file} has an unreadable .npy header (${header.trim()}); save the array with numpy.save.`,
      file,
    );
  }
  if (fortran === 'True') {
    throw new DataError(
      `${file} is stored in Fortran order; save it with numpy.save(np.ascontiguousarray(a)) so it is in C order.`,
      file,
    );
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const order = descr[0];
  const dtype = descr.slice(1);
  const sizes: Record<string, number> = { u1: 1, i1: 1, b1: 1, i2: 2, u2: 2, i4: 4, u4: 4, i8: 8, u8: 8, f4: 4, f8: 8 };
  const itemSize = sizes[dtype];
  if (itemSize === undefined || (order === '>' && itemSize > 1)) {
    throw new DataError(
      `${file} has dtype ${descr}, which is not supported; use uint8 or float32 ` +
        `for x and an integer type for y and group (little-endian).`,
      file,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(start + headerLen);
  if (data.length !== count * itemSize) {
    throw new DataError(
      `${file} declares shape (${shape.join(', ')}) of ${descr} (${count * itemSize} ` +
        `bytes) but holds ${data.length} data bytes; save the array again.`,
      file,
    );
  }
  // Copy into an aligned buffer: the data's offset in the file is rarely a multiple of 8.
  const aligned = data.slice().buffer;
  const typed = {
    u1: () => new Uint8Array(aligned),
    b1: () => new Uint8Array(aligned),
    i1: () => new Int8Array(aligned),
    i2: () => new Int16Array(aligned),
    u2: () => new Uint16Array(aligned),
    i4: () => new Int32Array(aligned),
    u4: () => new Uint32Array(aligned),
    f4: () => new Float32Array(aligned),
    f8: () => new Float64Array(aligned),
    i8: () => Int32Array.from(new BigInt64Array(aligned), (v) => clampInt(v)),
    u8: () => Int32Array.from(new BigUint64Array(aligned), (v) => clampInt(v)),
  }[dtype]!;
  return { dtype: dtype === 'b1' ? 'u1' : dtype, shape, data: typed() };
}

/** 64-bit labels fit in 32 bits in practice; anything else becomes -1 and fails the range check. */
function clampInt(v: bigint): number {
  return v >= -2147483648n && v <= 2147483647n ? Number(v) : -1;
}

/** Encodes a C-order .npy (version 1.0), for tests and generated data. */
export function writeNpy(descr: string, shape: number[], data: ArrayBufferView): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
