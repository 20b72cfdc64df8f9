// Whether the webgpu backend can run in this test process, and why not. Tests that need it skip
// with the reason printed, never silently; CI sets MIXCD_WEBGPU_TESTS=require (it installs the
// Mesa packages the software adapter needs), where a missing webgpu is a failure instead.
import type { TestContext } from 'vitest';
import { initBackend, type BackendInfo } from '../../src-main/engine/backend.js';

export const WEBGPU_REQUIRED = process.env.MIXCD_WEBGPU_TESTS === 'require';

let outcome: Promise<BackendInfo | string> | null = null;

/** Initialise webgpu (a software adapter allowed) once per test file: the info, or why not. */
export function webgpuBackend(): Promise<BackendInfo | string> {
  outcome ??= initBackend('webgpu', { allowSoftwareAdapter: true }).catch((error: Error) => error.message);
  return outcome;
}

/** Skip the running test, saying why, unless webgpu is required here (then fail). */
export function skipWithoutWebgpu(ctx: TestContext, why: string): never {
  if (WEBGPU_REQUIRED) throw new Error(`webgpu is required here (MIXCD_WEBGPU_TESTS=require) but: ${why}`);
  console.warn(`SKIPPED "${ctx.task.name}": webgpu cannot run here: ${why}`);
  ctx.skip();
  throw new Error('unreachable');
}
