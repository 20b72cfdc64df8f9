// Packaging cannot run here (it downloads Electron), so its configuration is checked instead
// (an integration test: loading electron-builder takes seconds):
// electron-builder.yml passes electron-builder's own schema, and every path it names exists or is
// made by the build, and the native modules it unpacks from the asar are the ones the app has.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DebugLogger } from 'builder-util';
// electron-builder's own loader and schema check (app-builder-lib is electron-builder's engine).
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import {
  ELECTRON_SQLITE_ADDON,
  ELECTRON_SQLITE_DIR,
  PACKAGED_SQLITE_ADDON,
} from '../../src-main/store/nativeBinding.js';
import { packageRoot } from '../../src-main/packageRoot.js';

const root = packageRoot();
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface BuilderConfig {
  directories: { output: string; buildResources: string };
  /** Normalised by the loader into file sets. */
  files: ({ filter: string[] } | string)[];
  asarUnpack: string[];
  extraResources: { from: string; to: string }[];
}

async function loadConfig(): Promise<BuilderConfig> {
  const config = (await getConfig(root, null, null)) as BuilderConfig;
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

/** Packages in the app's production tree with a compiled addon (they cannot run from inside an asar). */
function nativePackages(): string[] {
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})];
  return names.filter((name) => {
    const dir = path.join(root, 'node_modules', name);
    // Built from source (binding.gyp), or shipped prebuilt inside the package (webgpu's dawn.node).
    const prebuilt =
      existsSync(path.join(dir, 'dist')) &&
      readdirSync(path.join(dir, 'dist'), { recursive: true }).some((f) => String(f).endsWith('.node'));
    return existsSync(path.join(dir, 'binding.gyp')) || prebuilt || name === '@tensorflow/tfjs-node-gpu';
  });
}

describe('electron-builder.yml', () => {
  it('passes electron-builder’s own schema, and `npm run dist` runs electron-builder after the build', async () => {
    await loadConfig();
    expect(pkg.devDependencies['electron-builder']).toMatch(/^26\./);
    expect(pkg.scripts.dist).toBe('npm run build && electron-builder');
  });

  it('names a build-resources folder that exists, with the app icon', async () => {
    const { directories } = await loadConfig();
    const resources = path.join(root, directories.buildResources);
    expect(existsSync(resources), `${directories.buildResources}/ is missing`).toBe(true);
    const icon = readFileSync(path.join(resources, 'icon.png'));
    expect(icon.subarray(1, 4).toString()).toBe('PNG');
    expect(icon.readUInt32BE(16)).toBeGreaterThanOrEqual(512); // electron-builder wants >= 512 px
  });

  it('ships the files the app needs: the build output, the bin, package.json', async () => {
    const { files } = await loadConfig();
    const patterns = files.flatMap((set) => (typeof set === 'string' ? [set] : set.filter));
    const included = patterns.filter((f) => !f.startsWith('!'));
    for (const pattern of included) {
      const base = pattern.split('/**')[0];
      // dist/ is made by `npm run build` (tsc's outDir); the rest must exist in the checkout.
      if (base === 'dist') {
        expect(JSON.parse(readFileSync(path.join(root, 'tsconfig.json'), 'utf8')).compilerOptions.outDir).toBe('dist');
      } else {
        expect(existsSync(path.join(root, base)), `${pattern}: ${base} does not exist`).toBe(true);
      }
    }
    // The entry point and the preload are inside what is shipped.
    expect(pkg.main.startsWith('dist/')).toBe(true);
    expect(included).toContain('dist/**/*');
  });

  it('unpacks exactly the native modules from the asar, and the wasm binaries', async () => {
    const { asarUnpack } = await loadConfig();
    const unpacked = asarUnpack
      .map((p) => /^\*\*\/node_modules\/(.+?)(?:\/dist)?\/\*\*$/.exec(p)?.[1])
      .filter((name): name is string => Boolean(name));
    expect(unpacked.sort()).toEqual(nativePackages().sort());
    // The wasm backend loads its .wasm files by path at run time.
    const wasm = asarUnpack.find((p) => p.includes('tfjs-backend-wasm'));
    expect(wasm).toBe('**/node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm');
    const wasmDir = path.join(root, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
    expect(readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')).length).toBeGreaterThan(0);
  });

  it('copies Electron’s better-sqlite3 build from where `npm ci` puts it to where the app loads it', async () => {
    const { extraResources } = await loadConfig();
    const posix = (p: string) => p.split(path.sep).join('/');
    expect(extraResources).toEqual([
      { from: posix(path.join(ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON)), to: posix(PACKAGED_SQLITE_ADDON) },
    ]);
    // scripts/install-electron.mjs fills that folder.
    const installer = readFileSync(path.join(root, 'scripts', 'install-electron.mjs'), 'utf8');
    expect(installer).toContain("path.join(root, 'node_modules', '.cache', 'mixcd', 'electron-sqlite')");
  });
});
