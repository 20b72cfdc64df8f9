// The sample inspector as the UI and the CLI use it: a mix-cd run and a random run of one study,
// trained by real trainer processes on generated IDX data, then questioned through the host API
// (inspect.*, runs.samples) and `mixcd samples`. Every answer is checked against what the run
// stored and what the data files hold.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MethodName, MethodParams, MethodResults, ResponseMessage } from '../../shared/contract.js';
import { budgetShares } from '../../shared/inspect.js';
import { CATEGORIES } from '../../shared/results.js';
import { loadFashionMnist } from '../../src-main/data/fashionMnist.js';
import { buildScenario } from '../../src-main/data/scenarios.js';
import { createHost, type Host } from '../../src-main/host/host.js';
import { openHistory } from '../../src-main/store/database.js';
import { writeIdxData } from '../helpers/idxData.js';
import { tinyRunConfig } from '../helpers/trainerRuns.js';

const root = path.resolve(__dirname, '../..');
const trainerEntry = path.join(root, 'dist/src-main/trainer/main.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-inspector-'));
const dataDir = path.join(work, 'data');
const historyFile = path.join(work, 'history.db');
const cacheDir = path.join(work, 'f0');
const STEPS = 60;
const PROBE = 300;

let host: Host;
let nextId = 1;
let mixId = 0;
let randomId = 0;
let otherF0Id = 0;

async function call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResults[M]> {
  const response = await host.handle({ id: nextId++, method, params });
  if (!response.ok) throw new Error(`${method} failed: ${JSON.stringify(response.error)}`);
  return response.result as MethodResults[M];
}

async function refused(method: MethodName, params: unknown): Promise<Extract<ResponseMessage, { ok: false }>['error']> {
  const response = await host.handle({ id: nextId++, method, params });
  if (response.ok) throw new Error(`${method} was expected to be refused`);
  return response.error;
}

