// Fashion-MNIST from its four IDX files. The data is never downloaded here (machines may be
// offline); we look in a few well-known places and otherwise say exactly how to get it.
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DataError, type ImageDataset } from './dataset.js';
import { fingerprintBytes } from './fingerprint.js';
import { parseIdx, readIdxFile, readIdxFileAsync } from './idx.js';

export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/**
 * Fingerprint of the official Fashion-MNIST release (zalandoresearch), so a run can tell whether
 * it used the standard data or a modified copy.
 */
export const FASHION_MNIST_OFFICIAL_FINGERPRINT = '01dc2fdc67e00be1e33cbef268217f55ca276a9b631c475a8af3ed9e736033bb';

/** The system-wide location used by Debian/Ubuntu's dataset-fashion-mnist package. */
export const SYSTEM_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const BASE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface FashionMnistFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

export interface FashionMnistLocation {
  dir: string;
  files: FashionMnistFiles;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The directories searched, in order; `dataDir` replaces the whole list when given. */
export function fashionMnistSearchDirs(dataDir?: string): string[] {
  if (dataDir !== undefined) return [dataDir];
  const dirs: string[] = [];
  const env = process.env.MIXCD_DATA_DIR;
  if (env) {
    // MIXCD_DATA_DIR may name the Fashion-MNIST directory itself or a data root holding it.
    dirs.push(env, join(env, 'fashion-mnist'));
  }
  dirs.push(SYSTEM_FASHION_MNIST_DIR, join(homedir(), '.cache', 'mixcd', 'fashion-mnist'));
  return dirs;
}

/**
 * Finds the directory holding all four Fashion-MNIST IDX files (each `.gz` or raw; `.gz` is
 * preferred when both exist since it is the form the data is distributed in).
 */
export function locateFashionMnist(dataDir?: string): FashionMnistLocation {
  const dirs = fashionMnistSearchDirs(dataDir);
  const notes: string[] = [];
  for (const dir of dirs) {
    if (!isDir(dir)) {
      notes.push(`${dir} (${isFile(dir) ? 'a file, not a directory' : 'does not exist'})`);
      continue;
    }
    const found: Partial<FashionMnistFiles> = {};
    const missing: string[] = [];
    for (const [key, base] of Object.entries(BASE_NAMES) as [keyof FashionMnistFiles, string][]) {
      const gz = join(dir, base + '.gz');
      const raw = join(dir, base);
      if (isFile(gz)) found[key] = gz;
      else if (isFile(raw)) found[key] = raw;
      else missing.push(base);
    }
    if (missing.length === 0) return { dir, files: found as FashionMnistFiles };
    notes.push(missing.length === 4 ? `${dir} (no IDX files)` : `${dir} (missing ${missing.join(', ')})`);
  }
  const wanted = Object.values(BASE_NAMES).join(', ');
  throw new DataError(
    `Fashion-MNIST was not found: looked for ${wanted} (each raw or .gz) in ${notes.join('; ')}; ` +
      'to get it run `sudo apt-get install dataset-fashion-mnist` on Debian/Ubuntu, ' +
      'or download the four IDX files and pass --data-dir DIR.',
    dirs[0],
  );
}

interface LoadedPair {
  dataset: ImageDataset;
  /** Decompressed file contents, kept for fingerprinting without a second read. */
  imageBytes: Uint8Array;
  labelBytes: Uint8Array;
}

function checkNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    // Labels are stored as uint8, so more than 256 classes cannot be represented.
    throw new RangeError(`numClasses must be an integer in 1..256, got ${numClasses}.`);
  }
}

/** A labels file's labels, each checked against the number of classes. */
export function parseLabels(labelBytes: Uint8Array, labelsFile: string, numClasses: number): Uint8Array {
  checkNumClasses(numClasses);
  const lab = parseIdx(labelBytes, labelsFile);
  if (lab.dims.length !== 1) {
    throw new DataError(
      `${labelsFile} has ${lab.dims.length} dimensions (${lab.dims.join('x')}) ` +
        `but a labels file must have 1 (count); check that it is a labels file, ` +
        `not an images file.`,
      labelsFile,
    );
  }
  const labels = lab.data;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) {
      throw new DataError(
        `${labelsFile} has label ${labels[i]} at index ${i}, outside the ${numClasses} ` +
          `classes 0..${numClasses - 1}; check that the file belongs to this dataset.`,
        labelsFile,
      );
    }
  }
  return labels;
}

