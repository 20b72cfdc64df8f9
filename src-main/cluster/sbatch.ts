// The Slurm side of a study: the flags of `mixcd study --slurm`, and the scripts written from them
// (pure: text in, text out). Why two jobs: f0 is pretrained once, by prepare-f0.sbatch on a compute
// node (login nodes are for editing and submitting, not for minutes of training), and the array
// starts only after it succeeded (--dependency=afterok), so no task pretrains f0 for itself.
import { ConfigError } from '../../shared/config.js';
import { taskCount, type ClusterPaths } from './manifest.js';

/** `mixcd run --manifest` exits with this after a stop signal (checkpointed, stored cancelled): the script requeues. */
export const EXIT_REQUEUE = 75;

/** Seconds before the time limit at which Slurm warns the task (SIGUSR1 to its script); limits >= 10 min. */
export const WARN_SECONDS = 120;

export interface SlurmOptions {
  partition?: string;
  /** As sbatch takes it: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  time?: string;
  cpusPerTask: number;
  /** As sbatch takes it: a number with an optional K, M, G or T suffix. */
  mem?: string;
  /** At most this many array tasks at once (the array's %N). */
  arrayParallel?: number;
  runsPerTask: number;
}

export interface SlurmFlags {
  partition?: string;
  time?: string;
  cpusPerTask?: string;
  mem?: string;
  arrayParallel?: string;
  runsPerTask?: string;
}

function positive(text: string | undefined, flag: string, fallback: number | undefined, max = 1_000_000) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new ConfigError(`--${flag} "${text}" is not valid: give a whole number from 1 to ${max}.`, flag);
  return n;
}

/** Slurm's time formats, in seconds; null when the text is not one of them. */
export function slurmSeconds(text: string): number | null {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!m) return null;
  const [, days, a, b, c] = m;
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  if (days !== undefined) return n(days) * 86400 + n(a) * 3600 + n(b) * 60 + n(c); // D-HH[:MM[:SS]]
  if (c !== undefined) return n(a) * 3600 + n(b) * 60 + n(c); // HH:MM:SS
  if (b !== undefined) return n(a) * 60 + n(b); // MM:SS
  return n(a) * 60; // minutes
}

/** Every flag checked before anything is written: the values go into a shell script. */
export function parseSlurmOptions(flags: SlurmFlags): SlurmOptions {
  if (flags.partition !== undefined && !/^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/.test(flags.partition))
    throw new ConfigError(
      `--partition "${flags.partition}" is not valid: give a partition name (letters, digits, _ . -), ` +
        'or several separated by commas.',
      'partition',
    );
  if (flags.time !== undefined && !slurmSeconds(flags.time))
    throw new ConfigError(
      `--time "${flags.time}" is not valid: give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS, as sbatch takes it.`,
      'time',
    );
  if (flags.mem !== undefined && !/^[1-9]\d*[KMGT]?$/i.test(flags.mem))
    throw new ConfigError(
      `--mem "${flags.mem}" is not valid: give a size as sbatch takes it, e.g. 4G or 4000M.`,
      'mem',
    );
  return {
    partition: flags.partition,
    time: flags.time,
    mem: flags.mem,
    cpusPerTask: positive(flags.cpusPerTask, 'cpus-per-task', 1, 1024)!,
    arrayParallel: positive(flags.arrayParallel, 'array-parallel', undefined),
    runsPerTask: positive(flags.runsPerTask, 'runs-per-task', 1)!,
  };
}

