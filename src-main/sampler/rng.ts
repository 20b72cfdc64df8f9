// A small seeded generator (xoshiro128**, seeded through splitmix32). It lives in the sampler's
// hot path, so it is a plain class over four 32-bit words instead of a library with per-call
// allocation; the same seed gives the same stream on every platform.

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  // The four state words live in an Int32Array: as object fields, values beyond V8's 31-bit small
  // integers changed the fields' representation mid-run (deoptimisations, boxed numbers), which
  // made the sampler's step time vary 2x with what had run before. Same stream as before.
  private readonly s = new Int32Array(4);

  /** `stream` separates independent uses of one seed (e.g. batch order vs rehearsal draws). */
  constructor(seed: number, stream = 0) {
    const next = splitmix32((seed * 0x632be5ab) ^ (stream * 0x85157af5) ^ 0x5bd1e995);
    const s = this.s;
    s[0] = next();
    s[1] = next();
    s[2] = next();
    s[3] = next();
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  }

  /** The generator's state (a copy), for a checkpoint: restore() continues the same stream exactly. */
  snapshot(): Int32Array {
    return this.s.slice();
  }

  restore(state: Int32Array): void {
    if (state.length !== 4) throw new Error(`An Rng state has 4 words, got ${state.length}.`);
    this.s.set(state);
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0];
    const s1 = s[1];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const s2 = s[2] ^ s0;
    const s3 = s[3] ^ s1;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ (s1 << 9);
    s[3] = rotl(s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), n < 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
