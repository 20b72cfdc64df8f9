// A study on a cluster, as a researcher runs it: `mixcd study --slurm` writes the manifest and the
// job scripts and submits them to a real Slurm (Debian's 22.05, started by the test as a single-node
// cluster); one array task is stopped mid-run with SIGTERM, requeues itself and resumes; `mixcd
// merge` brings every run into a history with the numbers of the same study run locally, adds 0 the
// second time, and names and skips damaged shards. The dry run's files are checked without Slurm.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistoryReadOnly } from '../../src-main/store/database.js';
import { MIXCD_BIN, runMixcd, smallRunFlags } from '../helpers/cliProcess.js';
import { writeIdxData } from '../helpers/idxData.js';
import { missingSlurm, startSlurmCluster, type SlurmCluster } from '../helpers/slurmCluster.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-slurm-test-'));
const dataDir = path.join(work, 'data');

// 3 strategies x 1 budget x 2 seeds = 6 runs of a few hundred steps on small generated data.
const grid = ['--strategies', 'none,random,mix-cd', '--budgets', '0.25', '--seeds', '1,2'];
const small = smallRunFlags(dataDir, { steps: 600, evalEvery: 50 });

function mixcd(args: string[], env: Record<string, string> = {}, db = path.join(work, 'unused.db')) {
  return runMixcd(args, { db, cacheDir: path.join(work, 'cache'), timeout: 120_000, env });
}

