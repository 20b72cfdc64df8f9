// Scenario files on disk: find one by path or name, load the datasets it names, and build its
// pretrain and stage sets (split, seeded part, transforms). Built from the same transforms as the
// built-in scenarios, so scenarios/rot90.json gives byte-identical sets and the same fingerprint.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './packageRoot.js';
import {
  parseScenarioSpec,
  ScenarioSpecError,
  type ScenarioSpec,
  type SetSpec,
  type Transform,
} from '../../shared/scenarioFile.js';
import { DataError, sampleSize, type ImageDataset } from './dataset.js';
import { loadDeclaredDataset, resolveDataset } from './declared.js';
import { loadFashionMnistAsync, locateFashionMnist } from './fashionMnist.js';
import { fingerprintBytes } from './fingerprint.js';
import { mulberry32 } from './mulberry32.js';
import { fixedPixelPermutation, rotate90, type Scenario } from './scenarios.js';

/** Where shipped scenario files live: scenarios/ (the built-ins as files) and examples/scenarios/. */
export function scenarioDirs(): string[] {
  const root = packageRoot();
  return [path.join(root, 'scenarios'), path.join(root, 'examples', 'scenarios')];
}

/** Every shipped scenario file: name -> path. */
export function shippedScenarios(): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const dir of scenarioDirs()) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort())
      if (f.endsWith('.json') && f !== 'scenario.schema.json')
        out.push({ name: f.replace(/\.json$/, ''), path: path.join(dir, f) });
  }
  return out;
}

/** A path to a scenario file, or the name of a shipped one; null when `text` is neither. */
export function findScenarioFile(text: string): string | null {
  if (text.endsWith('.json') || text.includes('/') || text.includes(path.sep)) {
    const file = path.resolve(text);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new DataError(
        `Scenario file ${file} does not exist; check the path (\`mixcd scenarios\` lists the shipped ones).`,
        file,
      );
    return file;
  }
  return shippedScenarios().find((s) => s.name === text)?.path ?? null;
}

export function readScenarioFile(file: string): ScenarioSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError(`Scenario file ${file} is not readable JSON (${(error as Error).message}); fix it.`, file);
  }
  try {
    return parseScenarioSpec(parsed, `Scenario file ${file}`);
  } catch (error) {
    if (error instanceof ScenarioSpecError) throw new DataError(error.message, file);
    throw error;
  }
}

export interface SourceData {
  key: string;
  train: ImageDataset;
  test?: ImageDataset;
  fingerprint: string;
  origin: string;
  files: string[];
}

export interface FileScenarioData {
  scenario: Scenario;
  /** One source: its fingerprint (so the built-ins as files keep theirs); several: a hash of them. */
  fingerprint: string;
  sources: { key: string; origin: string; fingerprint: string }[];
}

/** Loads every dataset a scenario names (paths relative to the scenario file). */
export async function loadScenarioSources(
  spec: ScenarioSpec,
  scenarioPath: string,
  dataDir: string | undefined,
): Promise<SourceData[]> {
  const base = path.dirname(path.resolve(scenarioPath));
  const out: SourceData[] = [];
  for (const [key, ds] of Object.entries(spec.datasets)) {
    if ('builtin' in ds) {
      const location = locateFashionMnist(dataDir);
      const fm = await loadFashionMnistAsync(dataDir, location);
      const f = fm.files;
      out.push({
        key,
        train: fm.train,
        test: fm.test,
        fingerprint: fm.fingerprint,
        origin: fm.dir,
        files: [f.trainImages, f.trainLabels, f.testImages, f.testLabels],
      });
    } else {
      const resolved =
        'path' in ds
          ? resolveDataset(path.resolve(base, ds.path), ds.format)
          : { spec: ds.declared, baseDir: base, origin: scenarioPath };
      const loaded = await loadDeclaredDataset(resolved);
      out.push({
        key,
        train: loaded.splits.train,
        test: loaded.splits.test,
        fingerprint: loaded.fingerprint,
        origin: loaded.origin,
        files: loaded.files,
      });
    }
  }
  return out;
}

