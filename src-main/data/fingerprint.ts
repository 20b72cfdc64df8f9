// Dataset fingerprints: a run records which exact data it saw, so results from different copies
// of "the same" dataset are never compared silently. The hash is over decompressed contents, so a
// gzipped and a raw copy of the same files give the same fingerprint.
import { createHash } from 'node:crypto';

/**
 * Hex SHA-256 over the parts in the given order, each prefixed by its byte length as an 8-byte
 * big-endian integer: the prefix makes boundaries matter, so ["ab","c"] and ["a","bc"] differ.
 */
export function fingerprintBytes(parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  const len = new Uint8Array(8);
  const view = new DataView(len.buffer);
  for (const part of parts) {
    view.setBigUint64(0, BigInt(part.byteLength), false);
    hash.update(len);
    hash.update(part);
  }
  return hash.digest('hex');
}
