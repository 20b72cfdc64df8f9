// On Linux Dawn reaches a GPU only through Vulkan: it dlopen()s the Vulkan loader, libvulkan.so.1,
// and without one it prints "Couldn't load Vulkan: ..." (with a source line) straight to stderr,
// where JavaScript cannot catch it, then offers no adapter. So before a Dawn instance is created
// for a hardware adapter, ask the dynamic loader itself whether libvulkan.so.1 loads: Node's
// process.dlopen calls dlopen() in this same process with Dawn's flags, so it searches exactly
// where Dawn's call would (LD_LIBRARY_PATH as the process started, ld.so.cache, the system
// library folders) and fails exactly when Dawn's would. Only a clear dlopen verdict skips Dawn;
// anything unexpected lets Dawn try, so a GPU is never hidden. macOS (Metal) and Windows (D3D12)
// use system APIs that are always there: no check.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const VULKAN_LOADER = 'libvulkan.so.1';

export type LoaderVerdict =
  | { kind: 'loadable' }
  /** dlopen failed: Dawn's identical call fails too. `why` is dlerror()'s text. */
  | { kind: 'missing'; why: string }
  /** Not dlopen's answer (e.g. addons disabled): let Dawn try. */
  | { kind: 'unknown'; why: string };

/**
 * What process.dlopen's outcome for `name` says about dlopen(name). A library that is found
 * and loaded, but is no Node addon, throws "Module did not self-register"; a dlopen failure
 * throws dlerror()'s text, which starts with the name ("libvulkan.so.1: cannot open shared
 * object file: ...", "...: wrong ELF class: ELFCLASS32").
 */
export function classifyDlopen(name: string, error: unknown): LoaderVerdict {
  if (error === null || error === undefined) return { kind: 'loadable' };
  const message = error instanceof Error ? error.message : String(error);
  if (/did not self-register/.test(message)) return { kind: 'loadable' };
  if (message.startsWith(`${name}: `)) return { kind: 'missing', why: message.split('\n')[0] };
  return { kind: 'unknown', why: message.split('\n')[0] };
}

/** dlopen(name) in this process with Dawn's flags (RTLD_NOW), then close it again. */
export function probeLibrary(name: string): LoaderVerdict {
  const flags = os.constants.dlopen?.RTLD_NOW;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name, flags);
    return classifyDlopen(name, null);
  } catch (error) {
    return classifyDlopen(name, error);
  }
}

/**
 * Why Dawn can offer no hardware adapter here, in one clause; null when it may (not Linux, or
 * the Vulkan loader loads, or the check was inconclusive). `dawnDir` is the folder of
 * dawn.node: Dawn also looks for the loader beside itself.
 */
export function missingVulkanLoader(
  options: { platform?: NodeJS.Platform; dawnDir?: string; probe?: (name: string) => LoaderVerdict } = {},
): string | null {
  const { platform = process.platform, dawnDir, probe = probeLibrary } = options;
  if (platform !== 'linux') return null;
  if (dawnDir && existsSync(path.join(dawnDir, VULKAN_LOADER))) return null;
  const verdict = probe(VULKAN_LOADER);
  if (verdict.kind !== 'missing') return null;
  const absent = /cannot open shared object file/.test(verdict.why);
  const what = absent ? `${VULKAN_LOADER} not found` : verdict.why;
  return (
    `no Vulkan loader (${what}; on Linux WebGPU reaches a GPU through Vulkan: ` +
    "install libvulkan1 and the GPU's Vulkan driver)"
  );
}