/** The samples at `indices`, in that order (pixels or values, labels, groups). */
export function subset(d: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const size = sampleSize(d);
  const n = indices.length;
  const images = d.values ? new Uint8Array(0) : new Uint8Array(n * size);
  const values = d.values ? new Float32Array(n * size) : undefined;
  const labels = new Uint8Array(n);
  const groups = d.groups ? new Uint16Array(n) : undefined;
  for (let j = 0; j < n; j++) {
    const i = indices[j];
    if (values) values.set(d.values!.subarray(i * size, (i + 1) * size), j * size);
    else images.set(d.images.subarray(i * size, (i + 1) * size), j * size);
    labels[j] = d.labels[i];
    if (groups) groups[j] = d.groups![i];
  }
  return { ...d, count: n, images, values, labels, groups, classNames: d.classNames?.slice() };
}

/** Per-sample gather over pixels or values: dest element k = source element src[k]. */
function gatherAny(d: ImageDataset, src: Uint32Array): ImageDataset {
  const size = sampleSize(d);
  if (!d.values) {
    // Pixels: the built-in transforms, byte for byte.
    return { ...d, ...gatherBytes(d.images, d.count, size, src), labels: d.labels.slice(), groups: d.groups?.slice() };
  }
  const out = new Float32Array(d.count * size);
  for (let s = 0, b = 0; s < d.count; s++, b += size) for (let k = 0; k < size; k++) out[b + k] = d.values[b + src[k]];
  return { ...d, values: out, labels: d.labels.slice(), groups: d.groups?.slice() };
}

function gatherBytes(inp: Uint8Array, count: number, size: number, src: Uint32Array): { images: Uint8Array } {
  const out = new Uint8Array(count * size);
  for (let s = 0, b = 0; s < count; s++, b += size) for (let k = 0; k < size; k++) out[b + k] = inp[b + src[k]];
  return { images: out };
}

function permuteWithSeed(d: ImageDataset, seed: number): ImageDataset {
  const pixels = d.height * d.width;
  const ch = d.channels;
  const perm = fixedPixelPermutation(pixels, seed);
  const src = new Uint32Array(pixels * ch);
  for (let p = 0; p < pixels; p++) for (let k = 0; k < ch; k++) src[p * ch + k] = perm[p] * ch + k;
  return gatherAny(d, src);
}

function rotate(d: ImageDataset, degrees: 90 | 180 | 270, where: string): ImageDataset {
  if (d.height !== d.width)
    throw new DataError(`${where} rotates ${d.height}x${d.width} samples; rotation needs square images, so remove it.`);
  let out = d;
  for (let q = 0; q < degrees / 90; q++) {
    if (!out.values) out = rotate90(out);
    else {
      const n = out.width;
      const ch = out.channels;
      const src = new Uint32Array(n * n * ch);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < n; c++)
          for (let k = 0; k < ch; k++) src[(r * n + c) * ch + k] = (c * n + (n - 1 - r)) * ch + k;
      out = gatherAny(out, src);
    }
  }
  return out;
}

/** Gaussian noise (Box-Muller over mulberry32), in pixel units of 1/255 for uint8 images. */
function addNoise(d: ImageDataset, std: number, seed: number): ImageDataset {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  if (d.values) return { ...d, values: d.values.map((v) => v + std * gauss()) };
  const images = new Uint8Array(d.images.length);
  for (let i = 0; i < images.length; i++)
    images[i] = Math.min(255, Math.max(0, Math.round(d.images[i] + 255 * std * gauss())));
  return { ...d, images };
}

function applyTransform(d: ImageDataset, t: Transform, where: string): ImageDataset {
  switch (t.op) {
    case 'classes': {
      const keep = new Set(t.keep);
      const idx: number[] = [];
      for (let i = 0; i < d.count; i++) if (keep.has(d.labels[i])) idx.push(i);
      return subset(d, idx);
    }
    case 'labelMap': {
      const map = new Map(Object.entries(t.map).map(([k, v]) => [Number(k), v]));
      return { ...d, labels: d.labels.map((l) => map.get(l) ?? l) };
    }
    case 'rotate':
      return rotate(d, t.degrees, where);
    case 'permute':
      return permuteWithSeed(d, t.seed);
    case 'noise':
      return addNoise(d, t.std, t.seed);
  }
}

