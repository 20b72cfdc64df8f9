// Optimizers by name, with PyTorch's semantics where the names match (SGD with momentum:
// v = mu v + g; w -= lr v, which is what tf.train.momentum computes without nesterov), and the
// finetuning choices that act per parameter group: frozen layers, a head learning rate, weight
// decay (L2 for sgd/momentum/adam, decoupled for adamw).
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec, RunConfig } from '../../shared/config.js';
import { WEIGHTED_LAYERS } from '../../shared/modelSpec.js';
import type { Classifier } from './model.js';
import { ModelSpecError } from './model.js';

export function createOptimizer(spec: OptimizerSpec, lr = spec.lr): tf.Optimizer {
  switch (spec.name) {
    case 'sgd':
      return tf.train.sgd(lr);
    case 'momentum':
      return tf.train.momentum(lr, spec.momentum, false);
    case 'adam':
    case 'adamw':
      // PyTorch's Adam defaults: beta1 0.9, beta2 0.999, eps 1e-8 (AdamW adds its decay in Updater).
      return tf.train.adam(lr, 0.9, 0.999, 1e-8);
  }
}

/**
 * Release an optimizer and its slots. tfjs 4.22's MomentumOptimizer.dispose() forgets the
 * learning-rate scalar its SGD base keeps (one tensor leaked per run), so it is released here.
 */
export function disposeOptimizer(optimizer: tf.Optimizer | Updater): void {
  if (optimizer instanceof Updater) return optimizer.dispose();
  optimizer.dispose();
  const learningRate = (optimizer as unknown as { c?: tf.Tensor }).c;
  if (learningRate && !learningRate.isDisposed) learningRate.dispose();
}

interface Group {
  variables: tf.Variable[];
  optimizer: tf.Optimizer;
  lr: number;
}

/** Which layers train, and which is the head, for a finetune config. */
export interface TrainPlan {
  /** Names of the frozen layers (weighted layers only). */
  frozen: string[];
  /** Name of the head: the last weighted layer. */
  head: string;
  /** Parameters that train / all parameters (for the compute note in the summary). */
  trainableParams: number;
  totalParams: number;
}

export function trainPlan(model: Classifier, finetune: Pick<RunConfig['finetune'], 'freeze'>): TrainPlan {
  const weighted = model.layers.filter((l) => WEIGHTED_LAYERS.includes(l.spec.type));
  const names = new Set(model.layers.map((l) => l.name));
  const frozen = new Set<string>();
  const freeze = finetune.freeze;
  if (freeze?.trainLast !== undefined) {
    weighted.slice(0, Math.max(0, weighted.length - freeze.trainLast)).forEach((l) => frozen.add(l.name));
  }
  for (const name of freeze?.layers ?? []) {
    if (!names.has(name)) {
      throw new ModelSpecError(
        `finetune.freeze.layers names "${name}", which is not a layer of this model: ` +
          `its layers are ${[...names].join(', ')}.`,
      );
    }
    frozen.add(name);
  }
  const count = (vs: tf.Variable[]) => vs.reduce((a, v) => a + v.size, 0);
  return {
    frozen: [...frozen],
    head: weighted[weighted.length - 1]?.name ?? '',
    trainableParams: count(weighted.filter((l) => !frozen.has(l.name)).flatMap((l) => l.trainable)),
    totalParams: count(model.variables),
  };
}

/**
 * The finetune update over parameter groups (body and head), each with its own tfjs optimizer
 * (and so its own learning rate and slots); frozen layers get no gradient at all.
 */
export class Updater {
  private readonly groups: Group[];
  private readonly decay: number;
  private readonly decoupled: boolean;
  readonly variables: tf.Variable[];

  constructor(model: Classifier, spec: OptimizerSpec, plan: TrainPlan, headLr?: number) {
    const frozen = new Set(plan.frozen);
    model.setFrozen(frozen);
    const body: tf.Variable[] = [];
    const head: tf.Variable[] = [];
    for (const layer of model.layers) {
      if (frozen.has(layer.name)) continue;
      (layer.name === plan.head && headLr !== undefined ? head : body).push(...layer.trainable);
    }
    if (!body.length && !head.length) {
      throw new ModelSpecError('Every layer is frozen: nothing would train; unfreeze at least the head.');
    }
    this.groups = [];
    if (body.length) this.groups.push({ variables: body, optimizer: createOptimizer(spec), lr: spec.lr });
    if (head.length) this.groups.push({ variables: head, optimizer: createOptimizer(spec, headLr), lr: headLr! });
    this.variables = [...body, ...head];
    this.decay = spec.weightDecay ?? 0;
    this.decoupled = spec.name === 'adamw';
  }

  /** One step on the loss f; returns the loss (kept when asked, like tf.Optimizer.minimize). */
  minimize(f: () => tf.Scalar, returnCost = true): tf.Scalar | null {
    if (this.groups.length === 1 && this.decay === 0) {
      // The plain path: exactly tf.Optimizer.minimize, as runs without these choices always did.
      return this.groups[0].optimizer.minimize(f, returnCost, this.variables);
    }
    const { value, grads } = tf.variableGrads(f, this.variables);
    this.applyGradients(grads);
    tf.dispose(grads);
    if (returnCost) return value;
    value.dispose();
    return null;
  }

  /**
   * Applies gradients computed elsewhere (MIR's combined step): each group's own optimizer, weight
   * decay as in minimize; gradients of frozen variables are ignored. The caller owns `grads`.
   */
  applyGradients(grads: tf.NamedTensorMap): void {
    for (const group of this.groups) {
      const named: tf.NamedTensorMap = {};
      for (const v of group.variables) {
        const g = grads[v.name];
        if (!g) continue;
        if (this.decay > 0 && this.decoupled) {
          // AdamW: w <- w (1 - lr lambda), before the Adam step (PyTorch's order).
          v.assign(tf.tidy(() => tf.mul(v, 1 - group.lr * this.decay)));
          named[v.name] = g;
        } else if (this.decay > 0) {
          named[v.name] = tf.add(g, tf.mul(v, this.decay));
        } else {
          named[v.name] = g;
        }
      }
      group.optimizer.applyGradients(named);
      for (const v of group.variables) if (named[v.name] && named[v.name] !== grads[v.name]) named[v.name].dispose();
    }
  }

  dispose(): void {
    for (const g of this.groups) disposeOptimizer(g.optimizer);
  }
}
