// TEMPORARY stand-in for src-main/cli/hostRun.ts (the lead's CLI-as-a-client-of-the-host), with the
// same signatures, so the Slurm task can be built and tested before that lands. Each run goes to a
// child process (hostRunStubChild.ts) so a signal is seen while the synchronous finetune loop runs:
// SIGINT/SIGTERM kill the child and store the run as failed (interrupted); a second signal exits at
// once. "Resume" re-runs the run from its start under the same id (identical numbers, slower than a
// checkpoint). Delete this file and hostRunStubChild.ts when hostRun.ts is on main (see hostRun.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { openHistory } from '../store/database.js';

export interface HostRunOptions {
  historyFile: string;
  cacheDir: string;
  checkpointDir: string;
  jobs?: number;
  progress: 'bar' | 'lines' | 'quiet';
  studyId?: number | null;
}

let stopping = false;
const children = new Set<ChildProcess>();

function onSignal(): void {
  if (stopping) process.exit(130);
  stopping = true;
  for (const child of children) child.kill('SIGKILL');
}

export function stopRequested(): boolean {
  return stopping;
}

function runChild(job: { config: RunConfig; resumeId?: number }, options: HostRunOptions): Promise<number | null> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./hostRunStubChild.js', import.meta.url)), JSON.stringify({ ...job, options })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve) => {
    child.on('close', () => {
      children.delete(child);
      const id = Number(out.trim().split('\n').pop());
      resolve(Number.isInteger(id) && id > 0 ? id : (job.resumeId ?? null));
    });
  });
}

async function runAll(jobs: { config: RunConfig; resumeId?: number }[], options: HostRunOptions) {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ids: number[] = [];
  try {
    for (const job of jobs) {
      if (stopping) break;
      const id = await runChild(job, options);
      if (id !== null) ids.push(id);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const history = openHistory(options.historyFile);
  try {
    history.markInterruptedRuns(); // a child killed by a signal left its run "running"
    return ids.map((id) => history.getRun(id)!);
  } finally {
    history.close();
  }
}

export function runConfigs(configs: RunConfig[], options: HostRunOptions): Promise<RunSummary[]> {
  return runAll(
    configs.map((config) => ({ config })),
    options,
  );
}

export function resumeRuns(runIds: number[], options: HostRunOptions): Promise<RunSummary[]> {
  const history = openHistory(options.historyFile);
  let jobs: { config: RunConfig; resumeId: number }[];
  try {
    jobs = runIds.map((id) => ({ config: history.getRun(id)!.config, resumeId: id }));
  } finally {
    history.close();
  }
  return runAll(jobs, options);
}
