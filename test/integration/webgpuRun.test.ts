// `mixcd run --backend webgpu` as a user runs it (the built CLI in a child process): on the
// software adapter here it trains and matches the same run on wasm; without the optional npm
// packages or Mesa's EGL/GLES it exits 2 saying why, and `--backend auto` falls back to wasm
// saying so in one line. Data: small generated 28x28 IDX files (the software adapter is slow).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { runMixcd } from '../helpers/cliProcess.js';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { writeIdxData } from '../helpers/idxData.js';
import { WEBGPU_REQUIRED } from '../helpers/webgpu.js';
import { missingVulkanLoader } from '../../src-main/engine/vulkanLoader.js';

const root = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-webgpu-'));
const dataDir = path.join(work, 'data');

function mixcd(args: string[], env: Record<string, string> = {}) {
  return runMixcd(args, { db: path.join(work, 'h.db'), cacheDir: path.join(work, 'cache'), timeout: 600_000, env });
}

/** Our own lines on stderr (Dawn's native warnings, "Warning: ..." with an "at" line, aside). */
function ourLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('mixcd:'));
}

const base = ['--data-dir', dataDir, '--scenario', 'rot90', '--pretrain-epochs', '2', '--probe', '0', '--quiet'];

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/src-main/cli/main.js')))
    throw new Error('Build first: npm run build (npm test does it).');
  writeIdxData(dataDir, { trainCount: 2000, testCount: 500, size: 28, seed: 5 });
});

/** Runs on webgpu (software adapter allowed), or skips saying why (fails where it is required). */
function webgpuRun(ctx: TestContext, args: string[]) {
  const run = mixcd(['run', ...base, '--backend', 'webgpu', '--allow-software-adapter', ...args, '--json']);
  if (run.code === 2 && !WEBGPU_REQUIRED) {
    console.warn(`SKIPPED "${ctx.task.name}": ${ourLines(run.stderr).join(' ')}`);
    ctx.skip();
  }
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, any>;
}

describe('mixcd run --backend webgpu', () => {
  it('a 200-step rot90 MLP run on webgpu ends within 0.01 of the same run on wasm (same f0, same seed)', (ctx) => {
    // A small MLP and batch: the software adapter takes ~0.3 s a step at the default 784-256-256-10.
    const steps = ['--hidden', '64,64', '--batch-size', '32', '--steps', '200', '--eval-every', '100', '--seed', '4'];
    const wasm = mixcd(['run', ...base, '--backend', 'wasm', ...steps, '--json']);
    expect(wasm.code, wasm.stderr).toBe(0);
    const onWasm = JSON.parse(wasm.stdout);
    const onGpu = webgpuRun(ctx, [...steps, '--f0-backend', 'wasm']);
    expect(onGpu.status).toBe('finished');
    expect(onGpu.backend).toBe('webgpu');
    expect(onGpu.device).toMatch(/^WebGPU, /);
    expect(onGpu.device.length).toBeGreaterThan('WebGPU, '.length + 3);
    // Same f0 and prior pass: wasm's, from the cache.
    expect(onGpu.prior).toEqual(onWasm.prior);
    expect(onGpu.config.f0Backend).toBe('wasm');
    // The backend-dependent default is stored resolved: 1 on a GPU backend, 0 on wasm.
    expect(onGpu.config.rehearsal.feedbackDelay).toBe(1);
    expect(onWasm.config.rehearsal.feedbackDelay).toBe(0);
    expect(onGpu.series.map((p: { step: number }) => p.step)).toEqual([0, 100, 200]);
    expect(Math.abs(onGpu.final.pretrainTestAcc - onWasm.final.pretrainTestAcc)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(onGpu.final.finetuneTestAcc - onWasm.final.finetuneTestAcc)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(onGpu.final.cdRate - onWasm.final.cdRate)).toBeLessThanOrEqual(0.01);
    // The run learned something (a run that did nothing would match too).
    expect(onGpu.final.finetuneTestAcc).toBeGreaterThan(onGpu.prior.finetuneTestAcc + 0.1);
  }, 600_000);

  it('trains the CNN for a few steps', (ctx) => {
    const run = webgpuRun(ctx, [
      ...['--model', 'cnn', '--filters', '4,8', '--pretrain-epochs', '1', '--f0-backend', 'wasm'],
      ...['--steps', '6', '--eval-every', '3', '--batch-size', '32'],
    ]);
    expect(run.status).toBe('finished');
    expect(run.backend).toBe('webgpu');
    expect(run.series).toHaveLength(3);
    expect(run.compute.backwardPasses).toBe(6 * (32 + Math.round(0.1 * 32)));
    for (const p of run.series) expect(p.finetuneTestAcc).toBeGreaterThanOrEqual(0);
  }, 600_000);
});

