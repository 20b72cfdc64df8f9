// Micro-benchmark of the wasm training kernels (src-main/engine/kernels) on the conv shapes of a
// small CNN: batch 128 of 28x28x1, conv 3x3 1->16 'same', maxPool 2, conv 3x3 16->32 'same'.
// It justifies replacing the stock wasm Conv2DBackpropInput and shows what the supplied
// Conv2DBackpropFilter costs next to the only other one available without native TF (cpu).
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { registerWasmTrainingKernels, stockWasmKernel } from '../src-main/engine/kernels/registerWasmKernels.js';

const require = createRequire(import.meta.url);

type Shape4 = [number, number, number, number];
interface Layer {
  name: string;
  x: Shape4;
  filter: Shape4;
  /** The input gradient of the first conv is never needed in training (the data has no gradient). */
  needsDx: boolean;
}

const BATCH = 128;
const LAYERS: Layer[] = [
  { name: 'conv1 3x3 1->16 28x28', x: [BATCH, 28, 28, 1], filter: [3, 3, 1, 16], needsDx: false },
  { name: 'conv2 3x3 16->32 14x14', x: [BATCH, 14, 14, 16], filter: [3, 3, 16, 32], needsDx: true },
];

/**
 * Median ms per call of each of `calls`: warm-ups, then rounds of one call each, interleaved so
 * that load from other processes hits all alike, 3..15 rounds or until ~2 s have passed.
 */
function medianMs(calls: (() => void)[], warmups = 2): number[] {
  for (let i = 0; i < warmups; i++) calls.forEach((call) => call());
  const times: number[][] = calls.map(() => []);
  const start = performance.now();
  while (times[0].length < 3 || (times[0].length < 15 && performance.now() - start < 2000)) {
    calls.forEach((call, i) => {
      const t0 = performance.now();
      call(); // wasm and cpu kernels are synchronous, so the result is computed on return
      times[i].push(performance.now() - t0);
    });
  }
  return times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]);
}

/** Call a kernelFunc directly (bypassing the registry, so stock and ours can both run) and free its output. */
function runDirect(kernelFunc: KernelFunc, inputs: Record<string, tf.Tensor>, attrs: object): void {
  const backend = tf.backend();
  const out = kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend }) as TensorInfo;
  if (out instanceof tf.Tensor) out.dispose();
  else backend.disposeData(out.dataId);
}

function uniform(shape: Shape4): tf.Tensor4D {
  return tf.randomUniform(shape, -1, 1, 'float32', 42);
}

const fmt = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

export async function benchKernels(): Promise<string[]> {
  const previous = tf.getBackend();
  try {
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  } catch {
    // Only throws after a failed wasm init, in which case setBackend below reports it.
  }
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) return ['kernels: the wasm backend did not initialise; skipped'];
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const lines = [`kernels (batch ${BATCH}, 28x28x1 CNN; wasm${simd ? ' SIMD' : ''}, median ms per call):`];

  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc;
  const stock = stockWasmKernel('Conv2DBackpropInput')?.kernelFunc;
  const filterWasm = tf.getKernel('Conv2DBackpropFilter', 'wasm')!.kernelFunc;
  const filterCpu = tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc;

  for (const layer of LAYERS) {
    const dyShape: Shape4 = [BATCH, layer.x[1], layer.x[2], layer.filter[3]]; // 'same', stride 1
    const common = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
    const inputAttrs = { ...common, inputShape: layer.x };
    const filterAttrs = { ...common, filterShape: layer.filter };

    await tf.setBackend('wasm');
    let x = uniform(layer.x);
    let dy = uniform(dyShape);
    const filter = uniform(layer.filter);
    const note = layer.needsDx ? '' : ' (not needed in training)';
    if (stock) {
      const [stockMs, oursMs] = medianMs([
        () => runDirect(stock, { dy, filter }, inputAttrs),
        () => runDirect(ours, { dy, filter }, inputAttrs),
      ]);
      lines.push(
        `  Conv2DBackpropInput  ${layer.name}: stock wasm ${fmt(stockMs)}, ours ${fmt(oursMs)}, ` +
          `${(stockMs / oursMs).toFixed(1)}x faster${note}`,
      );
    } else {
      const [oursMs] = medianMs([() => runDirect(ours, { dy, filter }, inputAttrs)]);
      lines.push(
        `  Conv2DBackpropInput  ${layer.name}: ours ${fmt(oursMs)} (stock kernel not available to compare)${note}`,
      );
    }
    const [filterWasmMs] = medianMs([() => runDirect(filterWasm, { x, dy }, filterAttrs)]);
    tf.dispose([x, dy, filter]);

    // The cpu kernel is a scalar JS loop (~6 s and ~20 s per call at batch 128 here), so it is
    // timed at batch 16 and scaled: its work is exactly linear in the batch (an outer loop).
    await tf.setBackend('cpu');
    const cpuBatch = 16;
    x = uniform([cpuBatch, ...layer.x.slice(1)] as Shape4);
    dy = uniform([cpuBatch, ...dyShape.slice(1)] as Shape4);
    const filterCpuMs = medianMs([() => runDirect(filterCpu, { x, dy }, filterAttrs)], 1)[0] * (BATCH / cpuBatch);
    tf.dispose([x, dy]);
    lines.push(
      `  Conv2DBackpropFilter ${layer.name}: cpu ${fmt(filterCpuMs)} (scaled from batch ${cpuBatch}), ` +
        `ours (wasm) ${fmt(filterWasmMs)}, ${(filterCpuMs / filterWasmMs).toFixed(0)}x faster`,
    );
  }
  if (previous && previous !== tf.getBackend()) await tf.setBackend(previous);
  return lines;
}
