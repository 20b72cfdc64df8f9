// The whole path on the real Fashion-MNIST (Debian's dataset-fashion-mnist, which CI installs):
// loading, fingerprint, the rot90 scenario, pretraining, prior pass and a short finetune.
// Short on purpose: the full-length reproduction is a benchmark (`npm run bench`), not a test.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { FASHION_MNIST_OFFICIAL_FINGERPRINT } from '../../src-main/data/fashionMnist.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { REAL_DATA_F0, REAL_DATA_F0_CACHE, ensureRealDataF0 } from '../helpers/realDataF0.js';

describe('real Fashion-MNIST, rot90', () => {
  beforeAll(async () => {
    // Without the files the test fails here, by name (CI installs them; see .ci/run).
    await ensureRealDataF0();
    await initBackend('wasm');
  });

  it('pretrains f0 past 0.80 in one epoch, forgets without rehearsal and keeps more with it', async () => {
    // The shared real-data f0, pretrained once per test run (beforeAll).
    const context = new ExperimentContext({ cacheDir: REAL_DATA_F0_CACHE });
    const base = { ...REAL_DATA_F0, finetune: { steps: 150, evalEvery: 50 } } as const;
    const none = await runExperiment(parseRunConfig({ ...base, rehearsal: { strategy: 'none' } }), context);
    expect(none.dataFingerprint).toBe(FASHION_MNIST_OFFICIAL_FINGERPRINT);
    expect(none.prior.pretrainTestAcc).toBeGreaterThan(0.8);
    expect(none.prior.finetuneTestAcc).toBeLessThan(0.3);
    expect(none.final.pretrainTestAcc).toBeLessThan(0.5);
    expect(none.final.finetuneTestAcc).toBeGreaterThan(0.65);
    const random = await runExperiment(
      parseRunConfig({ ...base, rehearsal: { strategy: 'random', budget: 0.25 } }),
      context,
    );
    expect(random.f0Key).toBe(none.f0Key);
    expect(random.final.pretrainTestAcc).toBeGreaterThan(none.final.pretrainTestAcc + 0.2);
    expect(random.compute.forwardPasses).toBe(150 * (128 + 32));
  });
});
