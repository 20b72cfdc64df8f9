// A study sent to a cluster lives in one output folder (DIR), on a filesystem the login node and the
// compute nodes share:
//   manifest.jsonl        one run per line: { index, identity, config } (the array tasks read it)
//   study.json            the study's name, base config and grid (what `mixcd merge` stores as the study)
//   study.sbatch          the job array; prepare-f0.sbatch pretrains f0 first; submit.sh submits both
//   f0-cache/             f0 and its prior pass, pretrained once for the study (MIXCD_CACHE_DIR of the tasks)
//   shards/<identity>.db  one finished run each, a self-contained history file (renamed into place)
//   shards/.partial-<identity>.db   a run still going or interrupted (resumed when its task is requeued)
//   checkpoints/<identity>/        that run's checkpoints
//   logs/                 the jobs' stdout and stderr (appended across requeues)
// Everything here is pure (paths, lines, parsing) except the small readers at the end.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseRunConfig, type RunConfig } from '../../shared/config.js';
import type { StudyGrid } from '../../shared/studyGrid.js';

export interface ManifestEntry {
  /** The line number from 0: `mixcd run --manifest M --index I` runs line I. */
  index: number;
  /** engine/runIdentity.ts: the shard's name and what `mixcd merge` deduplicates by. */
  identity: string;
  config: RunConfig;
}

/** study.json: the study as `mixcd study` would have stored it, plus how it was cut into tasks. */
export interface StudyFile {
  name: string;
  base: RunConfig;
  grid: StudyGrid;
  runs: number;
  runsPerTask: number;
  createdAt: string;
  workbenchVersion: string;
}

export interface ClusterPaths {
  dir: string;
  manifest: string;
  study: string;
  sbatch: string;
  prepareSbatch: string;
  submitScript: string;
  /** The job ids of each submission, appended (study-status asks squeue/sacct about them). */
  submitted: string;
  shards: string;
  checkpoints: string;
  logs: string;
  f0Cache: string;
}

export function clusterPaths(dir: string): ClusterPaths {
  const d = path.resolve(dir);
  return {
    dir: d,
    manifest: path.join(d, 'manifest.jsonl'),
    study: path.join(d, 'study.json'),
    sbatch: path.join(d, 'study.sbatch'),
    prepareSbatch: path.join(d, 'prepare-f0.sbatch'),
    submitScript: path.join(d, 'submit.sh'),
    submitted: path.join(d, 'submitted.jsonl'),
    shards: path.join(d, 'shards'),
    checkpoints: path.join(d, 'checkpoints'),
    logs: path.join(d, 'logs'),
    f0Cache: path.join(d, 'f0-cache'),
  };
}

export const shardFile = (paths: ClusterPaths, identity: string) => path.join(paths.shards, `${identity}.db`);
export const partialShardFile = (paths: ClusterPaths, identity: string) =>
  path.join(paths.shards, `.partial-${identity}.db`);
export const checkpointDir = (paths: ClusterPaths, identity: string) => path.join(paths.checkpoints, identity);

const IDENTITY = /^[0-9a-f]{16,64}$/;
/** A finished shard's file name (`<identity>.db`); partial shards start with a dot and are not matched. */
export const SHARD_NAME = /^([0-9a-f]{16,64})\.db$/;

/**
 * The manifest's entries: one per distinct identity, in the grid's order (a grid that names the
 * same run twice, e.g. `--seeds 1,1`, runs it once). `identityOf` is engine/runIdentity.ts with the
 * config's data fingerprint.
 */
export function buildManifest(
  configs: readonly RunConfig[],
  identityOf: (config: RunConfig) => string,
): { entries: ManifestEntry[]; duplicates: number } {
  const seen = new Set<string>();
  const entries: ManifestEntry[] = [];
  for (const config of configs) {
    const identity = identityOf(config);
    if (seen.has(identity)) continue;
    seen.add(identity);
    entries.push({ index: entries.length, identity, config });
  }
  return { entries, duplicates: configs.length - entries.length };
}

export function formatManifest(entries: readonly ManifestEntry[]): string {
  return entries.map((e) => JSON.stringify({ index: e.index, identity: e.identity, config: e.config }) + '\n').join('');
}

function manifestError(file: string, message: string): ConfigError {
  return new ConfigError(`Manifest ${file}: ${message}`, 'manifest');
}

/** Every line checked (index in order, identity, a valid run config); one sentence naming the line when not. */
export function parseManifest(text: string, file: string): ManifestEntry[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (!lines.length) throw manifestError(file, 'it has no runs (write it with `mixcd study ... --slurm`).');
  return lines.map((line, i) => {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw manifestError(file, `line ${i + 1} is not JSON; the file is damaged (write it again with --slurm).`);
    }
    const entry = raw as Partial<ManifestEntry>;
    if (typeof entry !== 'object' || entry === null || entry.index !== i)
      throw manifestError(file, `line ${i + 1} does not hold run index ${i}; the file is damaged.`);
    if (typeof entry.identity !== 'string' || !IDENTITY.test(entry.identity))
      throw manifestError(file, `line ${i + 1} has no valid run identity; the file is damaged.`);
    let config: RunConfig;
    try {
      config = parseRunConfig(entry.config);
    } catch (error) {
      throw manifestError(file, `line ${i + 1}'s config is not valid (${(error as Error).message})`);
    }
    return { index: i, identity: entry.identity, config };
  });
}

export function readManifest(file: string): ManifestEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw manifestError(
      file,
      code === 'ENOENT'
        ? 'there is no such file (`mixcd study ... --slurm --out DIR` writes DIR/manifest.jsonl).'
        : `it cannot be read (${(error as Error).message}).`,
    );
  }
  return parseManifest(text, file);
}

/** The study.json of a study folder; a folder without one is said in one sentence. */
export function readClusterStudy(dir: string): StudyFile {
  const paths = clusterPaths(dir);
  if (!existsSync(paths.study))
    throw new ConfigError(
      `${paths.dir} has no study.json: give the --out folder of \`mixcd study ... --slurm\`.`,
      'dir',
    );
  return readStudyFile(paths.study);
}

export function readStudyFile(file: string): StudyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `${file} cannot be read as the study's description (${(error as Error).message}); ` +
        '`mixcd study ... --slurm --out DIR` writes it.',
      'study',
    );
  }
  const study = raw as Partial<StudyFile>;
  if (typeof study?.name !== 'string' || typeof study.base !== 'object' || typeof study.grid !== 'object')
    throw new ConfigError(`${file} lacks the study's name, base or grid; the file is damaged.`, 'study');
  return study as StudyFile;
}

/** The number of array tasks for n runs at k runs per task. */
export const taskCount = (runs: number, runsPerTask: number) => Math.ceil(runs / runsPerTask);

/** The manifest indices array task `task` runs. */
export function taskIndices(task: number, runs: number, runsPerTask: number): number[] {
  const out: number[] = [];
  for (let i = task * runsPerTask; i < Math.min(runs, (task + 1) * runsPerTask); i++) out.push(i);
  return out;
}
