// The wasm training kernels (src-main/engine/kernels) against the cpu backend's reference kernels:
// each kernel alone over paddings/strides/shapes, a whole small CNN's gradient, and memory.
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradient functions; the union package registers them all
// (as src-main/engine/backend.ts does).
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, stockWasmKernel } from '../../src-main/engine/kernels/registerWasmKernels.js';

const require = createRequire(import.meta.url);

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number;
interface Case {
  batch: number;
  size: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: Pad;
}

/** Deterministic values in [-1, 1) (a small LCG), so cpu and wasm see the same data. */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** max |a - b| / max |b|: error relative to the reference's scale (elementwise is unstable near 0). */
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

const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

/** Run one registered kernel on `backend` with fresh tensors and return its values. */
async function runKernel(
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Record<string, { shape: Shape4; data: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; data: Float32Array }> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, { shape, data }] of Object.entries(inputs)) tensors[name] = tf.tensor4d(data, shape);
  const out = tf.engine().runKernel(kernelName, tensors, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const result = { shape: out.shape, data: out.dataSync() as Float32Array };
  out.dispose();
  Object.values(tensors).forEach((t) => t.dispose());
  return result;
}

describe('BatchMatMul (wasm, explicit transposes) matches the cpu kernel', () => {
  const shapes: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [];
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      // [m, k] x [k, n] with the operands stored transposed where asked; rank 2 and rank 3.
      const [m, k, n] = [37, 53, 19];
      shapes.push({ a: transposeA ? [k, m] : [m, k], b: transposeB ? [n, k] : [k, n], transposeA, transposeB });
      shapes.push({
        a: transposeA ? [3, k, m] : [3, m, k],
        b: transposeB ? [3, n, k] : [3, k, n],
        transposeA,
        transposeB,
      });
    }
  }
  it.each(shapes)(
    'a $a b $b transposeA $transposeA transposeB $transposeB',
    async ({ a, b, transposeA, transposeB }) => {
      const run = async (backend: 'cpu' | 'wasm') => {
        await tf.setBackend(backend);
        const ta = tf.tensor(values(sizeOf(a), 5), a);
        const tb = tf.tensor(values(sizeOf(b), 9), b);
        const before = tf.memory().numTensors;
        const out = tf.engine().runKernel('BatchMatMul', { a: ta, b: tb }, { transposeA, transposeB }) as tf.Tensor;
        const result = {
          shape: out.shape,
          data: out.dataSync() as Float32Array,
          leaked: tf.memory().numTensors - before - 1,
        };
        tf.dispose([out, ta, tb]);
        return result;
      };
      const ref = await run('cpu');
      const got = await run('wasm');
      expect(got.shape).toEqual(ref.shape);
      expect(relError(got.data, ref.data)).toBeLessThan(1e-5);
      expect(got.leaked).toBe(0);
    },
  );
});

function convOutShape(c: Case): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(
    [c.batch, c.size, c.size, c.inC],
    [c.k, c.k, c.inC, c.outC],
    c.stride,
    1,
    c.pad,
    'floor',
  );
  return info.outShape as Shape4;
}

// Shapes x paddings x strides 1-3. Odd sizes (7, 27) make 'same' with stride 2/3 pad asymmetrically.
const shapes: Omit<Case, 'stride' | 'pad'>[] = [
  { batch: 1, size: 7, inC: 1, outC: 4, k: 3 },
  { batch: 4, size: 7, inC: 3, outC: 16, k: 5 },
  { batch: 4, size: 28, inC: 1, outC: 16, k: 3 },
  { batch: 1, size: 28, inC: 3, outC: 4, k: 5 },
  { batch: 4, size: 27, inC: 3, outC: 4, k: 3 },
];
const cases: Case[] = [];
for (const shape of shapes) {
  for (const pad of ['valid', 'same'] as const) for (const stride of [1, 2, 3]) cases.push({ ...shape, stride, pad });
}
// Explicit numeric padding (pad above fh-1 too, which makes the input-gradient crop dy).
cases.push({ batch: 2, size: 9, inC: 3, outC: 4, k: 3, stride: 2, pad: 1 });
cases.push({ batch: 2, size: 8, inC: 1, outC: 4, k: 5, stride: 1, pad: 2 });
cases.push({ batch: 1, size: 10, inC: 2, outC: 3, k: 3, stride: 3, pad: 4 });

