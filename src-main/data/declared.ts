// Declared datasets: read a dataset.json (or infer one from a folder or file), load every split
// with its format's loader into the compact ImageDataset the engine uses, settle class and group
// names over all splits, and fingerprint the content. Every failure is a DataError sentence.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  DATASET_FORMATS,
  datasetSpecSchema,
  type DatasetDescription,
  type DatasetFormat,
  type DatasetSpec,
  type SplitFiles,
} from '../../shared/datasets.js';
import { DataError, type ImageDataset } from './dataset.js';
import { fingerprintBytes } from './fingerprint.js';
import { readIdxFileAsync } from './idx.js';
import { parseImages, parseLabels } from './fashionMnist.js';
import { CIFAR10_CLASSES, cifarNumClasses, parseCifar, type CifarKind } from './formats/cifar.js';
import { loadCsvSplit } from './formats/csvTable.js';
import { classFolders, loadImageFolder, looksLikeImageFolder } from './formats/imageFolder.js';
import { parseNpy } from './formats/npy.js';
import type { RawSplit } from './formats/rawSplit.js';

export const DATASET_FILE = 'dataset.json';

export interface ResolvedSpec {
  spec: DatasetSpec;
  /** Folder the spec's relative paths start from. */
  baseDir: string;
  /** The path the user gave. */
  origin: string;
}

export interface LoadedDataset {
  spec: DatasetSpec;
  origin: string;
  /** Each split, class and group ids shared across splits. */
  splits: { train: ImageDataset; test?: ImageDataset };
  fingerprint: string;
  /** Every file read, in order. */
  files: string[];
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function safeName(text: string): string {
  const name = text.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '-');
  return /^[A-Za-z0-9]/.test(name) ? name : `data-${name}`;
}

/** Checks a dataset.json's content; the error names the file and the field. */
export function parseDatasetSpec(input: unknown, file: string): DatasetSpec {
  const result = datasetSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || '(top level)';
  throw new DataError(
    `${file} field "${field}" is not valid: ${issue.message}; see the README's dataset.json section.`,
    file,
  );
}

function readSpecFile(file: string): DatasetSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`${file} is not readable JSON (${(error as Error).message}); fix it.`, file);
  }
  return parseDatasetSpec(parsed, file);
}

/**
 * A dataset from a path: a dataset.json, a folder holding one, or a folder/file whose format is
 * recognised (or named by `format`). Train/test files are found by their usual names.
 */