beforeAll(async () => {
  if (!existsSync(trainerEntry))
    throw new Error(
      `The trainer is not built (${trainerEntry} is missing): run npm run build first (npm test does it).`,
    );
  writeIdxData(dataDir, { trainCount: 800, testCount: 300, size: 12, seed: 3 });
  host = createHost({ historyFile, cacheDir, trainerEntry });
  const base = tinyRunConfig(dataDir, STEPS, { rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: PROBE } });
  // Listen before anything starts, so no run can end unseen.
  const ended = new Set<number>();
  const allEnded = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the runs did not end within 150 s')), 150_000);
    host.subscribe((e) => {
      if (e.event === 'run.finished' || e.event === 'run.failed' || e.event === 'run.cancelled')
        ended.add(e.data.runId);
      if (ended.size === 3) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const { runIds } = await call('studies.start', {
    base: base as MethodParams<'studies.start'>['base'],
    strategies: ['mix-cd', 'random'],
    budgets: [0.25],
    seeds: [1],
  });
  [mixId, randomId] = runIds;
  // A mix-cd run from another f0 (pretrain seed), whose bins must not be lent to the study's runs.
  otherF0Id = (
    await call('runs.start', {
      config: { ...base, pretrain: { ...base.pretrain, seed: 9 } } as MethodParams<'runs.start'>['config'],
    })
  ).runId;
  await allEnded;
  expect((await call('runs.get', { id: mixId })).status).toBe('finished');
  // The trainers told the inspector which files the fingerprint belongs to (it need not re-hash them).
  const memo = JSON.parse(readFileSync(path.join(cacheDir, 'data-fingerprints.json'), 'utf8')) as {
    entries: { fingerprint: string; trainImageDims: number[] }[];
  };
  expect(memo.entries).toEqual([
    expect.objectContaining({
      fingerprint: (await call('runs.get', { id: mixId })).dataFingerprint,
      trainImageDims: [800, 12, 12],
    }),
  ]);
  expect((await call('runs.get', { id: randomId })).status).toBe('finished');
}, 180_000);

afterAll(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('inspect.run', () => {
  it('describes a mix-cd run: bins, per-class and per-bin rehearsals, the budget eval by eval', async () => {
    const r = await call('inspect.run', { id: mixId });
    const m = 8; // round(0.25 * 32)
    expect(r).toMatchObject({
      runId: mixId,
      strategy: 'mix-cd',
      pretrainSize: 800,
      numClasses: 10,
      probeSize: PROBE,
      rehearsals: STEPS * m,
      notes: [],
    });
    expect(r.shape).toEqual({ kind: 'image', height: 12, width: 12, channels: 1 });
    expect(r.evalSteps).toEqual([0, 20, 40, 60]);
    expect(r.classSizes.reduce((a, b) => a + b, 0)).toBe(800);
    expect(r.byClass.reduce((a, b) => a + b, 0)).toBe(STEPS * m);
    // mix-cd draws only prior-correct candidates: every rehearsal lands in a bin.
    expect(r.partition!.runId).toBe(mixId);
    expect(r.partition!.sizes.length).toBe(r.binTraces[0].size.length);
    expect(r.partition!.sizes).toEqual(r.binTraces[0].size);
    expect(r.partition!.sizes.reduce((a, b) => a + b, 0) + r.partition!.outside).toBe(800);
    expect(r.partition!.labels[0]).toMatch(/^class \d+ \(.+\), prior loss 0–\d+th pct \((0|\d)/);
    expect(r.byBin!.outside).toBe(0);
    expect(r.byBin!.bins.reduce((a, b) => a + b, 0)).toBe(STEPS * m);
    // The bins' drawn counts of the traces add up to the per-bin rehearsals.
    const drawn = r.byBin!.bins.map((_, k) => r.binTraces.reduce((sum, t) => sum + t.drawn[k], 0));
    expect(drawn).toEqual(r.byBin!.bins);
    // Windows: every rehearsal known; the CD count per window is the run's precision per eval.
    const run = await call('runs.get', { id: mixId });
    expect(r.budgetWindows.map((w) => w.step)).toEqual([0, 20, 40, 60]);
    r.budgetWindows.slice(1).forEach((w, k) => {
      const total = w.rehearsed.reduce((a, b) => a + b, 0);
      expect(total + w.unknown).toBe(20 * m);
      expect(w.unknown).toBe(0);
      expect(w.rehearsed[0] / total).toBeCloseTo(run.series[k + 1].rehearsalPrecision!, 12);
      expect(w.probe!.reduce((a, b) => a + b, 0)).toBe(PROBE);
      // Candidates are prior-correct: nothing unlearned or newly learned is rehearsed.
      expect(w.rehearsed[2] + w.rehearsed[3]).toBe(0);
    });
    // At f0 the probe holds only unforgotten and unlearned samples.
    expect(r.budgetWindows[0].probe![0] + r.budgetWindows[0].probe![3]).toBe(0);
  });

  it("shows a random run in the bins of the study's mix-cd run, and refuses bins from a run without any", async () => {
    const own = await call('inspect.run', { id: randomId });
    expect(own.partition).toBeNull();
    expect(own.byBin).toBeNull();
    expect(own.notes.join(' ')).toMatch(/random has no bins/);
    const r = await call('inspect.run', { id: randomId, partitionOf: mixId });
    expect(r.partition!.runId).toBe(mixId);
    expect(r.byBin!.bins.reduce((a, b) => a + b, 0) + r.byBin!.outside).toBe(r.rehearsals);
    // Random draws from all of P, so some rehearsals fall outside the candidates' bins.
    expect(r.byBin!.outside).toBeGreaterThan(0);
    const shares = budgetShares(r.budgetWindows);
    expect(shares.rehearsed[2] + shares.rehearsed[3]).toBeGreaterThan(0);

    const wrong = await refused('inspect.run', { id: mixId, partitionOf: randomId });
    expect(wrong).toMatchObject({ code: 'invalid-request', field: 'partitionOf' });
    expect(wrong.message).toMatch(/a random run: give a mix-cd run/);
    expect(await refused('inspect.run', { id: 999 })).toMatchObject({ code: 'not-found', field: 'id' });
    // A bad partitionOf is blamed on partitionOf, not on id.
    expect(await refused('inspect.run', { id: randomId, partitionOf: 999 })).toMatchObject({
      code: 'not-found',
      field: 'partitionOf',
      message: expect.stringMatching(/no run 999/),
    });
    // Bins are groups of one f0's prior losses: another f0's bins do not apply.
    const other = await refused('inspect.run', { id: randomId, partitionOf: otherF0Id });
    expect(other).toMatchObject({
      code: 'invalid-request',
      field: 'partitionOf',
      message: expect.stringMatching(/another f0/),
    });
  });
});

describe('inspect.study', () => {
  it('tells where the budget went per strategy of the study', async () => {
    const run = await call('runs.get', { id: mixId });
    const study = await call('inspect.study', { id: run.studyId! });
    expect(study.rows.map((r) => [r.strategy, r.budget, r.runIds])).toEqual([
      ['mix-cd', 0.25, [mixId]],
      ['random', 0.25, [randomId]],
    ]);
    for (const row of study.rows) {
      const summary = await call('runs.get', { id: row.runIds[0] });
      // The CD share among rehearsed samples is the run's own rehearsal precision.
      expect(row.rehearsed.mean[0]).toBeCloseTo(summary.final.rehearsalPrecision!, 12);
      expect(row.rehearsals).toBe(STEPS * 8);
      expect(row.pretrain!.mean.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    expect(study.notes).toEqual([]);
    expect(await refused('inspect.study', { id: 999 })).toMatchObject({ code: 'not-found', field: 'id' });
  });
});

describe('inspect.samples, inspect.sample, inspect.data', () => {
  it('pages the most rehearsed samples with class, bin, prior loss and latest known category', async () => {
    const stored = openHistory(historyFile);
    const counts = stored.getSampleRehearsals(mixId)!.counts;
    stored.close();
    const page = await call('inspect.samples', { id: mixId, limit: 10 });
    expect(page.step).toBe(60);
    expect(page.total).toBe(counts.filter((c) => c > 0).length);
    const expected = Array.from(counts.keys())
      .filter((i) => counts[i] > 0)
      .sort((a, b) => counts[b] - counts[a] || a - b)
      .slice(0, 10);
    expect(page.samples.map((s) => s.index)).toEqual(expected);
    for (const s of page.samples) {
      expect(s.count).toBe(counts[s.index]);
      expect(s.bin).toBeGreaterThanOrEqual(0);
      expect(s.priorLoss).toBeGreaterThan(0);
      // Rehearsed samples have a known category (their verdicts were all stored).
      expect(CATEGORIES).toContain(s.category);
    }
    const next = await call('inspect.samples', { id: mixId, limit: 10, offset: 10 });
    expect(next.samples.map((s) => s.index)).toEqual(
      Array.from(counts.keys())
        .filter((i) => counts[i] > 0)
        .sort((a, b) => counts[b] - counts[a] || a - b)
        .slice(10, 20),
    );
  });

  it('filters by class, bin and category at a chosen eval', async () => {
    const byClass = await call('inspect.samples', { id: mixId, class: 3, rehearsedOnly: false, limit: 1000 });
    const data = loadFashionMnist(dataDir);
    const labels = buildScenario('rot90', data.train, data.test).pretrainTrain.labels;
    expect(byClass.total).toBe(labels.filter((l) => l === 3).length);
    expect(byClass.samples.every((s) => s.class === 3)).toBe(true);
    const inBin = await call('inspect.samples', { id: mixId, bin: 2, rehearsedOnly: false, limit: 1000 });
    const r = await call('inspect.run', { id: mixId });
    expect(inBin.total).toBe(r.partition!.sizes[2]);
    // At f0 (step 0: the probe, and the rehearsals of step 0, which saw f0) nothing can be forgotten or newly learned.
    const at0 = await Promise.all(
      CATEGORIES.map((category) =>
        call('inspect.samples', { id: mixId, step: 0, category, rehearsedOnly: false, limit: 1 }),
      ),
    );
    const probe0 = r.budgetWindows[0].probe!;
    expect(at0[0].total + at0[3].total).toBe(0);
    expect(at0[1].total).toBeGreaterThanOrEqual(probe0[1]);
    expect(at0[2].total).toBe(probe0[2]); // mix-cd rehearses no prior-incorrect sample
    const cd = await call('inspect.samples', {
      id: mixId,
      step: 60,
      category: 'collateral-damage',
      rehearsedOnly: false,
      limit: 1000,
    });
    expect(cd.samples.every((s) => s.category === 'collateral-damage' && s.categoryStep! <= 60)).toBe(true);
    expect(cd.total).toBeGreaterThanOrEqual(r.budgetWindows[3].probe![0]);

    expect(await refused('inspect.samples', { id: mixId, step: 30 })).toMatchObject({
      field: 'step',
      message: expect.stringMatching(/evaluated at steps 0, 20, 40, 60/),
    });
    expect(await refused('inspect.samples', { id: mixId, class: 12 })).toMatchObject({ field: 'class' });
    expect(await refused('inspect.samples', { id: randomId, bin: 0 })).toMatchObject({ field: 'bin' });
    expect(await refused('inspect.samples', { id: mixId, bin: r.partition!.sizes.length })).toMatchObject({
      field: 'bin',
      message: expect.stringMatching(/there are bins 0\.\./),
    });
    expect(await refused('inspect.samples', { id: mixId, sort: 'loss' })).toMatchObject({ field: 'sort' });
    expect(await refused('inspect.samples', { id: mixId, limit: 5000 })).toMatchObject({ field: 'limit' });
  });

  it("tells one sample's story and serves its pixels exactly as the data files hold them", async () => {
    const [top] = (await call('inspect.samples', { id: mixId, limit: 1 })).samples;
    const detail = await call('inspect.sample', { id: mixId, index: top.index });
    expect(detail.sample).toEqual(top);
    // At a chosen eval the detail says what the gallery says at that eval.
    const at20 = (await call('inspect.samples', { id: mixId, step: 20, limit: 3 })).samples;
    for (const s of at20)
      expect((await call('inspect.sample', { id: mixId, index: s.index, step: 20 })).sample).toEqual(s);
    expect(await refused('inspect.sample', { id: mixId, index: top.index, step: 21 })).toMatchObject({ field: 'step' });
    expect(detail.rehearsals).toHaveLength(top.count);
    expect(detail.priorCorrect).toBe(true);
    const steps = detail.rehearsals.map((x) => x.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // A probe sample has a category at every eval.
    const probeSample = (
      await call('inspect.samples', { id: mixId, step: 0, rehearsedOnly: false, category: 'unforgotten', limit: 1 })
    ).samples[0];
    const probed = await call('inspect.sample', { id: mixId, index: probeSample.index });
    expect(probed.probe!.map((p) => p.step)).toEqual([0, 20, 40, 60]);
    expect(probed.probe![0].category).toBe('unforgotten');

    const data = loadFashionMnist(dataDir);
    const pretrain = buildScenario('rot90', data.train, data.test).pretrainTrain;
    const indices = [top.index, 0, 799];
    const served = await call('inspect.data', { id: mixId, indices });
    expect(served.shape).toEqual({ kind: 'image', height: 12, width: 12, channels: 1 });
    const bytes = Buffer.from(served.data, 'base64');
    expect(bytes.length).toBe(3 * 144);
    indices.forEach((i, k) =>
      expect(bytes.subarray(k * 144, (k + 1) * 144)).toEqual(
        Buffer.from(pretrain.images.subarray(i * 144, (i + 1) * 144)),
      ),
    );

    expect(await refused('inspect.sample', { id: mixId, index: 800 })).toMatchObject({
      field: 'index',
      message: expect.stringMatching(/samples 0..799/),
    });
    expect(await refused('inspect.data', { id: mixId, indices: [1, 800] })).toMatchObject({ field: 'indices.1' });
    expect(await refused('inspect.data', { id: mixId, indices: [] })).toMatchObject({ field: 'indices' });
  });
});

describe('runs.samples and `mixcd samples`', () => {
  it('give the most rehearsed samples with index, count, class, bin, priorLoss and category', async () => {
    const viaHost = await call('runs.samples', { id: mixId, top: 5 });
    const page = await call('inspect.samples', { id: mixId, limit: 5 });
    expect(viaHost.samples.map((s) => s.index)).toEqual(page.samples.map((s) => s.index));
    expect(viaHost.samples.map((s) => s.category)).toEqual(page.samples.map((s) => s.category));

    const cli = spawnSync(
      process.execPath,
      [path.join(root, 'bin/mixcd.js'), 'samples', String(mixId), '--top', '5', '--json', '--db', historyFile],
      {
        encoding: 'utf8',
        env: { ...process.env, MIXCD_CACHE_DIR: cacheDir },
      },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const rows = JSON.parse(cli.stdout) as Record<string, unknown>[];
    expect(rows).toEqual(
      page.samples.map((s) => ({
        index: s.index,
        count: s.count,
        class: s.class,
        className: s.className,
        bin: s.bin,
        priorLoss: s.priorLoss,
        category: s.category,
      })),
    );

    // A random run has no bins: bin is null, and stderr says why.
    const random = spawnSync(
      process.execPath,
      [path.join(root, 'bin/mixcd.js'), 'samples', String(randomId), '--top', '3', '--json', '--db', historyFile],
      {
        encoding: 'utf8',
        env: { ...process.env, MIXCD_CACHE_DIR: cacheDir },
      },
    );
    expect(random.status).toBe(0);
    expect((JSON.parse(random.stdout) as { bin: unknown }[]).map((r) => r.bin)).toEqual([null, null, null]);
    expect(random.stderr).toMatch(/note: random has no bins/);

    const missing = spawnSync(
      process.execPath,
      [path.join(root, 'bin/mixcd.js'), 'samples', '999', '--db', historyFile],
      { encoding: 'utf8' },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/There is no run 999/);
    const badTop = spawnSync(
      process.execPath,
      [path.join(root, 'bin/mixcd.js'), 'samples', String(mixId), '--top', '0', '--db', historyFile],
      { encoding: 'utf8' },
    );
    expect(badTop.status).toBe(2);
    expect(badTop.stderr).toMatch(/--top "0" is not valid/);
  });
});