/** `mixcd` in the background (the local study runs while the cluster does). */
function mixcdAsync(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MIXCD_BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => T | null | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}.`);
    await sleep(100);
  }
}

function manifestLines(dir: string): { index: number; identity: string; config: any }[] {
  return readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

afterAll(() => {
  if (!process.env.MIXCD_KEEP_SLURM) rmSync(work, { recursive: true, force: true });
});

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
});

describe('mixcd study --slurm --dry-run (no Slurm needed)', () => {
  const out = path.join(work, 'dry');

  it('writes the manifest (one run per line, repeated runs once), study.json and the job scripts', () => {
    const db = path.join(work, 'dry-history.db');
    const { code, stdout, stderr } = mixcd(
      [
        'study',
        ...small,
        '--strategies',
        'none,random,mix-cd',
        '--budgets',
        '0.25',
        '--seeds',
        '1,2,2',
        '--slurm',
        '--dry-run',
        '--out',
        out,
        '--partition',
        'debug',
        '--time',
        '2:00:00',
        '--cpus-per-task',
        '1',
        '--mem',
        '2G',
        '--array-parallel',
        '2',
        '--runs-per-task',
        '4',
      ],
      {},
      db,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Wrote 6 runs in 2 array tasks \(3 repeated runs of the grid left out\) to .* \(dry run/);
    expect(existsSync(db)).toBe(false); // the login node's history is not touched

    const lines = manifestLines(out);
    expect(lines.map((l) => l.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(lines.map((l) => l.identity)).size).toBe(6);
    for (const l of lines) expect(l.identity).toMatch(/^[0-9a-f]{32}$/);
    expect(lines.map((l) => `${l.config.rehearsal.strategy}/${l.config.seed}`)).toEqual([
      'none/1',
      'none/2',
      'random/1',
      'random/2',
      'mix-cd/1',
      'mix-cd/2',
    ]);
    expect(lines[2].config).toMatchObject({ dataDir, finetune: { steps: 600, evalEvery: 50 } });

    const study = JSON.parse(readFileSync(path.join(out, 'study.json'), 'utf8'));
    expect(study.name).toBe('rot90: none, random, mix-cd x r 0.25 x seeds 1, 2, 2');
    expect(study.grid).toEqual({ strategies: ['none', 'random', 'mix-cd'], budgets: [0.25], seeds: [1, 2, 2] });
    expect(study.base.finetune.steps).toBe(600);
    expect(study).toMatchObject({ runs: 6, runsPerTask: 4 });

    const script = readFileSync(path.join(out, 'study.sbatch'), 'utf8');
    for (const line of [
      '#SBATCH --array=0-1%2',
      '#SBATCH --requeue',
      '#SBATCH --open-mode=append',
      `#SBATCH --output=${out}/logs/runs-%A_%a.out`,
      `#SBATCH --error=${out}/logs/runs-%A_%a.err`,
      '#SBATCH --partition=debug',
      '#SBATCH --time=2:00:00',
      '#SBATCH --cpus-per-task=1',
      '#SBATCH --mem=2G',
      '#SBATCH --signal=B:USR1@120',
      `NODE=${process.execPath}`,
      `MIXCD=${MIXCD_BIN}`,
      `MANIFEST=${out}/manifest.jsonl`,
      `export MIXCD_CACHE_DIR=${out}/f0-cache`,
      'PER_TASK=4',
      'REQUEUE_EXIT=75',
      'run "$NODE" "$MIXCD" run --manifest "$MANIFEST" --index "$i"',
      'scontrol requeue "${SLURM_ARRAY_JOB_ID}_$task"',
    ])
      expect(script).toContain(line);
    const prepare = readFileSync(path.join(out, 'prepare-f0.sbatch'), 'utf8');
    expect(prepare).toContain('run "$NODE" "$MIXCD" run --manifest "$MANIFEST" --prepare-f0');
    expect(prepare).not.toContain('--array');
    const submit = readFileSync(path.join(out, 'submit.sh'), 'utf8');
    expect(submit).toContain('--dependency=afterok:"$f0"');
    for (const file of ['study.sbatch', 'prepare-f0.sbatch', 'submit.sh']) {
      const check = spawnSync(file.endsWith('.sh') ? 'sh' : 'bash', ['-n', path.join(out, file)], { encoding: 'utf8' });
      expect(check.stderr, file).toBe('');
      expect(check.status, file).toBe(0);
    }
  });

  it('writes the same study again into its folder, and refuses another one there', () => {
    const again = mixcd([
      'study',
      ...small,
      ...['--strategies', 'none,random,mix-cd', '--budgets', '0.25', '--seeds', '1,2,2'],
      ...['--slurm', '--dry-run', '--out', out, '--runs-per-task', '4'],
    ]);
    expect(again.code).toBe(0);
    const other = mixcd(['study', ...small, ...grid, '--seeds', '7', '--slurm', '--dry-run', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/already holds another study's manifest/);
  });

  it('refuses Slurm settings it cannot pass on, and Slurm flags without --slurm', () => {
    const bad = mixcd([
      'study',
      ...small,
      ...grid,
      '--slurm',
      '--dry-run',
      '--out',
      path.join(work, 'x'),
      '--time',
      'soon',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^mixcd: --time "soon" is not valid/);
    expect(existsSync(path.join(work, 'x'))).toBe(false);
    const stray = mixcd(['study', ...small, ...grid, '--partition', 'debug']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--partition is for a Slurm study: add --slurm/);
    const wrongIndex = mixcd(['run', '--manifest', path.join(out, 'manifest.jsonl'), '--index', '6']);
    expect(wrongIndex.code).toBe(2);
    expect(wrongIndex.stderr).toMatch(/--index "6" is not valid: .* has runs 0 to 5/);
    const withFlags = mixcd(['run', '--manifest', path.join(out, 'manifest.jsonl'), '--index', '0', '--steps', '3']);
    expect(withFlags.code).toBe(2);
    expect(withFlags.stderr).toMatch(/--steps does not go with --manifest/);
  });
});

describe('a study on a real single-node Slurm cluster', () => {
  let cluster: SlurmCluster;
  const out = path.join(work, 'cluster');

  beforeAll(async () => {
    const missing = missingSlurm();
    if (missing) throw new Error(missing); // CI installs them: never a silent skip
    cluster = await startSlurmCluster();
    console.log(`Slurm cluster up in ${cluster.startSeconds.toFixed(1)} s.`);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a job array; a task stopped by SIGTERM requeues and resumes; merge matches a local study', async () => {
    const started = performance.now();
    const local = mixcdAsync(['study', ...small, ...grid, '--json'], {
      MIXCD_DB: path.join(work, 'local.db'),
      MIXCD_CACHE_DIR: path.join(work, 'local-cache'),
    });

    // Three runs per task: 2 array tasks, both running at once on the 2 CPUs. (Slurm 22.05 refuses
    // `scancel --signal` on one task of an array that still has pending tasks with "Job can not be
    // altered now" and scancel retries it for a minute, which would hit the resumed task again.)
    const submit = mixcd(['study', ...small, ...grid, '--slurm', '--out', out, '--runs-per-task', '3'], cluster.env);
    expect(submit.stderr).toBe('');
    expect(submit.code).toBe(0);
    expect(submit.stdout).toMatch(/^Submitted 6 runs in 2 array tasks: f0 job \d+, then job array \d+/);
    const { f0Job, arrayJob } = JSON.parse(readFileSync(path.join(out, 'submitted.jsonl'), 'utf8').trim());

    // Stop task 0 during its second run (line 1: none, seed 2) once that run is past its second
    // eval: SIGTERM to every process of the task (--full), as at a time limit.
    const stopped = manifestLines(out)[1];
    const partial = path.join(out, 'shards', `.partial-${stopped.identity}.db`);
    const stepAtStop = await until('run 1 to be mid-run', 150_000, () => {
      if (!existsSync(partial)) return null;
      try {
        const db = new Database(partial, { readonly: true, fileMustExist: true });
        try {
          const row = db
            .prepare(`SELECT r.status, max(e.step) AS step FROM runs r JOIN eval_points e ON e.run_id = r.id`)
            .get() as { status: string; step: number | null } | undefined;
          return row?.status === 'running' && (row.step ?? 0) >= 100 ? row.step : null;
        } finally {
          db.close();
        }
      } catch {
        return null; // being created
      }
    });
    const cancel = cluster.client('scancel', ['--full', '--signal=TERM', `${arrayJob}_0`]);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);

    // While the task waits to start again, its run is interrupted (stored, resumable).
    const interrupted = await until('study-status to show the interrupted run', 30_000, () => {
      const status = JSON.parse(mixcd(['study-status', out, '--json'], cluster.env).stdout);
      return status.perRun[1].state === 'interrupted' ? status : null;
    });
    expect(interrupted.squeue.available).toBe(true);
    expect(interrupted.perRun[0].state).toBe('finished');

    // Done when every run has its shard and Slurm has nothing left.
    const identities = manifestLines(out).map((l) => `${l.identity}.db`);
    await until('every run to leave its shard', 200_000, () =>
      identities.every((name) => existsSync(path.join(out, 'shards', name))),
    );
    await until('the jobs to leave the queue', 30_000, () => {
      const queue = cluster.client('squeue', ['--noheader', '--jobs', `${f0Job},${arrayJob}`]);
      return queue.code === 0 && queue.stdout.trim() === '';
    });
    const log = (ext: string) => readFileSync(path.join(out, 'logs', `runs-${arrayJob}_0.${ext}`), 'utf8');
    expect(log('out')).toMatch(/task 0, run 1, attempt 1,[^]*task 0, run 0, attempt 2,[^]*task 0, run 2, attempt 2/);
    expect(log('err')).toMatch(/Run 1 \([0-9a-f]+\) was stopped by a signal and checkpointed; exit 75/);
    expect(log('err')).toMatch(/requeueing \d+_0 to resume it/);
    expect(log('err')).toMatch(/Run 0 \([0-9a-f]+\) is already done: .*; nothing to do/);
    expect(log('err')).toMatch(/Run 1 \([0-9a-f]+\): resuming it from its checkpoint/);
    expect(log('err')).toMatch(/resuming from its checkpoint at step \d+/); // the host's word: not from step 0
    expect(readFileSync(path.join(out, 'logs', `runs-${arrayJob}_1.out`), 'utf8')).not.toMatch(/attempt 2/);
    const shards = readdirSync(path.join(out, 'shards')).sort();
    expect(shards).toEqual([...identities].sort()); // no partial left
    const done = JSON.parse(mixcd(['study-status', out, '--json'], cluster.env).stdout);
    expect(done.runs).toMatchObject({ total: 6, finished: 6, running: 0, interrupted: 0, failed: 0, queued: 0 });
    const clusterSeconds = (performance.now() - started) / 1000;

    const localResult = await local;
    expect(localResult.stderr).toBe('');
    expect(localResult.code).toBe(0);
    const localStudy = JSON.parse(localResult.stdout);

    const merged = path.join(work, 'merged.db');
    const first = mixcd(['merge', out, '--db', merged, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const firstJson = JSON.parse(first.stdout);
    expect(firstJson).toMatchObject({ added: 6, alreadyPresent: 0, skipped: [] });
    const second = mixcd(['merge', out, '--db', merged]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      `Added 0 runs (6 already there, 0 damaged shards skipped) to study ${firstJson.studyId} in ${merged}.\n`,
    );

    // The same numbers as the local study: final metrics, series, compute, rehearsal log, bin traces.
    const a = openHistoryReadOnly(path.join(work, 'local.db'));
    const b = openHistoryReadOnly(merged);
    try {
      const key = (r: { config: any }) => `${r.config.rehearsal.strategy}/${r.config.seed}`;
      const localRuns = new Map(a.listRuns({ studyId: localStudy.studyId }).map((r) => [key(r), r.id]));
      const mergedRuns = b.listRuns({ studyId: firstJson.studyId });
      expect(mergedRuns).toHaveLength(6);
      expect(b.getStudy(firstJson.studyId)!.name).toBe('rot90: none, random, mix-cd x r 0.25 x seeds 1, 2');
      for (const m of mergedRuns) {
        const l = a.getRun(localRuns.get(key(m))!)!;
        const c = b.getRun(m.id)!;
        expect(c.status).toBe('finished');
        expect(c.config, key(m)).toEqual(l.config);
        expect(c.dataFingerprint).toBe(l.dataFingerprint);
        expect(c.prior, key(m)).toEqual(l.prior);
        expect(c.final, key(m)).toEqual(l.final);
        expect(c.series, key(m)).toEqual(l.series);
        const passes = ({ compute }: typeof c) => [
          compute.forwardPasses,
          compute.backwardPasses,
          compute.extraForwardPasses,
        ];
        expect(passes(c)).toEqual(passes(l));
        expect(identities).toContain(`${c.identity}.db`); // the login node knew the identity the trainer stored
        expect(c.provenance?.node).toBe(process.versions.node);
        const [rl, rc] = [a.getSampleRehearsals(l.id)!, b.getSampleRehearsals(c.id)!];
        expect(Array.from(rc.counts)).toEqual(Array.from(rl.counts));
        expect(Array.from(rc.log)).toEqual(Array.from(rl.log));
        expect(Array.from(rc.logCategories!)).toEqual(Array.from(rl.logCategories!));
        expect(b.getBinTraces(c.id)).toEqual(a.getBinTraces(l.id));
      }
    } finally {
      a.close();
      b.close();
    }

    // Damaged shards are named and skipped; nothing of them is stored.
    const real = path.join(out, 'shards', shards[0]);
    const garbage = path.join(out, 'shards', `${'f'.repeat(32)}.db`);
    const truncated = path.join(out, 'shards', `${'e'.repeat(32)}.db`);
    writeFileSync(garbage, 'not a database\n');
    writeFileSync(truncated, readFileSync(real).subarray(0, 12_288));
    const third = mixcd(['merge', out, '--db', merged, '--json']);
    expect(third.code).toBe(0);
    const thirdJson = JSON.parse(third.stdout);
    expect(thirdJson).toMatchObject({ added: 0, alreadyPresent: 6, studyId: firstJson.studyId });
    expect(thirdJson.skipped.map((s: { file: string }) => s.file).sort()).toEqual([truncated, garbage]);
    expect(third.stderr).toContain(`mixcd: skipped shard ${garbage}: it is not an SQLite database.`);
    expect(third.stderr).toContain(`mixcd: skipped shard ${truncated}: it is damaged or truncated`);
    console.log(
      `Slurm study: submitted, stopped at step ${stepAtStop}, requeued and finished in ` +
        `${clusterSeconds.toFixed(0)} s; whole test ${((performance.now() - started) / 1000).toFixed(0)} s.`,
    );
  }, 360_000);
});
