// The one real-data f0 the tests share: every test that trains on the real Fashion-MNIST uses this
// model and pretraining, and this f0 cache folder, so f0 is pretrained once per test run (about a
// minute on one core) instead of once per test. It is pretrained on first need, by whichever of
// those tests comes first, under a lock the others wait on; the rest of the suite does not wait for
// it (a global setup used to hold every integration and e2e test for that minute).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseRunConfig, type RunConfigInput } from '../../shared/config.js';
import { SYSTEM_FASHION_MNIST_DIR } from '../../src-main/data/fashionMnist.js';
import { ensureF0, ExperimentContext } from '../../src-main/engine/experiment.js';

/** The shared f0: a small MLP, one epoch (past 0.80 pretrain-test accuracy on rot90). */
export const REAL_DATA_F0 = {
  scenario: 'rot90',
  backend: 'wasm',
  model: { arch: 'mlp', hidden: [128] },
  pretrain: { epochs: 1 },
} as const satisfies RunConfigInput;

/** Kept between runs (test-results/ is not committed); delete it to time a cold run. */
export const REAL_DATA_F0_CACHE = path.resolve(import.meta.dirname, '..', '..', 'test-results', 'f0-cache');

const LOCK = path.join(REAL_DATA_F0_CACHE, '.pretraining');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A lock whose owner is gone (a test run killed mid-pretraining) is taken over. */
function stale(): boolean {
  try {
    const pid = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? !alive(pid) : Date.now() - statSync(LOCK).mtimeMs > 10_000;
  } catch {
    return false; // just taken or just released: look again
  }
}

/**
 * Makes sure the shared f0 is in REAL_DATA_F0_CACHE (pretrains it, or waits for the worker that
 * does). Without the data files it throws, naming them and how to get them.
 */
export async function ensureRealDataF0(): Promise<void> {
  if (!existsSync(SYSTEM_FASHION_MNIST_DIR))
    throw new Error(`No ${SYSTEM_FASHION_MNIST_DIR}: sudo apt-get install dataset-fashion-mnist (CI does).`);
  mkdirSync(REAL_DATA_F0_CACHE, { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (stale()) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
    const started = performance.now();
    const f0 = await ensureF0(parseRunConfig(REAL_DATA_F0), new ExperimentContext({ cacheDir: REAL_DATA_F0_CACHE }));
    if (!f0.f0Cached)
      console.log(`Pretrained the shared real-data f0 in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
