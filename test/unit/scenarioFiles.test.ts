// Scenario files: the shipped rot90/permute/split files build byte-identical sets with the same
// fingerprint as the built-in scenarios; files round-trip through the schema; transforms and
// seeded parts do what they say; bad files get one sentence.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../shared/config.js';
import { parseScenarioSpec, scenarioSpecSchema, type ScenarioSpecInput } from '../../shared/scenarioFile.js';
import { scenarioJsonSchema } from '../../shared/scenarioSchemaJson.js';
import { DataError, type ImageDataset } from '../../src-main/data/dataset.js';
import { loadFashionMnist } from '../../src-main/data/fashionMnist.js';
import { writeIdx } from '../../src-main/data/idx.js';
import { loadFileScenario, readScenarioFile, scenarioKey, shippedScenarios } from '../../src-main/data/scenarioFile.js';
import { buildScenario } from '../../src-main/data/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'mixcd-scenario-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A tiny Fashion-MNIST look-alike: 10 classes of 6x6 images, written as the four IDX files.
const side = 6;
function write(prefix: string, count: number, salt: number): void {
  const images = Uint8Array.from({ length: count * side * side }, (_, i) => (i * 31 + salt) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3 + salt) % 10);
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), writeIdx([count, side, side], images));
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), writeIdx([count], labels));
}
write('train', 40, 1);
write('t10k', 20, 2);

const same = (a: ImageDataset, b: ImageDataset) => {
  expect(a.count).toBe(b.count);
  expect(a.numClasses).toBe(b.numClasses);
  expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
  expect(Buffer.from(a.labels).equals(Buffer.from(b.labels))).toBe(true);
};

describe('the built-in scenarios as files', () => {
  const shipped = shippedScenarios();
  for (const name of SCENARIOS) {
    it(`scenarios/${name}.json builds the same sets and fingerprint as the built-in ${name}`, async () => {
      const file = shipped.find((s) => s.name === name && s.path.includes('/scenarios/'))!.path;
      const fromFile = await loadFileScenario(readScenarioFile(file), file, dir);
      const fm = loadFashionMnist(dir);
      const builtIn = buildScenario(name, fm.train, fm.test);
      expect(fromFile.fingerprint).toBe(fm.fingerprint);
      expect(fromFile.scenario.numClasses).toBe(builtIn.numClasses);
      same(fromFile.scenario.pretrainTrain, builtIn.pretrainTrain);
      same(fromFile.scenario.pretrainTest, builtIn.pretrainTest);
      same(fromFile.scenario.finetuneTrain, builtIn.finetuneTrain);
      same(fromFile.scenario.finetuneTest, builtIn.finetuneTest);
      expect(fromFile.scenario.finetuneClasses).toEqual(builtIn.finetuneClasses);
    });
  }

  it('every shipped file and the example two-stage file parse, and the editor schema is current', () => {
    for (const s of shippedScenarios()) expect(() => readScenarioFile(s.path)).not.toThrow();
    const twoStage = readScenarioFile(shipped.find((s) => s.name === 'two-stage')!.path);
    expect(twoStage.stages.map((s) => s.name)).toEqual(['rot90', 'permute']);
    const committed = readFileSync(new URL('../../scenarios/scenario.schema.json', import.meta.url), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(scenarioJsonSchema()));
  });
});

describe('scenario specs', () => {
  const spec: ScenarioSpecInput = {
    name: 'mine',
    datasets: { fm: { builtin: 'fashion-mnist' } },
    pretrain: { train: { dataset: 'fm' }, test: { dataset: 'fm', split: 'test' } },
    stages: [
      {
        name: 'noisy-half',
        train: {
          dataset: 'fm',
          part: { seed: 3, fraction: 0.5, take: 'fraction' },
          transforms: [
            { op: 'noise', std: 0.1, seed: 1 },
            { op: 'labelMap', map: { '0': 10 } },
          ],
        },
        test: { dataset: 'fm', split: 'test', transforms: [{ op: 'rotate', degrees: 180 }] },
      },
    ],
  };

  it('round-trips through the schema (defaults filled once, then stable)', () => {
    const parsed = scenarioSpecSchema.parse(spec);
    expect(scenarioSpecSchema.parse(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
    expect(parsed.pretrain.train.split).toBe('train');
    expect(parsed.pretrain.train.transforms).toEqual([]);
  });

  it('builds seeded parts, noise, label maps (a wider head) and 180-degree rotation', async () => {
    const parsed = parseScenarioSpec(spec, 'test');
    const a = await loadFileScenario(parsed, join(dir, 'x.json'), dir);
    const b = await loadFileScenario(parsed, join(dir, 'x.json'), dir);
    const stage = a.scenario.stages![0];
    expect(stage.train.count).toBe(20);
    expect(Buffer.from(stage.train.images).equals(Buffer.from(b.scenario.stages![0].train.images))).toBe(true);
    expect(a.scenario.numClasses).toBe(11);
    expect(stage.train.numClasses).toBe(11);
    expect(Array.from(stage.train.labels)).not.toContain(0);
    const fm = loadFashionMnist(dir);
    const first = fm.test.images.subarray(0, side * side);
    const rotated = stage.test.images.subarray(0, side * side);
    expect(rotated[0]).toBe(first[side * side - 1]);
    expect(scenarioKey(parsed)).toMatch(/^file:[0-9a-f]{16}$/);
    // The rest of the seeded part is the complement.
    const rest = parseScenarioSpec(
      {
        ...spec,
        stages: [{ ...spec.stages[0], train: { dataset: 'fm', part: { seed: 3, fraction: 0.5, take: 'rest' } } }],
      },
      'test',
    );
    expect((await loadFileScenario(rest, join(dir, 'x.json'), dir)).scenario.stages![0].train.count).toBe(20);
  });

  it('names an undeclared dataset, a bad transform and a missing test split in one sentence', async () => {
    expect(() =>
      parseScenarioSpec({ ...spec, pretrain: { train: { dataset: 'nope' }, test: { dataset: 'fm' } } }, 'f.json'),
    ).toThrow(/f\.json uses dataset "nope", which its "datasets" does not declare \(it declares fm\)/);
    expect(() =>
      parseScenarioSpec(
        {
          ...spec,
          stages: [{ ...spec.stages[0], test: { dataset: 'fm', transforms: [{ op: 'rotate', degrees: 45 }] } }],
        },
        'f.json',
      ),
    ).toThrow(/f\.json field "stages\.0\.test\.transforms\.0\.degrees" is not valid/);
    const csvDir = mkdtempSync(join(dir, 'csv-'));
    writeFileSync(join(csvDir, 'only.csv'), 'label,a\n0,1\n1,2\n');
    const noTest = parseScenarioSpec(
      {
        name: 'n',
        datasets: { t: { path: 'only.csv' } },
        pretrain: { train: { dataset: 't' }, test: { dataset: 't', split: 'test' } },
        stages: [{ name: 's', train: { dataset: 't' }, test: { dataset: 't' } }],
      },
      'n.json',
    );
    const error = await loadFileScenario(noTest, join(csvDir, 'n.json'), undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(/pretrain\.test uses the test split of dataset "t" .* which has none/);
  });
});
