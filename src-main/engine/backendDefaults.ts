// Settings whose default depends on the backend a run really got. They are resolved once the
// backend is known and the resolved config is what the history stores, so re-running a stored
// config gives the same numbers whichever backend 'auto' would pick next time.
import type { RunConfig } from '../../shared/config.js';
import { isGpuBackend } from './backend.js';

/**
 * feedbackDelay: 1 on a GPU (the verdict flags of a step are read back after the next step is
 * dispatched, so the copy overlaps with work instead of stalling the device; MIXCD.md), 0 on
 * CPU backends, where a read-back costs nothing and same-step feedback is the paper's setting.
 */
export function resolveBackendDefaults(config: RunConfig, backend: string): RunConfig {
  if (config.rehearsal.feedbackDelay !== undefined) return config;
  return { ...config, rehearsal: { ...config.rehearsal, feedbackDelay: isGpuBackend(backend) ? 1 : 0 } };
}
