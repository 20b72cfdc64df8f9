// The one real-data f0 the tests share: every test that trains on the real Fashion-MNIST uses this
// model and pretraining, and the f0 cache folder the global setup filled, so f0 is pretrained once
// per test run (about a minute on one core) instead of once per test.
import path from 'node:path';
import type { RunConfigInput } from '../../shared/config.js';

/** The shared f0: a small MLP, one epoch (past 0.80 pretrain-test accuracy on rot90). */
export const REAL_DATA_F0 = {
  scenario: 'rot90',
  backend: 'wasm',
  model: { arch: 'mlp', hidden: [128] },
  pretrain: { epochs: 1 },
} as const satisfies RunConfigInput;

/** Kept between runs (test-results/ is not committed); delete it to time a cold run. */
export const REAL_DATA_F0_CACHE = path.resolve(import.meta.dirname, '..', '..', 'test-results', 'f0-cache');
