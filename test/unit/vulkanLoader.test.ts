// The check that keeps Dawn from being asked for a GPU it cannot reach: on Linux without a Vulkan
// loader Dawn offers no adapter and prints its own warning. The verdict comes from the dynamic
// loader itself (process.dlopen), so it is tested against real libraries and LD_LIBRARY_PATH.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  classifyDlopen,
  missingVulkanLoader,
  probeLibrary,
  VULKAN_LOADER,
  type LoaderVerdict,
} from '../../src-main/engine/vulkanLoader.js';

const onLinux = process.platform === 'linux';
const root = path.resolve(__dirname, '../..');

/** The file of this process's libc, from its memory map (a library known to be loadable). */
function libcPath(): string {
  const line = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .find((l) => /\/libc[.-][^/]*so/.test(l));
  if (!line) throw new Error('no libc in /proc/self/maps');
  return line.slice(line.indexOf('/'));
}

describe('classifyDlopen', () => {
  it('reads "did not self-register" as found and loaded (a library that is no Node addon)', () => {
    const error = new Error("Module did not self-register: 'libvulkan.so.1'.");
    expect(classifyDlopen('libvulkan.so.1', error)).toEqual({ kind: 'loadable' });
  });
  it("reads dlerror()'s text, which starts with the name, as missing", () => {
    const absent = new Error('libvulkan.so.1: cannot open shared object file: No such file or directory');
    expect(classifyDlopen('libvulkan.so.1', absent)).toEqual({ kind: 'missing', why: absent.message });
    const wrong = new Error('libvulkan.so.1: wrong ELF class: ELFCLASS32');
    expect(classifyDlopen('libvulkan.so.1', wrong).kind).toBe('missing');
  });
  it('leaves anything else undecided, so Dawn is still asked', () => {
    const disabled = new Error('Cannot load native addon because loading addons is disabled.');
    expect(classifyDlopen('libvulkan.so.1', disabled).kind).toBe('unknown');
  });
});

describe('missingVulkanLoader', () => {
  const missing: LoaderVerdict = {
    kind: 'missing',
    why: 'libvulkan.so.1: cannot open shared object file: No such file or directory',
  };
  it('asks nothing on macOS and Windows (Metal, D3D12 are always there)', () => {
    const probe = () => missing;
    expect(missingVulkanLoader({ platform: 'darwin', probe })).toBeNull();
    expect(missingVulkanLoader({ platform: 'win32', probe })).toBeNull();
  });
  it('skips Dawn on Linux only on a clear dlopen failure, and says why in one clause', () => {
    expect(missingVulkanLoader({ platform: 'linux', probe: () => ({ kind: 'loadable' }) })).toBeNull();
    expect(missingVulkanLoader({ platform: 'linux', probe: () => ({ kind: 'unknown', why: 'x' }) })).toBeNull();
    expect(missingVulkanLoader({ platform: 'linux', probe: () => missing })).toBe(
      'no Vulkan loader (libvulkan.so.1 not found; on Linux WebGPU reaches a GPU through Vulkan: ' +
        "install libvulkan1 and the GPU's Vulkan driver)",
    );
    const wrong: LoaderVerdict = { kind: 'missing', why: 'libvulkan.so.1: wrong ELF class: ELFCLASS32' };
    expect(missingVulkanLoader({ platform: 'linux', probe: () => wrong })).toMatch(/\(libvulkan.so.1: wrong ELF class/);
  });
  it("lets Dawn try when a loader sits beside dawn.node (Dawn's own folder is searched too)", () => {
    const dawnDir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-dawn-'));
    writeFileSync(path.join(dawnDir, VULKAN_LOADER), '');
    expect(missingVulkanLoader({ platform: 'linux', dawnDir, probe: () => missing })).toBeNull();
  });
});

describe.runIf(onLinux)('probeLibrary (the real dynamic loader)', () => {
  it('finds a loaded library and misses one that does not exist', () => {
    expect(probeLibrary('libc.so.6')).toEqual({ kind: 'loadable' });
    const none = probeLibrary('libmixcd-no-such-library.so.7');
    expect(none.kind).toBe('missing');
    expect(none.kind === 'missing' && none.why).toMatch(/cannot open shared object file/);
  });
  it("follows LD_LIBRARY_PATH as Dawn's dlopen would: a libvulkan.so.1 there is found", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-vk-'));
    // A stand-in named libvulkan.so.1 (libc itself: loading it again is harmless).
    symlinkSync(libcPath(), path.join(dir, VULKAN_LOADER));
    // LD_LIBRARY_PATH is read when a process starts: a child process, on the built module.
    const built = path.join(root, 'dist/src-main/engine/vulkanLoader.js');
    if (!existsSync(built)) throw new Error('Build first: npm run build (npm test does it).');
    const script =
      `import(${JSON.stringify(built)})` +
      '.then((m) => console.log(JSON.stringify([m.probeLibrary(m.VULKAN_LOADER), m.missingVulkanLoader()])))';
    const run = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    const withDir = run({ ...process.env, LD_LIBRARY_PATH: dir });
    expect(withDir.status, withDir.stderr).toBe(0);
    expect(JSON.parse(withDir.stdout)).toEqual([{ kind: 'loadable' }, null]);
    // And without it, this process's verdict (whatever this machine has) is the child's too.
    const without = run({ ...process.env, LD_LIBRARY_PATH: '' });
    expect(without.status, without.stderr).toBe(0);
    expect(JSON.parse(without.stdout)[0].kind).toBe(probeLibrary(VULKAN_LOADER).kind);
  });
});