describe('without webgpu', () => {
  it('exits 2 naming the missing npm package, and auto falls back to wasm saying so in one line', () => {
    const missing = { MIXCD_SIMULATE_MISSING: 'webgpu' };
    const forced = mixcd(['run', ...base, '--backend', 'webgpu', '--allow-software-adapter', '--json'], missing);
    expect(forced.code).toBe(2);
    expect(ourLines(forced.stderr)).toEqual([
      'mixcd: The webgpu backend cannot start here: the optional npm package ' +
        'webgpu is not installed. Use --backend auto to pick one that works.',
    ]);
    const auto = mixcd(['run', ...base, '--backend', 'auto', '--steps', '5', '--eval-every', '5', '--json'], missing);
    expect(auto.code, auto.stderr).toBe(0);
    expect(JSON.parse(auto.stdout).backend).toBe('wasm');
    expect(ourLines(auto.stderr)).toEqual([
      'mixcd: no GPU backend (webgpu: the optional npm package webgpu is not installed); training on wasm.',
    ]);
  });

  it('exits 2 when tfjs-backend-webgpu is missing', () => {
    const run = mixcd(['run', ...base, '--backend', 'webgpu', '--allow-software-adapter', '--json'], {
      MIXCD_SIMULATE_MISSING: '@tensorflow/tfjs-backend-webgpu',
    });
    expect(run.code).toBe(2);
    expect(ourLines(run.stderr).join('\n')).toMatch(/@tensorflow\/tfjs-backend-webgpu is not installed/);
  });

  it(
    "exits 2 when Mesa's EGL finds no driver (the Mesa packages missing), and " +
      'never takes a software adapter unasked',
    () => {
      // libglvnd reads the EGL vendor list from here: a file that does not exist = no EGL driver.
      const noMesa = { __EGL_VENDOR_LIBRARY_FILENAMES: path.join(work, 'no-such-vendor.json') };
      const run = mixcd(['run', ...base, '--backend', 'webgpu', '--allow-software-adapter', '--json'], noMesa);
      expect(run.code).toBe(2);
      expect(ourLines(run.stderr).join('\n')).toMatch(/no OpenGL ES adapter/);
      const unasked = mixcd(['run', ...base, '--backend', 'webgpu', '--steps', '1', '--json']);
      if (unasked.code === 0) {
        // A machine with a real GPU: it ran there, not on a software adapter.
        expect(JSON.parse(unasked.stdout).device).not.toMatch(/software adapter/);
      } else {
        expect(unasked.code).toBe(2);
        expect(ourLines(unasked.stderr).join('\n')).toMatch(/--allow-software-adapter/);
      }
    },
  );
});

describe('--backend auto without a Vulkan loader (Linux)', () => {
  it('says the fallback in one line, and Dawn prints nothing (not even in the CLI process itself)', (ctx) => {
    const noVulkan = missingVulkanLoader();
    let webgpuInstalled = true;
    try {
      createRequire(__filename).resolve('webgpu');
    } catch {
      webgpuInstalled = false;
    }
    const skip = !noVulkan
      ? `this machine has a Vulkan loader (or is not Linux), so Dawn is asked for a GPU`
      : !webgpuInstalled
        ? 'the optional npm package webgpu is not installed'
        : null;
    if (skip) {
      if (WEBGPU_REQUIRED && !webgpuInstalled) throw new Error(`webgpu is required here but: ${skip}`);
      console.warn(`SKIPPED "${ctx.task.name}": ${skip}`);
      ctx.skip();
    }
    const expected = [`mixcd: no GPU backend (webgpu: ${noVulkan}); training on wasm.`];
    const short = ['--backend', 'auto', '--steps', '5', '--eval-every', '5', '--json'];
    // The usual run: the backend is chosen in the trainer process.
    const plain = mixcd(['run', ...base, ...short]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).backend).toBe('wasm');
    expect(plain.stderr.split('\n').filter(Boolean)).toEqual(expected);
    // A declared model is checked in the CLI's own process before anything is stored, so the
    // backend is chosen there too: stderr is the terminal's, Dawn would print to it directly.
    const spec = path.join(work, 'tiny-spec.json');
    writeFileSync(spec, JSON.stringify([{ type: 'flatten' }, { type: 'dense', units: 10 }]));
    const declared = mixcd(['run', ...base, '--model-spec', spec, ...short]);
    expect(declared.code, declared.stderr).toBe(0);
    expect(JSON.parse(declared.stdout).backend).toBe('wasm');
    expect(declared.stderr.split('\n').filter(Boolean)).toEqual(expected);
  }, 600_000);
});
