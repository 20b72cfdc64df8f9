// Pretrains the shared real-data f0 once, before any worker starts (see realDataF0.ts). Without
// the data files it does nothing and says so: the tests that need them fail by name.
import { existsSync, mkdirSync } from 'node:fs';
import { parseRunConfig } from '../../shared/config.js';
import { SYSTEM_FASHION_MNIST_DIR } from '../../src-main/data/fashionMnist.js';
import { ensureF0, ExperimentContext } from '../../src-main/engine/experiment.js';
import { REAL_DATA_F0, REAL_DATA_F0_CACHE } from './realDataF0.js';

export default async function setup(): Promise<void> {
  if (!existsSync(SYSTEM_FASHION_MNIST_DIR)) {
    console.warn(`No ${SYSTEM_FASHION_MNIST_DIR}: the shared real-data f0 is not pretrained.`);
    return;
  }
  mkdirSync(REAL_DATA_F0_CACHE, { recursive: true });
  const started = performance.now();
  const f0 = await ensureF0(parseRunConfig(REAL_DATA_F0), new ExperimentContext({ cacheDir: REAL_DATA_F0_CACHE }));
  if (!f0.f0Cached) {
    console.log(`Pretrained the shared real-data f0 in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  }
}
