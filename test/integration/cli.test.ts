// The `mixcd` command as a user runs it: the built binary in a child process, on small IDX files
// the test writes, against a history file of its own.
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMixcd, smallRunFlags } from '../helpers/cliProcess.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-cli-'));
const dataDir = path.join(work, 'data');
const db = path.join(work, 'history.db');

function mixcd(args: string[], env: Record<string, string> = {}) {
  return runMixcd(args, { db, cacheDir: path.join(work, 'cache'), timeout: 120_000, env });
}

const small = smallRunFlags(dataDir, { steps: 30, evalEvery: 10 });

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
});

describe('mixcd run', () => {
  let first: Record<string, any>;

  it('runs an experiment and prints the JSON summary with the documented names', () => {
    const { code, stdout, stderr } = mixcd([
      'run',
      ...small,
      '--strategy',
      'random',
      '--budget',
      '0.25',
      '--seed',
      '4',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    first = JSON.parse(stdout);
    for (const key of [
      'id',
      'status',
      'config',
      'backend',
      'device',
      'dataFingerprint',
      'prior',
      'final',
      'compute',
      'series',
    ])
      expect(first).toHaveProperty(key);
    expect(first.status).toBe('finished');
    expect(first.backend).toBe('wasm');
    expect(first.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(first.prior).sort()).toEqual(['finetuneTestAcc', 'pretrainTestAcc']);
    expect(Object.keys(first.final).sort()).toEqual([
      'cdRate',
      'finetuneTestAcc',
      'pretrainTestAcc',
      'rehearsalPrecision',
    ]);
    // The documented names stay; later issues only add (units, FLOPs, prior pass and probe apart).
    expect(Object.keys(first.compute)).toEqual(
      expect.arrayContaining(['backwardPasses', 'extraForwardPasses', 'forwardPasses', 'wallSeconds', 'units']),
    );
    expect(first.series.map((p: { step: number }) => p.step)).toEqual([0, 10, 20, 30]);
    for (const p of first.series)
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['step', 'pretrainTestAcc', 'finetuneTestAcc', 'cdRate']));
    expect(first.config.rehearsal).toMatchObject({ strategy: 'random', budget: 0.25 });
    expect(first.compute.forwardPasses).toBe(30 * (32 + 8));
  });

  it('gives identical numbers for the same config and seed (f0 from the cache)', () => {
    const { code, stdout } = mixcd([
      'run',
      ...small,
      '--strategy',
      'random',
      '--budget',
      '0.25',
      '--seed',
      '4',
      '--json',
    ]);
    expect(code).toBe(0);
    const second = JSON.parse(stdout);
    expect(second.id).not.toBe(first.id);
    expect(second.series).toEqual(first.series);
    expect(second.final).toEqual(first.final);
    expect(second.dataFingerprint).toBe(first.dataFingerprint);
  });

  it('study --reuse copies a finished identical run into the study instead of running it again', () => {
    const { code, stdout, stderr } = runMixcd(
      [
        'study',
        ...small.filter((a) => a !== '--quiet'),
        '--strategies',
        'random',
        '--budgets',
        '0.25',
        '--seeds',
        '4,5',
        '--reuse',
        '--json',
      ],
      { db, cacheDir: path.join(work, 'cache'), timeout: 120_000 },
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/Reused 1 finished identical runs .* from runs \d+\); running 1\./);
    const study = JSON.parse(stdout);
    expect(study.runs).toHaveLength(2);
    const copy = JSON.parse(
      mixcd(['show', String(study.runs.find((r: any) => r.config.seed === 4).id), '--json']).stdout,
    );
    expect(copy.id).not.toBe(first.id);
    expect(copy.studyId).toBe(study.studyId);
    expect(copy.identity).toBe(first.identity);
    expect(copy.series).toEqual(first.series);
    expect(copy.final).toEqual(first.final);
    // Not run again: a copy keeps the original's wall time to the microsecond.
    expect(copy.compute.wallSeconds).toBe(first.compute.wallSeconds);
    expect(study.runs.find((r: any) => r.config.seed === 5).status).toBe('finished');
  });

  it('lists the runs and shows one', () => {
    const list = mixcd(['runs']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/rot90\s+random/);
    const listed = JSON.parse(mixcd(['runs', '--json']).stdout);
    expect(listed.map((r: { id: number }) => r.id)).toContain(first.id);
    const shown = mixcd(['show', String(first.id), '--json']);
    expect(JSON.parse(shown.stdout).series).toEqual(first.series);
    const text = mixcd(['show', String(first.id)]);
    expect(text.stdout).toContain('data fingerprint');
    expect(text.stdout).toMatch(/^\s*30\s/m);
  });
});

