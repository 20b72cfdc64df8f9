// Small generated data for engine tests: a learnable 10-class task of 12x12 images.
import { parseRunConfig, type RunConfigInput, type RunConfig } from '../../shared/config.js';
import { fingerprintBytes } from '../../src-main/data/fingerprint.js';
import { makeSyntheticSplit } from '../../src-main/data/synthetic.js';
import type { DataSource } from '../../src-main/engine/experiment.js';

export function syntheticSource(trainCount = 1200, testCount = 400, size = 12): DataSource {
  const { train, test } = makeSyntheticSplit({ trainCount, testCount, numClasses: 10, size, seed: 7 });
  return {
    train,
    test,
    fingerprint: fingerprintBytes([train.images, train.labels, test.images, test.labels]),
    origin: 'synthetic',
  };
}

/** A fast config: small MLP, short pretraining and finetuning. */
export function smallConfig(overrides: RunConfigInput = {}): RunConfig {
  const base: RunConfigInput = {
    backend: 'wasm',
    model: { arch: 'mlp', hidden: [32] },
    pretrain: { epochs: 3, batchSize: 32, optimizer: { name: 'adam', lr: 3e-3 } },
    finetune: { steps: 40, batchSize: 32, evalEvery: 10, optimizer: { name: 'momentum', lr: 0.02, momentum: 0.9 } },
    rehearsal: { strategy: 'random', budget: 0.25 },
  };
  // A model override replaces the model whole (an mlp's hidden sizes mean nothing to a cnn).
  const merged = deepMerge(base, overrides) as RunConfigInput;
  if (overrides.model) merged.model = overrides.model;
  return parseRunConfig(merged);
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (
    typeof a !== 'object' ||
    a === null ||
    Array.isArray(a) ||
    typeof b !== 'object' ||
    b === null ||
    Array.isArray(b)
  ) {
    return b === undefined ? a : b;
  }
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
  return out;
}
