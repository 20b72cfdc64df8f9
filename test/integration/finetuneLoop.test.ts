// The loop's contract with a strategy: one forward pass per step gives the verdicts, handed over
// in order (or one step late with feedbackDelay = 1); extra inference only when asked, counted.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildScenario } from '../../src-main/data/scenarios.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { finetune } from '../../src-main/engine/finetune.js';
import { judgeSubset, ResidentDataset } from '../../src-main/engine/inference.js';
import { BatchBuilder } from '../../src-main/engine/batches.js';
import { createClassifier } from '../../src-main/engine/model.js';
import { priorPass } from '../../src-main/engine/priorPass.js';
import type { RehearsalStrategy } from '../../src-main/sampler/strategy.js';
import { CATEGORY_CODE, categoryOf } from '../../shared/results.js';
import { smallConfig, syntheticSource } from '../helpers/syntheticData.js';

const source = syntheticSource(600, 200);
const scenario = buildScenario('rot90', source.train, source.test);

beforeAll(async () => {
  await initBackend('wasm');
});

function setup() {
  const model = createClassifier({ arch: 'mlp', hidden: [16] }, { height: 12, width: 12, channels: 1 }, 10, 0);
  const pretrainTest = new ResidentDataset(scenario.pretrainTest);
  const finetuneTest = new ResidentDataset(scenario.finetuneTest);
  const train = new ResidentDataset(scenario.pretrainTrain);
  const prior = priorPass(model, train, pretrainTest, finetuneTest);
  train.dispose();
  return {
    model,
    pretrainTest,
    finetuneTest,
    prior,
    dispose: () => (model.dispose(), pretrainTest.dispose(), finetuneTest.dispose()),
  };
}

/** Picks fixed samples and records the calls it gets. */
function recordingStrategy(options: { inferEvery?: number } = {}) {
  const events: string[] = [];
  const observed: { step: number; indices: number[]; flags: number[] }[] = [];
  let inferred = 0;
  const strategy: RehearsalStrategy = {
    name: 'random',
    select(step, m, infer) {
      events.push(`select ${step}`);
      if (options.inferEvery && step % options.inferEvery === 0)
        inferred += infer(Int32Array.from({ length: 50 }, (_, i) => i)).loss.length;
      return Int32Array.from({ length: m }, (_, j) => (step * m + j) % scenario.pretrainTrain.count);
    },
    observe(step, indices, flags) {
      events.push(`observe ${step}`);
      observed.push({ step, indices: Array.from(indices), flags: Array.from(flags) });
    },
  };
  return { strategy, events, observed, inferred: () => inferred };
}

