// The finetuning choices: frozen layers keep f0's weights while the head's move, a head learning
// rate scales the head's step only, weight decay is L2 for sgd and decoupled for AdamW.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig, type OptimizerSpec } from '../../shared/config.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { f0KeyFor } from '../../src-main/engine/f0Cache.js';
import { createClassifier, ModelSpecError } from '../../src-main/engine/model.js';
import { trainPlan, Updater } from '../../src-main/engine/optimizer.js';
import { trainStep } from '../../src-main/engine/trainStep.js';
import { syntheticSource, smallConfig } from '../helpers/syntheticData.js';

const source = syntheticSource();
const context = new ExperimentContext({ loadData: () => source });

beforeAll(async () => {
  await initBackend('wasm');
});

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function finalWeights(overrides: Parameters<typeof smallConfig>[0]) {
  const config = smallConfig({ model: { arch: 'mlp', hidden: [32, 16] }, ...overrides });
  let weights: Float32Array[] = [];
  const result = await runExperiment(config, context, { onFinalModel: (m) => (weights = m.getWeights()) });
  const f0 = context.f0(f0KeyFor(config, source.fingerprint, 'wasm'))!.weights;
  return { weights, f0, result };
}

describe('freezing', () => {
  it('trainLast 1: every layer but the head keeps f0 weights; the head moves', async () => {
    const { weights, f0, result } = await finalWeights({ finetune: { freeze: { trainLast: 1 } } });
    // dense_1 (kernel, bias), dense_2 (kernel, bias) frozen; dense_3 is the head.
    for (let i = 0; i < 4; i++) expect(maxAbsDiff(weights[i], f0[i])).toBe(0);
    for (let i = 4; i < 6; i++) expect(maxAbsDiff(weights[i], f0[i])).toBeGreaterThan(1e-4);
    // A frozen layer still runs forward for every sample: the counts are those of a full run.
    expect(result.compute.forwardPasses).toBe(result.compute.backwardPasses);
  }, 30_000);

  it('named layers stay frozen; the others move', async () => {
    const { weights, f0 } = await finalWeights({ finetune: { freeze: { layers: ['dense_3'] } } });
    expect(maxAbsDiff(weights[4], f0[4])).toBe(0);
    expect(maxAbsDiff(weights[5], f0[5])).toBe(0);
    expect(maxAbsDiff(weights[0], f0[0])).toBeGreaterThan(1e-4);
  }, 30_000);

  it('an unknown layer name is one sentence listing the layers', () => {
    const model = createClassifier({ arch: 'mlp', hidden: [8] }, { height: 2, width: 2, channels: 1 }, 3, 0);
    expect(() => trainPlan(model, { freeze: { layers: ['dense_9'] } })).toThrow(
      /freeze\.layers names "dense_9", which is not a layer of this model: its layers are dense_1, dense_2\./,
    );
    expect(
      () => new Updater(model, { name: 'sgd', lr: 0.1, momentum: 0 }, trainPlan(model, { freeze: { trainLast: 0 } })),
    ).toThrow(ModelSpecError);
    model.dispose();
  });
});

/** The change of every weight after one step from the same start. */
function oneStep(spec: OptimizerSpec, headLr?: number): Float32Array[] {
  const model = createClassifier({ arch: 'mlp', hidden: [8] }, { height: 2, width: 2, channels: 1 }, 3, 5);
  const before = model.getWeights();
  const updater = new Updater(model, spec, trainPlan(model, {}), headLr);
  const pixels = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 5);
  const { loss } = trainStep(model, updater, pixels, Int32Array.from([0, 1, 2, 1]), 4);
  loss.dispose();
  const after = model.getWeights();
  updater.dispose();
  model.dispose();
  return after.map((w, i) => w.map((v, j) => v - before[i][j]));
}

describe('head learning rate and weight decay', () => {
  const sgd = parseRunConfig({ finetune: { optimizer: { name: 'sgd', lr: 0.1 } } }).finetune.optimizer;

  it('a head lr scales the head step only (sgd: the step is lr x gradient)', () => {
    const plain = oneStep(sgd);
    const head = oneStep(sgd, 0.3);
    // dense_1 (body): unchanged step; dense_2 (head): 3x the step.
    expect(maxAbsDiff(head[0], plain[0])).toBeLessThan(1e-7);
    expect(maxAbsDiff(head[1], plain[1])).toBeLessThan(1e-7);
    for (const i of [2, 3]) {
      expect(
        maxAbsDiff(
          head[i],
          plain[i].map((d) => 3 * d),
        ),
      ).toBeLessThan(1e-6);
      expect(maxAbsDiff(plain[i], new Float32Array(plain[i].length))).toBeGreaterThan(1e-4);
    }
  });

  it('sgd weight decay adds lr x lambda x w to the step; AdamW shrinks w by lr x lambda before Adam', () => {
    const model = createClassifier({ arch: 'mlp', hidden: [8] }, { height: 2, width: 2, channels: 1 }, 3, 5);
    const w0 = model.getWeights();
    model.dispose();
    const decayed = oneStep({ ...sgd, weightDecay: 0.5 });
    const plain = oneStep(sgd);
    for (let i = 0; i < w0.length; i++) {
      expect(
        maxAbsDiff(
          decayed[i],
          plain[i].map((d, j) => d - 0.1 * 0.5 * w0[i][j]),
        ),
      ).toBeLessThan(1e-6);
    }
    const adam: OptimizerSpec = { name: 'adam', lr: 0.01, momentum: 0.9 };
    const adamStep = oneStep(adam);
    const adamw = oneStep({ ...adam, name: 'adamw', weightDecay: 0.5 });
    for (let i = 0; i < w0.length; i++) {
      expect(
        maxAbsDiff(
          adamw[i],
          adamStep[i].map((d, j) => d - 0.01 * 0.5 * w0[i][j]),
        ),
      ).toBeLessThan(1e-6);
    }
    // adamw without decay is Adam.
    const noDecay = oneStep({ ...adam, name: 'adamw' });
    for (let i = 0; i < w0.length; i++) expect(maxAbsDiff(noDecay[i], adamStep[i])).toBe(0);
    expect(tf.memory().numTensors).toBeLessThan(1000);
  });

  it('the settings are in the schema and stored configs without them still parse', () => {
    const config = parseRunConfig({
      finetune: {
        freeze: { trainLast: 1, layers: ['dense_1'] },
        headLr: 0.1,
        optimizer: { name: 'adamw', lr: 1e-3, weightDecay: 0.01 },
      },
    });
    expect(config.finetune.freeze).toEqual({ trainLast: 1, layers: ['dense_1'] });
    expect(config.finetune.optimizer.weightDecay).toBe(0.01);
    expect(parseRunConfig({}).finetune).not.toHaveProperty('headLr');
    expect(() => parseRunConfig({ finetune: { headLr: -1 } })).toThrow(/finetune\.headLr/);
  });
});
