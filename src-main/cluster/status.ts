// `mixcd study-status DIR`: where a cluster study stands, from its shards (a finished shard is a
// finished run; a partial one is a run going on or interrupted) and from squeue/sacct when present.
// A partial shard is opened (read-only) only when squeue does not say its task is running: a history
// in WAL mode should not be read from another host while its task writes it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { INTERRUPTED_ERROR } from '../store/runs.js';
import { sqliteNativeBinding } from '../store/nativeBinding.js';
import {
  checkpointDir,
  clusterPaths,
  partialShardFile,
  readManifest,
  readClusterStudy,
  shardFile,
  taskCount,
  type ClusterPaths,
} from './manifest.js';

export const RUN_STATES = ['finished', 'running', 'interrupted', 'failed', 'queued'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface SlurmJob {
  /** As Slurm prints it: "12" or, for an array task, "12_3". */
  id: string;
  state: string;
  reason?: string;
  exitCode?: string;
}

export interface SlurmView {
  available: boolean;
  /** Why not, or what it said, in one sentence. */
  note?: string;
  jobs: SlurmJob[];
}

export interface StudyStatus {
  dir: string;
  name: string;
  runs: Record<RunState, number> & { total: number };
  tasks: { total: number; runsPerTask: number; pending: number; running: number; other: number };
  perRun: { index: number; identity: string; state: RunState; detail?: string; checkpoint: boolean }[];
  submissions: { f0Job: string; arrayJob: string; submittedAt: string }[];
  squeue: SlurmView;
  sacct: SlurmView;
}

/** A command's stdout, or null with its complaint: injectable for tests. */
export type CommandRunner = (command: string, args: string[]) => { ok: boolean; stdout: string; stderr: string };

export const runCommand: CommandRunner = (command, args) => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return { ok: false, stdout: '', stderr: (result.error as NodeJS.ErrnoException).code ?? '' };
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
};

function firstLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')[0]
      ?.replace(/^\w+: (error: )?/, '')
      .trim() ?? ''
  );
}

function readSubmissions(paths: ClusterPaths): StudyStatus['submissions'] {
  if (!existsSync(paths.submitted)) return [];
  return readFileSync(paths.submitted, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as StudyStatus['submissions'][number]];
      } catch {
        return [];
      }
    });
}

function askSlurm(command: 'squeue' | 'sacct', jobIds: string[], run: CommandRunner): SlurmView {
  if (!jobIds.length) return { available: false, note: 'nothing was submitted from this folder yet', jobs: [] };
  const args =
    command === 'squeue'
      ? ['--noheader', '--array', '--jobs', jobIds.join(','), '--format', '%i|%T|%r']
      : ['--noheader', '--parsable2', '--allocations', '--jobs', jobIds.join(','), '--format', 'JobID,State,ExitCode'];
  const out = run(command, args);
  if (!out.ok) {
    if (out.stderr === 'ENOENT') return { available: false, note: `${command} is not on the PATH`, jobs: [] };
    // Jobs that left squeue's memory (MinJobAge) are "invalid" to it: none queued or running.
    if (command === 'squeue' && /invalid job id/i.test(out.stderr)) return { available: true, jobs: [] };
    return { available: false, note: `${command} says: ${firstLine(out.stderr) || 'nothing'}`, jobs: [] };
  }
  const jobs = out.stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, state, third] = line.trim().split('|');
      return command === 'squeue' ? { id, state, reason: third } : { id, state, exitCode: third };
    });
  return { available: true, jobs };
}

/** The last stored status of a partial shard's run (raw: a read-only History calls other hosts' runs failed). */
function partialRun(file: string): { status: string; error: string | null } | null {
  const binding = sqliteNativeBinding();
  const db = new Database(file, {
    readonly: true,
    fileMustExist: true,
    ...(binding ? { nativeBinding: binding } : {}),
  });
  try {
    return (
      (db.prepare('SELECT status, error FROM runs ORDER BY id DESC LIMIT 1').get() as
        { status: string; error: string | null } | undefined) ?? null
    );
  } finally {
    db.close();
  }
}