describe('mixcd study', () => {
  it('runs the grid from one f0 (in parallel with --jobs), stores it as one study and prints the table', () => {
    const args = ['study', ...small, '--strategies', 'none,random', '--budgets', '0.25,0.5', '--seeds', '1,2'];
    const { code, stdout, stderr } = mixcd([...args, '--jobs', '2', '--json', '--pretrain-seed', '9']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const study = JSON.parse(stdout);
    // none runs once per seed (it has no budget); random at two budgets x two seeds.
    expect(study.runs).toHaveLength(6);
    expect(study.table.map((c: { strategy: string; budget: number }) => `${c.strategy}@${c.budget}`)).toEqual([
      'none@0',
      'random@0.25',
      'random@0.5',
    ]);
    for (const cell of study.table) {
      expect(cell.runs).toHaveLength(2);
      expect(cell.pretrainTestAcc.n).toBe(2);
      expect(cell.pretrainTestAcc.sd).toBeGreaterThanOrEqual(0);
    }
    const listed = JSON.parse(mixcd(['runs', '--json', '--study', String(study.studyId)]).stdout);
    expect(listed).toHaveLength(6);
    expect(new Set(listed.map((r: { dataFingerprint: string }) => r.dataFingerprint)).size).toBe(1);
    // The same grid run sequentially (the text table this time) gives the same numbers: one f0,
    // deterministic runs.
    const text = mixcd([...args, '--pretrain-seed', '9']);
    expect(text.stdout).toMatch(/strategy\s+budget r\s+seeds\s+pretrain-test acc/);
    expect(text.stdout).toMatch(/random\s+0\.25\s+2\s+0\.\d{4} ± 0\.\d{4}/);
    const secondId = Number(/Study (\d+) \(/.exec(text.stdout)?.[1]);
    expect(secondId).toBeGreaterThan(study.studyId);
    const finals = (
      runs: { config: { rehearsal: { strategy: string; budget: number }; seed: number }; final: unknown }[],
    ) =>
      new Map(
        runs.map((r) => [`${r.config.rehearsal.strategy}@${r.config.rehearsal.budget}#${r.config.seed}`, r.final]),
      );
    const second = JSON.parse(mixcd(['runs', '--json', '--study', String(secondId)]).stdout);
    expect(second).toHaveLength(6);
    expect(finals(second)).toEqual(finals(listed));
  });
});

describe('mixcd errors', () => {
  const bad = (args: string[], pattern: RegExp, code = 2) => {
    const result = mixcd(args);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(result.stderr).toMatch(pattern);
  };

  // Every usage error's wording is checked in-process (test/unit/cliUsage.test.ts); here, that the
  // built binary really exits with code 2 and prints nothing on stdout.
  it('exits with code 2 on a usage error', () => {
    bad(['run', '--strategy', 'magic'], /--strategy.*"magic"/);
  });

  it('says where it looked for data and how to get it', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'mixcd-empty-'));
    const result = mixcd(['run', '--data-dir', empty, '--backend', 'wasm', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(empty);
    expect(result.stderr).toMatch(/apt-get install dataset-fashion-mnist/);
    // The attempt is in the history as a failed run with its error.
    const runs = JSON.parse(mixcd(['runs', '--json']).stdout);
    expect(runs[0]).toMatchObject({ status: 'failed' });
    expect(runs[0].error).toContain(empty);
  });

  it('refuses a history file that is not a database, and leaves it untouched', () => {
    const junk = path.join(work, 'junk.db');
    writeFileSync(junk, 'not a database at all');
    const result = mixcd(['runs', '--db', junk]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(junk);
  });
});
