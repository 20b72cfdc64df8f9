// The identities runs will store, known before they run: what a study needs to reuse finished
// identical runs, and the cluster's manifest to name its shards. Reads each config's data once
// (its fingerprint) in this process.
import type { RunConfig } from '../../shared/config.js';
import { resolveBackendDefaults } from './backendDefaults.js';
import { runIdentity } from './runIdentity.js';

/**
 * The identity the trainer will store for a run of `config` (trainer/serve.ts: the config as run,
 * with the backend's defaults resolved and the backend it got). Known here for a named backend;
 * null for 'auto', where each machine picks its own backend (and so other numbers).
 */
export function plannedIdentity(config: RunConfig, dataFingerprint: string): string | null {
  if (config.backend === 'auto') return null;
  return runIdentity({ ...resolveBackendDefaults(config, config.backend), backend: config.backend }, dataFingerprint);
}

/** Each config's data fingerprint, as the run will compute it (engine/experiment.ts). */
export async function dataFingerprints(
  configs: readonly RunConfig[],
  cacheDir: string,
): Promise<(config: RunConfig) => string> {
  const { ExperimentContext } = await import('./experiment.js');
  const context = new ExperimentContext({ cacheDir });
  const byConfig = new Map<RunConfig, string>();
  for (const config of configs) {
    await context.preload(config);
    byConfig.set(config, context.scenario(config).source.fingerprint);
  }
  return (config) => byConfig.get(config)!;
}
