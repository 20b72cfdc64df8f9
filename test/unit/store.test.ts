import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig } from '../../shared/config.js';
import type { BinTrace, ComputeCounts, ContinualSummary, EvalPoint, TimeBreakdown } from '../../shared/results.js';
import { RUN_LIST_COLUMNS, toRunListItem, toRunListTable } from '../../shared/contract.js';
import { parseScenarioSpec } from '../../shared/scenarioFile.js';
import { defaultHistoryPath, openHistory, type History } from '../../src-main/store/database.js';
import { HistoryError } from '../../src-main/store/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate, type Migration } from '../../src-main/store/migrations.js';
import { INTERRUPTED_ERROR } from '../../src-main/store/runs.js';

let dir: string;
const open: History[] = [];

function historyAt(name = 'history.db'): History {
  const h = openHistory(path.join(dir, name));
  open.push(h);
  return h;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixcd-store-'));
});
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const config = (over: Record<string, unknown> = {}): RunConfig => parseRunConfig(over);
const compute: ComputeCounts = {
  forwardPasses: 123_456,
  backwardPasses: 120_000,
  extraForwardPasses: 3_456,
  wallSeconds: 12.5,
};
const timing: TimeBreakdown = { setup: 1, train: 8, evaluation: 2, sampler: 0.5, extraInference: 0.25, store: 0.75 };
const point = (step: number, precision: number | null = 0.25): EvalPoint => ({
  step,
  pretrainTestAcc: 0.9 - step / 10_000,
  finetuneTestAcc: 0.5 + step / 10_000,
  cdRate: step / 20_000,
  rehearsalPrecision: precision,
});
const f32 = (xs: number[]) => xs.map((x) => Math.fround(x));

function finishedRun(h: History, over: Record<string, unknown> = {}, studyId?: number): number {
  const id = h.createRun({ config: config(over), studyId });
  h.markRunning(id, { backend: 'cpu', device: 'test', dataFingerprint: 'fp' });
  h.appendEvalPoints(id, [point(0, null), point(100)]);
  h.finishRun(id, { status: 'finished', compute });
  return id;
}

