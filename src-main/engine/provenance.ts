// Provenance: the versions and the machine a run ran on, stored with it (README, "Reproducible
// runs"). Collected in the trainer, which is where the backend and device are known.
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { version_core } from '@tensorflow/tfjs-core';
import type { Provenance } from '../../shared/results.js';
import { packageRoot, packageVersion } from '../packageRoot.js';
import type { BackendInfo } from './backend.js';

/** The npm package that provides each backend (its version is the backend's). */
const BACKEND_PACKAGES: Record<string, string[]> = {
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
  tensorflow: ['@tensorflow/tfjs-node-gpu'],
};

function installedVersion(root: string, name: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? null;
  } catch {
    return null;
  }
}

/**
 * The commit checked out at `root`, read from .git without running git (a packaged app or a
 * cluster node may have none); null outside a checkout. Follows worktrees' `gitdir:` files.
 */
export function gitCommit(root: string): string | null {
  try {
    let gitDir = path.join(root, '.git');
    if (!existsSync(gitDir)) return null;
    if (statSync(gitDir).isFile()) {
      const pointer = readFileSync(gitDir, 'utf8').match(/^gitdir:\s*(.+)$/m);
      if (!pointer) return null;
      gitDir = path.resolve(root, pointer[1].trim());
    }
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = head.match(/^ref:\s*(.+)$/)?.[1];
    if (!ref) return /^[0-9a-f]{40}$/.test(head) ? head : null;
    // A worktree's refs live in the main repository (its commondir).
    const common = existsSync(path.join(gitDir, 'commondir'))
      ? path.resolve(gitDir, readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim())
      : gitDir;
    for (const dir of [gitDir, common]) {
      const file = path.join(dir, ref);
      if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    }
    const packed = path.join(common, 'packed-refs');
    if (!existsSync(packed)) return null;
    const line = readFileSync(packed, 'utf8')
      .split('\n')
      .find((l) => l.endsWith(` ${ref}`));
    return line ? line.slice(0, 40) : null;
  } catch {
    return null;
  }
}

export function collectProvenance(backend: BackendInfo): Provenance {
  const root = packageRoot();
  const cpus = os.cpus();
  const packages = BACKEND_PACKAGES[backend.backend] ?? [];
  const versions = packages.map((name) => installedVersion(root, name));
  return {
    workbenchVersion: packageVersion(),
    gitCommit: gitCommit(root),
    node: process.versions.node,
    electron: process.versions.electron ?? null,
    tfjs: version_core,
    backend: {
      name: backend.backend,
      version: versions.every((v) => v === null)
        ? null
        : packages.map((name, i) => (versions[i] ? `${name}@${versions[i]}` : `${name}@?`)).join(', '),
      device: backend.device,
    },
    machine: {
      hostname: os.hostname(),
      platform: process.platform,
      arch: process.arch,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      cores: cpus.length,
      memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    },
  };
}
