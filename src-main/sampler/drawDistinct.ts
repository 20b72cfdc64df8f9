// m distinct integers uniform in [0, n). Rejection against the few already drawn: O(m^2) with
// tiny m and no O(n) state, which keeps a step independent of the pretrain set's size.
import type { Rng } from './rng.js';

export function drawDistinct(rng: Rng, n: number, m: number): Int32Array {
  const k = Math.min(m, n);
  const out = new Int32Array(k);
  for (let j = 0; j < k; j++) {
    let candidate: number;
    do candidate = rng.int(n);
    while (contains(out, j, candidate));
    out[j] = candidate;
  }
  return out;
}

export function contains(a: Int32Array, length: number, value: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] === value) return true;
  return false;
}
