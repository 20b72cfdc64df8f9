// Forgetting scenarios: a pretrain task and a finetune task built from one dataset's official
// train/test splits. The splits are fixed and never depend on a run seed, so every run of a
// scenario sees exactly the same four datasets and runs differ only in model/strategy seeds.
//
//   rot90    pretrain = official train / test as is; finetune = the same images rotated 90 degrees
//            counter-clockwise (same labels). Output pixel (r, c) = input pixel (c, n-1-r).
//   permute  pretrain = official train / test as is; finetune = the same images with one fixed
//            pixel permutation applied (same labels). The permutation is a Fisher-Yates shuffle of
//            the height*width positions driven by mulberry32 seeded with PERMUTE_SEED = 20240213;
//            channels of a pixel move together. It is a constant so that stored results stay
//            comparable across runs and versions.
//   split    pretrain = samples of classes 0..C-3, finetune = samples of the last two classes
//            (for Fashion-MNIST's C = 10: classes 0-7, then 8-9 = Bag, Ankle boot). One C-way head:
//            numClasses stays C and labels are unchanged.
//
// Transforms build new Uint8Arrays and never mutate their inputs; pretrain sets may share the
// input datasets by reference.
import type { ScenarioName } from '../../shared/config.js';
import { DataError, sampleSize, type ImageDataset } from './dataset.js';
import { mulberry32 } from './mulberry32.js';

export interface Scenario {
  /** A built-in scenario's name, or a scenario file's `name`. */
  name: ScenarioName | string;
  description: string;
  numClasses: number;
  pretrainTrain: ImageDataset;
  pretrainTest: ImageDataset;
  finetuneTrain: ImageDataset;
  finetuneTest: ImageDataset;
  /** Classes present in the finetune task (all classes for rot90 / permute). */
  finetuneClasses: number[];
  /** A scenario file's stages in order (the first is finetuneTrain / finetuneTest); absent for built-ins. */
  stages?: { name: string; train: ImageDataset; test: ImageDataset }[];
}

export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  rot90: 'pretrain on the images as they are, finetune on the same images rotated 90 degrees counter-clockwise',
  permute:
    'pretrain on the images as they are, finetune on the images with one fixed pixel permutation (seed 20240213)',
  split:
    'pretrain on classes 0-7, finetune on classes 8-9 (generally: all but the ' +
    'last two, then the last two), one shared head',
};

/** Seed of the permute scenario's pixel permutation; changing it changes the task. */
export const PERMUTE_SEED = 20240213;

/**
 * The fixed permutation of `numPixels` positions: output position i takes input position perm[i].
 * The same on every call for the same size.
 */
export function fixedPixelPermutation(numPixels: number, seed = PERMUTE_SEED): Uint32Array {
  const perm = new Uint32Array(numPixels);
  for (let i = 0; i < numPixels; i++) perm[i] = i;
  const rand = mulberry32(seed);
  for (let i = numPixels - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/**
 * Applies a per-sample gather: dest byte k of every sample = source byte src[k]. One precomputed
 * index map for all samples keeps this a tight loop (60k 28x28 images in a few tens of ms).
 */
function gather(d: ImageDataset, src: Uint32Array): ImageDataset {
  const size = sampleSize(d);
  const out = new Uint8Array(d.count * size);
  const inp = d.images;
  for (let s = 0, base = 0; s < d.count; s++, base += size) {
    for (let k = 0; k < size; k++) out[base + k] = inp[base + src[k]];
  }
  return {
    ...d,
    images: out,
    labels: d.labels.slice(),
    groups: d.groups?.slice(),
    classNames: d.classNames?.slice(),
  };
}

/** Rotates every image 90 degrees counter-clockwise (square images, any channel count). */
export function rotate90(d: ImageDataset): ImageDataset {
  if (d.height !== d.width) {
    throw new DataError(
      `The rot90 scenario needs square images but these are ${d.height}x${d.width}; ` +
        `use the permute or split scenario for this dataset.`,
    );
  }
  const n = d.width;
  const ch = d.channels;
  const src = new Uint32Array(n * n * ch);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      // Counter-clockwise: the top row becomes the left column, read bottom to top.
      const from = (c * n + (n - 1 - r)) * ch;
      const to = (r * n + c) * ch;
      for (let k = 0; k < ch; k++) src[to + k] = from + k;
    }
  }
  return gather(d, src);
}

