// Writing a study's cluster folder (manifest, study.json, scripts) and submitting it with sbatch.
import { spawnSync } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type RunConfig } from '../../shared/config.js';
import type { StudyGrid } from '../../shared/studyGrid.js';
import { dataFingerprints, plannedIdentity } from '../engine/plannedIdentity.js';
import { runIdentity } from '../engine/runIdentity.js';
import { packageVersion } from '../packageRoot.js';
import {
  buildManifest,
  clusterPaths,
  formatManifest,
  type ClusterPaths,
  type ManifestEntry,
  type StudyFile,
} from './manifest.js';
import { prepareF0Sbatch, studySbatch, submitScript, type ScriptInput, type SlurmOptions } from './sbatch.js';

export interface ClusterStudyInput {
  dir: string;
  name: string;
  base: RunConfig;
  grid: StudyGrid;
  configs: RunConfig[];
  options: SlurmOptions;
  node: string;
  mixcd: string;
  env?: Record<string, string>;
}

export interface WrittenStudy {
  paths: ClusterPaths;
  entries: ManifestEntry[];
  duplicates: number;
  tasks: number;
}

/**
 * The identity the trainer will store for this run (trainer/serve.ts: the config as run, with the
 * backend's defaults resolved and the backend it got). With a named backend that is known here;
 * with 'auto' each compute node picks its own, so the requested config is hashed instead and the
 * stored identity may differ (`mixcd merge` deduplicates by the stored one).
 */
export function manifestIdentity(config: RunConfig, dataFingerprint: string): string {
  return plannedIdentity(config, dataFingerprint) ?? runIdentity(config, dataFingerprint);
}

export async function writeClusterStudy(input: ClusterStudyInput): Promise<WrittenStudy> {
  const paths = clusterPaths(input.dir);
  const fingerprintOf = await dataFingerprints(input.configs, paths.f0Cache);
  const { entries, duplicates } = buildManifest(input.configs, (c) => manifestIdentity(c, fingerprintOf(c)));
  const manifest = formatManifest(entries);
  // The same study again (to resubmit: finished runs are skipped) is fine; another one is not.
  if (existsSync(paths.manifest) && readFileSync(paths.manifest, 'utf8') !== manifest)
    throw new ConfigError(
      `${paths.dir} already holds another study's manifest: choose another --out folder, ` +
        'or remove that one first (after `mixcd merge` if its runs are wanted).',
      'out',
    );
  for (const dir of [paths.dir, paths.shards, paths.checkpoints, paths.logs, paths.f0Cache])
    mkdirSync(dir, { recursive: true });
  const study: StudyFile = {
    name: input.name,
    base: input.base,
    grid: input.grid,
    runs: entries.length,
    runsPerTask: input.options.runsPerTask,
    createdAt: new Date().toISOString(),
    workbenchVersion: packageVersion(),
  };
  const script: ScriptInput = {
    paths,
    name: input.name,
    runs: entries.length,
    options: input.options,
    node: input.node,
    mixcd: input.mixcd,
    env: input.env,
  };
  writeFileSync(paths.manifest, manifest);
  if (!existsSync(paths.study)) writeFileSync(paths.study, JSON.stringify(study, null, 2) + '\n');
  writeFileSync(paths.sbatch, studySbatch(script), { mode: 0o755 });
  writeFileSync(paths.prepareSbatch, prepareF0Sbatch(script), { mode: 0o755 });
  writeFileSync(paths.submitScript, submitScript(script), { mode: 0o755 });
  return { paths, entries, duplicates, tasks: Math.ceil(entries.length / input.options.runsPerTask) };
}

/** The command's path when it is an executable on the PATH, else null. */
export function findOnPath(command: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

export class SubmitError extends Error {
  override name = 'SubmitError';
}

function sbatch(args: string[]): string {
  const result = spawnSync('sbatch', ['--parsable', ...args], { encoding: 'utf8', timeout: 60_000 });
  const script = path.basename(args[args.length - 1]);
  if (result.error) throw new SubmitError(`sbatch could not be run for ${script} (${result.error.message}).`);
  if (result.status !== 0)
    throw new SubmitError(
      `sbatch refused ${script}: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.status}`}`,
    );
  // --parsable prints "jobid" or "jobid;cluster".
  const id = result.stdout.trim().split('\n').pop()!.split(';')[0];
  if (!/^\d+$/.test(id)) throw new SubmitError(`sbatch printed "${result.stdout.trim()}" for ${script}, not a job id.`);
  return id;
}

/** What submit.sh does: f0 first, then the array once it succeeded; the ids are appended to submitted.jsonl. */
export function submitStudy(paths: ClusterPaths): { f0Job: string; arrayJob: string } {
  const f0Job = sbatch([paths.prepareSbatch]);
  const arrayJob = sbatch([`--dependency=afterok:${f0Job}`, paths.sbatch]);
  appendFileSync(paths.submitted, JSON.stringify({ f0Job, arrayJob, submittedAt: new Date().toISOString() }) + '\n');
  return { f0Job, arrayJob };
}
