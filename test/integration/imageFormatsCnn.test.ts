// A folder of PNG images and a CIFAR-format file each train the CNN for a short run (wasm), through
// scenario files that declare them: colour images reach the model channel-last, as the CNN expects.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenarioSpec, type ScenarioSpecInput } from '../../shared/scenarioFile.js';
import { writeCifar } from '../../src-main/data/formats/cifar.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { smallConfig } from '../helpers/syntheticData.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-cnn-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Class c is a bright band in colour channel c on a dark, noisy background. */
function picture(c: number, i: number, side: number): Buffer {
  const px = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      for (let ch = 0; ch < 3; ch++)
        px[(y * side + x) * 3 + ch] = ch === c && y >= c * 2 && y < c * 2 + 3 ? 220 : (i * 31 + x * 7 + y) % 50;
  return px;
}

function scenario(name: string, dataset: ScenarioSpecInput['datasets'][string]): ScenarioSpecInput {
  const rot = [{ op: 'rotate' as const, degrees: 90 as const }];
  return {
    name,
    datasets: { d: dataset },
    pretrain: { train: { dataset: 'd' }, test: { dataset: 'd', split: 'test' } },
    stages: [
      {
        name: 'rot90',
        train: { dataset: 'd', transforms: rot },
        test: { dataset: 'd', split: 'test', transforms: rot },
      },
    ],
  };
}

const cnn = (spec: ScenarioSpecInput) =>
  smallConfig({
    scenarioFile: { path: path.join(dir, `${spec.name}.json`), spec: parseScenarioSpec(spec, spec.name) },
    model: { arch: 'cnn', filters: [4] },
    pretrain: { epochs: 1, batchSize: 16 },
    finetune: { steps: 10, batchSize: 16, evalEvery: 5 },
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 0 },
  } as Parameters<typeof smallConfig>[0]);

beforeAll(async () => {
  await initBackend('wasm');
});

describe('the CNN on colour image formats', () => {
  it('trains on a folder of PNG images (resized on the way in)', async () => {
    const root = path.join(dir, 'png');
    for (const split of ['train', 'test'])
      for (let c = 0; c < 3; c++) {
        const folder = path.join(root, split, `class-${c}`);
        mkdirSync(folder, { recursive: true });
        for (let i = 0; i < (split === 'train' ? 16 : 6); i++)
          await sharp(picture(c, i, 10), { raw: { width: 10, height: 10, channels: 3 } })
            .png()
            .toFile(path.join(folder, `${i}.png`));
      }
    writeFileSync(
      path.join(root, 'dataset.json'),
      JSON.stringify({ name: 'bands', format: 'images', splits: { train: 'train', test: 'test' }, shape: [8, 8, 3] }),
    );
    const result = await runExperiment(cnn(scenario('png-cnn', { path: root })), new ExperimentContext());
    expect(result.status).toBe('finished');
    expect(result.series.map((p) => p.step)).toEqual([0, 5, 10]);
    expect(result.compute.backwardPasses).toBe(10 * (16 + 4));
    expect(Number.isFinite(result.final.pretrainTestAcc)).toBe(true);
  });

  it('trains on a CIFAR-10 binary file', async () => {
    const root = path.join(dir, 'cifar');
    mkdirSync(root);
    const records = (n: number) => {
      const labels = Array.from({ length: n }, (_, i) => i % 3);
      const images = new Uint8Array(n * 32 * 32 * 3);
      labels.forEach((c, i) => images.set(picture(c, i, 32), i * 32 * 32 * 3));
      return writeCifar('cifar10', images, labels);
    };
    writeFileSync(path.join(root, 'data_batch_1.bin'), records(48));
    writeFileSync(path.join(root, 'test_batch.bin'), records(18));
    const result = await runExperiment(cnn(scenario('cifar-cnn', { path: root })), new ExperimentContext());
    expect(result.status).toBe('finished');
    expect(result.series.length).toBe(3);
    expect(result.compute.backwardPasses).toBe(10 * (16 + 4));
    expect(Number.isFinite(result.final.pretrainTestAcc)).toBe(true);
  });
});
