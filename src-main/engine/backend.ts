// The one place that picks the tfjs backend: the native TensorFlow binding
// (@tensorflow/tfjs-node-gpu) when it loads and sees a CUDA GPU, else WebGPU on a hardware
// adapter (the npm `webgpu` package, see webgpu.ts), else wasm, else plain cpu.
// Every run records the backend and the device it really used.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendRequest } from '../../shared/config.js';
import { registerWasmTrainingKernels } from './kernels/registerWasmKernels.js';
import { setUpWebGpu, type AdapterChoice } from './webgpu.js';

const require = createRequire(import.meta.url);

// Two CommonJS bundles loaded for their side effects only, with require: an ESM import would also
// scan their 5 MB for named exports (cjs-module-lexer), about 0.1 s of every trainer's start.
// The cpu backend is the last fallback. tfjs-core's node bundle registers no gradients; the union
// package's bundle registers them all (in the global registry every backend shares), and it is
// also what tfjs-node-gpu builds on.
require('@tensorflow/tfjs-backend-cpu');
require('@tensorflow/tfjs');

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** Backends that run on a GPU, where every read-back is a sync point. */
export const GPU_BACKENDS: readonly BackendName[] = ['tensorflow', 'webgpu'];

export interface BackendInfo {
  backend: BackendName;
  /** What a person should read, e.g. "GPU (CUDA)", "CPU (wasm, SIMD)". */
  device: string;
  /** Why a preferred backend was not used (empty when the first choice worked). */
  notes: string[];
  /** Set when 'auto' fell back from the GPU: one line saying why (the CLI prints it once). */
  fallback?: string;
  /** webgpu only: the adapter (vendor, device, driver; software or not). */
  adapter?: AdapterChoice;
}

export interface BackendOptions {
  /** webgpu may run on a software adapter (forced --backend webgpu only; auto never does). */
  allowSoftwareAdapter?: boolean;
}

let active: BackendInfo | null = null;

export class BackendError extends Error {
  constructor(
    message: string,
    /** The backend asked for by name cannot run here (a usage error: exit code 2). */
    readonly unavailable = false,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

export function isGpuBackend(name: string): boolean {
  return (GPU_BACKENDS as readonly string[]).includes(name);
}

async function tryTensorflow(options: BackendOptions, auto: boolean): Promise<BackendInfo | string> {
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
  // Chosen by auto only for the GPU: on the CPU, wasm (or a WebGPU adapter) is the better pick.
  if (auto && !native.isUsingGpuDevice) return 'libtensorflow loaded but sees no usable CUDA GPU';
  return { backend: 'tensorflow', device, notes: [] };
}

async function tryWebGpu(options: BackendOptions, auto: boolean): Promise<BackendInfo | string> {
  const adapter = await setUpWebGpu({ allowSoftware: options.allowSoftwareAdapter === true });
  // auto never takes a software adapter, flag or not: do not suggest the flag there.
  if (typeof adapter === 'string') return auto ? adapter.replace(/ \(a software adapter needs [^)]*\)$/, '') : adapter;
  try {
    if (!(await tf.setBackend('webgpu'))) return 'the webgpu backend did not initialise';
  } catch (error) {
    return `the webgpu backend failed: ${(error as Error).message}`;
  }
  return { backend: 'webgpu', device: `WebGPU, ${adapter.label}`, notes: [], adapter };
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

const attempts: Record<BackendName, (options: BackendOptions, auto: boolean) => Promise<BackendInfo | string>> = {
  tensorflow: tryTensorflow,
  webgpu: tryWebGpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Initialise tfjs on the requested backend ('auto' = the fastest that works). A forced backend
 * that cannot start is an error, not a silent fallback. Once chosen, the backend is fixed for
 * the process: a trainer runs one backend.
 */
export async function initBackend(request: BackendRequest, options: BackendOptions = {}): Promise<BackendInfo> {
  if (active) {
    if (request === 'auto' || request === active.backend) return active;
    throw new BackendError(
      `This process already runs on the ${active.backend} backend; start a new process to use ${request}.`,
    );
  }
  tf.enableProdMode();
  const auto = request === 'auto';
  const order: BackendName[] = auto ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [request];
  // auto takes a hardware adapter only: a software one is slower than wasm.
  const effective = auto ? { ...options, allowSoftwareAdapter: false } : options;
  const notes: string[] = [];
  for (const name of order) {
    const outcome = await attempts[name](effective, auto);
    if (typeof outcome !== 'string') {
      active = { ...outcome, notes };
      if (auto && !GPU_BACKENDS.includes(name)) {
        // One line, so a user expecting the GPU learns why it is not used.
        const why = notes.find((n) => n.startsWith('webgpu:')) ?? notes[notes.length - 1];
        if (why) active.fallback = `no GPU backend (${why}); training on ${name}.`;
      }
      return active;
    }
    notes.push(`${name}: ${outcome}`);
  }
  throw new BackendError(
    request === 'auto'
      ? `No tfjs backend could start (${notes.join('; ')}).`
      : `The ${request} backend cannot start here: ${notes[0].replace(/^\w+: /, '')}. Use --backend auto to pick one that works.`,
    request !== 'auto',
  );
}

/**
 * Run `work` on another backend of this process, then switch back to the active one: --f0-backend
 * pretrains f0 on wasm inside a webgpu run. `work` must leave no tensors behind (it returns plain
 * arrays), so nothing moves between the backends.
 */
export async function onBackend<T>(name: Exclude<BackendRequest, 'auto'>, work: () => T): Promise<T> {
  if (!active) throw new BackendError('onBackend: initialise the run backend first.');
  if (name === active.backend) return work();
  const outcome = await attempts[name]({}, false);
  if (typeof outcome === 'string') throw new BackendError(`The ${name} backend cannot start here: ${outcome}.`, true);
  try {
    return work();
  } finally {
    await tf.setBackend(active.backend);
  }
}

export function activeBackend(): BackendInfo | null {
  return active;
}
