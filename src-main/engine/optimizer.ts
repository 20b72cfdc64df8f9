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

/**
 * One tfjs optimizer's state: its step counter, its slots (momentum's accumulation, Adam's first
 * and second moments), each with the position of its weight in `model.variables`, and Adam's
 * running beta powers, all as float32 as the optimizer holds them.
 */
export interface OptimizerState {
  kind: 'sgd' | 'momentum' | 'adam';
  iterations: number;
  slots: { kind: SlotKind; weight: number; shape: number[]; values: Float32Array }[];
  accBeta: Float32Array | null;
}

/** The Updater's state: the plan it was built for and each parameter group's optimizer. */
export interface UpdaterState {
  frozen: string[];
  head: string;
  groups: OptimizerState[];
}

type SlotKind = 'momentum' | 'm' | 'v';

interface SlotVariable {
  originalName: string;
  variable: tf.Variable;
}

/**
 * What tfjs 4.22's optimizers keep (private fields; their getWeights/setWeights are async, and
 * Adam's setWeights recomputes beta^t with pow, which is not bit-equal to the running product).
 */
interface OptimizerInternals {
  iterations_?: number;
  accumulations?: SlotVariable[];
  accumulatedFirstMoment?: SlotVariable[];
  accumulatedSecondMoment?: SlotVariable[];
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/** By class name: tfjs optimizers answer instanceof by duck typing (any optimizer is "a" MomentumOptimizer). */
function slotLists(optimizer: tf.Optimizer): { kind: OptimizerState['kind']; lists: [SlotKind, string][] } {
  const name = optimizer.getClassName();
  if (name === 'Momentum') return { kind: 'momentum', lists: [['momentum', 'accumulations']] };
  if (name === 'Adam') {
    return {
      kind: 'adam',
      lists: [
        ['m', 'accumulatedFirstMoment'],
        ['v', 'accumulatedSecondMoment'],
      ],
    };
  }
  if (name === 'SGD') return { kind: 'sgd', lists: [] };
  throw new Error(`No checkpoint for the ${name} optimizer.`);
}

/** A copy of the optimizer's state; `all` is model.variables (slots are tied to positions in it). */
export function snapshotOptimizer(optimizer: tf.Optimizer, all: readonly tf.Variable[]): OptimizerState {
  const internals = optimizer as unknown as OptimizerInternals;
  const position = new Map(all.map((v, i) => [v.name, i]));
  const { kind, lists } = slotLists(optimizer);
  const slots: OptimizerState['slots'] = [];
  for (const [slot, field] of lists) {
    const list = (internals[field as keyof OptimizerInternals] as SlotVariable[] | undefined) ?? [];
    for (const { originalName, variable } of list) {
      const weight = position.get(originalName.slice(0, -(slot.length + 1)));
      if (weight === undefined || !originalName.endsWith(`/${slot}`)) {
        throw new Error(`The optimizer slot ${originalName} belongs to no weight of the model.`);
      }
      slots.push({
        kind: slot,
        weight,
        shape: variable.shape.slice(),
        values: (variable.dataSync() as Float32Array).slice(),
      });
    }
  }
  const accBeta =
    internals.accBeta1 && internals.accBeta2
      ? Float32Array.of(internals.accBeta1.dataSync()[0], internals.accBeta2.dataSync()[0])
      : null;
  return { kind, iterations: internals.iterations_ ?? 0, slots, accBeta };
}

/**
 * Back to a snapshot, on an optimizer of the same kind that has not stepped yet. tfjs pairs slot
 * i with the i-th key of the gradient map (Object.keys order of the weights' names), so each slot
 * is put where its weight's current name falls in that order.
 */
export function restoreOptimizer(optimizer: tf.Optimizer, all: readonly tf.Variable[], state: OptimizerState): void {
  const internals = optimizer as unknown as OptimizerInternals;
  const { kind, lists } = slotLists(optimizer);
  if (kind !== state.kind) throw new Error(`A ${state.kind} optimizer's state cannot restore a ${kind} optimizer.`);
  for (const [slot, field] of lists) {
    const saved = state.slots.filter((s) => s.kind === slot);
    const names = saved.map((s) => {
      const v = all[s.weight];
      if (!v || v.shape.join('x') !== s.shape.join('x')) {
        throw new Error(`The optimizer slot for weight ${s.weight} (${s.shape.join('x')}) does not fit this model.`);
      }
      return v.name;
    });
    const order = Object.keys(Object.fromEntries(names.map((n) => [n, 0])));
    const list: SlotVariable[] = new Array<SlotVariable>(saved.length);
    saved.forEach((s, j) => {
      const variable = tf.tidy(() => tf.variable(tf.tensor(s.values, s.shape, 'float32'), false));
      list[order.indexOf(names[j])] = { originalName: `${names[j]}/${slot}`, variable };
    });
    const old = internals[field as 'accumulations'];
    old?.forEach((o) => o.variable.dispose());
    internals[field as 'accumulations'] = list;
  }
  if (state.accBeta && internals.accBeta1 && internals.accBeta2) {
    const [b1, b2] = state.accBeta;
    tf.tidy(() => {
      internals.accBeta1!.assign(tf.scalar(b1, 'float32'));
      internals.accBeta2!.assign(tf.scalar(b2, 'float32'));
    });
  }
  internals.iterations_ = state.iterations;
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
  private readonly all: readonly tf.Variable[];
  private readonly plan: TrainPlan;

  constructor(model: Classifier, spec: OptimizerSpec, plan: TrainPlan, headLr?: number) {
    this.all = model.variables;
    this.plan = plan;
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

  /** Each group's optimizer state (copies), with the plan the groups were built from. */
  snapshot(): UpdaterState {
    return {
      frozen: this.plan.frozen.slice(),
      head: this.plan.head,
      groups: this.groups.map((g) => snapshotOptimizer(g.optimizer, this.all)),
    };
  }

  /** Back to a snapshot of an Updater built for the same model, optimizer and plan. */
  restore(state: UpdaterState): void {
    const samePlan =
      state.head === this.plan.head &&
      state.groups.length === this.groups.length &&
      [...state.frozen].sort().join(',') === [...this.plan.frozen].sort().join(',');
    if (!samePlan) throw new Error('The optimizer state of the checkpoint was made for other frozen layers or head.');
    this.groups.forEach((g, i) => restoreOptimizer(g.optimizer, this.all, state.groups[i]));
  }

  dispose(): void {
    for (const g of this.groups) disposeOptimizer(g.optimizer);
  }
}
