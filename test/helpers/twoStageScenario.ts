// The tests' two-stage scenario file: generated 8x8 images saved as NumPy files (syn/), then a
// scenario that pretrains on them and finetunes on them rotated by 90 degrees, then permuted by
// one fixed permutation (the README's two-stage sequence in miniature). Written once per test
// file into its own folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ScenarioSpecInput } from '../../shared/scenarioFile.js';
import { writeNpy } from '../../src-main/data/formats/npy.js';
import { syntheticSource } from './syntheticData.js';

export const TWO_STAGE_SPEC: ScenarioSpecInput = {
  name: 'syn-two-stage',
  datasets: { syn: { path: 'syn' } },
  pretrain: { train: { dataset: 'syn' }, test: { dataset: 'syn', split: 'test' } },
  stages: [
    {
      name: 'rot90',
      train: { dataset: 'syn', transforms: [{ op: 'rotate', degrees: 90 }] },
      test: { dataset: 'syn', split: 'test', transforms: [{ op: 'rotate', degrees: 90 }] },
    },
    {
      name: 'permute',
      train: { dataset: 'syn', transforms: [{ op: 'permute', seed: 5 }] },
      test: { dataset: 'syn', split: 'test', transforms: [{ op: 'permute', seed: 5 }] },
    },
  ],
};

/** Writes dir/syn/{x,y}_{train,test}.npy and dir/two.json; returns the file, its spec and the images. */
export function writeTwoStageScenario(dir: string, trainCount: number, testCount: number) {
  const source = syntheticSource(trainCount, testCount, 8);
  mkdirSync(path.join(dir, 'syn'), { recursive: true });
  for (const [name, set] of [
    ['train', source.train],
    ['test', source.test],
  ] as const) {
    const x = writeNpy('|u1', [set.count, set.height, set.width], set.images);
    writeFileSync(path.join(dir, 'syn', `x_${name}.npy`), x);
    writeFileSync(path.join(dir, 'syn', `y_${name}.npy`), writeNpy('|u1', [set.count], set.labels));
  }
  const file = path.join(dir, 'two.json');
  writeFileSync(file, JSON.stringify(TWO_STAGE_SPEC));
  return { file, spec: TWO_STAGE_SPEC, source };
}
