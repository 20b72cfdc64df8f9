// MIR's virtual SGD step (Aljundi et al. 2019): the gradient of the incoming finetune batch is
// computed first; `interference` scores candidates' loss before and after one plain SGD step
// w - lr * g_ft and restores the weights; the real training step then reuses g_ft for its finetune
// half and only runs forward and backward over the m rehearsed rows:
//   grad of mean_{B+m} CE = (B * g_ft + sum_reh grad CE) / (B + m),
// the same update as the plain training step, so MIR's own cost is only the 2 forward passes per
// candidate (counted as extra inference by the loop).
import * as tf from '@tensorflow/tfjs-core';
import type { ImageDataset } from '../data/dataset.js';
import type { InterferenceFn } from '../sampler/strategy.js';
import type { BatchBuilder } from './batches.js';
import { judgeSubset } from './inference.js';
import type { Classifier } from './model.js';
import type { Updater } from './optimizer.js';
import type { StepResult } from './trainStep.js';

function meanCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number, divisor: number): tf.Scalar {
  return tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, numClasses)))), divisor) as tf.Scalar;
}

export class VirtualStep {
  /** g_ft: gradient of the mean loss over the finetune batch, keyed by variable name. */
  private finetuneGrads: tf.NamedTensorMap | null = null;
  private finetuneLoss: tf.Scalar | null = null;
  /** Extra forward sample-passes spent scoring (2 per candidate). */
  extraForwardPasses = 0;

  constructor(
    private readonly model: Classifier,
    /** The virtual step's learning rate: the finetune optimizer's (plain SGD, as in MIR). */
    private readonly lr: number,
    private readonly pretrainSet: ImageDataset,
    private readonly builder: BatchBuilder,
    private readonly onExtraForward: (samples: number) => void = () => {},
  ) {}

  /** Gradient of the finetune batch at the current weights (the training step's finetune half). */
  prepare(pixels: Float32Array, labels: Int32Array): void {
    this.release();
    const n = labels.length;
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor2d(pixels, [n, pixels.length / n], 'float32');
      const y = tf.tensor1d(labels, 'int32');
      return tf.variableGrads(
        () => meanCrossEntropy(this.model.logits(x), y, this.model.numClasses, n),
        this.model.variables,
      );
    });
    this.finetuneGrads = grads;
    this.finetuneLoss = value;
  }

  /** Loss after the virtual step minus loss before, per sample; weights restored. */
  readonly interference: InterferenceFn = (indices) => {
    const grads = this.finetuneGrads;
    if (!grads) throw new Error('VirtualStep.interference called before prepare().');
    const before = judgeSubset(this.model, this.pretrainSet, indices, this.builder).loss;
    const saved = this.model.variables.map((v) => tf.keep(tf.clone(v)));
    let after: Float32Array;
    try {
      tf.tidy(() => {
        for (const v of this.model.variables) v.assign(tf.sub(v, tf.mul(grads[v.name], this.lr)));
      });
      after = judgeSubset(this.model, this.pretrainSet, indices, this.builder).loss;
    } finally {
      this.model.variables.forEach((v, i) => v.assign(saved[i]));
      saved.forEach((t) => t.dispose());
    }
    this.extraForwardPasses += 2 * indices.length;
    this.onExtraForward(2 * indices.length);
    const rise = new Float32Array(indices.length);
    for (let j = 0; j < indices.length; j++) rise[j] = after[j] - before[j];
    return rise;
  };

  /**
   * The real step over the whole batch (rows [0, B) finetune, as given to prepare; [B, n)
   * rehearsal), reusing g_ft: one update equal to the plain training step's.
   */
  trainStep(optimizer: tf.Optimizer | Updater, pixels: Float32Array, labels: Int32Array, B: number): StepResult {
    const grads = this.finetuneGrads;
    const ftLoss = this.finetuneLoss;
    if (!grads || !ftLoss) throw new Error('VirtualStep.trainStep called before prepare().');
    const n = labels.length;
    const m = n - B;
    let misclassified: tf.Tensor1D | null = null;
    const loss = tf.tidy(() => {
      let combined: tf.NamedTensorMap;
      let total: tf.Scalar;
      if (m > 0) {
        const features = pixels.length / n;
        const x = tf.tensor2d(pixels.subarray(B * features), [m, features], 'float32');
        const y = tf.tensor1d(labels.subarray(B), 'int32');
        const { value, grads: rehearsalGrads } = tf.variableGrads(() => {
          const logits = this.model.logits(x);
          misclassified = tf.keep(tf.notEqual(tf.argMax(logits, 1), y)) as tf.Tensor1D;
          return meanCrossEntropy(logits, y, this.model.numClasses, n);
        }, this.model.variables);
        combined = {};
        for (const v of this.model.variables) {
          combined[v.name] = tf.add(tf.mul(grads[v.name], B / n), rehearsalGrads[v.name]);
        }
        total = tf.add(tf.mul(ftLoss, B / n), value) as tf.Scalar;
      } else {
        combined = grads;
        total = tf.clone(ftLoss);
      }
      optimizer.applyGradients(combined);
      return total;
    });
    this.release();
    return { loss, misclassified };
  }

  /**
   * Between steps the virtual step holds no gradient (trainStep releases it), so its only state
   * is the counter; snapshot() refuses mid-step use.
   */
  snapshot(): { extraForwardPasses: number } {
    if (this.finetuneGrads) throw new Error('VirtualStep.snapshot() called between prepare() and trainStep().');
    return { extraForwardPasses: this.extraForwardPasses };
  }

  restore(state: { extraForwardPasses: number }): void {
    this.release();
    this.extraForwardPasses = state.extraForwardPasses;
  }

  private release(): void {
    if (this.finetuneGrads) for (const g of Object.values(this.finetuneGrads)) g.dispose();
    this.finetuneLoss?.dispose();
    this.finetuneGrads = null;
    this.finetuneLoss = null;
  }

  dispose(): void {
    this.release();
  }
}
