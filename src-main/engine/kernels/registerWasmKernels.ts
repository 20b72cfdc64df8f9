// Supplies the wasm kernels training needs on tfjs 4.22: Conv2DBackpropFilter is missing there
// (every conv layer fails to train), the stock Conv2DBackpropInput is a scalar loop, and the
// stock BatchMatMul is 10x slow with transposed operands (every dense layer's backward pass).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
// Imported for its side effect: the wasm package registers its stock kernels when loaded, so
// loading it here guarantees they exist before ours are compared against / replace them.
import '@tensorflow/tfjs-backend-wasm';
import { conv2dBackpropFilterWasm } from './conv2dBackpropFilter.js';
import { makeConv2dBackpropInputWasm } from './conv2dBackpropInput.js';
import { makeBatchMatMulWasm } from './batchMatMul.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwiseBackprop.js';

const WASM = 'wasm';

/**
 * Replace the stock wasm Conv2DBackpropInput? Yes. bench/kernels.ts (Node 20, wasm SIMD, 2 cores
 * shared with other work, batch 128, 'same', stride 1, medians of interleaved calls, two runs):
 *   3x3 16->32 on 14x14 (the input gradient training computes): stock 124-170 ms, ours 11.5-12.1 ms (11-14x);
 *   3x3 1->16 on 28x28 (never computed in training: the data has no gradient): stock 21 ms, ours 16 ms (1.3x).
 * Zero-spacing makes ours do sh*sw times the work for stride > 1 (no layer here uses it), yet a
 * one-off check, 3x3 16->32 'same' on 28x28, still had it ahead: stride 2 211 -> 68 ms, stride 3 114 -> 89 ms.
 */
const REPLACE_STOCK_BACKPROP_INPUT = true;

/** Stock wasm kernels this module replaced, kept so NCHW can fall back and benchmarks can compare. */
const stock = new Map<string, KernelConfig>();

const backpropInputKernel: KernelFunc = makeConv2dBackpropInputWasm((args) => {
  const original = stock.get('Conv2DBackpropInput');
  if (!original) throw new Error('Conv2DBackpropInput: no stock wasm kernel to fall back to for NCHW.');
  return original.kernelFunc(args);
});

const batchMatMulKernel: KernelFunc = makeBatchMatMulWasm((args) => {
  const original = stock.get('BatchMatMul');
  if (!original) throw new Error('BatchMatMul: the stock wasm kernel is missing.');
  return original.kernelFunc(args);
});

/** Register `kernelFunc` unless some kernel is already there for wasm (the stock one wins). */
function registerIfMissing(kernelName: string, kernelFunc: KernelFunc): void {
  if (tf.getKernel(kernelName, WASM) == null) tf.registerKernel({ kernelName, backendName: WASM, kernelFunc });
}

/** Put `kernelFunc` in place of the stock kernel (kept in `stock`); a no-op once it is ours. */
function replace(kernelName: string, kernelFunc: KernelFunc): void {
  const existing = tf.getKernel(kernelName, WASM);
  if (existing?.kernelFunc === kernelFunc) return;
  if (existing) {
    stock.set(kernelName, existing);
    // registerKernel over an existing key works but logs a warning; unregister first instead.
    tf.unregisterKernel(kernelName, WASM);
  }
  // Carry the stock setup/dispose over: wasm runs a kernel's setupFunc (which binds its C++
  // function) only for kernels registered when the backend initialises, and the NCHW fallback
  // needs the stock one bound.
  tf.registerKernel({
    kernelName,
    backendName: WASM,
    kernelFunc,
    setupFunc: existing?.setupFunc,
    disposeFunc: existing?.disposeFunc,
  });
}

/**
 * Register the training kernels for the wasm backend. Idempotent, and valid before or after
 * tf.setBackend('wasm'): the engine looks kernels up on every call and ours need no setupFunc.
 */
export function registerWasmTrainingKernels(): void {
  registerIfMissing('Conv2DBackpropFilter', conv2dBackpropFilterWasm);
  // Depthwise and separable conv layers (declared architectures) train with these.
  registerIfMissing('DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputWasm);
  registerIfMissing('DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterWasm);
  if (REPLACE_STOCK_BACKPROP_INPUT) replace('Conv2DBackpropInput', backpropInputKernel);
  replace('BatchMatMul', batchMatMulKernel);
}

/** The stock wasm kernel that registerWasmTrainingKernels replaced, if any (for benchmarks). */
export function stockWasmKernel(kernelName: string): KernelConfig | undefined {
  return stock.get(kernelName);
}