export function studyStatus(dir: string, run: CommandRunner = runCommand): StudyStatus {
  const paths = clusterPaths(dir);
  const study = readClusterStudy(dir);
  const entries = readManifest(paths.manifest);
  const submissions = readSubmissions(paths);
  const last = submissions[submissions.length - 1];
  const ids = last ? [last.f0Job, last.arrayJob].filter(Boolean) : [];
  const squeue = askSlurm('squeue', ids, run);
  const sacct = askSlurm('sacct', ids, run);
  const perTask = study.runsPerTask || 1;
  const arrayTasks = squeue.jobs.filter((j) => last && j.id.startsWith(`${last.arrayJob}_`));
  const taskState = new Map(arrayTasks.map((j) => [Number(j.id.split('_')[1]), j.state]));
  const perRun = entries.map((entry): StudyStatus['perRun'][number] => {
    const dirOf = checkpointDir(paths, entry.identity);
    const checkpoint = existsSync(dirOf) && readdirSync(dirOf).length > 0;
    const base = { index: entry.index, identity: entry.identity, checkpoint };
    if (existsSync(shardFile(paths, entry.identity))) return { ...base, state: 'finished' };
    const partial = partialShardFile(paths, entry.identity);
    if (!existsSync(partial)) return { ...base, state: 'queued' };
    const task = taskState.get(Math.floor(entry.index / perTask));
    if (task === 'RUNNING' || task === 'COMPLETING') return { ...base, state: 'running' };
    let stored: { status: string; error: string | null } | null;
    try {
      stored = partialRun(partial);
    } catch (error) {
      return { ...base, state: 'running', detail: `its shard cannot be read now (${(error as Error).message})` };
    }
    if (!stored) return { ...base, state: 'queued' };
    if (stored.status === 'failed' && stored.error !== INTERRUPTED_ERROR)
      return { ...base, state: 'failed', detail: stored.error ?? undefined };
    return {
      ...base,
      state: 'interrupted',
      detail: task === 'PENDING' ? 'resumes when its task starts again' : `stored ${stored.status}`,
    };
  });
  const runs = { total: entries.length, finished: 0, running: 0, interrupted: 0, failed: 0, queued: 0 };
  for (const r of perRun) runs[r.state]++;
  return {
    dir: paths.dir,
    name: study.name,
    runs,
    tasks: {
      total: taskCount(entries.length, perTask),
      runsPerTask: perTask,
      pending: arrayTasks.filter((j) => j.state === 'PENDING').length,
      running: arrayTasks.filter((j) => j.state === 'RUNNING').length,
      other: arrayTasks.filter((j) => j.state !== 'PENDING' && j.state !== 'RUNNING').length,
    },
    perRun,
    submissions,
    squeue,
    sacct,
  };
}

export function statusText(status: StudyStatus): string {
  const r = status.runs;
  const lines = [
    `Study ${JSON.stringify(status.name)} in ${status.dir}: ${r.total} run${r.total === 1 ? '' : 's'} in ` +
      `${status.tasks.total} array task${status.tasks.total === 1 ? '' : 's'}.`,
    `Runs: ${r.finished} finished, ${r.running} running, ${r.interrupted} interrupted (checkpointed; resumed when ` +
      `their task is requeued), ${r.failed} failed, ${r.queued} queued.`,
  ];
  for (const run of status.perRun.filter((p) => p.state === 'failed'))
    lines.push(`  run ${run.index} (${run.identity}) failed${run.detail ? `: ${run.detail}` : ''}`);
  const last = status.submissions[status.submissions.length - 1];
  if (status.squeue.available && last) {
    const f0 = status.squeue.jobs.find((j) => j.id === last.f0Job);
    const t = status.tasks;
    lines.push(
      `squeue: job array ${last.arrayJob}: ${t.running} task${t.running === 1 ? '' : 's'} running, ` +
        `${t.pending} pending${t.other ? `, ${t.other} in other states` : ''}; f0 job ${last.f0Job}: ` +
        `${f0 ? f0.state.toLowerCase() : 'no longer queued'}.`,
    );
  } else lines.push(`squeue: not asked or not available: ${status.squeue.note}.`);
  if (status.sacct.available) {
    const byState = new Map<string, number>();
    for (const job of status.sacct.jobs) byState.set(job.state, (byState.get(job.state) ?? 0) + 1);
    lines.push(`sacct: ${[...byState].map(([state, n]) => `${n} ${state.toLowerCase()}`).join(', ') || 'no jobs'}.`);
  } else
    lines.push(`sacct: not asked or not available: ${status.sacct.note}; finished runs are counted from the shards.`);
  return lines.join('\n');
}
