// Image folders: one subfolder per class (its name is the class name), PNG / JPEG / WebP files
// inside, decoded by sharp (libvips, binaries from npm) to raw pixels of the declared size and
// channel count. Without a declared size every image must have the first one's size.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../dataset.js';
import type { RawSplit } from './rawSplit.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      code === 'ENOENT'
        ? `${dir} does not exist; check the path of the image folder.`
        : `${dir} cannot be read as a folder (${(error as Error).message}); check the path.`,
      dir,
    );
  }
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** The class subfolders of an image folder, in name order. */
export function classFolders(dir: string): string[] {
  return listDir(dir).filter((name) => !name.startsWith('.') && isDir(path.join(dir, name)));
}

/** True when `dir` looks like an image folder: a subfolder holding an image file. */
export function looksLikeImageFolder(dir: string): boolean {
  return classFolders(dir).some((c) => listDir(path.join(dir, c)).some(isImage));
}

/** Decodes images `concurrency` at a time; the order of samples is the sorted file order. */
const CONCURRENCY = 4;

export async function loadImageFolder(
  dir: string,
  shape: [number, number, number] | undefined,
  classNames: string[] | undefined,
): Promise<RawSplit> {
  const folders = classFolders(dir);
  if (folders.length === 0)
    throw new DataError(
      `${dir} has no class subfolders; put each class's images in a subfolder named after the class.`,
      dir,
    );
  let classes = folders;
  if (classNames) {
    const missing = classNames.filter((c) => !folders.includes(c));
    const extra = folders.filter((f) => !classNames.includes(f));
    if (missing.length || extra.length)
      throw new DataError(
        `${dir} has class folders ${folders.join(', ')} but dataset.json's classNames ` +
          `are ${classNames.join(', ')}; make them the same.`,
        dir,
      );
    classes = classNames;
  }
  const files: string[] = [];
  const labelList: number[] = [];
  classes.forEach((cls, label) => {
    const images = listDir(path.join(dir, cls)).filter(isImage);
    if (images.length === 0)
      throw new DataError(
        `${path.join(dir, cls)} (class "${cls}") holds no PNG, JPEG or WebP image; add images or remove the folder.`,
        path.join(dir, cls),
      );
    for (const name of images) {
      files.push(path.join(dir, cls, name));
      labelList.push(label);
    }
  });
  let size = shape;
  if (!size) {
    const first = await decode(files[0], undefined);
    size = [first.height, first.width, first.channels];
  }
  const [h, w, c] = size;
  const sample = h * w * c;
  const images = new Uint8Array(files.length * sample);
  for (let start = 0; start < files.length; start += CONCURRENCY) {
    const chunk = files.slice(start, start + CONCURRENCY);
    const decoded = await Promise.all(chunk.map((f) => decode(f, shape ? size : undefined, c)));
    decoded.forEach((img, j) => {
      const file = chunk[j];
      if (img.height !== h || img.width !== w || img.channels !== c)
        throw new DataError(
          `${file} is ${img.width}x${img.height} with ${img.channels} channels but ` +
            `the folder's images are ${w}x${h} with ${c}; declare "shape" in dataset.json ` +
            `to resize them all, or fix the image.`,
          file,
        );
      images.set(img.data, (start + j) * sample);
    });
  }
  return {
    count: files.length,
    shape: size,
    images,
    labels: Int32Array.from(labelList),
    classNames: classes,
    files,
  };
}

interface Decoded {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * sharp (libvips) is loaded on the first image, not with this module: every process that can
 * read a dataset imports the loaders, and most never decode an image (about 0.15 s each).
 */
let sharpModule: Promise<typeof import('sharp')> | null = null;
const loadSharp = async () => (await (sharpModule ??= import('sharp'))).default;

/** One image as raw pixels: resized to `size` when given, with `channels` (1 grey, 3 RGB, 4 RGBA). */
async function decode(file: string, size: [number, number, number] | undefined, channels?: number): Promise<Decoded> {
  const sharp = await loadSharp();
  try {
    let img = sharp(file, { failOn: 'error' });
    if (size) img = img.resize(size[1], size[0], { fit: 'fill' });
    const want = channels ?? size?.[2];
    if (want === 1) img = img.removeAlpha().toColourspace('b-w');
    else if (want === 3) img = img.removeAlpha().toColourspace('srgb');
    else if (want === 4) img = img.ensureAlpha().toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ...info };
  } catch (error) {
    throw new DataError(
      `${file} cannot be read as an image (${(error as Error).message}); replace or remove the file.`,
      file,
    );
  }
}
