// The sample inspector on runs of scenario files: a CSV table with named classes and a group
// column (run and inspected by the built CLI, as a user would: `mixcd run --scenario FILE --rule
// group`, then `mixcd samples`), a two-stage scenario over NumPy images, and data changed after a
// run, which is refused. Class names, groups, bins, shapes and sample bytes are checked against
// the files the test wrote and against what the runs stored.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitSamples, rowPreview } from '../../shared/samplePixels.js';
import { parseScenarioSpec } from '../../shared/scenarioFile.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext } from '../../src-main/engine/experiment.js';
import { recordRun } from '../../src-main/host/recordRun.js';
import { SampleInspector } from '../../src-main/inspector/inspector.js';
import { openHistory, type History } from '../../src-main/store/database.js';
import { runMixcd } from '../helpers/cliProcess.js';
import { smallConfig } from '../helpers/syntheticData.js';
import { writeTwoStageScenario } from '../helpers/twoStageScenario.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-inspect-scenario-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// --- a CSV table: 3 named classes, a site column, 6 float features ---
const CLASSES = ['walk', 'idle', 'cycle'];
const SITES = ['north', 'south', 'east'];
const FEATURES = 6;
interface Row {
  label: string;
  site: string;
  x: number[];
}
function rows(n: number, seed: number): Row[] {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    const x = Array.from({ length: FEATURES }, (_, k) => Number(((k % 3 === c ? 2 : 0) + rand() - 0.5).toFixed(3)));
    return { label: CLASSES[c], site: SITES[Math.floor(rand() * 3)], x };
  });
}
const csv = (rs: Row[]) =>
  ['activity,site,' + Array.from({ length: FEATURES }, (_, k) => `f${k}`).join(',')]
    .concat(rs.map((r) => [r.label, r.site, ...r.x].join(',')))
    .join('\n') + '\n';
const table = path.join(dir, 'data', 'table');
mkdirSync(table, { recursive: true });
const train = rows(240, 11);
writeFileSync(path.join(table, 'train.csv'), csv(train));
writeFileSync(path.join(table, 'test.csv'), csv(rows(90, 12)));
writeFileSync(
  path.join(table, 'dataset.json'),
  JSON.stringify({
    name: 'table',
    format: 'csv',
    splits: { train: 'train.csv', test: 'test.csv' },
    labelColumn: 'activity',
    groupColumn: 'site',
  }),
);
const csvScenario = path.join(dir, 'scenarios', 'table.json');
mkdirSync(path.dirname(csvScenario));
writeFileSync(
  csvScenario,
  JSON.stringify({
    name: 'table-groups',
    datasets: { t: { path: '../data/table' } },
    pretrain: { train: { dataset: 't' }, test: { dataset: 't', split: 'test' } },
    stages: [
      {
        name: 'shuffled',
        train: { dataset: 't', transforms: [{ op: 'permute', seed: 3 }] },
        test: { dataset: 't', split: 'test', transforms: [{ op: 'permute', seed: 3 }] },
      },
    ],
  }),
);

// --- NumPy images, two stages ---
const { file: imageScenario, spec: twoStage, source: images } = writeTwoStageScenario(dir, 400, 120);

const db = path.join(dir, 'history.db');
const cacheDir = path.join(dir, 'f0-cache');
let csvRunId = 0;
let imageRunId = 0;
let history: History;

beforeAll(async () => {
  const ran = runMixcd(
    [
      'run',
      ...['--scenario', csvScenario, '--strategy', 'mix-cd', '--budget', '0.25', '--rule', 'group'],
      ...['--bins', '3', '--steps', '40', '--probe', '100', '--backend', 'wasm', '--json'],
    ],
    { db, cacheDir, timeout: 120_000 },
  );
  if (ran.code !== 0) throw new Error(`mixcd run failed (${ran.code}): ${ran.stderr}`);
  csvRunId = JSON.parse(ran.stdout).id;
  await initBackend('wasm');
  history = openHistory(db);
  const config = smallConfig({
    scenarioFile: { path: imageScenario, spec: parseScenarioSpec(twoStage, imageScenario) },
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 100 },
  } as Parameters<typeof smallConfig>[0]);
  const run = await recordRun(history, config, new ExperimentContext({ cacheDir }));
  expect(run.status).toBe('finished');
  imageRunId = run.id;
}, 240_000);
afterAll(() => history?.close());

