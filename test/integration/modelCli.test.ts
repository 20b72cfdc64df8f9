// `mixcd run --keep-model/--save-model/--model-file`, `mixcd export-model ID DIR [--f0]` as a user
// runs them: the built binary on small IDX files, its own history and f0 cache.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMixcd } from '../helpers/cliProcess.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { openHistory } from '../../src-main/store/database.js';
import { writeIdxData } from '../helpers/idxData.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-model-cli-'));
const dataDir = path.join(work, 'data');
const db = path.join(work, 'history.db');

function mixcd(args: string[]) {
  return runMixcd(args, { db, cacheDir: path.join(work, 'cache'), timeout: 120_000 });
}

const small = ['--data-dir', dataDir, '--backend', 'wasm', '--hidden', '32', '--pretrain-epochs', '2'];
const short = ['--steps', '20', '--eval-every', '10', '--batch-size', '32', '--quiet', '--json'];

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
});

describe('model import and export on the command line', () => {
  it('keeps, saves and exports models; the exported f0 re-imported gives the same prior and numbers', () => {
    const first = mixcd(['run', ...small, ...short, '--keep-model', '--save-model', path.join(work, 'saved')]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const run = JSON.parse(first.stdout);
    expect(existsSync(path.join(work, 'saved', 'model.json'))).toBe(true);

    const final = mixcd(['export-model', String(run.id), path.join(work, 'final')]);
    expect(final.code).toBe(0);
    expect(final.stdout).toContain(path.join(work, 'final', 'model.json'));
    const f0 = mixcd(['export-model', String(run.id), path.join(work, 'f0'), '--f0']);
    expect(f0.code).toBe(0);

    const imported = mixcd([
      'run',
      ...short,
      '--data-dir',
      dataDir,
      '--backend',
      'wasm',
      '--model-file',
      path.join(work, 'f0', 'model.json'),
    ]);
    expect(imported.code).toBe(0);
    const again = JSON.parse(imported.stdout);
    expect(again.config.model).toEqual({ arch: 'file', path: path.join(work, 'f0', 'model.json') });
    expect(again.prior).toEqual(run.prior);
    expect(again.series).toEqual(run.series);

    // The final model as f0: its prior is the first run's final accuracy.
    const fromFinal = mixcd([
      'run',
      ...short,
      '--data-dir',
      dataDir,
      '--backend',
      'wasm',
      '--steps',
      '1',
      '--model-file',
      path.join(work, 'final', 'model.json'),
    ]);
    expect(fromFinal.code).toBe(0);
    expect(JSON.parse(fromFinal.stdout).prior.pretrainTestAcc).toBe(run.final.pretrainTestAcc);

    // A run that kept nothing: one sentence, exit 2.
    const plain = JSON.parse(mixcd(['run', ...small, ...short]).stdout);
    const none = mixcd(['export-model', String(plain.id), path.join(work, 'none')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Run \d+ kept no final model: re-run it with --keep-model/);
  }, 120_000);

  it('a file that is not a trainable LayersModel exits 2 with one sentence naming it, and stores nothing', () => {
    const dir = path.join(work, 'graph');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'model.json');
    writeFileSync(file, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    const before = JSON.parse(mixcd(['runs', '--json']).stdout).length;
    const result = mixcd(['run', ...short, '--data-dir', dataDir, '--backend', 'wasm', '--model-file', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(file);
    expect(result.stderr).toMatch(/GraphModel.*--output_format tfjs_layers_model/);
    expect(JSON.parse(mixcd(['runs', '--json']).stdout).length).toBe(before);
    // A study: the same sentence, and no empty study left behind.
    const study = mixcd(['study', ...short, '--data-dir', dataDir, '--model-file', file, '--seeds', '1']);
    expect(study.code).toBe(2);
    expect(study.stderr).toMatch(/GraphModel/);
    const history = openHistory(db);
    try {
      expect(history.listStudies()).toEqual([]);
    } finally {
      history.close();
    }
  });
});
