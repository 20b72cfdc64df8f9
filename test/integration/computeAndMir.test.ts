// Compute units counted by the loop, equal compute across strategies, and MIR's virtual step.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { STRATEGIES } from '../../shared/config.js';
import { computeUnits, resolveRehearsal } from '../../shared/computeBudget.js';
import type { ImageDataset } from '../../src-main/data/dataset.js';
import { buildScenario } from '../../src-main/data/scenarios.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { BatchBuilder } from '../../src-main/engine/batches.js';
import { finetune } from '../../src-main/engine/finetune.js';
import { ResidentDataset } from '../../src-main/engine/inference.js';
import { createClassifier } from '../../src-main/engine/model.js';
import { createOptimizer } from '../../src-main/engine/optimizer.js';
import { priorPass } from '../../src-main/engine/priorPass.js';
import { trainStep } from '../../src-main/engine/trainStep.js';
import { VirtualStep } from '../../src-main/engine/virtualStep.js';
import { createMir, createStrategy } from '../../src-main/sampler/index.js';
import { smallConfig, syntheticSource } from '../helpers/syntheticData.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('compute units per strategy', () => {
  const source = syntheticSource(600, 200);
  const scenario = buildScenario('rot90', source.train, source.test);

  it('add up exactly (counted passes x unit costs) and match random at the same compute budget', () => {
    const model = createClassifier({ arch: 'mlp', hidden: [16] }, { height: 12, width: 12, channels: 1 }, 10, 0);
    const f0 = model.getWeights();
    const pretrainTest = new ResidentDataset(scenario.pretrainTest);
    const finetuneTest = new ResidentDataset(scenario.finetuneTest);
    const train = new ResidentDataset(scenario.pretrainTrain);
    const prior = priorPass(model, train, pretrainTest, finetuneTest);
    train.dispose();
    const index = {
      size: scenario.pretrainTrain.count,
      numClasses: 10,
      labels: scenario.pretrainTrain.labels,
      priorLoss: prior.priorLoss,
      priorCorrect: prior.priorCorrect,
    };
    const steps = 20;
    const units: Record<string, number> = {};
    for (const strategy of STRATEGIES) {
      model.setWeights(f0);
      const config = smallConfig({
        finetune: { steps, evalEvery: 10 },
        // All 600 samples as candidates: oracle-cd's refresh pool (120) must be smaller than them,
        // or it scores all of them and spends less than its budget.
        rehearsal: { strategy, budget: 0.25, computeBudget: 0.25, probe: 50, mixCd: { candidates: 'all' } },
      });
      const resolved = resolveRehearsal(config);
      const result = finetune({
        config,
        model,
        scenario,
        prior,
        strategy: createStrategy(resolved.rehearsal, index, config.seed),
        pretrainTest,
        finetuneTest,
      });
      const B = 32;
      const m = resolved.m;
      const k = resolved.pool ?? 0;
      // Extra inference each strategy should have asked for: none/random/mix-cd nothing, loss-based
      // k per step, MIR 2k per step, oracle-cd k per refresh (steps 0 and 10).
      const extra = { 'loss-based': steps * k, mir: steps * 2 * k, 'oracle-cd': 2 * k }[strategy as string] ?? 0;
      expect(result.compute.extraForwardPasses, strategy).toBe(extra);
      expect(result.compute.forwardPasses, strategy).toBe(steps * (B + m) + extra);
      expect(result.compute.backwardPasses, strategy).toBe(steps * (B + m));
      expect(computeUnits(result.compute), strategy).toBe(3 * steps * (B + m) + extra);
      expect(computeUnits(result.compute), strategy).toBe(steps * resolved.unitsPerStep);
      // Per eval point: the units spent so far; the probe is not counted.
      expect(result.series.map((p) => p.computeUnits)).toEqual([0, 10, 20].map((s) => (s / steps) * units_(result)));
      expect(result.compute.probeForwardPasses).toBe(3 * 50);
      units[strategy] = computeUnits(result.compute);
    }
    expect(units.none).toBe(3 * steps * 32);
    for (const strategy of ['mix-cd', 'loss-based', 'oracle-cd', 'mir']) {
      // Within one sample's cost (3 units) per step of random mixing.
      expect(Math.abs(units[strategy] - units.random), strategy).toBeLessThan(3 * steps);
    }
    model.dispose();
    pretrainTest.dispose();
    finetuneTest.dispose();
  });
});

/** Units are spent evenly per step except oracle-cd's refreshes; the series' last point is the total. */
function units_(result: { compute: { forwardPasses: number; backwardPasses: number } }): number {
  return computeUnits(result.compute);
}

