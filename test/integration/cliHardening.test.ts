// Issue 11 through the built `mixcd` binary, without training: wrong input refused before
// anything is written, read-only commands that create nothing, and a stale run marked interrupted.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runMixcd } from '../helpers/cliProcess.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { openHistory } from '../../src-main/store/database.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-hard-'));

function mixcd(args: string[], db = path.join(work, 'h.db')) {
  return runMixcd(args, { db, cacheDir: path.join(work, 'cache'), timeout: 60_000 });
}

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
});

describe('read-only commands (issue 11, broken 3)', () => {
  it('say a mistyped --db does not exist and create neither the file nor its folder', () => {
    for (const args of [['show', '2'], ['runs'], ['export', '--study', '1'], ['samples', '1']]) {
      const missing = path.join(work, 'no', 'such', 'dir', 'h.db');
      const { code, stderr } = mixcd([...args, '--db', missing]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toContain(`"${missing}" does not exist; nothing was created`);
      expect(existsSync(path.join(work, 'no'))).toBe(false);
    }
  });
});

describe('refused before anything is written (issue 11, broken 9 and 11; confusing)', () => {
  it('a bad --jobs leaves no empty study (and no history at all)', () => {
    const db = path.join(work, 'jobs.db');
    for (const jobs of ['0', 'abc', '1000']) {
      const { code, stderr } = mixcd(['study', '--jobs', jobs], db);
      expect(code).toBe(2);
      expect(stderr).toContain(`--jobs "${jobs}" is not valid`);
    }
    expect(existsSync(db)).toBe(false);
  });

  it('study refuses --strategy beside --strategies, and --budget beside --budgets', () => {
    const a = mixcd(['study', '--strategies', 'random', '--strategy', 'mix-cd']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--strategy "mix-cd" is for `mixcd run`; a study takes --strategies/);
    const b = mixcd(['study', '--budget', '0.1', '--budgets', '0.2']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/either --budget or --budgets/);
  });

  it('`runs --study abc` names the study id', () => {
    const { code, stderr } = mixcd(['runs', '--study', 'abc']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^mixcd: Study id "abc" is not valid/);
  });

  it('run refuses --steps 0 and lists the models for --model transformer', () => {
    expect(mixcd(['run', '--steps', '0']).stderr).toMatch(/--steps .*value 0, which is not allowed/);
    expect(mixcd(['run', '--model', 'transformer']).stderr).toMatch(/one of "mlp", "cnn"/);
  });

  it('a deeply nested config file gets one sentence, not a stack overflow', () => {
    const file = path.join(work, 'deep.json');
    writeFileSync(file, '{"rehearsal":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}');
    const { code, stderr } = mixcd(['run', '--config', file]);
    expect(code).toBe(2);
    expect(stderr).not.toMatch(/Maximum call stack/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(file);
  });
});

describe('mixcd mark-interrupted (issue 11, broken 6)', () => {
  it('stores a run stuck as running under a reused PID as failed (interrupted), so it can be deleted', () => {
    const db = path.join(work, 'stuck.db');
    const h = openHistory(db);
    const id = h.createRun({ config: DEFAULT_RUN_CONFIG, status: 'running' });
    // Owner recorded as PID 1 (alive in any container) that started at another time.
    h.db.prepare("UPDATE runs SET owner_pid = 1, owner_start = 'another-boot/42' WHERE id = ?").run(id);
    h.close();
    const { code, stdout } = mixcd(['mark-interrupted', String(id)], db);
    expect(code).toBe(0);
    expect(stdout).toContain(`Run ${id} was running; it is now stored as failed (interrupted).`);
    expect(mixcd(['show', String(id), '--json'], db).stdout).toContain('"status": "failed"');
    const again = mixcd(['mark-interrupted', String(id)], db);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is failed: only a queued or running run/);
  });
});

describe('what the text output says (issue 11, confusing and polish)', () => {
  it('`runs` shows steps, seed and lr; `show` shows seed, pretrain seed, steps, lr and names both precisions', () => {
    const db = path.join(work, 'text.db');
    const h = openHistory(db);
    const config = {
      ...DEFAULT_RUN_CONFIG,
      seed: 7,
      pretrain: { ...DEFAULT_RUN_CONFIG.pretrain, seed: 3 },
      finetune: {
        ...DEFAULT_RUN_CONFIG.finetune,
        steps: 400,
        optimizer: { ...DEFAULT_RUN_CONFIG.finetune.optimizer, lr: 0.05 },
      },
    };
    const id = h.createRun({ config, status: 'running' });
    h.close();
    const runs = mixcd(['runs'], db).stdout.split('\n');
    expect(runs[0]).toMatch(/\bseed\s+steps\s+lr\b/);
    expect(runs[2]).toMatch(/\b7\s+400\s+0\.05\b/);
    const show = mixcd(['show', String(id)], db).stdout;
    expect(show).toMatch(/seed \/ pretrain seed\s+7 \/ 3/);
    expect(show).toMatch(/steps \/ lr \/ optimizer\s+400 \/ 0\.05 \/ momentum/);
    expect(show).toContain('rehearsal precision (whole run)');
    expect(show).toContain('precision since previous eval');
  });

  it('`--version` prints the version and `run --help` shows the defaults', () => {
    const version = mixcd(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = mixcd(['run', '--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('finetune steps (default: 1500)');
    expect(help).toContain('finetune learning rate (default: 0.01)');
    expect(help).toContain('mix-cd per-step decay of the counts (default: 0.995)');
    expect(help).toMatch(/--preset <name>.*paper-plain/);
  });
});

describe('export --format configs re-runs (issue 11, confusing)', () => {
  it(
    'one run: a config `run --config` reads; several: a study file `run --config` ' + 'points to `study --config`',
    async () => {
      const { configFromFlags } = await import('../../src-main/cli/configFromFlags.js');
      const db = path.join(work, 'configs.db');
      const h = openHistory(db);
      const ids = [1, 2].map((seed) =>
        h.createRun({ config: { ...DEFAULT_RUN_CONFIG, seed, rehearsal: { ...DEFAULT_RUN_CONFIG.rehearsal } } }),
      );
      h.close();
      const single = path.join(work, 'single.json');
      expect(mixcd(['export', '--runs', String(ids[0]), '--format', 'configs', '--out', single], db).code).toBe(0);
      expect(configFromFlags({}, single)).toEqual({ ...DEFAULT_RUN_CONFIG, seed: 1 });
      const study = path.join(work, 'study.json');
      expect(mixcd(['export', '--runs', ids.join(','), '--format', 'configs', '--out', study], db).code).toBe(0);
      const refused = mixcd(['run', '--config', study], db);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        `is a study file ({ base, grid }): run it with \`mixcd study --config ${study}\``,
      );
      // study --config reads it (no "Unknown config fields base, grid"): the grid's checks come next.
      const checked = mixcd(['study', '--config', study, '--seeds', 'x'], db);
      expect(checked.code).toBe(2);
      expect(checked.stderr).not.toContain('Unknown config field');
      expect(checked.stderr).toContain('--seeds has "x"');
    },
  );
});

describe('--rule group (issue 11, polish)', () => {
  it('is refused up front with why and what to use, before any run is stored', () => {
    const db = path.join(work, 'group.db');
    for (const args of [
      ['run', '--strategy', 'mix-cd', '--rule', 'group'],
      ['study', '--strategies', 'random,mix-cd', '--rule', 'group'],
    ]) {
      const { code, stderr } = mixcd(args, db);
      expect(code).toBe(2);
      expect(stderr).toMatch(/--rule group needs a group column, and the Fashion-MNIST IDX files have none/);
    }
    expect(existsSync(db)).toBe(false);
  });
});
