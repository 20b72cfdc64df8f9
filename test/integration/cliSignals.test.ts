// Stopping and resuming as a user does it: real signals (SIGINT = Ctrl-C, SIGTERM = a cluster's
// time limit, SIGKILL = a crash) to the real `mixcd` process and its trainer, then `mixcd resume`
// / `mixcd study --resume`, which must end with exactly the numbers of an uninterrupted run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIXCD_BIN, runMixcd } from '../helpers/cliProcess.js';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-signals-'));
const dataDir = path.join(work, 'data');
const db = path.join(work, 'history.db');
const cacheDir = path.join(work, 'cache');
const checkpoints = path.join(work, 'checkpoints');

// Long enough to be stopped mid-way (a few seconds), small enough to repeat several times.
const STEPS = 1200;
const common = [
  '--data-dir',
  dataDir,
  '--backend',
  'wasm',
  '--hidden',
  '64,64',
  '--pretrain-epochs',
  '1',
  '--steps',
  String(STEPS),
  '--eval-every',
  '100',
  '--batch-size',
  '64',
  '--probe',
  '200',
];

function mixcd(args: string[]) {
  return runMixcd(args, { db, cacheDir, timeout: 180_000 });
}

const show = (id: number) => {
  const r = mixcd(['show', String(id), '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Started {
  const child = spawn(process.execPath, [MIXCD_BIN, ...args], {
    env: { ...process.env, MIXCD_DB: db, MIXCD_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stderr: () => err, stdout: () => out, exit };
}

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The step of the latest evaluation printed by a run (`eval @N` lines on stderr). */
function lastEval(text: string): number {
  const steps = [...text.matchAll(/eval @(\d+)/g)].map((m) => Number(m[1]));
  return steps.length ? Math.max(...steps) : -1;
}

function trainerPids(parent: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** What a run rehearsed, in order, with each rehearsal's category: straight from the history file. */
function rehearsals(id: number): { counts: Buffer; log: Buffer; categories: Buffer | null } {
  const h = new Database(db, { readonly: true });
  try {
    const row = h.prepare('SELECT counts, log, log_categories FROM sample_rehearsals WHERE run_id = ?').get(id) as {
      counts: Buffer;
      log: Buffer;
      log_categories: Buffer | null;
    };
    return { counts: row.counts, log: row.log, categories: row.log_categories };
  } finally {
    h.close();
  }
}

/** Everything a resumed run must share with the uninterrupted one. */
function expectSameNumbers(resumed: Record<string, any>, reference: Record<string, any>): void {
  expect(resumed.status).toBe('finished');
  expect(resumed.series).toEqual(reference.series);
  expect(resumed.final).toEqual(reference.final);
  expect(resumed.prior).toEqual(reference.prior);
  const counts = (c: Record<string, number>) => [c.forwardPasses, c.backwardPasses, c.extraForwardPasses, c.units];
  expect(counts(resumed.compute)).toEqual(counts(reference.compute));
  expect(resumed.identity).toBe(reference.identity);
  expect(rehearsals(resumed.id)).toEqual(rehearsals(reference.id));
}

const reference: Record<string, Record<string, any>> = {};

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 2400, testCount: 600, size: 16, seed: 5 });
  // The uninterrupted runs every stopped one is compared with (f0 is pretrained by the first).
  for (const strategy of ['mix-cd', 'random']) {
    const r = mixcd(['run', ...common, '--strategy', strategy, '--budget', '0.25', '--seed', '3', '--json', '-q']);
    expect(r.code, r.stderr).toBe(0);
    reference[strategy] = JSON.parse(r.stdout);
  }
}, 300_000);

afterAll(() => {
  // A finished run leaves no checkpoint behind.
  const left = existsSync(checkpoints) ? readdirSync(checkpoints).filter((f) => f.endsWith('.ckpt')) : [];
  expect(left.length).toBeLessThanOrEqual(0);
});

describe('mixcd run: stopped by a signal, then resumed', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stores the run as cancelled with its partial series and true wall time; resume ends exactly as uninterrupted',
    async (signal, code) => {
      const run = start(['run', ...common, '--strategy', 'mix-cd', '--budget', '0.25', '--seed', '3', '--json']);
      await until('the first evaluation', () => lastEval(run.stderr()) >= 0);
      const t0 = Date.now();
      await until('the second evaluation', () => lastEval(run.stderr()) >= 200);
      const sinceFirstEval = (Date.now() - t0) / 1000;
      run.child.kill(signal);
      expect(await run.exit).toBe(code);
      const stopped = JSON.parse(run.stdout());
      expect(stopped.status).toBe('cancelled');
      expect(show(stopped.id).status).toBe('cancelled');
      const steps = stopped.series.map((p: { step: number }) => p.step);
      expect(steps[0]).toBe(0);
      expect(steps.at(-1)).toBeGreaterThanOrEqual(200);
      expect(steps.at(-1)).toBeLessThan(STEPS);
      // The series so far is exactly the uninterrupted run's up to that step.
      expect(stopped.series).toEqual(reference['mix-cd'].series.slice(0, steps.length));
      // True wall time: at least from its first evaluation to the stop (not 0, as before).
      expect(stopped.compute.wallSeconds).toBeGreaterThan(sinceFirstEval - 0.5);
      expect(stopped.compute.backwardPasses).toBeGreaterThan(0);
      expect(run.stderr()).toMatch(new RegExp(`mixcd resume ${stopped.id}`));

      const resumed = mixcd(['resume', String(stopped.id), '--json', '-q']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const done = JSON.parse(resumed.stdout);
      expect(done.id).toBe(stopped.id);
      expectSameNumbers(done, reference['mix-cd']);
      expect(done.compute.wallSeconds).toBeGreaterThan(stopped.compute.wallSeconds);
    },
    240_000,
  );

  it('a second Ctrl-C stops at once; the run is still resumable from its last checkpoint', async () => {
    const run = start(['run', ...common, '--strategy', 'random', '--budget', '0.25', '--seed', '3', '--json']);
    await until('the first evaluation after 0', () => lastEval(run.stderr()) >= 100);
    run.child.kill('SIGINT');
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    const stopped = JSON.parse(run.stdout());
    expect(stopped.status).toBe('cancelled');
    const resumed = mixcd(['resume', String(stopped.id), '--json', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameNumbers(JSON.parse(resumed.stdout), reference.random);
  }, 240_000);
});

describe('kill -9', () => {
  it('of the trainer: the run is failed within seconds, the CLI ends, and resume finishes it exactly', async () => {
    const run = start(['run', ...common, '--strategy', 'mix-cd', '--budget', '0.25', '--seed', '3', '--json']);
    await until('an evaluation past 300', () => lastEval(run.stderr()) >= 300);
    const [trainer] = trainerPids(run.child.pid!);
    expect(trainer).toBeGreaterThan(0);
    process.kill(trainer, 'SIGKILL');
    expect(await run.exit).toBe(1);
    const failed = JSON.parse(run.stdout());
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/SIGKILL/);
    const resumed = mixcd(['resume', String(failed.id), '--json', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameNumbers(JSON.parse(resumed.stdout), reference['mix-cd']);
  }, 240_000);

  it('of the CLI: its trainer stops itself, the next start marks the run interrupted, resume finishes it', async () => {
    const run = start(['run', ...common, '--strategy', 'random', '--budget', '0.25', '--seed', '3', '--json']);
    await until('an evaluation past 500', () => lastEval(run.stderr()) >= 500);
    const [trainer] = trainerPids(run.child.pid!);
    process.kill(run.child.pid!, 'SIGKILL');
    await run.exit;
    // The orphaned trainer notices its host is gone and ends on its own.
    await until(
      'the orphaned trainer to end',
      () => {
        try {
          process.kill(trainer, 0);
          return false;
        } catch {
          return true;
        }
      },
      20_000,
    );
    const listed = JSON.parse(mixcd(['runs', '--json', '--limit', '1']).stdout)[0];
    const id = listed.id as number;
    // The next start (here: resume) reconciles: nothing stays "running" with its process gone.
    const resumed = mixcd(['resume', String(id), '--json', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameNumbers(JSON.parse(resumed.stdout), reference.random);
    const h = new Database(db, { readonly: true });
    const running = h.prepare(`SELECT count(*) AS n FROM runs WHERE status IN ('queued', 'running')`).get();
    h.close();
    expect(running).toEqual({ n: 0 });
  }, 240_000);
});

describe('mixcd study --jobs 2', () => {
  it('Ctrl-C cancels its running runs cleanly; study --resume runs only what is missing, exactly', async () => {
    const args = ['study', ...common, '--strategies', 'random,mix-cd', '--budgets', '0.25', '--seeds', '3,4'];
    const study = start([...args, '--jobs', '2', '--json']);
    const runsPastStep0 = () =>
      new Set([...study.stderr().matchAll(/\[run (\d+)\][^\n]*eval @[1-9]/g)].map((m) => m[1]));
    await until('two runs past their first evaluation', () => runsPastStep0().size >= 2);
    study.child.kill('SIGINT');
    expect(await study.exit).toBe(130);
    const stopped = JSON.parse(study.stdout());
    const statuses = stopped.runs.map((r: { status: string }) => r.status);
    expect(statuses).not.toContain('running');
    expect(statuses).not.toContain('queued');
    expect(statuses).toContain('cancelled');
    // The two that were running keep their series so far; queued ones had none to keep.
    const kept = stopped.runs.filter(
      (x: { id: number; status: string }) => x.status === 'cancelled' && show(x.id).series.length > 1,
    );
    expect(kept.length).toBeGreaterThanOrEqual(2);

    const resumed = mixcd(['study', '--resume', String(stopped.studyId), '--jobs', '2', '--json', '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = JSON.parse(resumed.stdout);
    expect(done.runs).toHaveLength(4);
    for (const r of done.runs) expect(r.status).toBe('finished');
    // Seed 3 of each strategy is the uninterrupted reference run.
    for (const strategy of ['random', 'mix-cd']) {
      const run = done.runs.find(
        (r: { config: { seed: number; rehearsal: { strategy: string } } }) =>
          r.config.seed === 3 && r.config.rehearsal.strategy === strategy,
      );
      expectSameNumbers(show(run.id), reference[strategy]);
    }
  }, 300_000);
});