export function resolveDataset(target: string, format?: string): ResolvedSpec {
  const origin = path.resolve(target);
  if (format !== undefined && !(DATASET_FORMATS as readonly string[]).includes(format))
    throw new DataError(`--format "${format}" is not known; use one of ${DATASET_FORMATS.join(', ')}.`);
  const fmt = format as DatasetFormat | undefined;
  if (!existsSync(origin)) throw new DataError(`${origin} does not exist; check the path.`, origin);
  if (path.basename(origin) === DATASET_FILE)
    return { spec: readSpecFile(origin), baseDir: path.dirname(origin), origin };
  if (isDir(origin) && existsSync(path.join(origin, DATASET_FILE)))
    return { spec: readSpecFile(path.join(origin, DATASET_FILE)), baseDir: origin, origin };
  const name = safeName(path.basename(origin));
  const build = (format: DatasetFormat, splits: DatasetSpec['splits'], baseDir: string): ResolvedSpec => ({
    spec: parseDatasetSpec({ name, format, splits }, origin),
    baseDir,
    origin,
  });
  if (!isDir(origin)) {
    const ext = path.extname(origin).toLowerCase();
    const inferred: DatasetFormat | undefined =
      fmt ?? (ext === '.csv' ? 'csv' : ext === '.tsv' ? 'tsv' : ext === '.bin' ? 'cifar10' : undefined);
    if (!inferred || !['csv', 'tsv', 'cifar10', 'cifar100'].includes(inferred))
      throw new DataError(
        `${origin} is a single file whose format is not known from its name; pass ` +
          `--format csv, tsv, cifar10 or cifar100, or describe its folder with a ` +
          `dataset.json.`,
        origin,
      );
    return build(inferred, { train: path.basename(origin) }, path.dirname(origin));
  }
  const names = readdirSync(origin);
  const has = (n: string) => names.includes(n);
  const pick = (...candidates: string[]) => candidates.find(has);
  const idxFile = (prefix: string, kind: string) => pick(`${prefix}-${kind}.gz`, `${prefix}-${kind}`);
  const guess: DatasetFormat | undefined =
    fmt ??
    (names.some((n) => /idx[13]-ubyte/.test(n))
      ? 'idx'
      : names.some((n) => /^data_batch_\d+\.bin$/.test(n)) || has('test_batch.bin')
        ? 'cifar10'
        : has('train.bin') && has('test.bin')
          ? 'cifar100'
          : names.some((n) => n.endsWith('.npy'))
            ? 'npy'
            : has('train.csv')
              ? 'csv'
              : has('train.tsv')
                ? 'tsv'
                : isDir(path.join(origin, 'train')) && looksLikeImageFolder(path.join(origin, 'train'))
                  ? 'images'
                  : looksLikeImageFolder(origin)
                    ? 'images'
                    : undefined);
  const fail = (what: string): never => {
    throw new DataError(
      `${origin} does not look like a ${what}; add a ${DATASET_FILE} naming its ` +
        `format and files (see the README), or pass --format.`,
      origin,
    );
  };
  switch (guess) {
    case 'idx': {
      const prefixFor = (...prefixes: string[]) =>
        prefixes.find((p) => idxFile(p, 'images-idx3-ubyte') && idxFile(p, 'labels-idx1-ubyte'));
      const train = prefixFor('train', 'emnist-balanced-train', 'emnist-digits-train', 'emnist-letters-train');
      if (!train) return fail('an IDX dataset (train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz))');
      const test = prefixFor('t10k', 'test', train.replace(/train$/, 'test'));
      const pair = (p: string) => ({
        images: idxFile(p, 'images-idx3-ubyte')!,
        labels: idxFile(p, 'labels-idx1-ubyte')!,
      });
      return build('idx', { train: pair(train!), test: test ? pair(test) : undefined }, origin);
    }
    case 'cifar10': {
      const train = names.filter((n) => /^data_batch_\d+\.bin$/.test(n)).sort();
      if (!train.length) return fail('a CIFAR-10 binary folder (data_batch_1.bin ... test_batch.bin)');
      return build('cifar10', { train, test: has('test_batch.bin') ? 'test_batch.bin' : undefined }, origin);
    }
    case 'cifar100':
      if (!has('train.bin')) return fail('a CIFAR-100 binary folder (train.bin, test.bin)');
      return build('cifar100', { train: 'train.bin', test: has('test.bin') ? 'test.bin' : undefined }, origin);
    case 'npy': {
      const set = (suffix: string) => {
        const x = pick(`x${suffix}.npy`, `X${suffix}.npy`);
        const y = pick(`y${suffix}.npy`, `Y${suffix}.npy`);
        const group = pick(`group${suffix}.npy`, `groups${suffix}.npy`);
        return x && y ? { x, y, ...(group ? { group } : {}) } : undefined;
      };
      const train = set('_train') ?? set('');
      if (!train) return fail('a NumPy dataset (x.npy and y.npy, or x_train.npy, y_train.npy, x_test.npy, y_test.npy)');
      return build('npy', { train, test: set('_test') }, origin);
    }
    case 'csv':
    case 'tsv': {
      const ext = guess;
      if (!has(`train.${ext}`)) return fail(`a ${ext.toUpperCase()} dataset (train.${ext}, test.${ext})`);
      return build(ext, { train: `train.${ext}`, test: has(`test.${ext}`) ? `test.${ext}` : undefined }, origin);
    }
    case 'images': {
      const split = isDir(path.join(origin, 'train')) && !looksLikeImageFolder(origin) ? true : false;
      if (split)
        return build('images', { train: 'train', test: isDir(path.join(origin, 'test')) ? 'test' : undefined }, origin);
      if (!classFolders(origin).length) return fail('an image folder (one subfolder of images per class)');
      return build('images', { train: '.' }, origin);
    }
    default:
      return fail('dataset in a known format');
  }
}

function filesOf(split: SplitFiles, baseDir: string, format: DatasetFormat, file: string) {
  const abs = (p: string) => path.resolve(baseDir, p);
  const wrong = (want: string): never => {
    throw new DataError(`${file}: a ${format} split must name ${want}; fix "splits" in ${DATASET_FILE}.`, file);
  };
  switch (format) {
    case 'idx':
      return typeof split === 'object' && !Array.isArray(split) && 'images' in split
        ? { images: abs(split.images), labels: abs(split.labels) }
        : wrong('{ "images": FILE, "labels": FILE }');
    case 'npy':
      return typeof split === 'object' && !Array.isArray(split) && 'x' in split
        ? { x: abs(split.x), y: abs(split.y), group: split.group ? abs(split.group) : undefined }
        : wrong('{ "x": FILE, "y": FILE, "group"?: FILE }');
    case 'cifar10':
    case 'cifar100':
      return typeof split === 'string'
        ? [abs(split)]
        : Array.isArray(split)
          ? split.map(abs)
          : wrong('a file or list of files');
    default:
      return typeof split === 'string' ? abs(split) : wrong('one file or folder');
  }
}

