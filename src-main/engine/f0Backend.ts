// --f0-backend: a run may start from the f0 (and prior pass) another backend pretrained. On a
// software WebGPU adapter pretraining takes about 20 minutes where wasm takes 3, and a study
// comparing backends wants one f0 for all: the f0 cache is keyed by the backend that made it,
// so the run looks f0 up under that backend and, when it is missing, pretrains it there first.
import type { BackendRequest } from '../../shared/config.js';
import { onBackend } from './backend.js';
import type { CachedF0 } from './f0Cache.js';

/** Pretrain (and prior-pass) on `backend`, then return to the run's backend. */
export function pretrainOnBackend(
  backend: Exclude<BackendRequest, 'auto'>,
  make: () => Omit<CachedF0, 'key'>,
): Promise<Omit<CachedF0, 'key'>> {
  return onBackend(backend, make);
}
