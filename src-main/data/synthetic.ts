// Small synthetic grayscale image tasks, so engine tests can train real models in a second or
// two without the Fashion-MNIST files. Each class is a fixed random prototype (a few Gaussian
// blobs and bars drawn from the seed); a sample is its class prototype shifted by up to ~1/14 of
// the image, scaled in brightness and overlaid with Gaussian pixel noise. Prototypes are redrawn
// until they differ from each other and from every prototype's 90-degree rotation, so the rot90
// version of the data is a different task (a model trained on the originals does poorly on it).
import type { ImageDataset } from './dataset.js';
import { mulberry32 } from './mulberry32.js';

export interface SyntheticOptions {
  count: number;
  numClasses: number;
  /** Images are size x size, 1 channel. */
  size: number;
  /** Fixes the prototypes (the task) and, with `stream`, the samples. */
  seed: number;
  /** Std of the per-pixel Gaussian noise as a fraction of full scale; default 0.25
   * (hard enough that samples differ in loss, easy enough for >90% test accuracy in a few epochs). */
  noise?: number;
  /**
   * Which draw of samples: the same seed with another stream gives new samples of the same task
   * (e.g. stream 0 for train, 1 for test). Default 0.
   */
  stream?: number;
}

/** Mixes (seed, salt) into a 32-bit seed so nearby seeds give unrelated streams. */
function mix(seed: number, salt: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul(salt | 0, 0x85ebca6b) ^ 0x27d4eb2f) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

// Per-pixel noise is the hot loop (millions of draws), so normals come from a fixed table of
// 2^16 Box-Muller draws indexed by the sample stream: 4-5x faster than Box-Muller per pixel, and
// a 65536-point normal is indistinguishable from a true one for image noise.
const NORMAL_TABLE_SIZE = 1 << 16;
let normalTable: Float32Array | undefined;

function getNormalTable(): Float32Array {
  if (normalTable) return normalTable;
  const t = new Float32Array(NORMAL_TABLE_SIZE);
  const rand = mulberry32(0x6e6f726d);
  for (let i = 0; i < t.length; i += 2) {
    let u = 0;
    while (u === 0) u = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    t[i] = r * Math.cos(a);
    t[i + 1] = r * Math.sin(a);
  }
  normalTable = t;
  return t;
}

/** One random pattern of blobs and bars with values in [0, 1]. */
function drawPrototype(size: number, rand: () => number): Float32Array {
  const p = new Float32Array(size * size);
  const lo = 0.15 * size;
  const span = 0.7 * size;
  const blobs = 2 + Math.floor(rand() * 2);
  for (let b = 0; b < blobs; b++) {
    const cx = lo + rand() * span;
    const cy = lo + rand() * span;
    const sigma = size * (0.05 + rand() * 0.07);
    const amp = 0.6 + rand() * 0.4;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        const v = amp * Math.exp(-d2 / (2 * sigma * sigma));
        const i = y * size + x;
        if (v > p[i]) p[i] = v;
      }
    }
  }
  const bars = 1 + Math.floor(rand() * 2);
  const half = Math.max(0.6, size / 20);
  for (let b = 0; b < bars; b++) {
    const angle = (Math.floor(rand() * 4) * Math.PI) / 4;
    const len = size * (0.35 + rand() * 0.35);
    const cx = 0.25 * size + rand() * 0.5 * size;
    const cy = 0.25 * size + rand() * 0.5 * size;
    const dx = (Math.cos(angle) * len) / 2;
    const dy = (Math.sin(angle) * len) / 2;
    const x0 = cx - dx;
    const y0 = cy - dy;
    const amp = 0.7 + rand() * 0.3;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        // Distance from the pixel to the segment, with a soft one-pixel edge.
        const t = Math.max(0, Math.min(1, ((x - x0) * 2 * dx + (y - y0) * 2 * dy) / (len * len)));
        const dist = Math.hypot(x - (x0 + 2 * dx * t), y - (y0 + 2 * dy * t));
        const v = amp * Math.max(0, Math.min(1, 1 - (dist - half)));
        const i = y * size + x;
        if (v > p[i]) p[i] = v;
      }
    }
  }
  return p;
}

function rot90ccw(p: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) out[r * n + c] = p[c * n + (n - 1 - r)];
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb || 1);
}

/** Similarity above which two prototypes (or one and a rotation) count as too alike. */
const MAX_SIMILARITY = 0.5;
const MAX_ATTEMPTS = 200;

// Train and test sets of one task share prototypes and the search above costs tens of ms, so
// the last few prototype sets are kept (read-only by convention; callers get copies).
const prototypeCache = new Map<string, Float32Array[]>();
const PROTOTYPE_CACHE_SIZE = 8;