/** A binary file's bytes, gunzipped when it is gzip (as IDX downloads are), with a sentence on failure. */
async function readBytes(file: string): Promise<Uint8Array> {
  if (!existsSync(file)) throw new DataError(`${file} does not exist; check the path in ${DATASET_FILE}.`, file);
  if (isDir(file)) throw new DataError(`${file} is a folder, not a file; name the file inside it.`, file);
  return readIdxFileAsync(file);
}

/** Loads one split with its format's loader. `parts` collects what the fingerprint hashes. */
async function loadSplit(
  spec: DatasetSpec,
  split: SplitFiles,
  baseDir: string,
  origin: string,
  parts: Uint8Array[] | null,
): Promise<RawSplit> {
  const format = spec.format;
  switch (format) {
    case 'idx': {
      const f = filesOf(split, baseDir, format, origin) as { images: string; labels: string };
      const [imageBytes, labelBytes] = await Promise.all([readBytes(f.images), readBytes(f.labels)]);
      const img = parseImages(imageBytes, f.images);
      const labels = parseLabels(labelBytes, f.labels, spec.classNames?.length ?? 256);
      const [count, h, w] = img.dims;
      if (labels.length !== count)
        throw new DataError(
          `${f.images} holds ${count} images but ${f.labels} holds ${labels.length} ` +
            `labels; the counts must match, so check that the two files belong together.`,
          f.labels,
        );
      // The same fingerprint as the built-in Fashion-MNIST loader: decompressed file contents.
      parts?.push(imageBytes, labelBytes);
      return {
        count,
        shape: [h, w, 1],
        images: img.data,
        labels: Int32Array.from(labels),
        files: [f.images, f.labels],
      };
    }
    case 'csv':
    case 'tsv':
      return loadCsvSplit(filesOf(split, baseDir, format, origin) as string, {
        delimiter: format === 'csv' ? ',' : '\t',
        labelColumn: spec.labelColumn,
        groupColumn: spec.groupColumn,
        idColumn: spec.idColumn,
        shape: spec.shape,
      });
    case 'images':
      return loadImageFolder(filesOf(split, baseDir, format, origin) as string, spec.shape, spec.classNames);
    case 'cifar10':
    case 'cifar100': {
      const files = filesOf(split, baseDir, format, origin) as string[];
      const parsed = [];
      for (const f of files) parsed.push(parseCifar(await readBytes(f), f, format as CifarKind));
      const count = parsed.reduce((a, p) => a + p.labels.length, 0);
      const images = new Uint8Array(count * 32 * 32 * 3);
      const labels = new Int32Array(count);
      let at = 0;
      for (const p of parsed) {
        images.set(p.images, at * 32 * 32 * 3);
        labels.set(p.labels, at);
        at += p.labels.length;
      }
      return {
        count,
        shape: [32, 32, 3],
        images,
        labels,
        classNames: cifarClassNames(format as CifarKind, files[0]),
        files,
      };
    }
    case 'npy': {
      const f = filesOf(split, baseDir, format, origin) as { x: string; y: string; group?: string };
      return loadNpySplit(f);
    }
  }
}

