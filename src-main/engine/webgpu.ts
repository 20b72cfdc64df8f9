// WebGPU in Node for tfjs-backend-webgpu: the npm `webgpu` package (Dawn, the WebGPU of
// Chromium, with its native module inside the package: nothing to download) provides GPU
// objects; this module installs `navigator.gpu` (Node 20 has no navigator), picks the adapter
// (a real GPU first; a software one only when allowed) and makes synchronous read-backs work.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { errorMessage } from '../../shared/errors.js';
import { missingVulkanLoader } from './vulkanLoader.js';

const require = createRequire(import.meta.url);

/** The adapter a webgpu run uses, as a person should read it. */
export interface AdapterChoice {
  vendor: string;
  architecture: string;
  device: string;
  /** Dawn's description: driver and API, e.g. "OpenGL ES 3.2 Mesa 22.3.6". */
  driver: string;
  /** A CPU rasteriser posing as a GPU (llvmpipe, lavapipe, SwiftShader, WARP). */
  software: boolean;
  /** One line: "software adapter: llvmpipe-... (OpenGL ES 3.2 Mesa 22.3.6)". */
  label: string;
}

// Minimal shapes of the WebGPU objects used here, so the build needs neither optional package
// (nor @webgpu/types) to be installed.
interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapter {
  info?: GpuAdapterInfo;
  isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapter | null>;
  getPreferredCanvasFormat?(): string;
  wgslLanguageFeatures?: unknown;
}
interface GpuBuffer {
  size: number;
  mapState: 'unmapped' | 'pending' | 'mapped';
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}
/** Set from Dawn's globals at set-up (a browser has them built in). */
const gpuConstants = { COPY_DST: 0, MAP_READ: 0, READ: 0 };

/** import() of a name TypeScript does not resolve: the optional packages may be absent. */
const importOptional = (name: string): Promise<unknown> => import(name);

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software|basic render driver|warp/i;

function isModuleMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Describe an adapter from what Dawn reports. */
export function describeAdapter(info: GpuAdapterInfo): AdapterChoice {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device || info.description || 'unnamed adapter';
  const driver = info.description ?? '';
  const software = info.isFallbackAdapter === true || SOFTWARE_NAMES.test(`${vendor} ${device} ${driver}`);
  const who = [vendor, architecture].filter(Boolean).join(' ');
  const label =
    `${software ? 'software adapter (CPU rasteriser, not a GPU)' : 'GPU'}: ${who ? `${who} ` : ''}${device}` +
    (driver && driver !== device ? ` (${driver})` : '');
  return { vendor, architecture, device, driver, software, label };
}

function adapterInfo(adapter: GpuAdapter): AdapterChoice {
  const info = adapter.info ?? {};
  return describeAdapter({
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
  });
}

/** Test hook: pretend a module is not installed (the fallback path of an install without it). */
function simulatedMissing(name: string): boolean {
  return (process.env.MIXCD_SIMULATE_MISSING ?? '').split(',').includes(name);
}

let installed: AdapterChoice | null = null;

/** The folder of the webgpu package's dawn.node for this platform (undefined if not resolvable). */
function dawnFolder(): string | undefined {
  try {
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return path.join(path.dirname(require.resolve('webgpu')), 'dist', `${process.platform}-${arch}`);
  } catch {
    return undefined;
  }
}

/**
 * Install navigator.gpu with the chosen adapter and register tfjs's webgpu backend. Returns the
 * adapter, or one sentence saying why webgpu cannot run here.
 */
