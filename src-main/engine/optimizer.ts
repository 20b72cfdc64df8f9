// Optimizers by name, with PyTorch's semantics where the names match (SGD with momentum:
// v = mu v + g; w -= lr v, which is what tf.train.momentum computes without nesterov).
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec } from '../../shared/config.js';

export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  switch (spec.name) {
    case 'sgd':
      return tf.train.sgd(spec.lr);
    case 'momentum':
      return tf.train.momentum(spec.lr, spec.momentum, false);
    case 'adam':
      // PyTorch's Adam defaults: beta1 0.9, beta2 0.999, eps 1e-8.
      return tf.train.adam(spec.lr, 0.9, 0.999, 1e-8);
  }
}

/**
 * Release an optimizer and its slots. tfjs 4.22's MomentumOptimizer.dispose() forgets the
 * learning-rate scalar its SGD base keeps (one tensor leaked per run), so it is released here.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  const learningRate = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (learningRate && !learningRate.isDisposed) learningRate.dispose();
}