function cifarClassNames(kind: CifarKind, firstFile: string): string[] | undefined {
  const meta = path.join(path.dirname(firstFile), kind === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt');
  if (existsSync(meta)) {
    const names = readFileSync(meta, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length === cifarNumClasses(kind)) return names;
  }
  return kind === 'cifar10' ? [...CIFAR10_CLASSES] : undefined;
}

async function loadNpySplit(f: { x: string; y: string; group?: string }): Promise<RawSplit> {
  const x = parseNpy(await readBytes(f.x), f.x);
  const y = parseNpy(await readBytes(f.y), f.y);
  const n = x.shape[0];
  if (x.shape.length < 2 || x.shape.length > 4)
    throw new DataError(
      `${f.x} has shape (${x.shape.join(', ')}); x must be (N, D), (N, H, W) ` +
        `or (N, H, W, C) (or N, C, H, W with C 1 or 3).`,
      f.x,
    );
  if (!['u1', 'f4', 'f8'].includes(x.dtype))
    throw new DataError(
      `${f.x} has dtype ${x.dtype}; x must be uint8 pixels or float32 values, so convert it (x.astype(np.float32)).`,
      f.x,
    );
  const intTypes = ['u1', 'i1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8'];
  const checkInts = (a: typeof y, file: string, what: string) => {
    if (!intTypes.includes(a.dtype) || a.shape.length !== 1)
      throw new DataError(
        `${file} has dtype ${a.dtype} and shape (${a.shape.join(', ')}); ${what} ` +
          `must be a 1-D integer array of ${n} entries.`,
        file,
      );
    if (a.shape[0] !== n)
      throw new DataError(
        `${file} has ${a.shape[0]} entries but ${f.x} holds ${n} samples; the counts must match.`,
        file,
      );
  };
  checkInts(y, f.y, 'y');
  let shape: [number, number, number];
  let data = x.data as Uint8Array | Float32Array | Float64Array;
  const s = x.shape;
  if (s.length === 2) shape = [1, s[1], 1];
  else if (s.length === 3) shape = [s[1], s[2], 1];
  else if ((s[1] === 1 || s[1] === 3) && s[3] !== 1 && s[3] !== 3) {
    // PyTorch's N, C, H, W: move channels last, as the engine stores samples.
    shape = [s[2], s[3], s[1]];
    data = chwToHwc(data, n, s[1], s[2], s[3]);
  } else shape = [s[1], s[2], s[3]];
  const labels = Int32Array.from(y.data as ArrayLike<number>);
  for (let i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] > 255)
      throw new DataError(`${f.y} has label ${labels[i]} at sample ${i}; labels must be 0..255.`, f.y);
  let groups: Int32Array | undefined;
  let groupTexts: string[] | undefined;
  if (f.group) {
    const g = parseNpy(await readBytes(f.group), f.group);
    checkInts(g, f.group, 'group');
    const ids = [...new Set(Array.from(g.data as ArrayLike<number>))].sort((a, b) => a - b);
    const at = new Map(ids.map((v, i) => [v, i]));
    groups = Int32Array.from(g.data as ArrayLike<number>, (v) => at.get(v)!);
    groupTexts = ids.map(String);
  }
  const files = [f.x, f.y, ...(f.group ? [f.group] : [])];
  return x.dtype === 'u1'
    ? { count: n, shape, images: data as Uint8Array, labels, groups, groupTexts, files }
    : { count: n, shape, values: Float32Array.from(data), labels, groups, groupTexts, files };
}

function chwToHwc<T extends Uint8Array | Float32Array | Float64Array>(
  a: T,
  n: number,
  c: number,
  h: number,
  w: number,
): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  const size = c * h * w;
  for (let s = 0; s < n; s++)
    for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[s * size + p * c + k] = a[s * size + k * h * w + p];
  return out;
}

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