/** Applies the fixed PERMUTE_SEED pixel permutation to every image. */
export function permutePixels(d: ImageDataset): ImageDataset {
  const pixels = d.height * d.width;
  const ch = d.channels;
  const perm = fixedPixelPermutation(pixels);
  const src = new Uint32Array(pixels * ch);
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < ch; k++) src[p * ch + k] = perm[p] * ch + k;
  }
  return gather(d, src);
}

/** The samples whose label is in `classes`, copied, in their original order. */
export function selectClasses(d: ImageDataset, classes: readonly number[]): ImageDataset {
  const keep = new Uint8Array(256);
  for (const c of classes) keep[c] = 1;
  let n = 0;
  for (let i = 0; i < d.count; i++) n += keep[d.labels[i]];
  const size = sampleSize(d);
  const images = new Uint8Array(n * size);
  const labels = new Uint8Array(n);
  const groups = d.groups ? new Uint16Array(n) : undefined;
  for (let i = 0, j = 0; i < d.count; i++) {
    if (!keep[d.labels[i]]) continue;
    images.set(d.images.subarray(i * size, (i + 1) * size), j * size);
    labels[j] = d.labels[i];
    if (groups) groups[j] = d.groups![i];
    j++;
  }
  return { ...d, count: n, images, labels, groups, classNames: d.classNames?.slice() };
}

function checkCompatible(train: ImageDataset, test: ImageDataset): void {
  if (
    train.height !== test.height ||
    train.width !== test.width ||
    train.channels !== test.channels ||
    train.numClasses !== test.numClasses
  ) {
    throw new DataError(
      `The train and test sets do not match (train ${train.height}x${train.width}x${train.channels} ` +
        `with ${train.numClasses} classes, test ${test.height}x${test.width}x${test.channels} ` +
        `with ${test.numClasses}); load both splits of the same dataset.`,
    );
  }
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

/** Classes of the split scenario's pretrain task: all but the last two. */
function splitPretrainClasses(name: ScenarioName, numClasses: number): number[] {
  if (numClasses < 3) {
    throw new DataError(
      `The ${name} scenario needs at least 3 classes (pretrain on all but the ` +
        `last two) but the data has ${numClasses}; use rot90 or permute instead.`,
    );
  }
  return range(0, numClasses - 2);
}

/**
 * Only the pretrain set P of a scenario (what buildScenario puts in pretrainTrain), without
 * building the finetune sets: the sample inspector needs P's labels and pixels, fast.
 */
export function pretrainSetOf(name: ScenarioName, train: ImageDataset): ImageDataset {
  return name === 'split' ? selectClasses(train, splitPretrainClasses(name, train.numClasses)) : train;
}

/** Which train samples form P, in P's order (all of them, or the split's pretrain classes). */
export function pretrainIndicesOf(name: ScenarioName, trainLabels: Uint8Array, numClasses: number): Int32Array | null {
  if (name !== 'split') return null; // P is the train set itself
  const keep = new Set(splitPretrainClasses(name, numClasses));
  const out: number[] = [];
  for (let i = 0; i < trainLabels.length; i++) if (keep.has(trainLabels[i])) out.push(i);
  return Int32Array.from(out);
}

export function buildScenario(name: ScenarioName, train: ImageDataset, test: ImageDataset): Scenario {
  checkCompatible(train, test);
  const numClasses = train.numClasses;
  const description = SCENARIO_DESCRIPTIONS[name];
  switch (name) {
    case 'rot90':
    case 'permute': {
      const transform = name === 'rot90' ? rotate90 : permutePixels;
      return {
        name,
        description,
        numClasses,
        pretrainTrain: train,
        pretrainTest: test,
        finetuneTrain: transform(train),
        finetuneTest: transform(test),
        finetuneClasses: range(0, numClasses),
      };
    }
    case 'split': {
      const pre = splitPretrainClasses(name, numClasses);
      const fine = range(numClasses - 2, numClasses);
      return {
        name,
        description,
        numClasses,
        pretrainTrain: pretrainSetOf(name, train),
        pretrainTest: selectClasses(test, pre),
        finetuneTrain: selectClasses(train, fine),
        finetuneTest: selectClasses(test, fine),
        finetuneClasses: fine,
      };
    }
    default: {
      const never: never = name;
      throw new DataError(`Unknown scenario ${String(never)}; use rot90, permute or split.`);
    }
  }
}
