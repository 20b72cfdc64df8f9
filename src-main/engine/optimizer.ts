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
