// Every kernel a training step needs, on webgpu against the cpu backend, through the engine's
// own code (createClassifier, trainStep, judge): forward logits, the gradients of the loss,
// one optimizer step (momentum SGD and Adam), the step's verdict flags and evaluation's verdicts.
// Small shapes: the software adapter here (llvmpipe) is slow.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec, OptimizerSpec } from '../../shared/config.js';
import { createClassifier } from '../../src-main/engine/model.js';
import { createOptimizer, disposeOptimizer } from '../../src-main/engine/optimizer.js';
import { trainStep } from '../../src-main/engine/trainStep.js';
import type { BackendInfo } from '../../src-main/engine/backend.js';
import { skipWithoutWebgpu, webgpuBackend } from '../helpers/webgpu.js';

const INPUT = { height: 28, width: 28, channels: 1 };
const CLASSES = 10;
const BATCH = 12;

function lcg(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}

const pixels = lcg(BATCH * 784, 7);
const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7 + 3) % CLASSES);

/** max |a - b| / max |b|. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

interface Outcome {
  logits: Float32Array;
  grads: Float32Array[];
  /** The change of the weights by two steps of each optimizer, from the same start (the update itself,
   * so the check is not diluted by the weights' scale). */
  stepped: Record<string, Float32Array[]>;
  flags: Uint8Array;
  loss: number;
}

const OPTIMIZERS: OptimizerSpec[] = [
  { name: 'momentum', lr: 0.05, momentum: 0.9 },
  { name: 'adam', lr: 0.001, momentum: 0.9 },
];

async function outcomeOn(backend: 'cpu' | 'webgpu', spec: ModelSpec): Promise<Outcome> {
  await tf.setBackend(backend);
  const model = createClassifier(spec, INPUT, CLASSES, 3);
  const start = model.getWeights();
  const x = tf.tensor2d(pixels, [BATCH, 784]);
  const y = tf.tensor1d(labels, 'int32');
  try {
    const logits = tf.tidy(() => model.logits(x).dataSync() as Float32Array);
    const { grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(model.logits(x)), tf.oneHot(y, CLASSES)))), BATCH)),
    );
    const gradValues = model.variables.map((v) => Float32Array.from(grads[v.name].dataSync() as Float32Array));
    tf.dispose(grads);
    const stepped: Record<string, Float32Array[]> = {};
    let flags = new Uint8Array(0);
    let loss = NaN;
    for (const spec of OPTIMIZERS) {
      model.setWeights(start);
      const optimizer = createOptimizer(spec);
      // Two steps, so momentum and Adam's moments are exercised, not just the first update.
      for (let i = 0; i < 2; i++) {
        const step = trainStep(model, optimizer, pixels, labels, BATCH / 2);
        if (i === 0 && spec.name === 'momentum') {
          flags = Uint8Array.from(step.misclassified!.dataSync() as Uint8Array);
          loss = step.loss.dataSync()[0];
        }
        step.loss.dispose();
        step.misclassified?.dispose();
      }
      disposeOptimizer(optimizer);
      stepped[spec.name] = model.getWeights().map((w, i) => w.map((v, j) => v - start[i][j]));
    }
    return { logits, grads: gradValues, stepped, flags, loss };
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
}

let gpu: BackendInfo | string;

beforeAll(async () => {
  gpu = await webgpuBackend();
}, 120_000);

describe('webgpu training kernels against cpu', () => {
  const models: [string, ModelSpec][] = [
    ['MLP 784-32-16-10', { arch: 'mlp', hidden: [32, 16] }],
    ['CNN conv4-pool-conv8-pool-dense10', { arch: 'cnn', filters: [4, 8], kernelSize: 3 }],
  ];
  for (const [name, spec] of models) {
    it(`${name}: forward, gradients, two optimizer steps, verdict flags`, async (ctx) => {
      if (typeof gpu === 'string') skipWithoutWebgpu(ctx, gpu);
      const cpu = await outcomeOn('cpu', spec);
      const webgpu = await outcomeOn('webgpu', spec);
      expect(tf.getBackend()).toBe('webgpu');
      expect(relError(webgpu.logits, cpu.logits)).toBeLessThan(1e-4);
      expect(Math.abs(webgpu.loss - cpu.loss)).toBeLessThan(1e-4);
      expect(webgpu.grads.length).toBe(cpu.grads.length);
      webgpu.grads.forEach((g, i) => expect(relError(g, cpu.grads[i]), `gradient ${i}`).toBeLessThan(1e-3));
      for (const { name: opt } of OPTIMIZERS) {
        webgpu.stepped[opt].forEach((w, i) =>
          expect(relError(w, cpu.stepped[opt][i]), `${opt} update ${i}`).toBeLessThan(2e-3),
        );
      }
      // The step's verdicts on the rehearsed rows read back exactly (bool tensors on webgpu).
      expect(Array.from(webgpu.flags)).toEqual(Array.from(cpu.flags));
      expect(webgpu.flags.length).toBe(BATCH / 2);
    });
  }

  it('names the adapter it runs on', (ctx) => {
    if (typeof gpu === 'string') skipWithoutWebgpu(ctx, gpu);
    const info = gpu as BackendInfo;
    expect(info.backend).toBe('webgpu');
    expect(info.adapter?.device).toBeTruthy();
    expect(info.device).toContain(info.adapter!.device);
    // A software adapter is said plainly.
    if (info.adapter!.software) expect(info.device).toMatch(/software adapter/);
  });
});
