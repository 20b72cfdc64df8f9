// The pure parts of cluster studies (src-main/cluster/): Slurm flags and scripts, the manifest, the
// import of a shard into a history (one transaction, idempotent by identity, damaged shards named)
// and the study status from shards and a stand-in squeue/sacct. The real cluster: test/integration/slurm.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRunConfig, type RunConfig } from '../../shared/config.js';
import type { ComputeCounts, EvalPoint } from '../../shared/results.js';
import {
  buildManifest,
  clusterPaths,
  formatManifest,
  parseManifest,
  taskIndices,
  type StudyFile,
} from '../../src-main/cluster/manifest.js';
import { mergeStudy, mergeSummary } from '../../src-main/cluster/merge.js';
import {
  EXIT_REQUEUE,
  parseSlurmOptions,
  prepareF0Sbatch,
  shellQuote,
  slurmSeconds,
  studySbatch,
  type ScriptInput,
} from '../../src-main/cluster/sbatch.js';
import { statusText, studyStatus, type CommandRunner } from '../../src-main/cluster/status.js';
import { openHistory, openHistoryReadOnly, type History } from '../../src-main/store/database.js';
import { importShard } from '../../src-main/store/importRun.js';

let dir: string;
const open: History[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixcd-cluster-'));
});
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const historyAt = (file: string) => {
  const h = openHistory(file);
  open.push(h);
  return h;
};

const config = (over: Record<string, unknown> = {}): RunConfig => parseRunConfig({ backend: 'wasm', ...over });
const compute: ComputeCounts = { forwardPasses: 4000, backwardPasses: 4000, extraForwardPasses: 0, wallSeconds: 3 };
const point = (step: number): EvalPoint => ({
  step,
  pretrainTestAcc: 0.9 - step / 10_000,
  finetuneTestAcc: 0.5 + step / 10_000,
  cdRate: step / 20_000,
  rehearsalPrecision: step ? 0.25 : null,
});

describe('Slurm flags', () => {
  it("reads sbatch's time formats", () => {
    expect(slurmSeconds('30')).toBe(1800);
    expect(slurmSeconds('10:30')).toBe(630);
    expect(slurmSeconds('2:00:00')).toBe(7200);
    expect(slurmSeconds('1-12')).toBe(129_600);
    expect(slurmSeconds('1-0:30:15')).toBe(88_215);
    expect(slurmSeconds('soon')).toBeNull();
  });

  it('checks every flag before it goes into a script, with defaults for the rest', () => {
    expect(parseSlurmOptions({})).toEqual({ cpusPerTask: 1, runsPerTask: 1 });
    expect(parseSlurmOptions({ partition: 'gpu,cpu', time: '4:00:00', mem: '8G', arrayParallel: '20' })).toEqual({
      partition: 'gpu,cpu',
      time: '4:00:00',
      mem: '8G',
      cpusPerTask: 1,
      arrayParallel: 20,
      runsPerTask: 1,
    });
    expect(() => parseSlurmOptions({ partition: 'debug; rm -rf ~' })).toThrow(/--partition "debug; rm -rf ~"/);
    expect(() => parseSlurmOptions({ time: '2h' })).toThrow(/--time "2h" is not valid/);
    expect(() => parseSlurmOptions({ mem: 'lots' })).toThrow(/--mem "lots" is not valid/);
    expect(() => parseSlurmOptions({ runsPerTask: '0' })).toThrow(/--runs-per-task "0" is not valid/);
    expect(() => parseSlurmOptions({ cpusPerTask: '1.5' })).toThrow(/--cpus-per-task "1.5"/);
  });
});