/** A 1x2-pixel, 2-class dataset from rows of [pixel0, pixel1, label]. */
function tinyData(rows: [number, number, number][]): ImageDataset {
  return {
    count: rows.length,
    height: 1,
    width: 2,
    channels: 1,
    numClasses: 2,
    images: Uint8Array.from(rows.flatMap(([a, b]) => [a, b])),
    labels: Uint8Array.from(rows.map((r) => r[2])),
  };
}

describe('MIR: the virtual SGD step', () => {
  const spec = { arch: 'mlp' as const, hidden: [4] };
  const input = { height: 1, width: 2, channels: 1 };

  it('rehearses the samples whose loss the finetune step raises most, and restores the weights', () => {
    // The finetune batch says "pixel 0 lit => class 1". Pretrain samples with pixel 0 lit and class 0
    // are the ones that step interferes with (their loss must rise); the same inputs with class 1
    // gain from it (loss falls); samples with only pixel 1 lit are barely touched.
    const pretrain = tinyData([
      [255, 0, 1],
      [255, 10, 1],
      [0, 255, 0],
      [255, 20, 0], // interfered
      [0, 250, 1],
      [255, 30, 0], // interfered
      [250, 0, 0], // interfered
      [255, 40, 1],
    ]);
    const interfered = [3, 5, 6];
    const finetuneBatch = tinyData(Array.from({ length: 8 }, (_, j) => [255, 5 * j, 1] as [number, number, number]));
    const model = createClassifier(spec, input, 2, 3);
    const before = model.getWeights();
    const builder = new BatchBuilder(2, 8);
    const virtual = new VirtualStep(model, 0.5, pretrain, builder);
    const ft = new BatchBuilder(2, 8)
      .add(
        finetuneBatch,
        Int32Array.from({ length: 8 }, (_, j) => j),
      )
      .view();
    virtual.prepare(ft.pixels, ft.labels);
    const all = Int32Array.from({ length: 8 }, (_, j) => j);
    const rise = virtual.interference(all);
    expect(model.getWeights()).toEqual(before); // restored exactly
    for (const j of interfered) expect(rise[j], `sample ${j}`).toBeGreaterThan(0);
    for (const j of [0, 1, 7]) expect(rise[j], `sample ${j}`).toBeLessThan(0);
    expect(virtual.extraForwardPasses).toBe(16); // before and after, 8 candidates

    // The strategy: a pool of all 8 (c = 8 / 3), keeps the 3 that rise most.
    const index = {
      size: 8,
      numClasses: 2,
      labels: pretrain.labels,
      priorLoss: new Float32Array(8),
      priorCorrect: new Uint8Array(8).fill(1),
    };
    const mir = createMir(index, { poolFactor: 8 / 3 }, 1);
    const chosen = mir.select(
      0,
      3,
      () => {
        throw new Error('MIR must not call plain inference');
      },
      virtual.interference,
    );
    expect([...chosen].sort()).toEqual(interfered);
    expect(mir.extraForwardPasses).toBe(16);
    virtual.dispose();
    model.dispose();
  });

  it("reuses the finetune gradient: the real step's update equals the plain training step's", () => {
    const source = syntheticSource(64, 8);
    const x = new BatchBuilder(144, 40)
      .add(
        source.train,
        Int32Array.from({ length: 40 }, (_, j) => j),
      )
      .view();
    const a = createClassifier({ arch: 'mlp', hidden: [8] }, { height: 12, width: 12, channels: 1 }, 10, 5);
    const b = createClassifier({ arch: 'mlp', hidden: [8] }, { height: 12, width: 12, channels: 1 }, 10, 5);
    const optA = createOptimizer({ name: 'momentum', lr: 0.05, momentum: 0.9 });
    const optB = createOptimizer({ name: 'momentum', lr: 0.05, momentum: 0.9 });
    const virtual = new VirtualStep(b, 0.05, source.train, new BatchBuilder(144, 40));
    for (let step = 0; step < 3; step++) {
      const plain = trainStep(a, optA, x.pixels, x.labels, 32);
      virtual.prepare(x.pixels.subarray(0, 32 * 144), x.labels.subarray(0, 32));
      virtual.interference(Int32Array.of(40, 41, 42)); // scoring must leave no trace
      const reused = virtual.trainStep(optB, x.pixels, x.labels, 32);
      expect(reused.loss.dataSync()[0]).toBeCloseTo(plain.loss.dataSync()[0], 5);
      expect(Array.from(reused.misclassified!.dataSync())).toEqual(Array.from(plain.misclassified!.dataSync()));
      for (const t of [plain.loss, plain.misclassified!, reused.loss, reused.misclassified!]) t.dispose();
    }
    const wa = a.getWeights();
    const wb = b.getWeights();
    wa.forEach((w, i) => w.forEach((v, j) => expect(wb[i][j]).toBeCloseTo(v, 5)));
    const tensors = tf.memory().numTensors;
    virtual.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(tensors);
    for (const o of [optA, optB]) o.dispose();
    a.dispose();
    b.dispose();
  });
});
