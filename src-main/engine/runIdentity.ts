// A run's identity: what its numbers depend on, hashed. Two runs with the same identity give the
// same numbers (same config and seeds, same data, same engine numerics, on the same backend), so a
// study can reuse a finished run instead of repeating it, and `mixcd merge` imports a cluster
// shard only once. The login node computes it for the manifest before any compute node runs.
import { createHash } from 'node:crypto';
import type { RunConfig } from '../../shared/config.js';

/**
 * Bump when a change alters any number an unchanged config produces (the finetune golden test,
 * test/integration/finetuneGolden.test.ts, is what notices such a change): runs recorded before
 * then keep their old identity and are no longer reused.
 */
export const NUMERICS_VERSION = 1;

/** Keys sorted at every level, so the hash does not depend on how the object was built. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonical(v);
    }
    return out;
  }
  return value;
}

/**
 * Where the data lives is not part of the identity (a laptop and a cluster keep it in different
 * folders); what it holds is, through the fingerprint. `config` is the config as run: the
 * backend's defaults resolved and `backend` the backend the run got (the trainer computes it once
 * the backend is up). The login node can compute the same only for a named backend, not `auto`.
 */
export function runIdentity(config: RunConfig, dataFingerprint: string): string {
  const { dataDir: _dataDir, scenarioFile, ...rest } = config;
  const identified = {
    config: { ...rest, scenarioFile: scenarioFile ? { spec: scenarioFile.spec } : undefined },
    dataFingerprint,
    numerics: NUMERICS_VERSION,
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(identified)))
    .digest('hex')
    .slice(0, 32);
}
