// `mixcd export` as a user runs it: a tiny study on generated IDX data, every format written to
// files and read back, and the error cases. Uses the built binary once main.ts declares `export`;
// until then, a stand-in program declaring only `export` the same way (defineExportCommand).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { smallRunFlags } from '../helpers/cliProcess.js';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, 'bin/mixcd.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-export-'));
const dataDir = path.join(work, 'data');
const db = path.join(work, 'history.db');
const env = { ...process.env, MIXCD_DB: db, MIXCD_CACHE_DIR: path.join(work, 'cache') };

function spawn(argv: string[]) {
  const result = spawnSync(process.execPath, argv, { encoding: 'utf8', env, cwd: root, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const mixcd = (args: string[]) => spawn([bin, ...args]);

const STAND_IN = `
import { Command, CommanderError } from 'commander';
import { defineExportCommand } from './dist/src-main/cli/export.js';
const program = new Command('mixcd').exitOverride();
defineExportCommand(program.command('export'));
try { program.parse(process.argv.slice(1), { from: 'user' }); }
catch (e) { process.exitCode = e instanceof CommanderError && e.exitCode === 0 ? 0 : 2; }
`;
let exportArgv: (args: string[]) => string[];
const mixcdExport = (args: string[]) => spawn(exportArgv(args));

const small = smallRunFlags(dataDir, { hidden: 16, pretrainEpochs: 1, steps: 20, evalEvery: 10 });
let studyId: number;
let listed: Record<string, any>[];

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/export.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 400, testCount: 200, size: 12, seed: 3 });
  const declared = /^\s+export\b/m.test(mixcd(['--help']).stdout);
  exportArgv = declared
    ? (args) => [bin, 'export', ...args]
    : (args) => ['--input-type=module', '-e', STAND_IN, 'export', ...args];
  const study = mixcd([
    'study',
    ...small,
    '--strategies',
    'none,random',
    '--budgets',
    '0.25,0.5',
    '--seeds',
    '1,2',
    '--json',
  ]);
  expect(study.stderr).toBe('');
  studyId = JSON.parse(study.stdout).studyId;
  listed = JSON.parse(mixcd(['runs', '--json', '--study', String(studyId)]).stdout);
  expect(listed).toHaveLength(6);
});

const out = (name: string) => path.join(work, name);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const runsOf = (strategy: string, budget?: number) =>
  listed.filter(
    (r) => r.config.rehearsal.strategy === strategy && (budget === undefined || r.config.rehearsal.budget === budget),
  );

