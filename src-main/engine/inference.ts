// Forward passes without gradients: evaluation, the prior pass, and the extra inference some
// strategies pay for. Chunked so memory stays bounded whatever the dataset size.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';
import type { Classifier } from './model.js';
import { BatchBuilder } from './batches.js';

export const INFERENCE_CHUNK = 2000;

/** Per-sample cross-entropy of integer labels: -log softmax(logits)[label]. */
export function perSampleLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Tensor1D {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(logProbs, tf.oneHot(labels, numClasses)), 1)) as tf.Tensor1D;
  });
}

export interface Verdicts {
  /** 1 where the model's top class equals the label. */
  correct: Uint8Array;
  loss?: Float32Array;
}

/**
 * A dataset resident on the backend as float inputs, so repeated evaluations do not re-upload
 * it. Dispose when the run ends.
 */
export class ResidentDataset {
  readonly x: tf.Tensor2D;
  readonly y: tf.Tensor1D;
  readonly count: number;

  constructor(data: ImageDataset) {
    const size = sampleSize(data);
    const all = new Int32Array(data.count);
    for (let i = 0; i < data.count; i++) all[i] = i;
    const view = new BatchBuilder(size, data.count).add(data, all).view();
    this.x = tf.tensor2d(view.pixels, [data.count, size], 'float32');
    this.y = tf.tensor1d(view.labels, 'int32');
    this.count = data.count;
  }

  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
}

/** Correctness (and optionally loss) of the model on every sample of a resident dataset. */
export function judge(model: Classifier, data: ResidentDataset, withLoss = false): Verdicts {
  const correct = new Uint8Array(data.count);
  const loss = withLoss ? new Float32Array(data.count) : undefined;
  for (let start = 0; start < data.count; start += INFERENCE_CHUNK) {
    const size = Math.min(INFERENCE_CHUNK, data.count - start);
    const result = tf.tidy(() => {
      const x = tf.slice(data.x, [start, 0], [size, -1]);
      const y = tf.slice(data.y, [start], [size]);
      const logits = model.logits(x);
      const hit = tf.equal(tf.argMax(logits, 1), y);
      return withLoss ? hitsAndLosses(hit, perSampleLoss(logits, y, model.numClasses)) : hit;
    });
    if (loss) readHitsAndLosses(result, correct, loss, start);
    else correct.set(result.dataSync() as Uint8Array, start);
    result.dispose();
  }
  return { correct, loss };
}

/** Verdicts on a subset of a dataset given by indices (strategies' extra inference, probes). */
export function judgeSubset(
  model: Classifier,
  data: ImageDataset,
  indices: Int32Array,
  builder: BatchBuilder,
): Required<Verdicts> {
  const correct = new Uint8Array(indices.length);
  const loss = new Float32Array(indices.length);
  for (let start = 0; start < indices.length; start += INFERENCE_CHUNK) {
    const part = indices.subarray(start, Math.min(indices.length, start + INFERENCE_CHUNK));
    const view = builder.reset().add(data, part).view();
    const both = tf.tidy(() => {
      const x = tf.tensor2d(view.pixels, [view.count, builder.featureSize], 'float32');
      const y = tf.tensor1d(view.labels, 'int32');
      const logits = model.logits(x);
      return hitsAndLosses(tf.equal(tf.argMax(logits, 1), y), perSampleLoss(logits, y, model.numClasses));
    });
    readHitsAndLosses(both, correct, loss, start);
    both.dispose();
  }
  return { correct, loss };
}

/**
 * Hits and losses of a batch as one [2, n] float tensor, so a batch costs one read-back (on a
 * GPU each read is a sync point). 0/1 and float32 losses are exact in float32: same numbers.
 */
function hitsAndLosses(hits: tf.Tensor, losses: tf.Tensor): tf.Tensor2D {
  return tf.stack([tf.cast(hits, 'float32'), losses]) as tf.Tensor2D;
}

function readHitsAndLosses(both: tf.Tensor, correct: Uint8Array, loss: Float32Array, start: number): void {
  const values = both.dataSync() as Float32Array;
  const n = values.length / 2;
  for (let i = 0; i < n; i++) correct[start + i] = values[i];
  loss.set(values.subarray(n), start);
}

export function accuracy(correct: Uint8Array): number {
  let hits = 0;
  for (let i = 0; i < correct.length; i++) hits += correct[i];
  return correct.length ? hits / correct.length : 0;
}

/** Share of f0-correct samples that the current model misclassifies (collateral damage rate). */
export function collateralDamageRate(priorCorrect: Uint8Array, correct: Uint8Array): number {
  let base = 0;
  let damaged = 0;
  for (let i = 0; i < correct.length; i++) {
    if (priorCorrect[i]) {
      base++;
      if (!correct[i]) damaged++;
    }
  }
  return base ? damaged / base : 0;
}