/** An images file's pixels and dims (count x rows x cols). */
export function parseImages(imageBytes: Uint8Array, imagesFile: string): { data: Uint8Array; dims: number[] } {
  const img = parseIdx(imageBytes, imagesFile);
  if (img.dims.length !== 3) {
    throw new DataError(
      `${imagesFile} has ${img.dims.length} dimensions (${img.dims.join('x')}) ` +
        `but an image file must have 3 (count x rows x cols); check that it is ` +
        `an images file, not a labels file.`,
      imagesFile,
    );
  }
  return img;
}

function pairFromBytes(
  imagesFile: string,
  labelsFile: string,
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  numClasses: number,
): LoadedPair {
  const img = parseImages(imageBytes, imagesFile);
  const labels = parseLabels(labelBytes, labelsFile, numClasses);
  const [count, height, width] = img.dims;
  // An empty set would "train" and "finish" at chance level; nothing can be learned or measured.
  if (count === 0 || height === 0 || width === 0)
    throw new DataError(
      `${imagesFile} holds no images (${img.dims.join('x')}); it must hold at ` +
        `least one image of at least 1x1 pixels, so re-download or re-extract it.`,
      imagesFile,
    );
  if (labels.length !== count) {
    throw new DataError(
      `${imagesFile} holds ${count} images but ${labelsFile} holds ${labels.length} ` +
        `labels; the counts must match, so check that the two files belong together.`,
      labelsFile,
    );
  }
  return {
    dataset: { count, height, width, channels: 1, numClasses, images: img.data, labels },
    imageBytes,
    labelBytes,
  };
}

function loadPair(imagesFile: string, labelsFile: string, numClasses: number): LoadedPair {
  checkNumClasses(numClasses);
  return pairFromBytes(imagesFile, labelsFile, readIdxFile(imagesFile), readIdxFile(labelsFile), numClasses);
}

/** Loads an IDX image file (count x rows x cols) and its IDX label file (count) as one dataset. */
export function loadImageIdxPair(imagesFile: string, labelsFile: string, numClasses: number): ImageDataset {
  return loadPair(imagesFile, labelsFile, numClasses).dataset;
}

export interface FashionMnist {
  train: ImageDataset;
  test: ImageDataset;
  /** fingerprintBytes over train images, train labels, test images, test labels (decompressed). */
  fingerprint: string;
  dir: string;
  files: FashionMnistFiles;
}

/**
 * Loads both official splits (synchronous: about 0.3 s, dominated by gunzip and SHA-256), from
 * `location` when the caller has located them already (and so knows which files are read).
 */
export function loadFashionMnist(
  dataDir?: string,
  location: FashionMnistLocation = locateFashionMnist(dataDir),
): FashionMnist {
  const { dir, files } = location;
  const n = FASHION_MNIST_CLASSES.length;
  return assemble(
    dir,
    files,
    loadPair(files.trainImages, files.trainLabels, n),
    loadPair(files.testImages, files.testLabels, n),
  );
}

/** loadFashionMnist with the four files read and decompressed in the thread pool, in parallel. */
export async function loadFashionMnistAsync(
  dataDir?: string,
  location: FashionMnistLocation = locateFashionMnist(dataDir),
): Promise<FashionMnist> {
  const { dir, files } = location;
  const n = FASHION_MNIST_CLASSES.length;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [files.trainImages, files.trainLabels, files.testImages, files.testLabels].map((f) => readIdxFileAsync(f)),
  );
  return assemble(
    dir,
    files,
    pairFromBytes(files.trainImages, files.trainLabels, trainImages, trainLabels, n),
    pairFromBytes(files.testImages, files.testLabels, testImages, testLabels, n),
  );
}

function assemble(dir: string, files: FashionMnistFiles, train: LoadedPair, test: LoadedPair): FashionMnist {
  if (train.dataset.height !== test.dataset.height || train.dataset.width !== test.dataset.width) {
    throw new DataError(
      `${files.testImages} has ${test.dataset.height}x${test.dataset.width} images ` +
        `but ${files.trainImages} has ${train.dataset.height}x${train.dataset.width}; ` +
        `both splits must have the same image size, so check the files in ${dir}.`,
      files.testImages,
    );
  }
  const fingerprint = fingerprintBytes([train.imageBytes, train.labelBytes, test.imageBytes, test.labelBytes]);
  const classNames = [...FASHION_MNIST_CLASSES];
  return {
    train: { ...train.dataset, classNames },
    test: { ...test.dataset, classNames },
    fingerprint,
    dir,
    files,
  };
}
