// k distinct integers uniform in [0, n) for pools too large for drawDistinct's O(k^2) rejection
// (loss-based scores c*m samples per step, oracle-cd draws a pool of thousands once). Rejection
// against an open-addressing hash set that is reused across calls: O(k) expected, no O(n) state.
import type { Rng } from './rng.js';

export class DistinctPool {
  private table = new Int32Array(0);

  /** Byte size of the reusable hash table. */
  get byteLength(): number {
    return this.table.byteLength;
  }

  /** Writes min(k, n) distinct values into out[0..) in draw order; returns how many. */
  draw(rng: Rng, n: number, k: number, out: Int32Array): number {
    const count = Math.min(k, n);
    if (count <= 0) return 0;
    if (2 * count > n) {
      // Dense: a partial Fisher-Yates over 0..n-1 (n < 2k, so this is O(k) too).
      const all = new Int32Array(n);
      for (let i = 0; i < n; i++) all[i] = i;
      for (let j = 0; j < count; j++) {
        const r = j + rng.int(n - j);
        const v = all[r];
        all[r] = all[j];
        all[j] = v;
        out[j] = v;
      }
      return count;
    }
    let size = 16;
    let bits = 4;
    while (size < 4 * count) {
      size *= 2;
      bits++;
    }
    const shift = 32 - bits; // multiplicative hashing keeps the high bits
    if (this.table.length < size) this.table = new Int32Array(size);
    const table = this.table;
    const mask = size - 1;
    table.fill(-1, 0, size);
    for (let j = 0; j < count;) {
      const v = rng.int(n);
      let h = Math.imul(v, 0x9e3779b1) >>> shift;
      while (table[h] !== -1 && table[h] !== v) h = (h + 1) & mask;
      if (table[h] === v) continue; // repeat: draw again
      table[h] = v;
      out[j++] = v;
    }
    return count;
  }
}
