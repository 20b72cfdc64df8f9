// The finetune loop with rehearsal (MIXCD.md), short enough to read in one sitting:
// each step trains on B finetune samples plus the m pretrain samples the strategy picks; the
// step's own forward pass tells the strategy which of those f_t misclassified.
import * as tf from '@tensorflow/tfjs-core';
import type { RunConfig } from '../../shared/config.js';
import { rehearsalBudget } from '../../shared/config.js';
import type { BinTrace, ComputeCounts, EvalPoint } from '../../shared/results.js';
import { CATEGORY_CODE, UNKNOWN_CATEGORY, categoryOf } from '../../shared/results.js';
import type { Scenario } from '../data/scenarios.js';
import { sampleSize } from '../data/dataset.js';
import type { InferFn, RehearsalStrategy } from '../sampler/strategy.js';
import { Rng } from '../sampler/rng.js';
import { BatchBuilder, EpochOrder } from './batches.js';
import {
  accuracy,
  collateralDamageRate,
  judge,
  judgeSubset,
  INFERENCE_CHUNK,
  type ResidentDataset,
} from './inference.js';
import type { Classifier } from './model.js';
import { createOptimizer, disposeOptimizer } from './optimizer.js';
import type { PriorPass } from './priorPass.js';
import { trainStep } from './trainStep.js';

export interface ProbeSnapshot {
  step: number;
  indices: Int32Array;
  /** CATEGORY_CODE per probe sample. */
  categories: Uint8Array;
}

export interface FinetuneObserver {
  onProgress?(p: { step: number; totalSteps: number; loss: number }): void;
  onEval?(point: EvalPoint, trace: BinTrace | null, probe: ProbeSnapshot | null): void;
  /** Polled between steps; true ends the run as cancelled. */
  shouldStop?(): boolean;
}

export interface FinetuneResult {
  status: 'finished' | 'cancelled';
  series: EvalPoint[];
  compute: Omit<ComputeCounts, 'wallSeconds'>;
  seconds: { train: number; evaluation: number; sampler: number; extraInference: number; observer: number };
  /** How often each pretrain sample was rehearsed. */
  rehearsalCounts: Uint32Array;
  /** (step, sample index) pairs of every rehearsal, in order. */
  rehearsalLog: Int32Array;
  /**
   * Per log entry: the sample's CATEGORY_CODE when it was rehearsed (f0's verdict against the
   * step's own forward pass, i.e. f_t before that step's update); UNKNOWN_CATEGORY when its
   * verdict never arrived (a run cancelled with feedback still pending).
   */
  rehearsalCategories: Uint8Array;
  /** Rehearsed samples whose verdict reached the strategy, and how many of them were CD. */
  verdicts: { rehearsed: number; damaged: number };
}

export interface FinetuneInputs {
  config: RunConfig;
  /** Starts as f0; trained in place. */
  model: Classifier;
  scenario: Scenario;
  prior: PriorPass;
  strategy: RehearsalStrategy;
  pretrainTest: ResidentDataset;
  finetuneTest: ResidentDataset;
  observer?: FinetuneObserver;
}

/** The probe subset is fixed by a constant, not the run seed, so every run of a study shares it. */
const PROBE_SEED = 0x9b0be;
/** Progress callbacks at most every this many steps (the loss read-back is a sync point on a GPU). */
const PROGRESS_EVERY = 10;