function exportTo(file: string, args: string[]) {
  const result = mixcdExport(['--study', String(studyId), '--out', out(file), ...args]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('');
  return readFileSync(out(file), 'utf8');
}

describe('mixcd export', () => {
  it('writes every format to files with the right numbers', () => {
    const csv: string[][] = parse(exportTo('table.csv', ['--metric', 'pretrainTestAcc', '--format', 'csv']));
    // `none` once, in its own column r = 0 (issue 11: it was repeated under every budget).
    expect(csv[0]).toEqual([
      'strategy',
      'r = 0 mean',
      'r = 0 sd',
      'r = 0 n',
      'r = 0.25 mean',
      'r = 0.25 sd',
      'r = 0.25 n',
      'r = 0.5 mean',
      'r = 0.5 sd',
      'r = 0.5 n',
    ]);
    expect(csv.slice(1).map((row) => row[0])).toEqual(['none', 'random']);
    expect(Number(csv[2][4])).toBeCloseTo(mean(runsOf('random', 0.25).map((r) => r.final.pretrainTestAcc)), 12);
    expect(Number(csv[2][7])).toBeCloseTo(mean(runsOf('random', 0.5).map((r) => r.final.pretrainTestAcc)), 12);
    expect(Number(csv[1][1])).toBeCloseTo(mean(runsOf('none').map((r) => r.final.pretrainTestAcc)), 12);
    expect(csv[1][3]).toBe('2');
    expect(csv[1].slice(4)).toEqual(['', '', '', '', '', '']);
    expect(csv[2].slice(1, 4)).toEqual(['', '', '']);

    const md = exportTo('table.md', ['--metric', 'cdRate', '--format', 'md']);
    expect(md).toMatch(/^\| strategy \| r = 0 \| r = 0\.25 \| r = 0\.5 \|$/m);
    expect(md).toMatch(/^\| none \| 0\.\d{3} ± 0\.\d{3} \| {2}\| {2}\|$/m);
    // Every column holds one strategy (none at r = 0, random at each budget): no best to mark.
    expect(md).not.toContain('**');
    expect(md).toContain('lower is better');

    const tex = exportTo('table.tex', ['--metric', 'finetuneTestAcc', '--format', 'latex']);
    for (const rule of ['\\toprule', '\\midrule', '\\bottomrule', '\\begin{tabular}{lrrr}'])
      expect(tex).toContain(rule);
    expect(tex).toMatch(/^random & {2}& 0\.\d{3} \$\\pm\$ 0\.\d{3} & 0\.\d{3} \$\\pm\$ 0\.\d{3} \\\\$/m);

    const json = JSON.parse(exportTo('table.json', ['--metric', 'wallSeconds', '--format', 'json']));
    expect(json.metric).toBe('wallSeconds');
    for (const row of json.rows) {
      for (const cell of row.cells) {
        if (!cell) continue;
        const runs = listed.filter((r) => cell.runs.includes(r.id));
        expect(runs.map((r) => r.config.rehearsal.strategy)).toEqual(cell.runs.map(() => row.strategy));
        expect(cell.mean).toBeCloseTo(mean(runs.map((r) => r.compute.wallSeconds)), 12);
        expect(cell.n).toBe(2);
      }
    }

    // Several metrics side by side, rows strategy x r (as the README's tables), readable names.
    const both = exportTo('both.md', ['--metrics', 'pretrainTestAcc,finetuneTestAcc', '--format', 'md']);
    const lines = both.split('\n');
    expect(lines[0]).toBe('| strategy | r | pretrain-test acc | finetune-test acc |');
    expect(lines.slice(2, 5).map((line) => line.split(' | ').slice(0, 2))).toEqual([
      ['| none', '—'],
      ['| random', '0.25'],
      ['| random', '0.5'],
    ]);
    const bothCsv: string[][] = parse(
      exportTo('both.csv', ['--metrics', 'pretrainTestAcc,finetuneTestAcc', '--format', 'csv']),
    );
    expect(bothCsv[0].slice(0, 3)).toEqual(['strategy', 'r', 'pretrain-test acc mean']);
    expect(bothCsv[0][5]).toBe('finetune-test acc mean');
    expect(Number(bothCsv[3][5])).toBeCloseTo(mean(runsOf('random', 0.5).map((r) => r.final.finetuneTestAcc)), 12);
    const bothTex = exportTo('both.tex', ['--metrics', 'cdRate,pretrainTestAcc', '--format', 'latex']);
    expect(bothTex).toContain('strategy & $r$ & CD rate & pretrain-test acc \\\\');
    const bothJson = JSON.parse(exportTo('both.json', ['--metrics', 'wallSeconds', '--format', 'json']));
    expect(bothJson.metrics.map((m: { label: string }) => m.label)).toEqual(['wall time (s)']);
    expect(bothJson.rows).toHaveLength(3);

    const series: string[][] = parse(exportTo('series.csv', ['--format', 'series-csv']));
    expect(series[0]).toEqual([
      'runId',
      'strategy',
      'budget',
      'seed',
      'step',
      'pretrainTestAcc',
      'finetuneTestAcc',
      'cdRate',
      'rehearsalPrecision',
    ]);
    expect(series).toHaveLength(1 + 6 * 3);
    expect(series.slice(1).map((row) => row[4])).toEqual(Array.from({ length: 6 }, () => ['0', '10', '20']).flat());
  });

  it('overwrites --out atomically (no temporary file left), prints to stdout without --out, takes --runs', () => {
    writeFileSync(out('again.md'), 'old contents');
    const md = exportTo('again.md', ['--format', 'md']);
    expect(md).toMatch(/^\| strategy/);
    expect(readdirSync(work).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const ids = runsOf('random', 0.5).map((r) => r.id);
    const printed = mixcdExport(['--runs', ids.join(','), '--format', 'json', '--metric', 'finetuneTestAcc']);
    expect(printed.code).toBe(0);
    const json = JSON.parse(printed.stdout);
    expect(json.rows).toHaveLength(1);
    expect(json.rows[0].cells[0].runs).toEqual([...ids].sort((a, b) => a - b));
    expect(json.rows[0].cells[0].mean).toBeCloseTo(mean(runsOf('random', 0.5).map((r) => r.final.finetuneTestAcc)), 12);
  });

  it('names the flag, the value and what is allowed, or the unknown ids, with exit code 2', () => {
    const bad = (args: string[], pattern: RegExp) => {
      const result = mixcdExport(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    };
    const study = String(studyId);
    bad(
      ['--study', study, '--metric', 'accuracy'],
      /--metric "accuracy" is not valid: give one of pretrainTestAcc, finetuneTestAcc, cdRate, rehearsalPrecision, extraForwardPasses, wallSeconds/,
    );
    bad(
      ['--study', study, '--format', 'xlsx'],
      /--format "xlsx" is not valid: give one of csv, md, latex, json, series-csv/,
    );
    bad(['--study', study, '--metrics', 'pretrainTestAcc,x'], /--metrics "pretrainTestAcc,x" is not valid: "x" is not/);
    bad(['--study', study, '--metric', 'cdRate', '--metrics', 'cdRate'], /--metrics goes without --metric/);
    bad(['--runs', '1,x'], /--runs "x" is not valid/);
    bad(['--study', 'abc'], /--study "abc" is not valid/);
    bad([], /either --study ID or --runs/);
    bad(['--study', '999'], /no study 999/);
    bad(['--runs', `${listed[0].id},998,999`], /no runs 998, 999/);
    expect(existsSync(out('never.csv'))).toBe(false);
  });
});