const label = (c: Case): string =>
  `b${c.batch} ${c.size}x${c.size}x${c.inC} -> ${c.outC}, ${c.k}x${c.k}, stride ${c.stride}, pad ${c.pad}`;

beforeAll(async () => {
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(await tf.setBackend('cpu')).toBe(true);
});

describe('registration', () => {
  it('registers Conv2DBackpropFilter and our Conv2DBackpropInput for wasm, idempotently', () => {
    const filter = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    const input = tf.getKernel('Conv2DBackpropInput', 'wasm');
    expect(filter).toBeDefined();
    expect(stockWasmKernel('Conv2DBackpropInput')).toBeDefined();
    registerWasmTrainingKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc).toBe(filter?.kernelFunc);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc).toBe(input?.kernelFunc);
    expect(input?.kernelFunc).not.toBe(stockWasmKernel('Conv2DBackpropInput')?.kernelFunc);
  });

  it('rejects NCHW in Conv2DBackpropFilter with a clear error', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 1, 5, 5]);
    const dy = tf.zeros([1, 2, 5, 5]);
    expect(() =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 1, 2] },
        ),
    ).toThrow(/NHWC/);
    tf.dispose([x, dy]);
  });
});

describe('Conv2DBackpropFilter (wasm) matches the cpu kernel', () => {
  const errors: number[] = [];
  it.each(cases)('$batch $size $inC $outC $k stride $stride pad $pad', async (c) => {
    const xShape: Shape4 = [c.batch, c.size, c.size, c.inC];
    const dyShape = convOutShape(c);
    const inputs = {
      x: { shape: xShape, data: values(sizeOf(xShape), 11) },
      dy: { shape: dyShape, data: values(sizeOf(dyShape), 23) },
    };
    const attrs = {
      strides: c.stride,
      pad: c.pad,
      dataFormat: 'NHWC',
      dimRoundingMode: 'floor',
      filterShape: [c.k, c.k, c.inC, c.outC],
    };
    const ref = await runKernel('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    const got = await runKernel('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    expect(got.shape).toEqual(ref.shape);
    const err = relError(got.data, ref.data);
    errors.push(err);
    expect(err, label(c)).toBeLessThan(1e-4);
  });
  it('covers every case', () => {
    expect(errors.length).toBe(cases.length);
    console.log(
      `Conv2DBackpropFilter: ${errors.length} cases, max relative error ${Math.max(...errors).toExponential(2)}`,
    );
  });
});

describe('Conv2DBackpropInput (wasm) matches the cpu kernel', () => {
  const errors: number[] = [];
  it.each(cases)('$batch $size $inC $outC $k stride $stride pad $pad', async (c) => {
    const xShape: Shape4 = [c.batch, c.size, c.size, c.inC];
    const wShape: Shape4 = [c.k, c.k, c.inC, c.outC];
    const dyShape = convOutShape(c);
    const inputs = {
      dy: { shape: dyShape, data: values(sizeOf(dyShape), 5) },
      filter: { shape: wShape, data: values(sizeOf(wShape), 7) },
    };
    const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: 'floor', inputShape: xShape };
    const ref = await runKernel('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const got = await runKernel('wasm', 'Conv2DBackpropInput', inputs, attrs);
    expect(got.shape).toEqual(ref.shape);
    const err = relError(got.data, ref.data);
    errors.push(err);
    expect(err, label(c)).toBeLessThan(1e-4);
  });
  it('covers every case', () => {
    expect(errors.length).toBe(cases.length);
    console.log(
      `Conv2DBackpropInput: ${errors.length} cases, max relative error ${Math.max(...errors).toExponential(2)}`,
    );
  });

  it('falls back to the stock kernel for NCHW', async () => {
    const dyShape: Shape4 = [2, 4, 4, 4]; // [N, C, H, W] of a 3x3 'same' stride-2 conv of 7x7
    const wShape: Shape4 = [3, 3, 3, 4];
    const inputs = {
      dy: { shape: dyShape, data: values(sizeOf(dyShape), 3) },
      filter: { shape: wShape, data: values(sizeOf(wShape), 4) },
    };
    const attrs = { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 7, 7] };
    const ref = await runKernel('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const got = await runKernel('wasm', 'Conv2DBackpropInput', inputs, attrs);
    expect(relError(got.data, ref.data)).toBeLessThan(1e-4);
  });
});

// conv 3x3 1->4 same, relu, maxPool 2, conv 3x3 4->8 same stride 2 (13x13 -> 7x7: asymmetric
// 'same' pad), dense -> 10, softmax cross-entropy. variableGrads exercises both backprop kernels.
const CNN_SHAPES: Record<string, number[]> = {
  w1: [3, 3, 1, 4],
  b1: [4],
  w2: [3, 3, 4, 8],
  b2: [8],
  w3: [7 * 7 * 8, 10],
  b3: [10],
};
const BATCH = 4;

function makeCnn(): { vars: Record<string, tf.Variable>; loss: () => tf.Scalar; x: tf.Tensor4D; y: tf.Tensor2D } {
  const vars: Record<string, tf.Variable> = {};
  let seed = 100;
  for (const [name, shape] of Object.entries(CNN_SHAPES)) {
    const scale = name.startsWith('w') ? Math.sqrt(2 / sizeOf(shape.slice(0, -1))) : 0.1;
    vars[name] = tf.variable(tf.mul(tf.tensor(values(sizeOf(shape), seed++), shape), scale));
  }
  const x = tf.tensor4d(values(BATCH * 27 * 27, 7), [BATCH, 27, 27, 1]);
  const y = tf.cast(tf.oneHot(tf.tensor1d([1, 4, 7, 9], 'int32'), 10), 'float32') as tf.Tensor2D;
  const loss = (): tf.Scalar => {
    let h = tf.relu(tf.add(tf.conv2d(x, vars.w1 as tf.Variable<tf.Rank.R4>, 1, 'same'), vars.b1)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid'); // 27 -> 13
    h = tf.relu(tf.add(tf.conv2d(h, vars.w2 as tf.Variable<tf.Rank.R4>, 2, 'same'), vars.b2)) as tf.Tensor4D; // 13 -> 7
    const logits = tf.add(tf.matMul(tf.reshape(h, [BATCH, 7 * 7 * 8]), vars.w3), vars.b3);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  return { vars, loss, x, y };
}

async function cnnGradients(backend: 'cpu' | 'wasm'): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const { vars, loss, x, y } = makeCnn();
  let result: ReturnType<typeof tf.variableGrads> | undefined;
  // Profiled, to check the backprop really ran through the kernels under test.
  const profile = await tf.profile(() => {
    result = tf.variableGrads(loss);
    return [];
  });
  expect(profile.kernelNames).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput']));
  const { value, grads } = result!;
  const out: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(vars)) out[name] = grads[v.name].dataSync() as Float32Array;
  tf.dispose([value, x, y, ...Object.values(grads), ...Object.values(vars)]);
  return out;
}

describe('a small CNN', () => {
  it('has the same gradient on wasm as on cpu (tf.variableGrads)', async () => {
    const ref = await cnnGradients('cpu');
    const got = await cnnGradients('wasm');
    const errs = Object.keys(CNN_SHAPES).map((name) => [name, relError(got[name], ref[name])] as const);
    console.log(`CNN gradient relative errors: ${errs.map(([n, e]) => `${n} ${e.toExponential(2)}`).join(', ')}`);
    for (const [name, err] of errs) expect(err, name).toBeLessThan(1e-4);
  });

  it('keeps the tensor count flat over 20 gradient calls on wasm', async () => {
    await tf.setBackend('wasm');
    const { vars, loss, x, y } = makeCnn();
    const step = (): void => {
      const { value, grads } = tf.variableGrads(loss);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // warm-up: anything allocated once (caches) happens here
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    // Our kernels' outputs are ordinary scoped tensors: an intermediate one is freed by the
    // enclosing tidy (a kernel returning a tf.keep-ed tensor would leak here), and one made
    // outside any tidy is freed by dispose.
    const before = tf.memory().numTensors;
    const gradW = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')));
    for (let i = 0; i < 3; i++) tf.tidy(() => tf.sum(gradW(vars.w1))).dispose();
    tf.dispose(gradW(vars.w1));
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([x, y, ...Object.values(vars)]);
  });
});
