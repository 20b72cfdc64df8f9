// The engine end to end on small generated data: pretraining, the prior pass, the finetune loop
// with rehearsal, evaluation, compute counts, determinism, tensor discipline, cancellation.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { rehearsalBudget } from '../../shared/config.js';
import { UNKNOWN_CATEGORY } from '../../shared/results.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { syntheticSource, smallConfig } from '../helpers/syntheticData.js';

const source = syntheticSource();
const context = new ExperimentContext({ loadData: () => source });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('runExperiment', () => {
  it('pretrains a good f0, then finetuning on rot90 forgets and rehearsal counts add up', async () => {
    const config = smallConfig();
    const result = await runExperiment(config, context);
    expect(result.backend.backend).toBe('wasm');
    expect(result.backend.device).toMatch(/wasm/);
    expect(result.dataFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(result.prior.pretrainTestAcc).toBeGreaterThan(0.85);
    // rot90 of the synthetic task is a different task: f0 is poor on it before finetuning.
    expect(result.prior.finetuneTestAcc).toBeLessThan(0.6);
    expect(result.series.map((p) => p.step)).toEqual([0, 10, 20, 30, 40]);
    expect(result.series[0].pretrainTestAcc).toBeCloseTo(result.prior.pretrainTestAcc, 6);
    expect(result.series[0].cdRate).toBe(0);
    expect(result.final.finetuneTestAcc).toBeGreaterThan(result.prior.finetuneTestAcc + 0.2);
    const m = rehearsalBudget(config);
    expect(m).toBe(8);
    const perStep = config.finetune.batchSize + m;
    expect(result.compute.forwardPasses).toBe(40 * perStep);
    expect(result.compute.backwardPasses).toBe(40 * perStep);
    expect(result.compute.extraForwardPasses).toBe(0);
    let total = 0;
    for (const c of result.rehearsalCounts) total += c;
    expect(total).toBe(40 * m);
    expect(result.rehearsalLog.length).toBe(2 * 40 * m);
    expect(result.final.rehearsalPrecision).not.toBeNull();
    expect(result.final.rehearsalPrecision!).toBeGreaterThanOrEqual(0);
    expect(result.final.rehearsalPrecision!).toBeLessThanOrEqual(1);
  });

  it('gives identical numbers for the same config and seed, different ones for another seed', async () => {
    const a = await runExperiment(smallConfig({ seed: 3 }), context);
    const b = await runExperiment(smallConfig({ seed: 3 }), context);
    const c = await runExperiment(smallConfig({ seed: 4 }), context);
    expect(b.series).toEqual(a.series);
    expect(Array.from(b.rehearsalLog)).toEqual(Array.from(a.rehearsalLog));
    expect(c.series).not.toEqual(a.series);
  });

  it('the diagnostic probe changes no number of the run (it only adds forward passes at evals)', async () => {
    let probed = 0;
    const withProbe = await runExperiment(
      smallConfig({ seed: 3, rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 300 } }),
      context,
      {
        onEval: (_point, trace, probe) => (probed += probe && trace?.trueCdRate ? probe.indices.length : 0),
      },
    );
    expect(probed).toBe(300 * withProbe.series.length);
    const without = await runExperiment(
      smallConfig({ seed: 3, rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 0 } }),
      context,
    );
    expect(without.series).toEqual(withProbe.series);
    expect(Array.from(without.rehearsalLog)).toEqual(Array.from(withProbe.rehearsalLog));
    expect(Array.from(without.rehearsalCategories)).toEqual(Array.from(withProbe.rehearsalCategories));
    expect(without.compute).toMatchObject({ forwardPasses: withProbe.compute.forwardPasses, extraForwardPasses: 0 });
  });

  it('keeps the tensor count flat over a run and across runs', async () => {
    await runExperiment(smallConfig(), context); // f0 cached in the context by now
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await runExperiment(smallConfig({ finetune: { steps: 60, evalEvery: 10 } }), context, {
      onEval: () => counts.push(tf.memory().numTensors),
    });
    expect(counts.length).toBe(7);
    // Step 0 is evaluated before the optimizer creates its momentum slots; from then on, flat.
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('none rehearses nothing and has no precision; it forgets more than random', async () => {
    const none = await runExperiment(
      smallConfig({ rehearsal: { strategy: 'none' }, finetune: { steps: 80 } }),
      context,
    );
    expect(none.compute.forwardPasses).toBe(80 * 32);
    expect(none.final.rehearsalPrecision).toBeNull();
    expect(none.rehearsalLog.length).toBe(0);
    expect(none.final.cdRate).toBeGreaterThan(0.2);
    const random = await runExperiment(
      smallConfig({ rehearsal: { strategy: 'random', budget: 0.5 }, finetune: { steps: 80 } }),
      context,
    );
    expect(random.final.pretrainTestAcc).toBeGreaterThan(none.final.pretrainTestAcc);
  });

  it('stops between steps when asked and reports the run as cancelled', async () => {
    let steps = 0;
    const result = await runExperiment(smallConfig({ finetune: { steps: 1000 } }), context, {
      onProgress: (p) => (steps = p.step),
      shouldStop: () => steps >= 20,
    });
    expect(result.status).toBe('cancelled');
    expect(result.compute.backwardPasses).toBe(20 * 40);
  });

  it("a run cancelled with feedback pending keeps every rehearsal's verdict", async () => {
    // Asked before every step: stop before step 25, between evals (every 10 steps), so step 24's
    // verdicts are still pending.
    let finetuning = false;
    let asked = 0;
    const result = await runExperiment(
      smallConfig({ finetune: { steps: 1000 }, rehearsal: { feedbackDelay: 1 } }),
      context,
      {
        onStart: () => (finetuning = true),
        shouldStop: () => finetuning && ++asked > 25,
      },
    );
    expect(result.status).toBe('cancelled');
    expect(result.rehearsalCategories.length).toBe(25 * 8);
    // The last step's verdicts were still in flight when it stopped: they are kept, not lost.
    expect(Array.from(result.rehearsalCategories).filter((c) => c === UNKNOWN_CATEGORY)).toEqual([]);
  });

  it('caches f0 and its prior pass on disk, so a new process starts from the same f0', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-f0-'));
    const config = smallConfig({ pretrain: { seed: 5 } });
    const first = await runExperiment(config, new ExperimentContext({ cacheDir: dir, loadData: () => source }));
    expect(first.f0Cached).toBe(false);
    const second = await runExperiment(config, new ExperimentContext({ cacheDir: dir, loadData: () => source }));
    expect(second.f0Cached).toBe(true);
    expect(second.f0Key).toBe(first.f0Key);
    expect(second.series).toEqual(first.series);
    expect(second.timing.setup).toBeLessThan(first.timing.setup);
  });

  it('trains a CNN on wasm', async () => {
    const config = smallConfig({
      model: { arch: 'cnn', filters: [4, 8] },
      pretrain: { epochs: 2 },
      finetune: { steps: 20, evalEvery: 20 },
    });
    const result = await runExperiment(config, context);
    expect(result.backend.backend).toBe('wasm');
    expect(result.prior.pretrainTestAcc).toBeGreaterThan(0.6);
    expect(result.final.finetuneTestAcc).toBeGreaterThan(result.prior.finetuneTestAcc);
  });
});
