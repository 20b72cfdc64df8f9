// The package folder (the one holding this package's package.json), found once by walking up
// from a file's folder: src-main/* under vitest, dist/src-main/* when built,
// app.asar/dist/src-main/* when packaged. Other package.json files on the way are skipped by name.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_NAME = 'mixcd-workbench';

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackageJson(dir: string): PackageJson | null {
  const file = path.join(dir, 'package.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch {
    return null; // unreadable: not ours, keep walking
  }
}

/** The package folder above `from` (default: this module's folder); `from` itself when none is found. */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (readPackageJson(dir)?.name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

/** This package's version from its package.json ('0.0.0' when it cannot be read). */
export function packageVersion(): string {
  return readPackageJson(packageRoot())?.version ?? '0.0.0';
}