/** The class prototypes of a seed: deterministic, independent of count, noise and stream. */
export function syntheticPrototypes(numClasses: number, size: number, seed: number): Float32Array[] {
  return cachedPrototypes(numClasses, size, seed).map((p) => p.slice());
}

function cachedPrototypes(numClasses: number, size: number, seed: number): Float32Array[] {
  const key = `${numClasses}/${size}/${seed}`;
  let protos = prototypeCache.get(key);
  if (!protos) {
    protos = searchPrototypes(numClasses, size, seed);
    if (prototypeCache.size >= PROTOTYPE_CACHE_SIZE) {
      prototypeCache.delete(prototypeCache.keys().next().value!);
    }
    prototypeCache.set(key, protos);
  }
  return protos;
}

function searchPrototypes(numClasses: number, size: number, seed: number): Float32Array[] {
  const rand = mulberry32(mix(seed, 0x70726f74));
  const protos: Float32Array[] = [];
  const rots: Float32Array[] = [];
  for (let k = 0; k < numClasses; k++) {
    let best: Float32Array | undefined;
    let bestRot: Float32Array | undefined;
    let bestScore = Infinity;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const p = drawPrototype(size, rand);
      const r = rot90ccw(p, size);
      // Worst-case similarity to earlier classes, to their rotations, and of p to its own rotation.
      let score = cosine(p, r);
      for (let j = 0; j < k; j++) {
        score = Math.max(score, cosine(p, protos[j]), cosine(p, rots[j]), cosine(r, protos[j]));
      }
      if (score < bestScore) {
        best = p;
        bestRot = r;
        bestScore = score;
      }
      // Many classes on tiny images may never get below the bar; then keep the best draw.
      if (score < MAX_SIMILARITY) break;
    }
    protos.push(best!);
    rots.push(bestRot!);
  }
  return protos;
}

export function makeSyntheticImages(opts: SyntheticOptions): ImageDataset {
  const { count, numClasses, size, seed } = opts;
  const noise = opts.noise ?? 0.25;
  const stream = opts.stream ?? 0;
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer, got ${count}.`);
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new RangeError(`numClasses must be an integer in 1..256, got ${numClasses}.`);
  }
  if (!Number.isInteger(size) || size < 4 || size > 256)
    throw new RangeError(`size must be an integer in 4..256, got ${size}.`);
  if (!(noise >= 0)) throw new RangeError(`noise must be >= 0, got ${noise}.`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}.`);
  if (!Number.isInteger(stream)) throw new RangeError(`stream must be an integer, got ${stream}.`);

  const protos = cachedPrototypes(numClasses, size, seed);
  const rand = mulberry32(mix(seed, 0x73616d70 + stream * 0x1000193));

  // Balanced labels in a random order, so any prefix is roughly balanced too.
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % numClasses;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = labels[i];
    labels[i] = labels[j];
    labels[j] = t;
  }

  const maxShift = Math.max(1, Math.round(size / 14));
  const px = size * size;
  const images = new Uint8Array(count * px);
  const noiseBuf = new Float32Array(px);
  const normals = getNormalTable();
  for (let s = 0; s < count; s++) {
    const p = protos[labels[s]];
    const sx = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    const sy = Math.floor(rand() * (2 * maxShift + 1)) - maxShift;
    const gain = 0.75 + rand() * 0.5;
    const base = s * px;
    if (noise > 0) for (let i = 0; i < px; i++) noiseBuf[i] = normals[(rand() * NORMAL_TABLE_SIZE) | 0];
    for (let y = 0; y < size; y++) {
      const yy = y - sy;
      for (let x = 0; x < size; x++) {
        const xx = x - sx;
        const v = yy >= 0 && yy < size && xx >= 0 && xx < size ? p[yy * size + xx] : 0;
        const q = Math.round(255 * (gain * v + noise * noiseBuf[y * size + x]));
        images[base + y * size + x] = q < 0 ? 0 : q > 255 ? 255 : q;
      }
    }
  }
  return {
    count,
    height: size,
    width: size,
    channels: 1,
    numClasses,
    images,
    labels,
    classNames: Array.from({ length: numClasses }, (_, k) => `class ${k}`),
  };
}

/** Train and test sets of one synthetic task (same prototypes, independent samples). */
export function makeSyntheticSplit(
  opts: Omit<SyntheticOptions, 'count' | 'stream'> & { trainCount: number; testCount: number },
): { train: ImageDataset; test: ImageDataset } {
  const { trainCount, testCount, ...rest } = opts;
  return {
    train: makeSyntheticImages({ ...rest, count: trainCount, stream: 0 }),
    test: makeSyntheticImages({ ...rest, count: testCount, stream: 1 }),
  };
}
