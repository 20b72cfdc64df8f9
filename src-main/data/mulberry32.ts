// mulberry32, a tiny well-known 32-bit generator for the data the project makes itself: the
// permute scenario's pixel permutation and the synthetic test images. Frozen on purpose (not the
// sampler's Rng): changing it would change those tasks and make stored results incomparable;
// tests pin its outputs through the permutation and the generated data.
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