describe('job scripts', () => {
  const input = (over: Partial<ScriptInput> = {}): ScriptInput => ({
    paths: clusterPaths('/shared/me/study one'),
    name: 'rot90: it\'s "quoted"',
    runs: 7,
    options: parseSlurmOptions({ runsPerTask: '3', arrayParallel: '2', time: '5' }),
    node: '/opt/node/bin/node',
    mixcd: '/shared/me/mixcd/bin/mixcd.js',
    ...over,
  });

  it('cuts the runs into ceil(n/K) tasks, throttled by %N, and quotes paths', () => {
    const script = studySbatch(input());
    expect(script).toContain('#SBATCH --array=0-2%2\n');
    expect(script).toContain('#SBATCH --output="/shared/me/study one/logs/runs-%A_%a.out"\n');
    expect(script).toContain("MANIFEST='/shared/me/study one/manifest.jsonl'\n");
    expect(script).toContain("export MIXCD_CACHE_DIR='/shared/me/study one/f0-cache'\n");
    expect(script).toContain('PER_TASK=3\n');
    expect(script).toContain(`REQUEUE_EXIT=${EXIT_REQUEUE} `);
    expect(script).toContain('#SBATCH --time=5\n');
    // A 5-minute limit gets no early warning (it could come at the start and requeue the task forever).
    expect(script).not.toContain('#SBATCH --signal');
    expect(studySbatch(input({ options: parseSlurmOptions({ time: '1:00:00' }) }))).toContain(
      '#SBATCH --signal=B:USR1@120\n',
    );
    expect(prepareF0Sbatch(input())).toContain('--prepare-f0');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('refuses an output folder that cannot go on an #SBATCH line', () => {
    expect(() => studySbatch(input({ paths: clusterPaths('/tmp/a"b') }))).toThrow(/cannot go into a job script/);
  });

  it('gives each task its lines of the manifest', () => {
    expect(taskIndices(0, 7, 3)).toEqual([0, 1, 2]);
    expect(taskIndices(2, 7, 3)).toEqual([6]);
    expect(taskIndices(3, 7, 3)).toEqual([]);
  });
});

describe('the manifest', () => {
  it('holds each identity once, in the grid order, and reads back what it wrote', () => {
    const configs = [config({ seed: 1 }), config({ seed: 2 }), config({ seed: 1 })];
    const { entries, duplicates } = buildManifest(configs, (c) => `${'a'.repeat(31)}${c.seed}`);
    expect(duplicates).toBe(1);
    expect(entries.map((e) => [e.index, e.config.seed])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(parseManifest(formatManifest(entries), 'm.jsonl')).toEqual(entries);
  });

  it('names the line that is wrong', () => {
    const good = formatManifest(buildManifest([config()], () => 'b'.repeat(32)).entries);
    expect(() => parseManifest('', 'm.jsonl')).toThrow(/Manifest m.jsonl: it has no runs/);
    expect(() => parseManifest(good + '{oops\n', 'm.jsonl')).toThrow(/line 2 is not JSON/);
    expect(() => parseManifest(good + good, 'm.jsonl')).toThrow(/line 2 does not hold run index 1/);
    expect(() => parseManifest(good.replace('b'.repeat(32), 'x'), 'm.jsonl')).toThrow(
      /line 1 has no valid run identity/,
    );
    expect(() => parseManifest(good.replace('"steps":1500', '"steps":0'), 'm.jsonl')).toThrow(
      /line 1's config is not valid/,
    );
  });
});

/** A shard as an array task leaves it: a history holding one finished run with all its parts. */
function writeShard(file: string, identity: string | null, over: Record<string, unknown> = {}): void {
  const h = openHistory(file);
  try {
    const id = h.createRun({ config: config(over) });
    h.markRunning(id, {
      backend: 'wasm',
      device: 'CPU',
      dataFingerprint: 'fp',
      ...(identity ? { identity } : {}),
      startedAt: '2026-01-02T03:04:05.000Z',
    });
    h.appendEvalPoints(id, [point(0), point(50), point(100)]);
    h.appendBinTraces(id, [
      { step: 50, size: [2, 3], alpha: [0.5, 0.25], probability: [0.75, 0.25], drawn: [1, 0], cdFound: [1, 0] },
    ]);
    h.saveProbeCategories(id, 50, Int32Array.from([1, 4]), Uint8Array.from([0, 2]));
    h.saveSampleRehearsals(id, Uint32Array.from([0, 2, 0, 1, 0]), Int32Array.from([1, 1, 2, 3, 3, 1]), null);
    h.finishRun(id, {
      status: 'finished',
      compute,
      prior: { pretrainTestAcc: 0.9, finetuneTestAcc: 0.1 },
      final: { pretrainTestAcc: 0.8, finetuneTestAcc: 0.7, cdRate: 0.05, rehearsalPrecision: 0.25 },
    });
    h.db.pragma('journal_mode = DELETE');
  } finally {
    h.close();
  }
}

describe('importing a shard', () => {
  it('stores the run whole once, under the study, and finds it again by identity', () => {
    const shard = path.join(dir, 'a.db');
    writeShard(shard, 'c'.repeat(32));
    const target = historyAt(path.join(dir, 'history.db'));
    const studyId = target.createStudy('s', {});
    const first = importShard(target, shard, { studyId });
    expect(first).toMatchObject({ outcome: 'added', identity: 'c'.repeat(32) });
    const id = (first as { runId: number }).runId;
    const source = openHistoryReadOnly(shard);
    open.push(source);
    const [a, b] = [source.getRun(1)!, target.getRun(id)!];
    expect(b).toMatchObject({ status: 'finished', studyId, identity: 'c'.repeat(32) });
    for (const key of [
      'config',
      'backend',
      'device',
      'dataFingerprint',
      'prior',
      'final',
      'compute',
      'series',
    ] as const)
      expect(b[key], key).toEqual(a[key]);
    expect(target.getBinTraces(id)).toEqual(source.getBinTraces(1));
    expect(target.getProbeCategories(id)).toEqual(source.getProbeCategories(1));
    expect(target.getSampleRehearsals(id)).toEqual(source.getSampleRehearsals(1));
    const started = target.db.prepare('SELECT started_at FROM runs WHERE id = ?').get(id) as { started_at: string };
    expect(started.started_at).toBe('2026-01-02T03:04:05.000Z');
    expect(importShard(target, shard, { studyId })).toEqual({
      file: shard,
      outcome: 'present',
      runId: id,
      identity: 'c'.repeat(32),
    });
    expect(target.listRuns()).toHaveLength(1);
  });

  it('takes the file name identity when the run stored none', () => {
    const shard = path.join(dir, 'b.db');
    writeShard(shard, null);
    const target = historyAt(path.join(dir, 'history.db'));
    const outcome = importShard(target, shard, { studyId: null, identity: 'd'.repeat(32) });
    expect(outcome).toMatchObject({ outcome: 'added', identity: 'd'.repeat(32) });
  });

  it('names a damaged shard and stores nothing of it', () => {
    const target = historyAt(path.join(dir, 'history.db'));
    const garbage = path.join(dir, 'garbage.db');
    fs.writeFileSync(garbage, 'hello');
    expect(importShard(target, garbage, { studyId: null })).toMatchObject({
      outcome: 'damaged',
      reason: expect.stringMatching(/is not an SQLite database/),
    });
    const empty = path.join(dir, 'empty.db');
    historyAt(empty);
    expect(importShard(target, empty, { studyId: null })).toMatchObject({
      outcome: 'damaged',
      reason: 'it holds no finished run',
    });
    const whole = path.join(dir, 'whole.db');
    writeShard(whole, 'e'.repeat(32));
    const truncated = path.join(dir, 'truncated.db');
    fs.writeFileSync(truncated, fs.readFileSync(whole).subarray(0, 8192));
    expect(importShard(target, truncated, { studyId: null })).toMatchObject({ outcome: 'damaged' });
    // Data the schema refuses halfway through (a bin trace whose arrays disagree): rolled back whole.
    const bad = path.join(dir, 'bad.db');
    writeShard(bad, 'f'.repeat(32));
    const raw = openHistory(bad);
    raw.db.exec('DROP TRIGGER bin_traces_update_needs_running'); // a finished run's data is frozen otherwise
    raw.db.prepare('UPDATE bin_traces SET alpha = ?').run(Buffer.alloc(12));
    raw.close();
    expect(importShard(target, bad, { studyId: null })).toMatchObject({
      outcome: 'damaged',
      reason: expect.stringMatching(/alpha has 3 bins but size has 2/),
    });
    expect(target.listRuns()).toEqual([]);
  });
});

describe('merge and status of a study folder', () => {
  function studyFolder() {
    const paths = clusterPaths(path.join(dir, 'study'));
    for (const sub of [paths.dir, paths.shards, paths.checkpoints]) fs.mkdirSync(sub, { recursive: true });
    const configs = [1, 2, 3].map((seed) => config({ seed }));
    const { entries } = buildManifest(configs, (c) => `${'1'.repeat(31)}${c.seed}`);
    fs.writeFileSync(paths.manifest, formatManifest(entries));
    const study: StudyFile = {
      name: 'three seeds',
      base: configs[0],
      grid: { strategies: ['random'], budgets: [0.1], seeds: [1, 2, 3] },
      runs: 3,
      runsPerTask: 1,
      createdAt: '2026-01-01T00:00:00.000Z',
      workbenchVersion: '0.1.0',
    };
    fs.writeFileSync(paths.study, JSON.stringify(study));
    return { paths, entries };
  }

  it('merges the finished shards into one study, the second time adds nothing', () => {
    const { paths, entries } = studyFolder();
    writeShard(path.join(paths.shards, `${entries[0].identity}.db`), entries[0].identity, { seed: 1 });
    writeShard(path.join(paths.shards, `${entries[2].identity}.db`), entries[2].identity, { seed: 3 });
    fs.writeFileSync(path.join(paths.shards, `${'9'.repeat(32)}.db`), 'not a database');
    fs.writeFileSync(path.join(paths.shards, `.partial-${entries[1].identity}.db`), ''); // not looked at
    const history = historyAt(path.join(dir, 'history.db'));
    const first = mergeStudy(paths.dir, history);
    expect(first).toMatchObject({ added: 2, alreadyPresent: 0, notFinished: 1, studyName: 'three seeds' });
    expect(first.skipped.map((s) => path.basename(s.file))).toEqual([`${'9'.repeat(32)}.db`]);
    expect(history.getStudy(first.studyId!)).toMatchObject({ name: 'three seeds' });
    expect(history.listRuns({ studyId: first.studyId }).map((r) => r.config.seed)).toEqual([3, 1]);
    const second = mergeStudy(paths.dir, history);
    expect(second).toMatchObject({ added: 0, alreadyPresent: 2, studyId: first.studyId });
    expect(history.listStudies()).toHaveLength(1);
    expect(mergeSummary(second, paths.dir)).toBe(
      `Added 0 runs (2 already there, 1 damaged shard skipped) to study ${first.studyId} in ${history.file}.\n` +
        `1 run of the study is not finished yet (\`mixcd study-status ${paths.dir}\`).`,
    );
  });

  it('stores no empty study when nothing could be added', () => {
    const { paths } = studyFolder();
    fs.writeFileSync(path.join(paths.shards, `${'9'.repeat(32)}.db`), 'not a database');
    const history = historyAt(path.join(dir, 'history.db'));
    const result = mergeStudy(paths.dir, history);
    expect(result).toMatchObject({ added: 0, studyId: null });
    expect(history.listStudies()).toEqual([]);
    expect(mergeSummary(result, paths.dir)).toMatch(
      /^Added 0 runs \(0 already there, 1 damaged shard skipped\); no study/,
    );
  });

  it('counts runs from the shards and tasks from squeue, and says when sacct cannot answer', () => {
    const { paths, entries } = studyFolder();
    writeShard(path.join(paths.shards, `${entries[0].identity}.db`), entries[0].identity);
    // Run 1 was stopped and stored cancelled; its task waits to be started again.
    const partial = historyAt(path.join(paths.shards, `.partial-${entries[1].identity}.db`));
    const id = partial.createRun({ config: config({ seed: 2 }) });
    partial.markRunning(id, { backend: 'wasm', device: 'CPU', dataFingerprint: 'fp' });
    partial.finishRun(id, { status: 'cancelled', compute });
    fs.mkdirSync(path.join(paths.checkpoints, entries[1].identity));
    fs.writeFileSync(path.join(paths.checkpoints, entries[1].identity, 'run-1.ckpt'), 'x');
    fs.writeFileSync(paths.submitted, JSON.stringify({ f0Job: '7', arrayJob: '8', submittedAt: 'then' }) + '\n');
    const calls: string[] = [];
    const slurm: CommandRunner = (command, args) => {
      calls.push(`${command} ${args.join(' ')}`);
      if (command === 'squeue') return { ok: true, stdout: '8_1|PENDING|BeginTime\n8_2|PENDING|None\n', stderr: '' };
      return { ok: false, stdout: '', stderr: 'sacct: error: Slurm accounting storage is disabled\n' };
    };
    const status = studyStatus(paths.dir, slurm);
    expect(calls[0]).toBe('squeue --noheader --array --jobs 7,8 --format %i|%T|%r');
    expect(status.runs).toEqual({ total: 3, finished: 1, running: 0, interrupted: 1, failed: 0, queued: 1 });
    expect(status.perRun[1]).toMatchObject({ state: 'interrupted', checkpoint: true });
    expect(status.tasks).toMatchObject({ total: 3, pending: 2, running: 0 });
    const text = statusText(status);
    expect(text).toContain('Runs: 1 finished, 0 running, 1 interrupted');
    expect(text).toContain('squeue: job array 8: 0 tasks running, 2 pending; f0 job 7: no longer queued.');
    expect(text).toContain(
      'sacct: not asked or not available: sacct says: Slurm accounting storage is disabled; ' +
        'finished runs are counted from the shards.',
    );
    // Without Slurm on this machine: said, and the shards still count.
    const none = studyStatus(paths.dir, () => ({ ok: false, stdout: '', stderr: 'ENOENT' }));
    expect(none.squeue).toMatchObject({ available: false, note: 'squeue is not on the PATH' });
    expect(none.runs.finished).toBe(1);
  });
});
