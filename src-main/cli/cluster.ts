// The command line of cluster studies (README, "Run it on a cluster"; docs/cluster.md):
//   mixcd study ... --slurm [--partition P --time T --cpus-per-task C --mem M --array-parallel N
//                            --runs-per-task K --out DIR] [--dry-run]
//   mixcd run --manifest DIR/manifest.jsonl --index I     (one array task's run; --prepare-f0: f0 only)
//   mixcd merge DIR [--db DB] [--json]
//   mixcd study-status DIR [--json]
// main.ts calls in here from a few marked hook lines; the work is in src-main/cluster/.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, scenarioNameOf, type RunConfig } from '../../shared/config.js';
import type { StudyGrid } from '../../shared/studyGrid.js';
import { defaultHistoryPath, openHistory } from '../store/database.js';
import { parseSlurmOptions, type SlurmFlags } from '../cluster/sbatch.js';
import { CONFIG_FLAGS } from './configFromFlags.js';

const SLURM_FLAGS = ['partition', 'time', 'cpusPerTask', 'mem', 'arrayParallel', 'runsPerTask', 'out', 'dryRun'];
const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function progressMode(options: { quiet?: boolean }): 'bar' | 'lines' | 'quiet' {
  if (options.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

// --- mixcd study --slurm ---------------------------------------------------------------------------

export function addSlurmOptions(command: Command): Command {
  return command
    .option('--slurm', 'send the study to a Slurm cluster as a job array (writes DIR; submits when sbatch is here)')
    .option('--out <dir>', 'with --slurm: the study folder on a filesystem shared with the compute nodes')
    .option('--partition <name>', 'with --slurm: the partition to run in (default: the cluster default)')
    .option('--time <limit>', 'with --slurm: time limit per array task, as sbatch takes it, e.g. 2:00:00')
    .option('--cpus-per-task <n>', 'with --slurm: CPUs per array task (default: 1; a run trains on one core)')
    .option('--mem <size>', 'with --slurm: memory per array task, e.g. 4G')
    .option('--array-parallel <n>', 'with --slurm: at most N array tasks at once')
    .option('--runs-per-task <k>', 'with --slurm: runs per array task, one after the other (default: 1)')
    .option('--dry-run', 'with --slurm: write the manifest and scripts, submit nothing');
}

/** True when the study goes to Slurm; Slurm flags without --slurm are refused. */
export function wantsSlurm(options: Record<string, unknown>): boolean {
  // --jobs is this machine's concurrency; on a cluster Slurm runs the array tasks side by side.
  if (options.slurm && options.jobs !== undefined)
    throw new ConfigError(
      '--jobs runs a study on this machine; with --slurm the cluster runs its array tasks side by side: ' +
        'drop --jobs (--array-parallel N caps how many run at once).',
      'jobs',
    );
  if (options.slurm) return true;
  const given = SLURM_FLAGS.find((flag) => options[flag] !== undefined);
  if (given) throw new ConfigError(`--${kebab(given)} is for a Slurm study: add --slurm.`, given);
  return false;
}

/** The study's name as `mixcd study` stores it. */
export function studyName(base: RunConfig, grid: StudyGrid, name?: string): string {
  return (
    name ??
    `${scenarioNameOf(base)}: ${grid.strategies.join(', ')} ` +
      `x ${grid.matched ? 'compute R' : 'r'} ${grid.budgets.join(', ')} x seeds ${grid.seeds.join(', ')}`
  );
}

function defaultOut(): string {
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return path.resolve(`mixcd-slurm-${stamp}`);
}

/** `mixcd study ... --slurm`: called by studyCommand once the grid is expanded and checked; returns the exit code. */
export async function slurmStudy(
  options: Record<string, unknown> & { name?: string; json?: boolean },
  study: { base: RunConfig; grid: StudyGrid; configs: RunConfig[] },
): Promise<number> {
  const slurm = parseSlurmOptions(options as SlurmFlags);
  const { writeClusterStudy, findOnPath, submitStudy } = await import('../cluster/submit.js');
  const dir = typeof options.out === 'string' ? path.resolve(options.out) : defaultOut();
  if (study.base.backend === 'auto')
    process.stderr.write(
      'mixcd: --backend auto lets each compute node pick its own backend (a GPU node gives other numbers ' +
        'than a CPU node); pass --backend wasm (CPU) or webgpu to pin it.\n',
    );
  const env: Record<string, string> = {};
  if (process.env.MIXCD_DATA_DIR) env.MIXCD_DATA_DIR = path.resolve(process.env.MIXCD_DATA_DIR);
  const written = await writeClusterStudy({
    dir,
    name: studyName(study.base, study.grid, options.name),
    ...study,
    options: slurm,
    node: process.execPath,
    mixcd: fileURLToPath(new URL('../../../bin/mixcd.js', import.meta.url)),
    env,
  });
  const { paths, entries, tasks, duplicates } = written;
  const what =
    `${entries.length} run${entries.length === 1 ? '' : 's'} in ${tasks} array task${tasks === 1 ? '' : 's'}` +
    (duplicates ? ` (${duplicates} repeated run${duplicates === 1 ? '' : 's'} of the grid left out)` : '');
  let submitted: { f0Job: string; arrayJob: string } | null = null;
  let message: string;
  if (options.dryRun) {
    message = `Wrote ${what} to ${paths.dir} (dry run, nothing submitted: \`sh ${paths.submitScript}\` submits it).`;
  } else if (!findOnPath('sbatch')) {
    message =
      `Wrote ${what} to ${paths.dir}; sbatch is not on the PATH, so nothing was submitted: ` +
      `run \`sh ${paths.submitScript}\` on the cluster's login node.`;
  } else {
    submitted = submitStudy(paths);
    message =
      `Submitted ${what}: f0 job ${submitted.f0Job}, then job array ${submitted.arrayJob}; ` +
      `watch it with \`mixcd study-status ${paths.dir}\`, then \`mixcd merge ${paths.dir}\`.`;
  }
  if (options.json)
    process.stdout.write(
      JSON.stringify(
        {
          dir: paths.dir,
          runs: entries.length,
          tasks,
          duplicates,
          submitted,
          manifest: paths.manifest,
          sbatch: paths.sbatch,
          prepareSbatch: paths.prepareSbatch,
          submitScript: paths.submitScript,
        },
        null,
        2,
      ) + '\n',
    );
  else process.stdout.write(`${message}\n`);
  return 0;
}

// --- mixcd run --manifest M --index I ----------------------------------------------------------------

export function addManifestOptions(command: Command): Command {
  return command
    .option('--manifest <file>', "a cluster study's manifest.jsonl: run one of its lines (with --index)")
    .option('--index <i>', 'with --manifest: the line to run, from 0 (an array task passes its own)')
    .option('--prepare-f0', "with --manifest: only pretrain the study's f0 into its f0 cache");
}

/** True when `mixcd run` was given a manifest (then the manifest holds the config: no run flags). */
export function wantsManifest(options: Record<string, unknown>): boolean {
  if (options.manifest === undefined) {
    if (options.index !== undefined || options.prepareF0)
      throw new ConfigError(
        `--${options.index !== undefined ? 'index' : 'prepare-f0'} goes with --manifest FILE.`,
        'manifest',
      );
    return false;
  }
  const other = [...Object.keys(CONFIG_FLAGS), 'config', 'preset', 'study', 'db', 'saveModel', 'keepModel'].find(
    (flag) => options[flag] !== undefined,
  );
  if (other)
    throw new ConfigError(
      `--${kebab(other)} does not go with --manifest: the manifest line holds the run's whole config, ` +
        'and the run is stored in its shard under the manifest folder.',
      other,
    );
  if ((options.index === undefined) === !options.prepareF0)
    throw new ConfigError('Give --manifest either --index I (run line I) or --prepare-f0.', 'index');
  return true;
}

/** `mixcd run --manifest M (--index I | --prepare-f0)`; returns the exit code (75: stopped, requeue me). */
export async function runManifestTask(
  options: Record<string, unknown> & { manifest?: string; index?: string; json?: boolean; quiet?: boolean },
): Promise<number> {
  const say = options.quiet ? () => {} : (line: string) => process.stderr.write(`mixcd: ${line}\n`);
  if (options.prepareF0) {
    const { prepareManifestF0 } = await import('../cluster/task.js');
    const { createProgress } = await import('./progress.js');
    const progress = createProgress(progressMode(options), 'f0');
    try {
      return await prepareManifestF0(options.manifest!, { say, observer: progress.observer });
    } finally {
      progress.stop();
    }
  }
  const { runManifestTask: run } = await import('../cluster/task.js');
  const result = await run(options.manifest!, options.index!, {
    progress: progressMode(options),
    keepCheckpoints: Boolean(options.keepCheckpoints),
    say,
  });
  if (options.json && result.run) process.stdout.write(JSON.stringify(result.run, null, 2) + '\n');
  return result.exitCode;
}

// --- mixcd merge DIR ---------------------------------------------------------------------------------

/** A skipped shard's reason as the end of "skipped FILE: ..." (the history's own advice is about histories). */
function shardReason(reason: string): string {
  if (/is not an SQLite database/.test(reason)) return 'it is not an SQLite database';
  if (/is damaged/.test(reason)) return 'it is damaged or truncated (SQLite cannot read it whole)';
  if (/another program's|no mix-cd migrations|not a mix-cd/i.test(reason)) return 'it is not a mix-cd history';
  return reason.replace(/\.$/, '');
}

export function defineMergeCommand(command: Command): Command {
  return command
    .description("import a cluster study's finished shards (DIR/shards) into the history, once each")
    .argument('<dir>', 'the --out folder of `mixcd study --slurm`')
    .option('--db <file>', 'history database (default: MIXCD_DB or the app-data folder)')
    .option('--json', 'print { added, alreadyPresent, skipped: [{ file, reason }], studyId } as JSON')
    .action(async (dir: string, options: { db?: string; json?: boolean }) => {
      const { mergeStudy, mergeSummary } = await import('../cluster/merge.js');
      const { readClusterStudy } = await import('../cluster/manifest.js');
      // A wrong folder is said before the history is opened (and created when missing).
      readClusterStudy(dir);
      const file = options.db ? path.resolve(options.db) : defaultHistoryPath();
      const history = openHistory(file);
      try {
        const result = mergeStudy(dir, history);
        const skipped = result.skipped.map((s) => ({ file: s.file, reason: shardReason(s.reason) }));
        for (const s of skipped) process.stderr.write(`mixcd: skipped shard ${s.file}: ${s.reason}.\n`);
        if (options.json) process.stdout.write(JSON.stringify({ ...result, skipped }, null, 2) + '\n');
        else process.stdout.write(`${mergeSummary(result, path.resolve(dir))}\n`);
      } finally {
        history.close();
      }
    });
}

// --- mixcd study-status DIR --------------------------------------------------------------------------

export function defineStudyStatusCommand(command: Command): Command {
  return command
    .description('how far a cluster study is: runs finished, running, interrupted, failed, queued (shards, squeue)')
    .argument('<dir>', 'the --out folder of `mixcd study --slurm`')
    .option('--json', 'print the counts, each run and what squeue/sacct said as JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const { studyStatus, statusText } = await import('../cluster/status.js');
      const status = studyStatus(dir);
      process.stdout.write(options.json ? JSON.stringify(status, null, 2) + '\n' : `${statusText(status)}\n`);
    });
}
