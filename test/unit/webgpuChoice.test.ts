// The parts of the webgpu set-up that need no GPU: how an adapter is described (software said
// plainly) and the backend-dependent default of feedbackDelay, resolved for the stored config.
import { describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { describeAdapter } from '../../src-main/engine/webgpu.js';
import { resolveBackendDefaults } from '../../src-main/engine/backendDefaults.js';

describe('describeAdapter', () => {
  it('says plainly that llvmpipe is a software adapter, with its driver', () => {
    const a = describeAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa 22.3.6' });
    expect(a.software).toBe(true);
    expect(a.label).toBe(
      'software adapter (CPU rasteriser, not a GPU): llvmpipe-llvm-15-0-6-256-bits- (OpenGL ES 3.2 Mesa 22.3.6)',
    );
  });
  it('treats a fallback adapter or SwiftShader as software, a named GPU as hardware', () => {
    expect(describeAdapter({ device: 'x', isFallbackAdapter: true }).software).toBe(true);
    expect(describeAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)' }).software).toBe(true);
    const gpu = describeAdapter({
      vendor: 'nvidia',
      architecture: 'ada',
      device: 'NVIDIA GeForce RTX 4090',
      description: 'NVIDIA: 550.54',
    });
    expect(gpu.software).toBe(false);
    expect(gpu.label).toBe('GPU: nvidia ada NVIDIA GeForce RTX 4090 (NVIDIA: 550.54)');
  });
});

describe('resolveBackendDefaults', () => {
  const unset = parseRunConfig({});
  it('leaves feedbackDelay unset in the parsed config, for the backend to decide', () => {
    expect(unset.rehearsal.feedbackDelay).toBeUndefined();
  });
  it('defaults feedbackDelay to 1 on GPU backends and 0 on CPU ones', () => {
    expect(resolveBackendDefaults(unset, 'webgpu').rehearsal.feedbackDelay).toBe(1);
    expect(resolveBackendDefaults(unset, 'tensorflow').rehearsal.feedbackDelay).toBe(1);
    expect(resolveBackendDefaults(unset, 'wasm').rehearsal.feedbackDelay).toBe(0);
    expect(resolveBackendDefaults(unset, 'cpu').rehearsal.feedbackDelay).toBe(0);
  });
  it('keeps a value that was set, and a resolved config re-parses to itself', () => {
    const set = parseRunConfig({ rehearsal: { feedbackDelay: 0 } });
    expect(resolveBackendDefaults(set, 'webgpu').rehearsal.feedbackDelay).toBe(0);
    const resolved = resolveBackendDefaults(unset, 'webgpu');
    expect(parseRunConfig(JSON.parse(JSON.stringify(resolved)))).toEqual(resolved);
  });
});
