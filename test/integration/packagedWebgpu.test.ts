// The packaged app's WebGPU, as far as it can be checked without Electron (its binary is a
// download this machine cannot make): electron-builder packs the app for real, with the project's
// electron-builder.yml, around a stand-in Electron folder (electronDist) and without the fuse hook
// (it edits the Electron binary). Then: Dawn's dawn.node and deasync's binding are unpacked from
// app.asar (Electron's process.dlopen takes an unpacked file from app.asar.unpacked; a packed one
// it would copy to a temp file first), byte for byte the installed ones, and the packed app, read
// out of the archive into a folder with no node_modules above it, starts webgpu from its own
// files (in Node: whether Electron's utility process loads them is not checked here).
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBGPU_REQUIRED } from '../helpers/webgpu.js';

const root = path.resolve(__dirname, '../..');
const requireHere = createRequire(__filename);
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-packaged-'));
const out = path.join(work, 'out');
let archive = '';

interface AsarModule {
  statFile(archive: string, file: string): { unpacked?: boolean; size?: number };
  extractAll(archive: string, dest: string): void;
}

/** The native files the app loads on this machine, as paths inside the app. */
function runtimeNativeFiles(): string[] {
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  // deasync's index.js picks its prebuilt binding by the running Node's major version.
  const major = process.versions.node.split('.')[0];
  return [
    `node_modules/webgpu/dist/${process.platform}-${arch}/dawn.node`,
    `node_modules/deasync/bin/${process.platform}-${process.arch}-node-${major}/deasync.node`,
  ];
}

let installed = true;
beforeAll(() => {
  if (process.platform !== 'linux') return;
  if (!existsSync(path.join(root, 'dist/src-main/main.js'))) throw new Error('Build first: npm run build.');
  try {
    requireHere.resolve('webgpu');
    requireHere.resolve('deasync');
  } catch {
    installed = false;
    return;
  }
  const electronDist = path.join(work, 'electron');
  mkdirSync(electronDist);
  writeFileSync(path.join(electronDist, 'electron'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(electronDist, 'electron'), 0o755);
  writeFileSync(path.join(work, 'no-fuses.mjs'), 'export default async function afterPack() {}\n');
  const builder = path.join(path.dirname(requireHere.resolve('electron-builder/package.json')), 'cli.js');
  const run = spawnSync(
    process.execPath,
    [
      builder,
      ...['--linux', 'dir', '--publish', 'never', `-c.electronDist=${electronDist}`],
      ...[`-c.afterPack=${path.join(work, 'no-fuses.mjs')}`, `-c.directories.output=${out}`],
    ],
    { cwd: root, encoding: 'utf8', timeout: 900_000 },
  );
  if (run.status !== 0) throw new Error(`electron-builder failed:\n${run.stdout}\n${run.stderr}`);
  // linux-unpacked on x64, linux-arm64-unpacked on arm64.
  const unpacked = readdirSync(out).find((name) => name.endsWith('-unpacked'));
  archive = path.join(out, unpacked ?? 'linux-unpacked', 'resources', 'app.asar');
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(process.platform === 'linux')('the packaged app (electron-builder, stand-in Electron)', () => {
  it('unpacks the webgpu native files the app loads here from app.asar, unchanged', (ctx) => {
    if (!installed) {
      if (WEBGPU_REQUIRED) throw new Error('webgpu is required here but the optional packages are not installed');
      console.warn(`SKIPPED "${ctx.task.name}": the optional npm packages webgpu and deasync are not installed`);
      ctx.skip();
    }
    const asar = requireHere('@electron/asar') as AsarModule;
    for (const file of runtimeNativeFiles()) {
      expect(asar.statFile(archive, file).unpacked, `${file} is packed inside app.asar`).toBe(true);
      const shipped = readFileSync(path.join(`${archive}.unpacked`, file));
      expect(shipped.equals(readFileSync(path.join(root, file))), `${file} differs from the installed one`).toBe(true);
    }
    // The JavaScript that loads them is in the app too.
    for (const file of ['dist/src-main/engine/webgpu.js', 'dist/src-main/engine/vulkanLoader.js']) {
      expect(asar.statFile(archive, file).size).toBeGreaterThan(0);
    }
    expect(asar.statFile(archive, 'node_modules/@tensorflow/tfjs-backend-webgpu/package.json').size).toBeGreaterThan(0);
  });

  it('starts webgpu from the packed files alone, as this checkout does', (ctx) => {
    if (!installed) {
      console.warn(`SKIPPED "${ctx.task.name}": the optional npm packages webgpu and deasync are not installed`);
      ctx.skip();
    }
    // Outside the checkout: no node_modules above it, so a package missing from the app would fail.
    const app = path.join(work, 'app');
    (requireHere('@electron/asar') as AsarModule).extractAll(archive, app);
    const file = (dir: string, name: string) => JSON.stringify(path.join(dir, name));
    const script = (dir: string) =>
      `const { initBackend } = await import(${file(dir, 'dist/src-main/engine/backend.js')});` +
      `const tf = await import(${file(dir, 'node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js')});` +
      "const info = await initBackend('webgpu', { allowSoftwareAdapter: true }).catch((e) => ({ error: e.message }));" +
      'const product = info.error ? null : Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), ' +
      'tf.tensor2d([[5, 6], [7, 8]])).dataSync());' +
      'console.log(JSON.stringify({ ...info, product }));';
    const start = (dir: string) => {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script(dir)], {
        cwd: os.tmpdir(),
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, any>;
    };
    const packed = start(app);
    const checkout = start(root);
    // Same outcome as the checkout: the same adapter, or the same reason it cannot run.
    expect(packed.error ?? packed.device).toBe(checkout.error ?? checkout.device);
    if (!packed.error) {
      expect(packed.backend).toBe('webgpu');
      expect(packed.product).toEqual([19, 22, 43, 50]);
    } else if (WEBGPU_REQUIRED) {
      throw new Error(`webgpu is required here but: ${packed.error}`);
    }
  }, 600_000);
});
