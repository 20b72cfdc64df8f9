// The wasm depthwise conv gradients (src-main/engine/kernels/depthwiseBackprop.ts) against the cpu
// backend's kernels: a depthwise and a separable conv's input and filter gradients, over paddings,
// strides and depth multipliers.
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src-main/engine/kernels/registerWasmKernels.js';

const require = createRequire(import.meta.url);

function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function relError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

interface Case {
  size: number;
  c: number;
  m: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
  separable?: number;
}

async function grads(backend: 'cpu' | 'wasm', t: Case): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const x = tf.tensor4d(values(2 * t.size * t.size * t.c, 1), [2, t.size, t.size, t.c]);
  const dw = tf.tensor4d(values(t.k * t.k * t.c * t.m, 2), [t.k, t.k, t.c, t.m]);
  const pw = tf.tensor4d(values(t.c * t.m * (t.separable ?? 1), 3), [1, 1, t.c * t.m, t.separable ?? 1]);
  const f = (a: tf.Tensor4D, b: tf.Tensor4D, p: tf.Tensor4D) =>
    tf.sum(
      tf.square(t.separable ? tf.separableConv2d(a, b, p, t.stride, t.pad) : tf.depthwiseConv2d(a, b, t.stride, t.pad)),
    );
  const gs = t.separable
    ? tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, dw, pw])
    : tf.grads(((a: tf.Tensor4D, b: tf.Tensor4D) => f(a, b, pw)) as (...args: tf.Tensor[]) => tf.Tensor)([x, dw]);
  const out = gs.map((g) => g.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  tf.dispose([x, dw, pw, ...gs]);
  return out;
}

beforeAll(async () => {
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  registerWasmTrainingKernels();
});

describe('wasm depthwise conv gradients', () => {
  it('are registered for wasm', () => {
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'wasm')).toBeDefined();
    expect(tf.getKernel('DepthwiseConv2dNativeBackpropFilter', 'wasm')).toBeDefined();
  });

  const cases: Case[] = [
    { size: 8, c: 3, m: 1, k: 3, stride: 1, pad: 'same' },
    { size: 9, c: 4, m: 2, k: 3, stride: 2, pad: 'same' },
    { size: 7, c: 2, m: 3, k: 2, stride: 1, pad: 'valid' },
    { size: 10, c: 5, m: 1, k: 3, stride: 2, pad: 'valid' },
    { size: 8, c: 4, m: 1, k: 3, stride: 1, pad: 'same', separable: 6 },
    { size: 9, c: 3, m: 2, k: 3, stride: 2, pad: 'same', separable: 5 },
  ];
  for (const t of cases) {
    it(`match cpu: ${JSON.stringify(t)}`, async () => {
      const ref = await grads('cpu', t);
      const got = await grads('wasm', t);
      for (let i = 0; i < (t.separable ? 3 : 2); i++) expect(relError(got[i], ref[i])).toBeLessThan(1e-5);
    });
  }

  it('leak no tensors', async () => {
    const t = cases[1];
    await grads('wasm', t);
    const before = tf.memory().numTensors;
    await grads('wasm', t);
    expect(tf.memory().numTensors).toBe(before);
  });
});