/** The seeded part of a split: a shuffle by `seed`, the first round(fraction * n) or the rest, in original order. */
function takePart(d: ImageDataset, part: NonNullable<SetSpec['part']>): ImageDataset {
  const order = Array.from({ length: d.count }, (_, i) => i);
  const rand = mulberry32(part.seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const cut = Math.round(part.fraction * d.count);
  const chosen = (part.take === 'fraction' ? order.slice(0, cut) : order.slice(cut)).sort((a, b) => a - b);
  return subset(d, chosen);
}

export function buildSet(set: SetSpec, sources: SourceData[], where: string): ImageDataset {
  const source = sources.find((s) => s.key === set.dataset)!;
  const base = set.split === 'train' ? source.train : source.test;
  if (!base)
    throw new DataError(
      `${where} uses the test split of dataset "${set.dataset}" (${source.origin}), ` +
        `which has none; use "split": "train" with a "part", or add test files.`,
    );
  let d = set.part ? takePart(base, set.part) : base;
  for (const t of set.transforms) d = applyTransform(d, t, where);
  if (d.count === 0)
    throw new DataError(`${where} is empty after its part and transforms; check the class list and fraction.`);
  return d;
}

/** The f0 cache key's scenario part: what determines f0 and its prior pass (pretrain sets, stage 1's test). */
export function scenarioKey(spec: ScenarioSpec): string {
  const what = JSON.stringify({ pretrain: spec.pretrain, firstTest: spec.stages[0].test, datasets: spec.datasets });
  return 'file:' + createHash('sha256').update(what).digest('hex').slice(0, 16);
}

export async function loadFileScenario(
  spec: ScenarioSpec,
  scenarioPath: string,
  dataDir: string | undefined,
): Promise<FileScenarioData> {
  const sources = await loadScenarioSources(spec, scenarioPath, dataDir);
  const at = (what: string) => `Scenario ${spec.name} (${scenarioPath}) ${what}`;
  const pretrainTrain = buildSet(spec.pretrain.train, sources, at('pretrain.train'));
  const pretrainTest = buildSet(spec.pretrain.test, sources, at('pretrain.test'));
  const stages = spec.stages.map((s, i) => ({
    name: s.name,
    train: buildSet(s.train, sources, at(`stages.${i}.train`)),
    test: buildSet(s.test, sources, at(`stages.${i}.test`)),
  }));
  const all = [pretrainTrain, pretrainTest, ...stages.flatMap((s) => [s.train, s.test])];
  for (const d of all)
    if (d.height !== pretrainTrain.height || d.width !== pretrainTrain.width || d.channels !== pretrainTrain.channels)
      throw new DataError(
        `Scenario ${spec.name} (${scenarioPath}) mixes samples of ` +
          `${pretrainTrain.height}x${pretrainTrain.width}x${pretrainTrain.channels} ` +
          `and ${d.height}x${d.width}x${d.channels}; every set must have the pretrain ` +
          `set's shape.`,
      );
  // One head for every task: as many classes as any dataset or relabelled label needs.
  let numClasses = 0;
  for (const d of all) {
    numClasses = Math.max(numClasses, d.numClasses);
    for (const l of d.labels) numClasses = Math.max(numClasses, l + 1);
  }
  const withHead = (d: ImageDataset) => (d.numClasses === numClasses ? d : { ...d, numClasses });
  const first = stages[0];
  const finetuneClasses = [...new Set(first.train.labels)].sort((a, b) => a - b);
  const scenario: Scenario = {
    name: spec.name,
    description: spec.description,
    numClasses,
    pretrainTrain: withHead(pretrainTrain),
    pretrainTest: withHead(pretrainTest),
    finetuneTrain: withHead(first.train),
    finetuneTest: withHead(first.test),
    finetuneClasses,
    stages: stages.map((s) => ({ name: s.name, train: withHead(s.train), test: withHead(s.test) })),
  };
  const fingerprint =
    sources.length === 1
      ? sources[0].fingerprint
      : fingerprintBytes(sources.map((s) => new TextEncoder().encode(`${s.key}:${s.fingerprint}`)));
  return {
    scenario,
    fingerprint,
    sources: sources.map((s) => ({ key: s.key, origin: s.origin, fingerprint: s.fingerprint })),
  };
}