describe('the inspector on a CSV scenario run with groups and class names', () => {
  it('`mixcd samples` names the classes (it refused before: it only knew Fashion-MNIST)', () => {
    const out = runMixcd(['samples', String(csvRunId), '--top', '5', '--json'], { db, cacheDir, timeout: 60_000 });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const samples = JSON.parse(out.stdout) as { index: number; class: number; className: string; bin: number }[];
    expect(samples.length).toBe(5);
    // Class names from the CSV's label column, sorted as the loader numbers them.
    const sorted = [...CLASSES].sort();
    for (const s of samples) expect(s.className).toBe(train[s.index].label);
    for (const s of samples) expect(sorted[s.class]).toBe(s.className);
  });

  it('gives class names, the group bins and rows of float values as the CSV holds them', async () => {
    const inspector = new SampleInspector(history, cacheDir, { prefetchPixels: false });
    const inspection = await inspector.inspectRun(csvRunId);
    expect(inspection.classNames).toEqual([...CLASSES].sort());
    expect(inspection.pretrainSize).toBe(train.length);
    expect(inspection.shape).toEqual({ kind: 'row', features: FEATURES, values: 'float32' });
    const counts = [...CLASSES].sort().map((c) => train.filter((r) => r.label === c).length);
    expect(inspection.classSizes).toEqual(counts);
    // The group rule's bins are the sites (named, sorted as the loader numbers groups), and they
    // are the bins the run drew from: the same sizes as its own bin traces.
    const p = inspection.partition!;
    expect(p.rule).toBe('group');
    const sites = [...SITES].sort();
    expect(p.labels).toEqual(sites.map((s, g) => `group ${g} (${s})`));
    expect(inspection.binTraces.length).toBeGreaterThan(0);
    expect(p.sizes).toEqual(inspection.binTraces[0].size);
    expect(p.sizes.reduce((a, b) => a + b, 0) + p.outside).toBe(train.length);

    const picked = [0, 7, 239];
    const data = await inspector.data(csvRunId, picked);
    const bySample = splitSamples(data);
    for (const i of picked) {
      const shown = rowPreview(bySample.get(i)!, 12, data.shape);
      expect(shown.more).toBe(0);
      expect(shown.values.map(Number)).toEqual(train[i].x.map((v) => Number(Math.fround(v).toPrecision(3))));
    }
  });
});

describe('the inspector on a two-stage image scenario run', () => {
  it('shows P as images, in stage 1 bins, and says what a multi-stage inspection shows', async () => {
    const inspector = new SampleInspector(history, cacheDir, { prefetchPixels: false });
    const inspection = await inspector.inspectRun(imageRunId);
    expect(inspection.shape).toEqual({ kind: 'image', height: 8, width: 8, channels: 1 });
    expect(inspection.pretrainSize).toBe(400);
    expect(inspection.classNames).toEqual(Array.from({ length: 10 }, (_, c) => String(c)));
    expect(inspection.notes.join(' ')).toMatch(/has 2 stages: shown is the pretrain set P/);
    // Stage 1 bins over source x class x loss: with P alone, class x loss (the run's rule
    // `class-loss` by default either way), the sizes of the run's own first bin trace.
    const p = inspection.partition!;
    expect(p.rule).toBe('class-loss');
    expect(p.sizes).toEqual(inspection.binTraces[0].size);
    expect(inspection.rehearsals).toBeGreaterThan(0);
    const data = await inspector.data(imageRunId, [3, 399]);
    const bytes = splitSamples(data);
    expect(Array.from(bytes.get(3)!)).toEqual(Array.from(images.train.images.subarray(3 * 64, 4 * 64)));
    expect(Array.from(bytes.get(399)!)).toEqual(Array.from(images.train.images.subarray(399 * 64, 400 * 64)));
  });
});

describe('changed files', () => {
  it('are refused in one sentence naming the scenario file and its data', async () => {
    const changed = train.map((r, i) => (i === 5 ? { ...r, x: r.x.map((v) => v + 1) } : r));
    writeFileSync(path.join(table, 'train.csv'), csv(changed));
    const inspector = new SampleInspector(history, cacheDir, { prefetchPixels: false });
    await expect(inspector.inspectRun(csvRunId)).rejects.toThrow(
      `Run ${csvRunId} cannot be inspected: the data of scenario file ${csvScenario} (${table}) is not the ` +
        `data run ${csvRunId} used (its fingerprint differs: the files changed since the run).`,
    );
    const out = runMixcd(['samples', String(csvRunId)], { db, cacheDir, timeout: 60_000 });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/is not the data run \d+ used \(its fingerprint differs: the files changed since/);
    // Put back, it is inspected again (a refusal is not kept).
    writeFileSync(path.join(table, 'train.csv'), csv(train));
    expect((await inspector.inspectRun(csvRunId)).pretrainSize).toBe(train.length);
  });
});
