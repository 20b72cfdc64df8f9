// Equal compute from the command line (issue 16): `mixcd run --compute-budget R --json` has
// compute.units and config.rehearsal.computeBudget; strategies at the same R spend units within
// 1%; `--strategy mir` exists; a budget no m fits is one sentence; the frontier exports.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMixcd, smallRunFlags } from '../helpers/cliProcess.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-compute-'));
const dataDir = path.join(work, 'data');
const db = path.join(work, 'history.db');

function mixcd(args: string[]) {
  return runMixcd(args, { db, cacheDir: path.join(work, 'cache'), timeout: 180_000 });
}

const small = [...smallRunFlags(dataDir, { steps: 20, evalEvery: 10 }), '--probe', '0'];

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
});

describe('mixcd at equal compute', () => {
  let studyId: number;

  it('gives every strategy the same compute units at the same --compute-budget', () => {
    const strategies = ['random', 'mix-cd', 'loss-based', 'mir', 'oracle-cd'];
    const { code, stdout, stderr } = mixcd([
      'study',
      ...small,
      '--strategies',
      strategies.join(','),
      '--compute-budgets',
      '0.25,0.5',
      '--seeds',
      '1',
      '--json',
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const study = JSON.parse(stdout) as { studyId: number; runs: { config: any; compute: any; status: string }[] };
    studyId = study.studyId;
    expect(study.runs).toHaveLength(10);
    for (const R of [0.25, 0.5]) {
      const at = study.runs.filter((r) => r.config.rehearsal.computeBudget === R);
      expect(at.map((r) => r.config.rehearsal.strategy).sort()).toEqual([...strategies].sort());
      const random = at.find((r) => r.config.rehearsal.strategy === 'random')!.compute.units;
      expect(random).toBe(20 * 3 * (32 + Math.round(R * 32)));
      for (const r of at) {
        expect(Math.abs(r.compute.units - random) / random, r.config.rehearsal.strategy).toBeLessThan(0.01);
        expect(r.compute.resolved.computeBudget).toBe(R);
        expect(r.compute.units).toBe(r.compute.forwardPasses + 2 * r.compute.backwardPasses);
      }
      // Strategies that score candidates pay with fewer rehearsed samples.
      const m = (s: string) => at.find((r) => r.config.rehearsal.strategy === s)!.compute.resolved.m;
      expect(m('loss-based')).toBeLessThan(m('random'));
      expect(m('mir')).toBeLessThan(m('loss-based'));
    }
  });

  it('runs one MIR run with the documented JSON names', () => {
    const { code, stdout } = mixcd(['run', ...small, '--strategy', 'mir', '--compute-budget', '0.25', '--json']);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.config.rehearsal.strategy).toBe('mir');
    expect(summary.config.rehearsal.computeBudget).toBe(0.25);
    expect(summary.compute.units).toBeGreaterThan(0);
    expect(summary.compute.extraForwardPasses).toBe(20 * 2 * summary.compute.resolved.pool);
    expect(summary.series.at(-1).computeUnits).toBe(summary.compute.units);
  });

  it('says in one sentence when no m fits the compute budget (exit 2)', () => {
    const { code, stderr } = mixcd(['run', ...small, '--strategy', 'mir', '--compute-budget', '0.01']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--compute-budget 0\.01 .*leaves mir .*no m >= 1 fits; raise the compute budget\./);
  });

  it('exports the frontier as Markdown and as SVG', () => {
    const md = mixcd(['export', '--study', String(studyId), '--frontier', '--keep', '0.5,0.6']);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/\| strategy \| keep 50% of f0/);
    expect(md.stdout).toMatch(/\| mir \| 0\.25 \|/);
    const out = path.join(work, 'frontier.svg');
    const svg = mixcd(['export', '--study', String(studyId), '--frontier', '--format', 'svg', '--out', out]);
    expect(svg.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('<svg');
    expect(text).toContain('Pareto frontier');
    const bad = mixcd(['export', '--study', String(studyId), '--frontier', '--format', 'series-csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format "series-csv" is not valid with --frontier');
  });
});