describe('finetune loop', () => {
  it('hands the training forward pass verdicts to the strategy, once per step, in order', () => {
    const s = setup();
    const rec = recordingStrategy();
    const config = smallConfig({ finetune: { steps: 6, evalEvery: 3 }, rehearsal: { budget: 0.25 } });
    // The verdicts must be f_t's *before* the step's update: check against a copy of the model.
    const copy = createClassifier({ arch: 'mlp', hidden: [16] }, { height: 12, width: 12, channels: 1 }, 10, 0);
    const builder = new BatchBuilder(144, 64);
    const expectedFirst = judgeSubset(
      copy,
      scenario.pretrainTrain,
      Int32Array.from({ length: 8 }, (_, j) => j),
      builder,
    );
    const result = finetune({
      config,
      model: s.model,
      scenario,
      prior: s.prior,
      strategy: rec.strategy,
      pretrainTest: s.pretrainTest,
      finetuneTest: s.finetuneTest,
    });
    expect(rec.events).toEqual([
      'select 0',
      'observe 0',
      'select 1',
      'observe 1',
      'select 2',
      'observe 2',
      'select 3',
      'observe 3',
      'select 4',
      'observe 4',
      'select 5',
      'observe 5',
    ]);
    expect(rec.observed[0].indices).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(rec.observed[0].flags).toEqual(Array.from(expectedFirst.correct, (c) => 1 - c));
    expect(result.compute.extraForwardPasses).toBe(0);
    expect(result.compute.forwardPasses).toBe(6 * 40);
    // Precision per eval = CD among the rehearsed (prior-correct and now wrong) / rehearsed.
    const firstInterval = rec.observed.filter((o) => o.step < 3);
    let damaged = 0;
    for (const o of firstInterval)
      o.indices.forEach((i, j) => (damaged += o.flags[j] && s.prior.priorCorrect[i] ? 1 : 0));
    expect(result.series[1].rehearsalPrecision).toBeCloseTo(damaged / 24, 10);
    // Each rehearsal's stored category is f0's verdict against that same forward pass.
    const expectedCategories = rec.observed.flatMap((o) =>
      o.indices.map((i, j) => CATEGORY_CODE[categoryOf(s.prior.priorCorrect[i] === 1, o.flags[j] === 0)]),
    );
    expect(Array.from(result.rehearsalCategories)).toEqual(expectedCategories);
    expect(result.rehearsalCategories.length).toBe(result.rehearsalLog.length / 2);
    // Entry j of the categories belongs to entry j of the log: same step, same sample.
    const observedPairs = rec.observed.flatMap((o) => o.indices.map((i) => [o.step, i]));
    const logPairs = Array.from({ length: result.rehearsalLog.length / 2 }, (_, j) => [
      result.rehearsalLog[2 * j],
      result.rehearsalLog[2 * j + 1],
    ]);
    expect(logPairs).toEqual(observedPairs);
    expect(new Set(expectedCategories).size).toBeGreaterThan(1);
    copy.dispose();
    s.dispose();
  });

  it("with feedbackDelay = 1 delivers each step's verdicts after the next step is dispatched", () => {
    const s = setup();
    const rec = recordingStrategy();
    const config = smallConfig({ finetune: { steps: 4, evalEvery: 2 }, rehearsal: { budget: 0.25, feedbackDelay: 1 } });
    const before = tf.memory().numTensors;
    const result = finetune({
      config,
      model: s.model,
      scenario,
      prior: s.prior,
      strategy: rec.strategy,
      pretrainTest: s.pretrainTest,
      finetuneTest: s.finetuneTest,
    });
    // Evaluations flush pending verdicts, so none cross an eval boundary.
    expect(rec.events).toEqual([
      'select 0',
      'select 1',
      'observe 0',
      'observe 1',
      'select 2',
      'select 3',
      'observe 2',
      'observe 3',
    ]);
    // Late verdicts still land on their own log entries.
    const late = rec.observed.flatMap((o) =>
      o.indices.map((i, j) => CATEGORY_CODE[categoryOf(s.prior.priorCorrect[i] === 1, o.flags[j] === 0)]),
    );
    expect(Array.from(result.rehearsalCategories)).toEqual(late);
    expect(
      Array.from({ length: result.rehearsalLog.length / 2 }, (_, j) => [
        result.rehearsalLog[2 * j],
        result.rehearsalLog[2 * j + 1],
      ]),
    ).toEqual(rec.observed.flatMap((o) => o.indices.map((i) => [o.step, i])));
    expect(tf.memory().numTensors).toBe(before);
    s.dispose();
  });

  it('counts every sample a strategy asks to infer as an extra forward pass', () => {
    const s = setup();
    const rec = recordingStrategy({ inferEvery: 2 });
    const config = smallConfig({ finetune: { steps: 6, evalEvery: 6 }, rehearsal: { budget: 0.25 } });
    const result = finetune({
      config,
      model: s.model,
      scenario,
      prior: s.prior,
      strategy: rec.strategy,
      pretrainTest: s.pretrainTest,
      finetuneTest: s.finetuneTest,
    });
    expect(rec.inferred()).toBe(150);
    expect(result.compute.extraForwardPasses).toBe(150);
    expect(result.compute.forwardPasses).toBe(6 * 40 + 150);
    s.dispose();
  });
});
