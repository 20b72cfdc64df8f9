// One optimizer step on a batch, with the forward pass's verdicts kept for the sampler.
// The logits computed for the loss also tell which rehearsed samples f_t misclassifies
// (before the update): no second inference.
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from './model.js';
import type { Updater } from './optimizer.js';

export interface StepResult {
  /** Mean loss of the batch (a scalar tensor the caller owns; read it only when needed). */
  loss: tf.Scalar;
  /** 1 where the sample at batch row >= verdictFrom was misclassified (caller owns), or null. */
  misclassified: tf.Tensor1D | null;
}

/**
 * Mean cross-entropy over all rows (finetune and rehearsal samples together, as the reference
 * does), one update; verdicts for rows [verdictFrom, n).
 */
export function trainStep(
  model: Classifier,
  optimizer: tf.Optimizer | Updater,
  pixels: Float32Array,
  labels: Int32Array,
  verdictFrom: number,
): StepResult {
  const n = labels.length;
  let misclassified: tf.Tensor1D | null = null;
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(pixels, [n, pixels.length / n], 'float32');
    const y = tf.tensor1d(labels, 'int32');
    const oneHot = tf.oneHot(y, model.numClasses);
    const f = () => {
      const logits = model.logits(x, true);
      if (verdictFrom < n) {
        const tail = tf.slice(logits, [verdictFrom, 0], [n - verdictFrom, -1]);
        misclassified = tf.keep(
          tf.notEqual(tf.argMax(tail, 1), tf.slice(y, [verdictFrom], [n - verdictFrom])),
        ) as tf.Tensor1D;
      }
      return tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), oneHot))), n) as tf.Scalar;
    };
    // A plain optimizer (pretraining) trains every trainable weight; an Updater knows its own.
    return (
      optimizer instanceof tf.Optimizer
        ? optimizer.minimize(
            f,
            true,
            model.layers.flatMap((l) => l.trainable),
          )
        : optimizer.minimize(f, true)
    ) as tf.Scalar;
  });
  return { loss, misclassified };
}
