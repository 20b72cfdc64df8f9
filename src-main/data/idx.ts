// The MNIST IDX format: magic 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 dims, then
// the elements. Only type 0x08 (unsigned byte) is supported, which is all that MNIST-style image
// and label files use. Every failure is a DataError whose message is one sentence naming the file,
// the problem and what to do, because these messages reach users through the CLI and the UI.
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { DataError } from './dataset.js';
import { errorMessage } from '../../shared/errors.js';

const IDX_UBYTE = 0x08;

/** Names of the IDX element types, so an unsupported-type error says what the file holds. */
const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export interface IdxArray {
  dims: number[];
  /** The elements, a view into the bytes given to parseIdx (no copy). */
  data: Uint8Array;
}

function hex2(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

/** Parses decompressed IDX bytes; `file` is only used to name the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length === 0) {
    throw new DataError(`${file} is empty; re-download or re-extract it.`, file);
  }
  if (bytes.length < 4) {
    throw new DataError(
      `${file} is truncated: it has ${bytes.length} bytes, fewer than the 4-byte ` +
        `IDX magic number; re-download or re-extract it.`,
      file,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(
      `${file} has a bad magic number (starts with ${hex2(bytes[0])} ${hex2(bytes[1])}, ` +
        `an IDX file starts with 0x00 0x00); check that the path points at an MNIST-style ` +
        `IDX file such as train-images-idx3-ubyte(.gz).`,
      file,
    );
  }
  const type = bytes[2];
  if (type !== IDX_UBYTE) {
    const name = IDX_TYPE_NAMES[type] ?? 'unknown';
    throw new DataError(
      `${file} has unsupported IDX element type ${hex2(type)} (${name}); only ` +
        `0x08 (unsigned byte) is supported, so convert the file to unsigned-byte ` +
        `IDX.`,
      file,
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) {
    throw new DataError(
      `${file} declares 0 dimensions in its IDX header, so it holds no array; ` +
        `check that it is an MNIST-style IDX file.`,
      file,
    );
  }
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new DataError(
      `${file} is truncated: its IDX header declares ${ndims} dimensions (${headerLen} ` +
        `header bytes) but the file has only ${bytes.length} bytes; re-download ` +
        `or re-extract it.`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  // Doubles hold the product exactly up to 2^53, far beyond any file that fits in memory.
  let expected = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    expected *= d;
  }
  const found = bytes.length - headerLen;
  if (found < expected) {
    throw new DataError(
      `${file} is truncated: its IDX header (${dims.join('x')} unsigned bytes) ` +
        `expects ${expected} data bytes but found ${found}; re-download or re-extract ` +
        `it.`,
      file,
    );
  }
  if (found > expected) {
    throw new DataError(
      `${file} has ${found - expected} trailing bytes after the ${expected} data ` +
        `bytes its IDX header (${dims.join('x')}) describes; the file is corrupt ` +
        `or concatenated, so re-download it.`,
      file,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/**
 * Reads a file and returns its decompressed bytes: gunzipped when it starts with the gzip magic
 * 1f 8b (whatever its name), else as is, so `.gz` and raw copies of the same data are equivalent.
 */
export function readIdxFile(file: string): Uint8Array {
  let raw: Buffer;
  try {
    // stat first: readFileSync on a directory gives EISDIR on Linux but not everywhere.
    if (statSync(file).isDirectory()) {
      throw new DataError(
        `${file} is a directory, not an IDX file; pass the path of a file inside ` +
          `it such as train-images-idx3-ubyte.gz.`,
        file,
      );
    }
    raw = readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fsError(e, file);
  }
  if (isGzip(raw)) {
    try {
      return asPlainBytes(gunzipSync(raw));
    } catch (e) {
      throw corruptGzip(e, file);
    }
  }
  return asPlainBytes(raw);
}

/**
 * readIdxFile without blocking the event loop: the read and the gunzip run in libuv's thread
 * pool (the host keeps answering while a 26 MB archive decompresses). Same bytes, same errors.
 */
export async function readIdxFileAsync(file: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    if ((await stat(file)).isDirectory())
      throw fsError(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), file);
    raw = await readFile(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw fsError(e, file);
  }
  if (isGzip(raw)) {
    try {
      // 1 MB output chunks: with zlib's default 16 kB the thread-pool round trips make a 47 MB
      // archive decompress about 2x slower than gunzipSync; with 1 MB it is as fast or faster.
      return asPlainBytes(await gunzipAsync(raw, { chunkSize: 1 << 20 }));
    } catch (e) {
      throw corruptGzip(e, file);
    }
  }
  return asPlainBytes(raw);
}

const gunzipAsync = promisify(gunzip);

const isGzip = (raw: Buffer) => raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;

function corruptGzip(e: unknown, file: string): DataError {
  const why = errorMessage(e);
  return new DataError(
    `${file} is a corrupt gzip file (${why}); re-download it, or decompress a good copy and use the raw IDX file.`,
    file,
  );
}

/** A Uint8Array over the same memory: callers get a plain typed array, not a Buffer. */
function asPlainBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function fsError(e: unknown, file: string): DataError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new DataError(
        `${file} does not exist; check the path or pass --data-dir DIR pointing at the directory with the IDX files.`,
        file,
      );
    case 'ENOTDIR':
      return new DataError(
        `${file} does not exist because part of its path is a file, not a directory; check the path.`,
        file,
      );
    case 'EISDIR':
      return new DataError(
        `${file} is a directory, not an IDX file; pass the path of a file inside ` +
          `it such as train-images-idx3-ubyte.gz.`,
        file,
      );
    case 'EACCES':
    case 'EPERM':
      return new DataError(
        `${file} cannot be read (permission denied); fix its permissions or copy it somewhere readable.`,
        file,
      );
    default: {
      const why = errorMessage(e);
      return new DataError(`${file} could not be read (${why}); check the path and that the file is readable.`, file);
    }
  }
}

/** Encodes an unsigned-byte IDX array (for tests and generated data). */
export function writeIdx(dims: number[], data: Uint8Array): Uint8Array {
  if (dims.length === 0 || dims.length > 255) {
    throw new RangeError(`writeIdx needs 1 to 255 dimensions, got ${dims.length}.`);
  }
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new RangeError(`writeIdx: dimension ${d} is not a uint32.`);
    }
    n *= d;
  }
  if (n !== data.length) {
    throw new RangeError(`writeIdx: dims ${dims.join('x')} need ${n} bytes, data has ${data.length}.`);
  }
  const headerLen = 4 + 4 * dims.length;
  const out = new Uint8Array(headerLen + n);
  const view = new DataView(out.buffer);
  out[2] = IDX_UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, headerLen);
  return out;
}