describe('opening and migrations', () => {
  it('creates parent folders, applies migrations once and re-opening is a no-op', () => {
    const file = path.join(dir, 'a', 'b', 'history.db');
    const h1 = openHistory(file);
    const first = h1.db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    expect(first).toHaveLength(MIGRATIONS.length);
    expect((first as { version: number }[]).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const id = h1.createRun({ config: config() });
    h1.close();

    const h2 = historyAt(path.relative(dir, file));
    expect(h2.db.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(
      first,
    );
    expect(h2.getRun(id)?.status).toBe('queued');
    expect(migrate(h2.db, file)).toEqual([]);
  });

  it('turns on WAL, foreign keys and a busy timeout', () => {
    const h = historyAt();
    expect(h.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(h.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(h.db.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
  });

  it('allows :memory:', () => {
    const h = openHistory(':memory:');
    open.push(h);
    expect(h.getRun(h.createRun({ config: config() }))?.status).toBe('queued');
  });

  it('applies only the pending migrations, in one transaction', () => {
    const db = new Database(':memory:');
    const extra: Migration[] = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'notes', sql: 'CREATE TABLE notes (x TEXT)' },
    ];
    expect(migrate(db, 'mem', MIGRATIONS)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(migrate(db, 'mem', extra)).toEqual([MIGRATIONS.length + 1]);
    // A failing migration leaves nothing behind.
    const broken: Migration[] = [
      ...extra,
      { version: extra.length + 1, name: 'half', sql: 'CREATE TABLE t1 (x); CREATE TABLE nope (' },
    ];
    expect(() => migrate(db, 'mem', broken)).toThrow();
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 't1'`).get()).toBeUndefined();
    expect(db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: extra.length });
    db.close();
  });

  it('upgrades a schema-1 history in place: its runs keep their rehearsals, without categories', () => {
    const file = path.join(dir, 'v1.db');
    const raw = new Database(file);
    migrate(raw, file, MIGRATIONS.slice(0, 1));
    raw
      .prepare(
        `INSERT INTO runs (id, created_at, status, config_json, scenario, strategy, ` +
          `budget, seed) VALUES (7, 'x', 'running', '{}', 'rot90', 'random', 0.1, ` +
          `1)`,
      )
      .run();
    raw
      .prepare(
        'INSERT INTO sample_rehearsals (run_id, sample_count, counts_encoding, counts, log) VALUES (7, 2, ?, ?, ?)',
      )
      .run('dense-u32', Buffer.from(Uint32Array.of(1, 0).buffer), Buffer.from(Int32Array.of(0, 0).buffer));
    raw.prepare(`UPDATE runs SET status = 'finished' WHERE id = 7`).run();
    raw.close();
    const h = historyAt('v1.db');
    expect(h.db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: LATEST_SCHEMA_VERSION });
    expect(h.getSampleRehearsals(7)).toEqual({
      counts: Uint32Array.of(1, 0),
      log: Int32Array.of(0, 0),
      logCategories: null,
    });
  });

  it('refuses a database from a newer version with a clear error, leaving it unchanged', () => {
    const file = path.join(dir, 'history.db');
    openHistory(file).close();
    const raw = new Database(file);
    raw
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST_SCHEMA_VERSION + 1, 'future', 'x');
    raw.close();
    const before = fs.readFileSync(file);
    let error: unknown;
    try {
      openHistory(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HistoryError);
    expect((error as HistoryError).code).toBe('newer-schema');
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/newer version.*Update the app/s);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a garbage file with a clear error naming it, and does not touch it', () => {
    const file = path.join(dir, 'history.db');
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) & 0xff));
    fs.writeFileSync(file, bytes);
    let error: unknown;
    try {
      openHistory(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HistoryError);
    expect((error as HistoryError).code).toBe('not-a-database');
    expect((error as HistoryError).file).toBe(file);
    expect((error as Error).message).toContain(`"${file}" is not an SQLite database`);
    expect((error as Error).message).toMatch(/left unchanged.*Move or rename it/s);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['history.db']); // no -wal / -shm either
  });

  it('refuses a short non-SQLite file and another program’s SQLite database', () => {
    const tiny = path.join(dir, 'tiny.db');
    fs.writeFileSync(tiny, 'hello');
    expect(() => openHistory(tiny)).toThrow(/is not an SQLite database/);
    expect(fs.readFileSync(tiny, 'utf8')).toBe('hello');

    const other = path.join(dir, 'other.db');
    const raw = new Database(other);
    raw.exec('CREATE TABLE contacts (name TEXT)');
    raw.close();
    const before = fs.readFileSync(other);
    expect(() => openHistory(other)).toThrow(/not a mix-cd run history.*"contacts"/);
    expect(fs.readFileSync(other).equals(before)).toBe(true);
  });

  it('accepts an empty file as a new history', () => {
    const file = path.join(dir, 'empty.db');
    fs.writeFileSync(file, '');
    const h = historyAt('empty.db');
    expect(h.listRuns()).toEqual([]);
  });
});

describe('defaultHistoryPath', () => {
  it('uses MIXCD_DB when set', () => {
    expect(defaultHistoryPath({ MIXCD_DB: '/data/h.db', XDG_CONFIG_HOME: '/x' }, 'linux', '/home/u')).toBe(
      '/data/h.db',
    );
    expect(defaultHistoryPath({ MIXCD_DB: 'C:\\h.db' }, 'win32', 'C:\\Users\\u')).toBe('C:\\h.db');
  });
  it('follows Electron userData on Linux', () => {
    expect(defaultHistoryPath({}, 'linux', '/home/u')).toBe('/home/u/.config/mix-cd workbench/history.db');
    expect(defaultHistoryPath({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/u')).toBe(
      '/xdg/mix-cd workbench/history.db',
    );
    expect(defaultHistoryPath({ XDG_CONFIG_HOME: '' }, 'linux', '/home/u')).toBe(
      '/home/u/.config/mix-cd workbench/history.db',
    );
    expect(defaultHistoryPath({ MIXCD_DB: '' }, 'freebsd', '/home/u')).toBe(
      '/home/u/.config/mix-cd workbench/history.db',
    );
  });
  it('follows Electron userData on macOS', () => {
    expect(defaultHistoryPath({ XDG_CONFIG_HOME: '/xdg' }, 'darwin', '/Users/u')).toBe(
      '/Users/u/Library/Application Support/mix-cd workbench/history.db',
    );
  });
  it('follows Electron userData on Windows', () => {
    expect(defaultHistoryPath({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\mix-cd workbench\\history.db',
    );
    expect(defaultHistoryPath({ AppData: 'D:\\Roam' }, 'win32', 'C:\\Users\\u')).toBe(
      'D:\\Roam\\mix-cd workbench\\history.db',
    );
    expect(defaultHistoryPath({}, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\mix-cd workbench\\history.db',
    );
  });
  it('defaults to the real environment', () => {
    expect(defaultHistoryPath()).toMatch(/history\.db$/);
  });
});

describe('a run, end to end', () => {
  it('round-trips everything a run records', () => {
    const h = historyAt();
    const cfg = config({ scenario: 'permute', seed: 7, rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 3 } });
    const studyId = h.createStudy('sweep', { grid: { budgets: [0.1, 0.25] } });
    const id = h.createRun({ config: cfg, studyId });
    expect(h.getRun(id)).toMatchObject({ id, studyId, status: 'queued', backend: '', series: [] });

    h.markRunning(id, {
      backend: 'wasm',
      device: 'wasm-simd',
      dataFingerprint: 'sha256:abc',
      startedAt: '2026-01-02T03:04:05.000Z',
    });
    const series = [point(0, null), point(100), point(200, 0.5)];
    h.appendEvalPoints(id, series.slice(0, 1));
    h.appendEvalPoints(id, series.slice(1));

    const traces: BinTrace[] = [
      {
        step: 100,
        size: [10, 20, 30],
        alpha: f32([1.5, 2.25, 0.1]),
        probability: f32([0.2, 0.3, 0.5]),
        drawn: [1, 2, 3],
        cdFound: [0, 1, 2],
      },
      {
        step: 200,
        size: [10, 20, 30],
        alpha: f32([1.75, 2.5, 0.3]),
        probability: f32([0.1, 0.6, 0.3]),
        drawn: [4, 5, 6],
        cdFound: [1, 1, 1],
        trueCdRate: [0.5, null, f32([0.125])[0]],
      },
    ];
    h.appendBinTraces(id, traces);

    const counts = new Uint32Array(1000);
    const log = new Int32Array(2 * 300);
    for (let k = 0; k < 300; k++) {
      const index = (k * 7) % 1000;
      log[2 * k] = Math.floor(k / 3);
      log[2 * k + 1] = index;
      counts[index]++;
    }
    h.saveSampleRehearsals(id, counts, log, null);
    h.saveProbeCategories(id, 100, Int32Array.of(5, 9, 11), Uint8Array.of(0, 1, 3));
    h.saveProbeCategories(id, 200, Int32Array.of(5, 9, 11), Uint8Array.of(2, 1, 0));

    const final = { pretrainTestAcc: 0.8, finetuneTestAcc: 0.7, cdRate: 0.05, rehearsalPrecision: 0.4 };
    const prior = { pretrainTestAcc: 0.9, finetuneTestAcc: 0.1 };
    h.finishRun(id, { status: 'finished', compute, timing, prior, final, exitCode: 0 });

    const run = h.getRun(id)!;
    expect(run).toMatchObject({
      id,
      studyId,
      status: 'finished',
      backend: 'wasm',
      device: 'wasm-simd',
      dataFingerprint: 'sha256:abc',
      prior,
      final,
      compute,
      timing,
      error: null,
      series,
    });
    expect(run.config).toEqual(cfg);
    expect(run.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(run.finishedAt! >= run.createdAt).toBe(true);
    expect(h.getSeries(id)).toEqual(series);
    expect(h.getBinTraces(id)).toEqual(traces);
    const saved = h.getSampleRehearsals(id)!;
    expect(saved.counts).toEqual(counts);
    expect(saved.log).toEqual(log);
    expect(h.getProbeCategories(id)).toEqual([
      { step: 100, indices: Int32Array.of(5, 9, 11), categories: Uint8Array.of(0, 1, 3) },
      { step: 200, indices: Int32Array.of(5, 9, 11), categories: Uint8Array.of(2, 1, 0) },
    ]);
    const row = h.db
      .prepare('SELECT started_at, exit_code, scenario, strategy, budget, seed FROM runs WHERE id = ?')
      .get(id);
    expect(row).toEqual({
      started_at: '2026-01-02T03:04:05.000Z',
      exit_code: 0,
      scenario: 'permute',
      strategy: 'mix-cd',
      budget: 0.25,
      seed: 7,
    });

    // Survives closing and reopening the file.
    h.close();
    const again = historyAt();
    expect(again.getRun(id)).toEqual(run);
    expect(again.getBinTraces(id)).toEqual(traces);
  });

  it('stores sample counts densely or sparsely, whichever is smaller', () => {
    const h = historyAt();
    const id = h.createRun({ config: config(), status: 'running' });
    const sparse = new Uint32Array(100);
    sparse[3] = 2;
    sparse[99] = 1;
    h.saveSampleRehearsals(id, sparse, Int32Array.of(0, 3, 1, 99, 2, 3), null);
    const readEncoding = () =>
      h.db.prepare('SELECT counts_encoding AS e, length(counts) AS n FROM sample_rehearsals WHERE run_id = ?').get(id);
    expect(readEncoding()).toEqual({ e: 'sparse-u32-pairs', n: 16 });
    expect(h.getSampleRehearsals(id)!.counts).toEqual(sparse);

    const dense = new Uint32Array(100).fill(1);
    const log = new Int32Array(200);
    for (let i = 0; i < 100; i++) log[2 * i + 1] = i;
    h.saveSampleRehearsals(id, dense, log, null); // a later save replaces the earlier one while running
    expect(readEncoding()).toEqual({ e: 'dense-u32', n: 400 });
    expect(h.getSampleRehearsals(id)).toEqual({ counts: dense, log, logCategories: null });

    h.saveSampleRehearsals(id, new Uint32Array(0), new Int32Array(0), null);
    expect(h.getSampleRehearsals(id)).toEqual({
      counts: new Uint32Array(0),
      log: new Int32Array(0),
      logCategories: null,
    });
  });

  it('keeps the category of every rehearsal beside the log, and refuses codes that are not categories', () => {
    const h = historyAt();
    const id = h.createRun({ config: config(), status: 'running' });
    const counts = Uint32Array.of(1, 2, 0);
    const log = Int32Array.of(0, 1, 0, 0, 5, 1);
    const categories = Uint8Array.of(0, 1, 255); // CD, unforgotten, verdict never arrived
    expect(() => h.saveSampleRehearsals(id, counts, log, Uint8Array.of(0, 1))).toThrow(/2 values for 3 log entries/);
    expect(() => h.saveSampleRehearsals(id, counts, log, Uint8Array.of(0, 4, 1))).toThrow(
      /entry 1: code 4 is not a category/,
    );
    h.saveSampleRehearsals(id, counts, log, categories);
    expect(h.getSampleRehearsals(id)).toEqual({ counts, log, logCategories: categories });
    // Damaged categories are not handed out as categories; the counts and the log still are.
    h.db.prepare('UPDATE sample_rehearsals SET log_categories = ? WHERE run_id = ?').run(Buffer.from([0, 9, 1]), id);
    expect(h.getSampleRehearsals(id)).toEqual({
      counts,
      log,
      logCategories: null,
      logCategoriesProblem:
        `Rehearsal categories of run ${id}, entry 1: code 9 is not a category (0..3, ` + `or 255 for unknown)`,
    });
  });

  it('rejects malformed input with errors naming the run', () => {
    const h = historyAt();
    const id = h.createRun({ config: config(), status: 'running' });
    expect(() => h.appendEvalPoints(id, [{ ...point(5), cdRate: NaN }])).toThrow(
      `run ${id} at step 5 has cdRate = NaN`,
    );
    expect(() =>
      h.appendBinTraces(id, [
        { step: 1, size: [1, 2], alpha: [1], probability: [1, 1], drawn: [0, 0], cdFound: [0, 0] },
      ]),
    ).toThrow(/alpha has 1 bins but size has 2/);
    expect(() =>
      h.appendBinTraces(id, [{ step: 1, size: [1.5], alpha: [1], probability: [1], drawn: [0], cdFound: [0] }]),
    ).toThrow(/not a 32-bit integer/);
    expect(() => h.saveSampleRehearsals(id, new Uint32Array(3), Int32Array.of(0, 3), null)).toThrow(
      /sample index 3 is outside 0..2/,
    );
    expect(() => h.saveSampleRehearsals(id, new Uint32Array(3), Int32Array.of(0), null)).toThrow(/pairs/);
    expect(() => h.saveProbeCategories(id, 0, Int32Array.of(1, 2), Uint8Array.of(1))).toThrow(
      /2 indices but 1 categories/,
    );
    h.appendEvalPoints(id, [point(10)]);
    expect(() => h.appendEvalPoints(id, [point(20), point(10)])).toThrow(
      `Run ${id} already has an eval point at step 10`,
    );
    expect(h.getSeries(id)).toEqual([point(10)]); // the batch with the duplicate wrote nothing
    expect(() => h.createRun({ config: config(), studyId: 999 })).toThrow('There is no study 999');
    expect(() => h.createRun({ config: { ...config(), seed: -1 } })).toThrow(/seed/);
  });
});

describe('listing', () => {
  it('lists newest first, without series, and filters', () => {
    const h = historyAt();
    const study = h.createStudy('s', null);
    const a = finishedRun(h, { scenario: 'rot90', rehearsal: { strategy: 'random' } }, study);
    const b = finishedRun(h, { scenario: 'permute', rehearsal: { strategy: 'mix-cd' } }, study);
    const c = h.createRun({ config: config({ scenario: 'permute', rehearsal: { strategy: 'random' } }) });
    const d = h.createRun({
      config: config({ scenario: 'split', rehearsal: { strategy: 'none' } }),
      status: 'running',
    });

    const all = h.listRuns();
    expect(all.map((r) => r.id)).toEqual([d, c, b, a]);
    expect(all.every((r) => r.series.length === 0)).toBe(true);
    expect(h.listRuns({ limit: 2 }).map((r) => r.id)).toEqual([d, c]);
    expect(h.listRuns({ limit: 2, offset: 2 }).map((r) => r.id)).toEqual([b, a]);
    expect(h.listRuns({ studyId: study }).map((r) => r.id)).toEqual([b, a]);
    expect(h.listRuns({ studyId: null }).map((r) => r.id)).toEqual([d, c]);
    expect(h.listRuns({ scenario: 'permute' }).map((r) => r.id)).toEqual([c, b]);
    expect(h.listRuns({ strategy: 'random' }).map((r) => r.id)).toEqual([c, a]);
    expect(h.listRuns({ scenario: 'permute', strategy: 'random' }).map((r) => r.id)).toEqual([c]);
    expect(h.listRuns({ status: 'finished' }).map((r) => r.id)).toEqual([b, a]);
    expect(h.listRuns({ status: ['queued', 'running'] }).map((r) => r.id)).toEqual([d, c]);
    expect(h.listRuns({ status: [] })).toEqual([]);
    h.setTags(a, ['baseline']);
    expect(h.listRuns({ tag: 'baseline' }).map((r) => r.id)).toEqual([a]);
    expect(h.listStudies().map((s) => s.name)).toEqual(['s']);
  });

  it('lists runs with their tags, read in one query for all runs', () => {
    const h = historyAt();
    const a = finishedRun(h);
    const b = finishedRun(h);
    const c = h.createRun({ config: config() });
    h.setTags(a, ['z', 'baseline']);
    h.setTags(c, ['wip']);
    const listed = h.listRunsWithTags();
    expect(listed.map((r) => [r.id, r.tags])).toEqual([
      [c, ['wip']],
      [b, []],
      [a, ['baseline', 'z']],
    ]);
    // The same runs as listRuns, filters included, each as its list item (the table's fields:
    // runs.get has the rest); a tag filter still lists every tag of the run.
    const full = h.listRuns();
    expect(listed).toEqual(full.map((run, i) => toRunListItem(run, listed[i].tags)));
    expect(listed[2]).toMatchObject({ id: a, status: 'finished', config: { rehearsal: { strategy: 'random' } } });
    expect(listed[2]).not.toHaveProperty('series');
    expect(listed[2]).not.toHaveProperty('compute');
    // As one table (what History asks for): the same values, in the columns' order, in fewer bytes.
    const table = h.listRunsWithTags({ format: 'table' });
    expect(table).toEqual(toRunListTable(listed));
    expect(table.columns).toEqual(RUN_LIST_COLUMNS);
    expect(table.rows[2].slice(0, 3)).toEqual([a, null, 'finished']);
    expect(JSON.stringify(table).length).toBeLessThan(JSON.stringify(listed).length / 2);
    expect(JSON.stringify(listed).length).toBeLessThan(JSON.stringify(full).length / 2);
    expect(h.listRunsWithTags({ tag: 'z' }).map((r) => r.tags)).toEqual([['baseline', 'z']]);
    h.deleteRun(a);
    expect(h.listRunsWithTags().map((r) => r.id)).toEqual([c, b]);
  });

  it("lists a multi-stage run as one, with its continual summary's average accuracy alone", () => {
    const h = historyAt();
    const set = { dataset: 'd' };
    const spec = parseScenarioSpec(
      {
        name: 'two',
        datasets: { d: { path: 'd' } },
        pretrain: { train: set, test: set },
        stages: [
          { name: 's1', train: set, test: set },
          { name: 's2', train: set, test: set },
        ],
      },
      'two.json',
    );
    const single = finishedRun(h);
    const multi = h.createRun({ config: config({ scenarioFile: { path: '/two.json', spec } }) });
    // Known to be multi-stage from its config while it waits; its average once its stages are stored.
    expect(h.listRunsWithTags()[0].multiStage).toEqual({ scenario: 'two', stages: 2, averageAccuracy: null });
    const continual = { taskNames: ['pretrain', 's1', 's2'], averageAccuracy: 0.625, taskSeries: [] };
    h.markRunning(multi, { backend: 'cpu', device: 'test', dataFingerprint: 'fp' });
    h.saveStages(multi, [], continual as unknown as ContinualSummary);
    const [item, plain] = h.listRunsWithTags();
    expect(item.multiStage).toEqual({ scenario: 'two', stages: 2, averageAccuracy: 0.625 });
    expect(item).not.toHaveProperty('continual');
    expect(plain.id).toBe(single);
    expect(plain).not.toHaveProperty('multiStage');
    const rows = h.listRunsWithTags({ format: 'table' }).rows;
    expect(rows.map((r) => r[RUN_LIST_COLUMNS.indexOf('multiStage')])).toEqual([item.multiStage, null]);
    // A scenario file's run goes by the file's name (its config.scenario is only the default).
    expect([item.scenarioName, plain.scenarioName]).toEqual(['two', plain.config.scenario]);
    expect(rows.map((r) => r[RUN_LIST_COLUMNS.indexOf('scenarioName')])).toEqual(['two', plain.config.scenario]);
  });

  it('uses the indexes for the common listings', () => {
    const h = historyAt();
    const plan = (sql: string) =>
      (h.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(plan(`SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT 20`)).toContain('runs_by_created');
    expect(plan(`SELECT * FROM runs WHERE study_id = 1 ORDER BY created_at DESC`)).toContain('runs_by_study');
    expect(
      plan(`SELECT * FROM runs WHERE scenario = 'rot90' AND strategy = 'mix-cd' ORDER BY created_at DESC`),
    ).toContain('runs_by_scenario_strategy');
  });
});

describe('integrity', () => {
  it('finished runs cannot be altered, even by direct SQL', () => {
    const h = historyAt();
    const id = finishedRun(h);
    const raw = new Database(path.join(dir, 'history.db')); // a second connection, no app code involved
    raw.pragma('foreign_keys = ON');
    expect(() => raw.prepare(`UPDATE runs SET status = 'running' WHERE id = ?`).run(id)).toThrow(
      /finished runs are never altered/,
    );
    expect(() => raw.prepare(`UPDATE runs SET final_cd_rate = 0 WHERE id = ?`).run(id)).toThrow(
      /finished runs are never altered/,
    );
    expect(() => raw.prepare(`UPDATE eval_points SET cd_rate = 0 WHERE run_id = ?`).run(id)).toThrow(
      /only be changed while their run is running/,
    );
    expect(() => raw.prepare(`DELETE FROM eval_points WHERE run_id = ?`).run(id)).toThrow(
      /finished runs are never altered/,
    );
    expect(() => raw.prepare(`INSERT INTO eval_points VALUES (?, 999, 1, 1, 0, NULL, NULL)`).run(id)).toThrow(
      /only be added to a running run/,
    );
    expect(() =>
      raw
        .prepare(
          `INSERT INTO bin_traces (run_id, step, size, alpha, probability, drawn, ` +
            `cd_found) VALUES (?, 5, x'', x'', x'', x'', x'')`,
        )
        .run(id),
    ).toThrow(/only be added to a running run/);
    raw.close();

    expect(() => h.appendEvalPoints(id, [point(300)])).toThrow(
      `Cannot add eval points: run ${id} is finished, and finished runs are never altered.`,
    );
    expect(() =>
      h.appendBinTraces(id, [{ step: 1, size: [1], alpha: [1], probability: [1], drawn: [0], cdFound: [0] }]),
    ).toThrow(`run ${id} is finished`);
    expect(() => h.saveSampleRehearsals(id, new Uint32Array(1), new Int32Array(0), null)).toThrow(
      `run ${id} is finished`,
    );
    expect(() => h.saveProbeCategories(id, 1, new Int32Array(0), new Uint8Array(0))).toThrow(`run ${id} is finished`);
    expect(() => h.finishRun(id, { status: 'failed', compute })).toThrow(`run ${id} is finished`);
    expect(() => h.markRunning(id, { backend: 'x', device: 'x', dataFingerprint: 'x' })).toThrow(
      `run ${id} is finished`,
    );
    expect(h.getRun(id)!.series).toEqual([point(0, null), point(100)]);
  });

  it('eval points need a running run', () => {
    const h = historyAt();
    const id = h.createRun({ config: config() });
    expect(() => h.appendEvalPoints(id, [point(0)])).toThrow(
      `Cannot add eval points: run ${id} is queued, not running.`,
    );
    expect(() => h.appendEvalPoints(4242, [point(0)])).toThrow(
      'Cannot add eval points: there is no run 4242 in the history.',
    );
    expect(() => h.finishRun(id, { status: 'finished', compute })).toThrow(/never started/);
    h.markRunning(id, { backend: 'cpu', device: 'cpu', dataFingerprint: 'f' });
    h.appendEvalPoints(id, [point(0)]);
    expect(h.getSeries(id)).toEqual([point(0)]);
  });

  it('tags stay editable on a finished run', () => {
    const h = historyAt();
    const id = finishedRun(h);
    h.setTags(id, ['b', 'a', ' a ', 'c']);
    expect(h.getTags(id)).toEqual(['a', 'b', 'c']);
    h.setTags(id, ['keep']);
    expect(h.getTags(id)).toEqual(['keep']);
    expect(h.getRun(id)!.status).toBe('finished');
    expect(() => h.setTags(id, [''])).toThrow(/must not be empty/);
    expect(() => h.setTags(4242, ['x'])).toThrow('There is no run 4242');
    expect(h.getTags(4242)).toBeNull();
  });

  it('a failed run keeps its error', () => {
    const h = historyAt();
    const id = h.createRun({ config: config(), status: 'running' });
    h.appendEvalPoints(id, [point(0, null)]);
    h.finishRun(id, { status: 'failed', error: 'out of memory at step 40', exitCode: 3, compute });
    const run = h.getRun(id)!;
    expect(run.status).toBe('failed');
    expect(run.error).toBe('out of memory at step 40');
    expect(run.series).toEqual([point(0, null)]);
    expect(Number.isNaN(run.final.cdRate)).toBe(true); // never measured, not 0
    expect(JSON.parse(JSON.stringify(run)).final.cdRate).toBeNull();
    expect(h.listRuns({ status: 'failed' })[0].error).toBe('out of memory at step 40');
  });

  it('a queued run can be cancelled', () => {
    const h = historyAt();
    const id = h.createRun({ config: config() });
    h.finishRun(id, {
      status: 'cancelled',
      compute: { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0, wallSeconds: 0 },
    });
    expect(h.getRun(id)!.status).toBe('cancelled');
  });

  it('deleting a run removes everything of it; deleting a study keeps its runs', () => {
    const h = historyAt();
    const study = h.createStudy('s', { x: 1 });
    const id = h.createRun({ config: config(), studyId: study, status: 'running' });
    h.appendEvalPoints(id, [point(0)]);
    h.appendBinTraces(id, [{ step: 0, size: [1], alpha: [1], probability: [1], drawn: [0], cdFound: [0] }]);
    h.saveSampleRehearsals(id, new Uint32Array(4), Int32Array.of(0, 1), null);
    h.saveProbeCategories(id, 0, Int32Array.of(1), Uint8Array.of(0));
    h.finishRun(id, { status: 'finished', compute });
    h.setTags(id, ['t']);
    const keep = finishedRun(h, {}, study);

    h.deleteRun(id);
    expect(h.getRun(id)).toBeNull();
    for (const table of ['eval_points', 'bin_traces', 'sample_rehearsals', 'probe_categories', 'run_tags']) {
      expect(h.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).get(id)).toEqual({ n: 0 });
    }
    expect(h.getSeries(id)).toBeNull();
    expect(h.getBinTraces(id)).toBeNull();
    expect(h.getSampleRehearsals(id)).toBeNull();
    expect(h.getProbeCategories(id)).toBeNull();
    expect(() => h.deleteRun(id)).toThrow(`Cannot delete run ${id}: there is no such run`);

    // The finished run survives its study's deletion (the trigger allows exactly this change).
    h.deleteStudy(study);
    expect(h.getStudy(study)).toBeNull();
    const kept = h.getRun(keep)!;
    expect(kept.studyId).toBeNull();
    expect(kept.status).toBe('finished');
    expect(kept.series).toHaveLength(2);
    // Ids are never reused.
    expect(h.createRun({ config: config() })).toBeGreaterThan(keep);
  });

  it('unknown ids: getters return null, mutators name the id', () => {
    const h = historyAt();
    expect(h.getRun(77)).toBeNull();
    expect(h.getRunStatus(77)).toBeNull();
    expect(() => h.markRunning(77, { backend: 'cpu', device: 'cpu', dataFingerprint: '' })).toThrow(
      'There is no run 77 in the history.',
    );
    expect(() => h.finishRun(77, { status: 'failed', compute })).toThrow('There is no run 77 in the history.');
    expect(() => h.deleteStudy(77)).toThrow('no such study');
    try {
      h.finishRun(77, { status: 'failed', compute });
    } catch (e) {
      expect((e as HistoryError).code).toBe('unknown-run');
    }
  });
});

describe('markInterruptedRuns', () => {
  it('fails runs left queued or running by a dead process, and only those', () => {
    const h = historyAt();
    const queued = h.createRun({ config: config() });
    const running = h.createRun({ config: config(), status: 'running' });
    h.appendEvalPoints(running, [point(0)]);
    const done = finishedRun(h);
    const ownedByLiveProcess = h.createRun({ config: config(), status: 'running' });
    const raw = h.db;
    raw.prepare('UPDATE runs SET owner_pid = 111 WHERE id IN (?, ?)').run(queued, running);
    raw.prepare('UPDATE runs SET owner_pid = 222 WHERE id = ?').run(ownedByLiveProcess);

    const marked = h.markInterruptedRuns((pid) => pid === 222);
    expect(marked.sort()).toEqual([queued, running].sort());
    for (const id of [queued, running]) {
      const run = h.getRun(id)!;
      expect(run.status).toBe('failed');
      expect(run.error).toBe(INTERRUPTED_ERROR);
      expect(run.error).toBe('interrupted: the process running it stopped before it finished');
      expect(run.finishedAt).toBeTruthy();
    }
    expect(h.getRun(running)!.series).toEqual([point(0)]);
    expect(h.getRun(done)!.error).toBeNull();
    expect(h.getRun(ownedByLiveProcess)!.status).toBe('running');
    expect(h.markInterruptedRuns((pid) => pid === 222)).toEqual([]);
  });

  it('leaves this process’s own runs alone by default', () => {
    const h = historyAt();
    const id = h.createRun({ config: config(), status: 'running' });
    expect(h.markInterruptedRuns()).toEqual([]);
    expect(h.getRun(id)!.status).toBe('running');
  });
});
