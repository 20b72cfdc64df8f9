// Sampler benchmark: mix-cd's hot path (select + observe per finetune step) at the scale the
// design targets, N = 10^7 pretrain samples and K = 1,000 bins, with random mixing measured in
// the same run as the reference. Also the one-off partition build and the state per sample.
import { mixCdSchema } from '../shared/config.js';
import { buildPartition } from '../src-main/sampler/partition.js';
import { createMixCd } from '../src-main/sampler/mixCd.js';
import { createRandom } from '../src-main/sampler/random.js';
import { Rng } from '../src-main/sampler/rng.js';
import type { InferFn, PretrainIndex, RehearsalStrategy } from '../src-main/sampler/strategy.js';

export interface SamplerBenchOptions {
  size?: number;
  bins?: number;
  m?: number;
  /** Timed batches and steps per batch; the median batch gives the per-step time. */
  batches?: number;
  stepsPerBatch?: number;
}

const noInfer: InferFn = () => {
  throw new Error('not used by mix-cd or random');
};

/** A synthetic prior pass: 10 classes, l0 ~ exponential, 90% prior-correct. */
function syntheticIndex(size: number): PretrainIndex {
  const rng = new Rng(2024, 1);
  const labels = new Uint8Array(size);
  const priorLoss = new Float32Array(size);
  const priorCorrect = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    labels[i] = rng.int(10);
    priorLoss[i] = -Math.log(1 - rng.next()) * 0.3;
    priorCorrect[i] = rng.next() < 0.9 ? 1 : 0;
  }
  return { size, numClasses: 10, labels, priorLoss, priorCorrect };
}

/**
 * Median microseconds per step of select + observe, after a warm-up of one batch. With
 * `delay` = 1 the outcome of step t is observed after select(t + 1) (rehearsal.feedbackDelay).
 */
function timeSteps(
  strategy: RehearsalStrategy,
  m: number,
  batches: number,
  stepsPerBatch: number,
  clock: { step: number },
  delay = 0,
): number {
  // Pre-drawn outcomes (20% CD), so the loop times the sampler rather than an outcome generator.
  const rng = new Rng(7, 7);
  const outcomes = Array.from({ length: 64 }, () => Uint8Array.from({ length: m }, () => (rng.next() < 0.2 ? 1 : 0)));
  let step = clock.step; // steps keep increasing across calls on one strategy
  let pending: Int32Array | null = null;
  const run = (steps: number) => {
    for (let s = 0; s < steps; s++, step++) {
      const picked = strategy.select(step, m, noInfer);
      if (delay === 0) strategy.observe(step, picked, outcomes[step & 63]);
      else {
        if (pending) strategy.observe(step - 1, pending, outcomes[(step - 1) & 63]);
        pending = picked;
      }
    }
  };
  run(stepsPerBatch);
  const perStep: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    run(stepsPerBatch);
    perStep.push(Number(process.hrtime.bigint() - t0) / 1e3 / stepsPerBatch);
  }
  if (pending) strategy.observe(step - 1, pending, outcomes[(step - 1) & 63]);
  clock.step = step;
  perStep.sort((x, y) => x - y);
  return perStep[perStep.length >> 1];
}

const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function benchSampler(options: SamplerBenchOptions = {}): string[] {
  const { size = 10_000_000, bins = 1000, m = 64, batches = 31, stepsPerBatch = 2000 } = options;
  const index = syntheticIndex(size);
  const config = mixCdSchema.parse({
    rule: 'prior-loss',
    bins,
    candidates: 'prior-correct',
    prior: 'pooled',
    gamma: 0.995,
    epsilon: 0.02,
  });

  const t0 = process.hrtime.bigint();
  const partition = buildPartition(index, config.rule, config.bins, config.candidates);
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const mixCd = createMixCd(index, config, 1, partition);
  const random = createRandom(size, 1);
  // Interleave the two so that machine noise hits both alike.
  const mixUs: number[] = [];
  const delayedUs: number[] = [];
  const randomUs: number[] = [];
  // One mix-cd instance for both feedback timings, so the comparison is not between instances.
  const mixClock = { step: 0 };
  const randomClock = { step: 0 };
  for (let round = 0; round < 3; round++) {
    mixUs.push(timeSteps(mixCd, m, batches, stepsPerBatch, mixClock));
    randomUs.push(timeSteps(random, m, batches, stepsPerBatch, randomClock));
    delayedUs.push(timeSteps(mixCd, m, batches, stepsPerBatch, mixClock, 1));
  }
  const mix = Math.min(...mixUs);
  const rand = Math.min(...randomUs);
  const bytes = mixCd.stateBytes;
  return [
    `sampler bench: N = ${fmt(size)} pretrain samples (${fmt(partition.candidateCount)} prior-correct candidates), ` +
      `K = ${fmt(partition.numBins)} prior-loss bins, m = ${m}`,
    `partition build (one-off): ${fmt(buildMs)} ms`,
    `mix-cd select+observe: ${fmt(mix, 2)} us/step (median of ${batches} batches ` +
      `x ${fmt(stepsPerBatch)} steps, best of 3 rounds; goal < 20)`,
    `mix-cd, outcomes observed one step late: ${fmt(Math.min(...delayedUs), 2)} us/step`,
    `random select+observe: ${fmt(rand, 2)} us/step (reference, same run)`,
    `ratio mix-cd / random: ${fmt(mix / rand, 2)}x`,
    `mix-cd sampler state: ${fmt(bytes / size, 2)} bytes per pretrain sample ` +
      `(${fmt(bytes / 1e6, 1)} MB of typed arrays; goal < 8)`,
  ];
}
