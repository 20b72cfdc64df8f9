// The one place that picks the tfjs backend: the native TensorFlow binding
// (@tensorflow/tfjs-node-gpu, CUDA where present) when it loads, else wasm, else plain cpu.
// Every run records the backend and the device it really used.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's node bundle registers no gradients; the union package's bundle registers them all
// (in the global registry every backend shares). It is also what tfjs-node-gpu builds on.
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendRequest } from '../../shared/config.js';
import { registerWasmTrainingKernels } from './kernels/registerWasmKernels.js';

const require = createRequire(import.meta.url);

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  backend: BackendName;
  /** What a person should read, e.g. "GPU (CUDA)", "CPU (wasm, SIMD)". */
  device: string;
  /** Why a preferred backend was not used (empty when the first choice worked). */
  notes: string[];
}

let active: BackendInfo | null = null;

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

async function tryTensorflow(): Promise<BackendInfo | string> {
  try {
    require('@tensorflow/tfjs-node-gpu');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'MODULE_NOT_FOUND'
      ? '@tensorflow/tfjs-node-gpu is not installed (its libtensorflow download needs internet)'
      : `@tensorflow/tfjs-node-gpu failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
  if (!(await tf.setBackend('tensorflow'))) return 'the tensorflow backend did not initialise';
  const native = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  // libtensorflow 2.x needs CUDA 11.2 + cuDNN 8.1; with anything else it silently runs on the CPU.
  const device = native.isUsingGpuDevice ? 'GPU (CUDA, libtensorflow)' : 'CPU (libtensorflow; no usable CUDA GPU)';
  return { backend: 'tensorflow', device, notes: [] };
}

async function tryWasm(): Promise<BackendInfo | string> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend did not initialise';
  } catch (error) {
    return `the wasm backend failed: ${(error as Error).message}`;
  }
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  return { backend: 'wasm', device: `CPU (wasm${simd ? ', SIMD' : ''}, 1 thread)`, notes: [] };
}

async function tryCpu(): Promise<BackendInfo | string> {
  if (!(await tf.setBackend('cpu'))) return 'the cpu backend did not initialise';
  return { backend: 'cpu', device: 'CPU (plain JavaScript)', notes: [] };
}

const attempts: Record<BackendName, () => Promise<BackendInfo | string>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Initialise tfjs on the requested backend ('auto' = the fastest that works). A forced backend
 * that cannot start is an error, not a silent fallback. Once chosen, the backend is fixed for
 * the process: a trainer runs one backend.
 */
export async function initBackend(request: BackendRequest): Promise<BackendInfo> {
  if (active) {
    if (request === 'auto' || request === active.backend) return active;
    throw new BackendError(
      `This process already runs on the ${active.backend} backend; start a new process to use ${request}.`,
    );
  }
  tf.enableProdMode();
  const order: BackendName[] = request === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [request];
  const notes: string[] = [];
  for (const name of order) {
    const outcome = await attempts[name]();
    if (typeof outcome !== 'string') {
      active = { ...outcome, notes };
      return active;
    }
    notes.push(`${name}: ${outcome}`);
  }
  throw new BackendError(
    request === 'auto'
      ? `No tfjs backend could start (${notes.join('; ')}).`
      : `The ${request} backend cannot start here: ${notes[0].replace(/^\w+: /, '')}. ` +
          'Use --backend auto to pick one that works.',
  );
}

export function activeBackend(): BackendInfo | null {
  return active;
}
