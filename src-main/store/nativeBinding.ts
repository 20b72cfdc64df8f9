// Which native build of better-sqlite3 the history opens with. node_modules/better-sqlite3 holds
// the build for Node's ABI (the CLI and the tests need it); Electron has another ABI and cannot
// load it. scripts/install-electron.mjs downloads Electron's build into a folder of its own, so the
// Node build stays in place, and the desktop window points better-sqlite3 at it (nativeBinding).
// Packaged apps carry that same file as an extra resource (electron-builder.yml), so packaging
// never rebuilds native modules (tfjs-node-gpu's N-API binding must not be rebuilt).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../packageRoot.js';

/** The Electron build's folder under the package root; scripts/install-electron.mjs writes the same path. */
export const ELECTRON_SQLITE_DIR = path.join('node_modules', '.cache', 'mixcd', 'electron-sqlite');
/** Where prebuild-install unpacks the addon, relative to that folder. */
export const ELECTRON_SQLITE_ADDON = path.join('build', 'Release', 'better_sqlite3.node');
/** Written by the install step after a successful download: which Electron and better-sqlite3 the build is for. */
export const ELECTRON_SQLITE_MARKER = 'mixcd-build.json';

export interface ElectronSqliteMarker {
  electron: string;
  betterSqlite3: string;
  platform: string;
  arch: string;
}

// The package folder: one upward search for the whole main side (src-main/packageRoot.ts).
export { packageRoot };

function readJson(file: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The Electron build of better-sqlite3 under `root`, or null when there is none usable. With
 * `electronVersion`, a build made for another Electron, for another better-sqlite3 than the one
 * installed, or for another platform is not used: it would fail to load (an ABI mismatch) or
 * disagree with the module's JavaScript.
 */
export function electronSqliteBinding(root: string, electronVersion?: string): string | null {
  const dir = path.join(root, ELECTRON_SQLITE_DIR);
  const addon = path.join(dir, ELECTRON_SQLITE_ADDON);
  if (!existsSync(addon)) return null;
  if (electronVersion === undefined) return addon;
  const marker = readJson(path.join(dir, ELECTRON_SQLITE_MARKER));
  if (
    !marker ||
    marker.electron !== electronVersion ||
    marker.platform !== process.platform ||
    marker.arch !== process.arch
  )
    return null;
  const installed = readJson(path.join(root, 'node_modules', 'better-sqlite3', 'package.json'));
  if (installed && marker.betterSqlite3 !== installed.version) return null;
  return addon;
}

/**
 * The nativeBinding option for `new Database()`: the Electron build under Electron when this
 * install has one, else undefined (better-sqlite3 loads its own build: Node's, or Electron's in a
 * packaged app where the module itself was rebuilt).
 */
export function sqliteNativeBinding(
  versions: Readonly<Record<string, string | undefined>> = process.versions,
  root?: string,
): string | undefined {
  const electron = versions.electron;
  if (!electron) return undefined; // plain Node: nothing changes
  const packaged = packagedSqliteBinding();
  if (packaged) return packaged;
  return electronSqliteBinding(root ?? packageRoot(), electron) ?? undefined;
}

/** In a packaged app: the build electron-builder copied into the app's resources, if any. */
export function packagedSqliteBinding(
  resourcesPath = (process as { resourcesPath?: string }).resourcesPath,
): string | null {
  if (!resourcesPath) return null;
  const addon = path.join(resourcesPath, PACKAGED_SQLITE_ADDON);
  return existsSync(addon) ? addon : null;
}

/** Where electron-builder.yml's extraResources puts the Electron build, relative to the resources folder. */
export const PACKAGED_SQLITE_ADDON = path.join('electron-sqlite', 'better_sqlite3.node');