export async function setUpWebGpu(options: { allowSoftware: boolean }): Promise<AdapterChoice | string> {
  if (installed) return installed;
  let dawn: DawnModule;
  try {
    if (simulatedMissing('webgpu')) throw Object.assign(new Error('simulated'), { code: 'ERR_MODULE_NOT_FOUND' });
    dawn = (await importOptional('webgpu')) as DawnModule;
  } catch (error) {
    return isModuleMissing(error)
      ? 'the optional npm package webgpu is not installed'
      : `the webgpu package's native module failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
  // GPUBufferUsage, GPUMapMode, ... are globals in a browser; tfjs-backend-webgpu expects them.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  const usage = dawn.globals.GPUBufferUsage as { COPY_DST: number; MAP_READ: number };
  const mapMode = dawn.globals.GPUMapMode as { READ: number };
  Object.assign(gpuConstants, { COPY_DST: usage.COPY_DST, MAP_READ: usage.MAP_READ, READ: mapMode.READ });

  let chosen: { gpu: Gpu; adapter: GpuAdapter; info: AdapterChoice } | null = null;
  const refused: string[] = [];
  // A real GPU: Dawn's default backend for the platform (Vulkan, Metal, D3D12). On Linux without
  // a Vulkan loader Dawn could offer none and would only print its own warning: say why instead.
  const noVulkan = missingVulkanLoader({ dawnDir: dawnFolder() });
  if (noVulkan) refused.push(noVulkan);
  else {
    try {
      const gpu = dawn.create([]);
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (adapter) {
        const info = adapterInfo(adapter);
        if (!info.software) chosen = { gpu, adapter, info };
        else refused.push(`the only Vulkan/Metal/D3D12 adapter is a software one (${info.device})`);
      } else refused.push('no Vulkan/Metal/D3D12 GPU adapter');
    } catch (error) {
      refused.push(`no GPU adapter (${(error as Error).message.split('\n')[0]})`);
    }
  }
  // A software adapter, only when asked: Mesa's llvmpipe through Dawn's OpenGL ES backend.
  // Without a display EGL must be told to run surfaceless, before Dawn opens it.
  if (!chosen && options.allowSoftware) {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    try {
      const gpu = dawn.create(['backend=opengles']);
      const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
      if (adapter) chosen = { gpu, adapter, info: adapterInfo(adapter) };
      else refused.push("no OpenGL ES adapter either (Mesa's EGL/GLES packages missing?)");
    } catch (error) {
      refused.push(`no OpenGL ES adapter (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (!chosen) {
    return refused.join('; ') + (options.allowSoftware ? '' : ' (a software adapter needs --allow-software-adapter)');
  }

  let loopWhile: (pred: () => boolean) => void;
  try {
    if (simulatedMissing('deasync')) throw Object.assign(new Error('simulated'), { code: 'MODULE_NOT_FOUND' });
    loopWhile = (require('deasync') as { loopWhile(pred: () => boolean): void }).loopWhile;
  } catch (error) {
    return isModuleMissing(error)
      ? 'the optional npm package deasync is not installed (synchronous read-backs need it)'
      : `deasync failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
  try {
    if (simulatedMissing('@tensorflow/tfjs-backend-webgpu')) {
      throw Object.assign(new Error('simulated'), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    // tfjs-backend-webgpu asks navigator.gpu for an adapter with its own options (no
    // featureLevel), so navigator.gpu hands it the one chosen here.
    const { adapter, gpu } = chosen;
    const navigatorGpu = {
      requestAdapter: async () => adapter,
      getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat?.() ?? 'rgba8unorm',
      wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    };
    const g = globalThis as { navigator?: Record<string, unknown> };
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: navigatorGpu, configurable: true });
    else g.navigator = { gpu: navigatorGpu };
    const { WebGPUBackend } = (await importOptional('@tensorflow/tfjs-backend-webgpu')) as {
      WebGPUBackend: { prototype: WebGpuBackendInternals };
    };
    enableSyncReadBack(WebGPUBackend.prototype, loopWhile);
  } catch (error) {
    return isModuleMissing(error)
      ? 'the optional npm package @tensorflow/tfjs-backend-webgpu is not installed'
      : `@tensorflow/tfjs-backend-webgpu failed to load: ${(error as Error).message.split('\n')[0]}`;
  }
  installed = chosen.info;
  return installed;
}

/** The parts of tfjs-backend-webgpu's backend the synchronous read-back uses (4.22). */
interface WebGpuBackendInternals {
  readSync(dataId: object): tf.backend_util.BackendValues;
  tensorMap: { get(dataId: object): { values?: unknown; dtype: tf.DataType; resource: GpuBuffer } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(buffer: GpuBuffer): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: { copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void };
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: tf.backend_util.BackendValues): void;
}

/**
 * The engine reads small results synchronously (dataSync: the step's verdict flags, the loss at
 * progress intervals, one read per evaluation batch). tfjs-backend-webgpu's readSync needs a
 * browser's OffscreenCanvas; in Node a buffer map completes only when Dawn processes events on
 * the event loop. So: copy to a staging buffer, start the map, and turn the event loop (deasync)
 * until Dawn reports the buffer mapped. The copy is the same one tfjs's async read makes.
 */
function enableSyncReadBack(proto: WebGpuBackendInternals, loopWhile: (pred: () => boolean) => void): void {
  const original = proto.readSync;
  proto.readSync = function readSync(this: WebGpuBackendInternals, dataId: object) {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') {
      return original.call(this, dataId);
    }
    const source = data.resource;
    const staging = this.bufferManager.acquireBuffer(source.size, gpuConstants.COPY_DST | gpuConstants.MAP_READ);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
    this.submitQueue();
    let failure: unknown = null;
    staging.mapAsync(gpuConstants.READ).catch((error: unknown) => (failure = error ?? 'map failed'));
    loopWhile(() => staging.mapState === 'pending' && failure === null);
    if (staging.mapState !== 'mapped') {
      throw new Error(`webgpu read-back failed: ${errorMessage(failure)}`);
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype);
    this.convertAndCacheOnCPU(dataId, values);
    return values;
  };
}