/** A word for a shell script, single-quoted. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A value on an #SBATCH line (sbatch's own parser takes double quotes). */
function directiveValue(text: string): string {
  if (/["\n\r]/.test(text))
    throw new ConfigError(`The path ${JSON.stringify(text)} cannot go into a job script.`, 'out');
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `"${text}"`;
}

export interface ScriptInput {
  paths: ClusterPaths;
  name: string;
  runs: number;
  options: SlurmOptions;
  /** Absolute paths of this install's node and bin/mixcd.js (the compute nodes see the same shared filesystem). */
  node: string;
  mixcd: string;
  /** Variables the runs need that the submitting shell had (e.g. MIXCD_DATA_DIR). */
  env?: Record<string, string>;
}

/** A short job name from the output folder's name (shown by squeue). */
function jobName(input: ScriptInput, suffix: string): string {
  const base = input.paths.dir
    .split('/')
    .pop()!
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .slice(0, 40);
  return `mixcd-${base}-${suffix}`;
}

function resourceLines(options: SlurmOptions): string[] {
  const lines = [`#SBATCH --cpus-per-task=${options.cpusPerTask}`];
  if (options.partition) lines.push(`#SBATCH --partition=${options.partition}`);
  if (options.time) lines.push(`#SBATCH --time=${options.time}`);
  if (options.mem) lines.push(`#SBATCH --mem=${options.mem}`);
  // The warning needs room: Slurm may send it up to 60 s early, and a warning at the start would
  // stop and requeue the task forever. Without it the run still checkpoints at the limit's SIGTERM.
  const limit = options.time ? slurmSeconds(options.time)! : 0;
  if (limit >= 600) lines.push(`#SBATCH --signal=B:USR1@${WARN_SECONDS}`);
  return lines;
}

function environment(input: ScriptInput): string[] {
  const lines = [
    `NODE=${shellQuote(input.node)}`,
    `MIXCD=${shellQuote(input.mixcd)}`,
    `MANIFEST=${shellQuote(input.paths.manifest)}`,
    `REQUEUE_EXIT=${EXIT_REQUEUE} # mixcd run's exit after a stop signal: checkpointed, resumable`,
    `export MIXCD_CACHE_DIR=${shellQuote(input.paths.f0Cache)}`,
  ];
  for (const [key, value] of Object.entries(input.env ?? {})) lines.push(`export ${key}=${shellQuote(value)}`);
  return lines;
}

/** Runs "$@" in the background and waits for its own exit code, so the traps run at once (sets $code). */
const RUN_AND_WAIT = `# Runs a command in the background and waits for its exit code in $code: in the background, so a
# trapped signal is handled at once (a shell runs traps only between foreground commands).
run() {
  "$@" &
  child=$!
  interrupted=0
  code=0
  wait "$child" || code=$?
  # A trapped signal ends \`wait\` early with a code > 128: wait again for the command's own exit.
  while [ "$interrupted" -eq 1 ] && [ "$code" -gt 128 ]; do
    interrupted=0
    code=0
    wait "$child" || code=$?
  done
  child=0
}

child=0
stopping=0
interrupted=0
# SIGTERM (the time limit, preemption, \`scancel --full --signal=TERM\`) reaches every process of the
# job, the run included, which checkpoints and exits with $REQUEUE_EXIT; this shell must only outlive it.
trap 'stopping=1; interrupted=1' TERM
# SIGUSR1 (Slurm's warning before the time limit, or \`scancel --batch --signal=USR1\`) reaches this
# shell only: it passes SIGTERM on to the run.
trap 'stopping=1; interrupted=1; [ "$child" -ne 0 ] && kill -TERM "$child" 2>/dev/null' USR1`;

export function studySbatch(input: ScriptInput): string {
  const { paths, runs, options } = input;
  const tasks = taskCount(runs, options.runsPerTask);
  const array = `0-${tasks - 1}${options.arrayParallel ? `%${options.arrayParallel}` : ''}`;
  return `#!/bin/bash
# mix-cd workbench: study ${JSON.stringify(input.name)}, ${runs} run${runs === 1 ? '' : 's'} as a Slurm job array
# (written by \`mixcd study --slurm\`). Submit with \`sh ${paths.submitScript}\`: f0 first, then this
# array once f0 is there. ${
    options.runsPerTask === 1
      ? 'Task T runs manifest line T'
      : `Task T runs manifest lines T*${options.runsPerTask} to T*${options.runsPerTask}+${options.runsPerTask - 1}`
  } with \`mixcd run --manifest M --index I\`;
# a finished run leaves shards/<identity>.db, which a requeued task skips. Stopped by a signal (time
# limit, preemption, scancel), the run checkpoints and this task requeues itself to resume it.
#SBATCH --job-name=${jobName(input, 'runs')}
#SBATCH --array=${array}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=${directiveValue(`${paths.logs}/runs-%A_%a.out`)}
#SBATCH --error=${directiveValue(`${paths.logs}/runs-%A_%a.err`)}
${resourceLines(options).join('\n')}

set -u
${environment(input).join('\n')}
RUNS=${runs}
PER_TASK=${options.runsPerTask}

${RUN_AND_WAIT}

task="\${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a job array}"
requeue() {
  echo "mixcd: task $task was stopped by a signal; requeueing \${SLURM_ARRAY_JOB_ID}_$task to resume it." >&2
  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_$task"
  exit "$REQUEUE_EXIT"
}

status=0
for ((j = 0; j < PER_TASK; j++)); do
  i=$((task * PER_TASK + j))
  [ "$i" -lt "$RUNS" ] || break
  [ "$stopping" -eq 0 ] || requeue
  echo "mixcd: task $task, run $i, attempt $((\${SLURM_RESTART_COUNT:-0} + 1)), on $(hostname) at $(date -Is)"
  run "$NODE" "$MIXCD" run --manifest "$MANIFEST" --index "$i"
  # Stopped by a signal: checkpointed ($REQUEUE_EXIT), or killed before it could be (it then resumes
  # from its last checkpoint, or starts over). Either way the task goes back to the queue.
  if [ "$code" -eq "$REQUEUE_EXIT" ] || { [ "$code" -ne 0 ] && [ "$stopping" -eq 1 ]; }; then requeue; fi
  [ "$code" -eq 0 ] || status=1
done
exit "$status"
`;
}

export function prepareF0Sbatch(input: ScriptInput): string {
  const { paths } = input;
  return `#!/bin/bash
# mix-cd workbench: pretrains f0 (and its prior pass) once for study ${JSON.stringify(input.name)}, into
# ${paths.f0Cache}, before the job array (study.sbatch, --dependency=afterok) starts.
# Stopped by a signal, it requeues itself (pretraining starts over).
#SBATCH --job-name=${jobName(input, 'f0')}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=${directiveValue(`${paths.logs}/f0-%j.out`)}
#SBATCH --error=${directiveValue(`${paths.logs}/f0-%j.err`)}
${resourceLines(input.options).join('\n')}

set -u
${environment(input).join('\n')}

${RUN_AND_WAIT}

run "$NODE" "$MIXCD" run --manifest "$MANIFEST" --prepare-f0
if [ "$code" -ne 0 ] && [ "$stopping" -eq 1 ]; then
  echo "mixcd: pretraining f0 was stopped by a signal; requeueing job $SLURM_JOB_ID." >&2
  scontrol requeue "$SLURM_JOB_ID"
  exit "$REQUEUE_EXIT"
fi
exit "$code"
`;
}

/** What `mixcd study --slurm` does when sbatch is on the PATH, for submitting later by hand. */
export function submitScript(input: ScriptInput): string {
  const { paths } = input;
  return `#!/bin/sh
# Submits study ${JSON.stringify(input.name)}: f0 first, then the job array once f0 succeeded.
set -eu
f0=$(sbatch --parsable ${shellQuote(paths.prepareSbatch)})
f0=\${f0%%;*}
runs=$(sbatch --parsable --dependency=afterok:"$f0" ${shellQuote(paths.sbatch)})
runs=\${runs%%;*}
printf '{"f0Job":"%s","arrayJob":"%s","submittedAt":"%s"}\\n' "$f0" "$runs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \\
  >> ${shellQuote(paths.submitted)}
echo "Submitted f0 job $f0 and job array $runs; watch them with: mixcd study-status ${shellQuote(paths.dir)}"
`;
}