export function finetune(inputs: FinetuneInputs): FinetuneResult {
  const { config, model, scenario, prior, strategy, observer } = inputs;
  const pretrainSet = scenario.pretrainTrain;
  const finetuneSet = scenario.finetuneTrain;
  const B = config.finetune.batchSize;
  const m = rehearsalBudget(config);
  const steps = config.finetune.steps;
  const evalEvery = config.finetune.evalEvery;
  const delay = config.rehearsal.feedbackDelay ?? 0; // resolved per backend by runExperiment
  const featureSize = sampleSize(pretrainSet);

  const orderRng = new Rng(config.seed, 0x0bde);
  const order = new EpochOrder(finetuneSet.count, (a) => orderRng.shuffle(a));
  const batch = new BatchBuilder(featureSize, B + m);
  const inferBatch = new BatchBuilder(featureSize, Math.min(INFERENCE_CHUNK, pretrainSet.count));
  const optimizer = createOptimizer(config.finetune.optimizer);

  const compute = { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0 };
  const seconds = { train: 0, evaluation: 0, sampler: 0, extraInference: 0, observer: 0 };
  const rehearsalCounts = new Uint32Array(pretrainSet.count);
  let rehearsalLog = new Int32Array(Math.max(0, 2 * m * steps));
  let logLength = 0;
  // Verdicts arrive in log order (delay or not), so one cursor walks the log behind `logLength`.
  let rehearsalCategories = new Uint8Array(rehearsalLog.length / 2).fill(UNKNOWN_CATEGORY);
  let judged = 0;
  let rehearsedSinceEval = 0;
  let damagedSinceEval = 0;
  const verdictTotals = { rehearsed: 0, damaged: 0 };
  const series: EvalPoint[] = [];

  const probeIndices = drawProbe(pretrainSet.count, config.rehearsal.probe);

  const infer: InferFn = (indices) => {
    const t0 = performance.now();
    compute.extraForwardPasses += indices.length;
    compute.forwardPasses += indices.length;
    const verdicts = judgeSubset(model, pretrainSet, indices, inferBatch);
    const misclassified = new Uint8Array(indices.length);
    for (let j = 0; j < indices.length; j++) misclassified[j] = verdicts.correct[j] ? 0 : 1;
    seconds.extraInference += (performance.now() - t0) / 1000;
    return { misclassified, loss: verdicts.loss };
  };

  const deliver = (step: number, indices: Int32Array, flags: Uint8Array) => {
    const t0 = performance.now();
    strategy.observe(step, indices, flags);
    seconds.sampler += (performance.now() - t0) / 1000;
    for (let j = 0; j < indices.length; j++) {
      rehearsedSinceEval++;
      rehearsalCategories[judged++] = CATEGORY_CODE[categoryOf(prior.priorCorrect[indices[j]] === 1, flags[j] === 0)];
      if (flags[j] && prior.priorCorrect[indices[j]]) {
        damagedSinceEval++;
        verdictTotals.damaged++;
      }
    }
    verdictTotals.rehearsed += indices.length;
  };

  let pending: { step: number; indices: Int32Array; flags: tf.Tensor1D } | null = null;
  const flushPending = () => {
    if (!pending) return;
    const t0 = performance.now();
    const flags = pending.flags.dataSync() as Uint8Array;
    pending.flags.dispose();
    seconds.train += (performance.now() - t0) / 1000;
    deliver(pending.step, pending.indices, flags);
    pending = null;
  };

  const evaluate = (step: number) => {
    const t0 = performance.now();
    const pre = judge(model, inputs.pretrainTest);
    const fin = judge(model, inputs.finetuneTest);
    const point: EvalPoint = {
      step,
      pretrainTestAcc: accuracy(pre.correct),
      finetuneTestAcc: accuracy(fin.correct),
      cdRate: collateralDamageRate(prior.testCorrect, pre.correct),
      rehearsalPrecision: rehearsedSinceEval ? damagedSinceEval / rehearsedSinceEval : null,
    };
    rehearsedSinceEval = 0;
    damagedSinceEval = 0;
    let probe: ProbeSnapshot | null = null;
    let trueCd: { misclassified: number[]; total: number[] } | null = null;
    if (probeIndices.length) {
      // Diagnostic only: not counted as budget or compute.
      const verdicts = judgeSubset(model, pretrainSet, probeIndices, inferBatch);
      const categories = new Uint8Array(probeIndices.length);
      for (let j = 0; j < probeIndices.length; j++) {
        categories[j] = CATEGORY_CODE[categoryOf(prior.priorCorrect[probeIndices[j]] === 1, verdicts.correct[j] === 1)];
      }
      probe = { step, indices: probeIndices, categories };
      const binOf = strategy.binOf?.bind(strategy);
      if (binOf && strategy.trace) {
        trueCd = { misclassified: [], total: [] };
        for (let j = 0; j < probeIndices.length; j++) {
          const bin = binOf(probeIndices[j]);
          if (bin < 0) continue;
          trueCd.total[bin] = (trueCd.total[bin] ?? 0) + 1;
          trueCd.misclassified[bin] = (trueCd.misclassified[bin] ?? 0) + (verdicts.correct[j] ? 0 : 1);
        }
      }
    }
    seconds.evaluation += (performance.now() - t0) / 1000;
    const t1 = performance.now();
    let trace: BinTrace | null = strategy.trace ? strategy.trace(step) : null;
    if (trace && trueCd) {
      const bins = trace.size.length;
      const rates: (number | null)[] = new Array(bins);
      for (let k = 0; k < bins; k++) rates[k] = trueCd.total[k] ? trueCd.misclassified[k] / trueCd.total[k] : null;
      trace = { ...trace, trueCdRate: rates };
    }
    seconds.sampler += (performance.now() - t1) / 1000;
    series.push(point);
    const t2 = performance.now();
    observer?.onEval?.(point, trace, probe);
    seconds.observer += (performance.now() - t2) / 1000;
  };

  let status: FinetuneResult['status'] = 'finished';
  try {
    evaluate(0);
    for (let step = 0; step < steps; step++) {
      if (observer?.shouldStop?.()) {
        status = 'cancelled';
        flushPending(); // the last step's verdicts are computed already: keep them
        break;
      }
      const t0 = performance.now();
      const extraBefore = seconds.extraInference;
      const rehearsal = m > 0 ? strategy.select(step, m, infer) : new Int32Array(0);
      seconds.sampler += (performance.now() - t0) / 1000 - (seconds.extraInference - extraBefore);

      const t1 = performance.now();
      const view = batch.reset().add(finetuneSet, order.next(B)).add(pretrainSet, rehearsal).view();
      const { loss, misclassified } = trainStep(model, optimizer, view.pixels, view.labels, B);
      compute.forwardPasses += view.count;
      compute.backwardPasses += view.count;
      seconds.train += (performance.now() - t1) / 1000;

      for (let j = 0; j < rehearsal.length; j++) {
        rehearsalCounts[rehearsal[j]]++;
        rehearsalLog[logLength++] = step;
        rehearsalLog[logLength++] = rehearsal[j];
      }
      const verdicts = misclassified as tf.Tensor1D | null;
      if (verdicts) {
        if (delay === 0) {
          const t2 = performance.now();
          const flags = verdicts.dataSync() as Uint8Array;
          verdicts.dispose();
          seconds.train += (performance.now() - t2) / 1000;
          deliver(step, rehearsal, flags);
        } else {
          // Read the previous step's verdicts after this step is dispatched, so the copy
          // overlaps with work instead of stalling the device.
          flushPending();
          pending = { step, indices: rehearsal, flags: verdicts };
        }
      }

      const done = step + 1;
      if (observer?.onProgress && (done % PROGRESS_EVERY === 0 || done === steps)) {
        const t3 = performance.now();
        observer.onProgress({ step: done, totalSteps: steps, loss: loss.dataSync()[0] });
        seconds.observer += (performance.now() - t3) / 1000;
      }
      loss.dispose();
      if (done % evalEvery === 0 || done === steps) {
        flushPending();
        evaluate(done);
      }
    }
  } finally {
    if (pending) (pending as { flags: tf.Tensor1D }).flags.dispose();
    disposeOptimizer(optimizer);
  }
  if (logLength < rehearsalLog.length) {
    rehearsalLog = rehearsalLog.slice(0, logLength);
    rehearsalCategories = rehearsalCategories.slice(0, logLength / 2);
  }
  return {
    status,
    series,
    compute,
    seconds,
    rehearsalCounts,
    rehearsalLog,
    rehearsalCategories,
    verdicts: verdictTotals,
  };
}

function drawProbe(size: number, requested: number): Int32Array {
  const n = Math.min(size, requested);
  if (n <= 0) return new Int32Array(0);
  const all = new Int32Array(size);
  for (let i = 0; i < size; i++) all[i] = i;
  new Rng(PROBE_SEED, 0).shuffle(all);
  return all.slice(0, n).sort();
}