/** Settles class and group ids over all splits, then builds the ImageDatasets. */
function finish(
  spec: DatasetSpec,
  origin: string,
  raws: { name: string; raw: RawSplit }[],
  idxParts: Uint8Array[] | null,
): LoadedDataset {
  const first = raws[0].raw;
  for (const { raw } of raws.slice(1))
    if (raw.shape.join('x') !== first.shape.join('x') || Boolean(raw.values) !== Boolean(first.values))
      throw new DataError(
        `${raw.files[0]} has samples of ${raw.shape.join('x')} (${raw.values ? 'float' : 'uint8'}) ` +
          `but ${first.files[0]} has ${first.shape.join('x')} (${first.values ? 'float' : 'uint8'}); ` +
          `every split must have the same shape and kind of values.`,
        raw.files[0],
      );
  // Class names: the spec's, else the source's (folders, CIFAR meta), else sorted label texts,
  // else numbered 0..max label.
  const texts = raws.some((r) => r.raw.labelTexts);
  if (texts && raws.some((r) => !r.raw.labelTexts))
    throw new DataError(
      `${origin}: one split has text labels and another integer labels; use one kind throughout.`,
      origin,
    );
  let classNames: string[];
  if (spec.classNames) classNames = spec.classNames;
  else if (first.classNames) classNames = first.classNames;
  else if (texts) classNames = [...new Set(raws.flatMap((r) => r.raw.labelTexts!))].sort(naturalOrder);
  else {
    let max = 0;
    for (const { raw } of raws) for (const l of raw.labels) max = Math.max(max, l);
    classNames = Array.from({ length: max + 1 }, (_, i) => String(i));
  }
  if (classNames.length > 256)
    throw new DataError(`${origin} has ${classNames.length} classes; at most 256 are supported.`, origin);
  const hasGroups = raws.some((r) => r.raw.groups);
  const groupNames = hasGroups
    ? [...new Set(raws.flatMap((r) => r.raw.groupTexts ?? []))].sort(naturalOrder)
    : undefined;
  const splits: Record<string, ImageDataset> = {};
  const parts: Uint8Array[] = [];
  for (const { name, raw } of raws) {
    const labels = new Uint8Array(raw.count);
    const classOf = raw.labelTexts ? raw.labelTexts.map((t) => classNames.indexOf(t)) : null;
    for (let i = 0; i < raw.count; i++) {
      const l = classOf ? classOf[raw.labels[i]] : raw.labels[i];
      if (l < 0 || l >= classNames.length)
        throw new DataError(
          `${raw.files[raw.files.length > 1 ? 1 : 0]} sample ${i} has label ` +
            `${classOf ? `"${raw.labelTexts![raw.labels[i]]}"` : raw.labels[i]}, ` +
            `not one of the ${classNames.length} classes ` +
            `(${classNames.slice(0, 12).join(', ')}${classNames.length > 12 ? ', ...' : ''}); ` +
            `fix the label or "classNames" in ${DATASET_FILE}.`,
          raw.files[0],
        );
      labels[i] = l;
    }
    let groups: Uint16Array | undefined;
    if (hasGroups) {
      if (!raw.groups)
        throw new DataError(
          `${raw.files[0]} has no group column but another split has one; give every split the column.`,
          raw.files[0],
        );
      const gid = raw.groupTexts!.map((t) => groupNames!.indexOf(t));
      groups = Uint16Array.from(raw.groups, (g) => gid[g]);
    }
    const [height, width, channels] = raw.shape;
    splits[name] = {
      count: raw.count,
      height,
      width,
      channels,
      numClasses: classNames.length,
      images: raw.images ?? new Uint8Array(0),
      values: raw.values,
      labels,
      groups,
      classNames: [...classNames],
      groupNames: groupNames ? [...groupNames] : undefined,
    };
    const x = raw.values ?? raw.images!;
    parts.push(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), labels);
    if (groups) parts.push(new Uint8Array(groups.buffer, groups.byteOffset, groups.byteLength));
  }
  // IDX keeps the built-in loader's fingerprint (the decompressed files); other formats hash the
  // decoded samples with their shape and names, so the same content in another file layout matches.
  const header = new TextEncoder().encode(
    JSON.stringify({ shape: first.shape, classNames, groupNames: groupNames ?? null }),
  );
  const fingerprint = idxParts ? fingerprintBytes(idxParts) : fingerprintBytes([header, ...parts]);
  return {
    spec,
    origin,
    splits: { train: splits.train, test: splits.test },
    fingerprint,
    files: raws.flatMap((r) => r.raw.files),
  };
}

export async function loadDeclaredDataset(resolved: ResolvedSpec): Promise<LoadedDataset> {
  const { spec, baseDir, origin } = resolved;
  const idxParts = spec.format === 'idx' ? ([] as Uint8Array[]) : null;
  const raws: { name: string; raw: RawSplit }[] = [];
  raws.push({ name: 'train', raw: await loadSplit(spec, spec.splits.train, baseDir, origin, idxParts) });
  if (spec.splits.test)
    raws.push({ name: 'test', raw: await loadSplit(spec, spec.splits.test, baseDir, origin, idxParts) });
  return finish(spec, origin, raws, idxParts);
}

export function describeLoaded(d: LoadedDataset): DatasetDescription {
  const train = d.splits.train;
  const splits: DatasetDescription['splits'] = {};
  for (const [name, set] of Object.entries(d.splits)) {
    if (!set) continue;
    const perClass = new Array<number>(set.numClasses).fill(0);
    for (const l of set.labels) perClass[l]++;
    let perGroup: Record<string, number> | undefined;
    if (set.groups && set.groupNames) {
      perGroup = Object.fromEntries(set.groupNames.map((g) => [g, 0]));
      for (const g of set.groups) perGroup[set.groupNames[g]]++;
    }
    splits[name] = { count: set.count, perClass, ...(perGroup ? { perGroup } : {}) };
  }
  return {
    name: d.spec.name,
    format: d.spec.format,
    count: Object.values(splits).reduce((a, s) => a + s.count, 0),
    numClasses: train.numClasses,
    classNames: train.classNames ?? [],
    sampleShape: [train.height, train.width, train.channels],
    hasGroups: Boolean(train.groups),
    fingerprint: d.fingerprint,
    path: d.origin,
    valueType: train.values ? 'float32' : 'uint8',
    ...(train.groupNames ? { groupNames: train.groupNames } : {}),
    splits,
  };
}

/** resolve + load + describe: what `mixcd datasets describe` prints. */
export async function describeDataset(target: string, format?: string): Promise<DatasetDescription> {
  return describeLoaded(await loadDeclaredDataset(resolveDataset(target, format)));
}
