// The workbench's classifiers, built from a declared layer list (shared/modelSpec.ts) as plain
// variables + a forward function rather than tf.layers: the finetune loop needs the logits of one
// forward pass for both the loss and the rehearsal verdicts, and plain ops keep the per-step
// overhead small. The built-in MLP and CNN are two such layer lists, built with the same
// initialisation draws and the same ops as before they were specs (same f0, same numbers).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../shared/config.js';
import { WEIGHTED_LAYERS, type ActivationName, type LayerSpec } from '../../shared/modelSpec.js';
import { Rng } from '../sampler/rng.js';

export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

/** One layer of a built classifier, with its weights in Keras's order (kernel, bias, ...). */
export interface BuiltLayer {
  readonly spec: LayerSpec;
  readonly name: string;
  /** All weights, in the order a Keras LayersModel stores them. */
  readonly weights: tf.Variable[];
  /** The weights an optimizer updates (batch norm's moving statistics are not among them). */
  readonly trainable: tf.Variable[];
  /** Shape of the layer's output per sample: [features] or [height, width, channels]. */
  readonly outputShape: number[];
}

export interface Classifier {
  readonly spec: ModelSpec;
  readonly input: InputShape;
  readonly numClasses: number;
  readonly layers: readonly BuiltLayer[];
  /** Every weight, layer by layer (the f0 cache and export store these). */
  readonly variables: tf.Variable[];
  /**
   * Logits for a batch of flattened inputs [n, height*width*channels] in [0, 1]. `training`
   * turns on dropout and batch statistics (which update batch norm's moving averages).
   */
  logits(x: tf.Tensor2D, training?: boolean): tf.Tensor2D;
  /** Layers that run in inference mode even when training (frozen batch norm keeps its statistics). */
  setFrozen(names: ReadonlySet<string>): void;
  getWeights(): Float32Array[];
  setWeights(weights: Float32Array[]): void;
  /** Every weight (copied, named layer/weight, with its shape) and the dropout draws so far: a checkpoint. */
  snapshot(): ModelState;
  /** Back to a snapshot of a model of the same layers (names and shapes are checked). */
  restore(state: ModelState): void;
  /**
   * Dropout masks are numbered from 0 again: finetuning starts on the same masks whether f0 was
   * pretrained in this process (which drew masks) or loaded from the cache (which drew none).
   */
  resetDropoutDraws(): void;
  dispose(): void;
}

/**
 * A classifier's state: weights in `variables` order (batch norm's moving statistics among them),
 * and how many dropout masks were drawn (each mask is seeded by its number).
 */
export interface ModelState {
  weights: { name: string; shape: number[]; values: Float32Array }[];
  dropoutCalls: number;
}

/** Weight names of a layer, in Keras's order (the order of BuiltLayer.weights). */
export function weightNames(layer: LayerSpec): string[] {
  const bias = 'useBias' in layer && layer.useBias ? ['bias'] : [];
  switch (layer.type) {
    case 'dense':
    case 'conv2d':
      return ['kernel', ...bias];
    case 'depthwiseConv2d':
      return ['depthwise_kernel', ...bias];
    case 'separableConv2d':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'batchNorm':
      return ['gamma', 'beta', 'moving_mean', 'moving_variance'];
    default:
      return [];
  }
}

/** A declared model that cannot be built for this data: one sentence saying why. */
export class ModelSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSpecError';
  }
}

/** The built-in MLP and CNN as layer lists (the shorthands of the config). */
export function builtinLayers(spec: ModelSpec, numClasses: number): LayerSpec[] {
  if (spec.arch === 'mlp') {
    return [
      ...spec.hidden.map((units): LayerSpec => ({ type: 'dense', units, activation: 'relu', useBias: true })),
      { type: 'dense', units: numClasses, activation: 'linear', useBias: true },
    ];
  }
  if (spec.arch === 'cnn') {
    const k = spec.kernelSize;
    return [
      ...spec.filters.flatMap((filters): LayerSpec[] => [
        { type: 'conv2d', filters, kernelSize: k, strides: 1, padding: 'same', activation: 'relu', useBias: true },
        { type: 'maxPool2d', poolSize: 2, strides: 2, padding: 'same' },
      ]),
      { type: 'flatten' },
      { type: 'dense', units: numClasses, activation: 'linear', useBias: true },
    ];
  }
  if (spec.arch === 'layers') return spec.layers;
  throw new ModelSpecError('An imported model (arch "file") is built from its model.json, not from a layer list.');
}

/** Unique layer names: the declared one, else type_index (Keras-like). */
export function layerNames(layers: readonly LayerSpec[]): string[] {
  const names = layers.map((l, i) => l.name ?? `${l.type}_${i + 1}`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new ModelSpecError(`Two layers are named "${n}": give each layer its own name.`);
    seen.add(n);
  }
  return names;
}

/**
 * PyTorch's default initialisation (kaiming_uniform with a = sqrt(5)): weights and biases
 * uniform in +-1/sqrt(fan_in). Drawn from our own seeded generator so the same seed gives the
 * same f0 on every backend.
 */
function uniformInit(rng: Rng, shape: number[], fanIn: number): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng.next() * 2 - 1) * bound;
  return constantVariable(values, shape);
}

function constantVariable(values: Float32Array, shape: number[]): tf.Variable {
  // The variable shares the initial tensor's data; the tensor itself must still be released.
  const initial = tf.tensor(values, shape, 'float32');
  const variable = tf.variable(initial);
  initial.dispose();
  return variable;
}

function filled(shape: number[], value: number): tf.Variable {
  return constantVariable(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape);
}

function activate(h: tf.Tensor, activation: ActivationName): tf.Tensor {
  switch (activation) {
    case 'linear':
      return h;
    case 'relu':
      return tf.relu(h);
    case 'relu6':
      return tf.relu6(h);
    case 'elu':
      return tf.elu(h);
    case 'tanh':
      return tf.tanh(h);
    case 'sigmoid':
      return tf.sigmoid(h);
    case 'softmax':
      return tf.softmax(h);
  }
}

function convOut(size: number, k: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.ceil((size - k + 1) / stride);
}

export function describeModel(spec: ModelSpec, input: InputShape, numClasses: number): string {
  const inputSize = input.height * input.width * input.channels;
  if (spec.arch === 'mlp') return `MLP ${[inputSize, ...spec.hidden, numClasses].join('-')}`;
  if (spec.arch === 'cnn') {
    const convs = spec.filters.map((f) => `conv${spec.kernelSize}x${spec.kernelSize}x${f}-pool`);
    return `CNN ${convs.join('-')}-dense${numClasses}`;
  }
  const layers = spec.arch === 'layers' ? spec.layers : [];
  const short = layers.map((l) => {
    switch (l.type) {
      case 'dense':
        return `dense${l.units}`;
      case 'conv2d':
        return `conv${l.kernelSize}x${l.kernelSize}x${l.filters}`;
      case 'depthwiseConv2d':
        return `dw${l.kernelSize}x${l.kernelSize}`;
      case 'separableConv2d':
        return `sep${l.kernelSize}x${l.kernelSize}x${l.filters}`;
      case 'maxPool2d':
      case 'avgPool2d':
        return l.type === 'maxPool2d' ? 'maxpool' : 'avgpool';
      case 'batchNorm':
        return 'bn';
      default:
        return l.type;
    }
  });
  return spec.arch === 'file' ? `imported ${spec.path}` : `layers ${short.join('-')}`;
}

/** A built-in or declared classifier with its seeded initialisation. */
export function createClassifier(spec: ModelSpec, input: InputShape, numClasses: number, seed: number): Classifier {
  return buildClassifier(spec, builtinLayers(spec, numClasses), input, numClasses, seed);
}

/**
 * Build a classifier from a layer list. Weights are drawn from `seed` (an imported model then
 * sets its own with setWeights). Throws ModelSpecError when the layers do not fit the data.
 */
export function buildClassifier(
  spec: ModelSpec,
  layerSpecs: readonly LayerSpec[],
  input: InputShape,
  numClasses: number,
  seed: number,
): Classifier {
  const rng = new Rng(seed, 0x1417);
  const names = layerNames(layerSpecs);
  const built: BuiltLayer[] = [];
  const forwards: ((h: tf.Tensor, training: boolean) => tf.Tensor)[] = [];
  const frozen = new Set<string>();
  // The input arrives flat; a spatial layer first reshapes it to the image.
  let shape: number[] = [input.height * input.width * input.channels];
  const created: tf.Variable[] = [];
  const fail = (message: string): never => {
    created.forEach((v) => v.dispose());
    throw new ModelSpecError(message);
  };
  let dropoutCalls = 0;

  layerSpecs.forEach((layer, index) => {
    const name = names[index];
    const where = `Layer ${index + 1} ("${name}", ${layer.type})`;
    const spatial = (): [number, number, number] => {
      if (shape.length === 3) return shape as [number, number, number];
      if (index > 0 && built.some((b) => b.spec.type !== 'dropout' && b.spec.type !== 'activation'))
        return fail(`${where} needs an image input but gets ${shape[0]} flat features: move it before the flatten.`);
      return [input.height, input.width, input.channels];
    };
    const toImage = (h: tf.Tensor): tf.Tensor4D =>
      (h.rank === 4 ? h : tf.reshape(h, [-1, input.height, input.width, input.channels])) as tf.Tensor4D;
    const weights: tf.Variable[] = [];
    let trainable: tf.Variable[] = [];
    let forward: (h: tf.Tensor, training: boolean) => tf.Tensor;
    switch (layer.type) {
      case 'dense': {
        if (shape.length !== 1)
          fail(`${where} needs flat features but gets a ${shape.join('x')} image: add a flatten layer before it.`);
        const fanIn = shape[0];
        const w = uniformInit(rng, [fanIn, layer.units], fanIn);
        weights.push(w);
        const b = layer.useBias ? uniformInit(rng, [layer.units], fanIn) : null;
        if (b) weights.push(b);
        forward = (h) => {
          let out: tf.Tensor = tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D);
          if (b) out = tf.add(out, b);
          return activate(out, layer.activation);
        };
        shape = [layer.units];
        break;
      }
      case 'conv2d':
      case 'depthwiseConv2d':
      case 'separableConv2d': {
        const [height, width, channels] = spatial();
        const k = layer.kernelSize;
        const s = layer.strides;
        let outChannels: number;
        let apply: (h: tf.Tensor4D) => tf.Tensor4D;
        let biasFanIn: number;
        if (layer.type === 'conv2d') {
          const fanIn = k * k * channels;
          const w = uniformInit(rng, [k, k, channels, layer.filters], fanIn);
          weights.push(w);
          outChannels = layer.filters;
          biasFanIn = fanIn;
          apply = (h) => tf.conv2d(h, w as tf.Tensor4D, s, layer.padding);
        } else if (layer.type === 'depthwiseConv2d') {
          // PyTorch's grouped conv: fan_in = k * k * (channels / groups) = k * k.
          const dw = uniformInit(rng, [k, k, channels, layer.depthMultiplier], k * k);
          weights.push(dw);
          outChannels = channels * layer.depthMultiplier;
          biasFanIn = k * k;
          apply = (h) => tf.depthwiseConv2d(h, dw as tf.Tensor4D, s, layer.padding);
        } else {
          const mid = channels * layer.depthMultiplier;
          const dw = uniformInit(rng, [k, k, channels, layer.depthMultiplier], k * k);
          const pw = uniformInit(rng, [1, 1, mid, layer.filters], mid);
          weights.push(dw, pw);
          outChannels = layer.filters;
          biasFanIn = mid;
          apply = (h) => tf.separableConv2d(h, dw as tf.Tensor4D, pw as tf.Tensor4D, s, layer.padding);
        }
        const b = layer.useBias ? uniformInit(rng, [outChannels], biasFanIn) : null;
        if (b) weights.push(b);
        forward = (h) => {
          let out: tf.Tensor = apply(toImage(h));
          if (b) out = tf.add(out, b);
          return activate(out, layer.activation);
        };
        shape = [convOut(height, k, s, layer.padding), convOut(width, k, s, layer.padding), outChannels];
        if (shape[0] < 1 || shape[1] < 1) fail(`${where} shrinks the ${height}x${width} image to nothing.`);
        break;
      }
      case 'maxPool2d':
      case 'avgPool2d': {
        const [height, width, channels] = spatial();
        const size = layer.poolSize;
        const s = layer.strides ?? size;
        const pool = layer.type === 'maxPool2d' ? tf.maxPool : tf.avgPool;
        forward = (h) => pool(toImage(h), size, s, layer.padding);
        shape = [convOut(height, size, s, layer.padding), convOut(width, size, s, layer.padding), channels];
        if (shape[0] < 1 || shape[1] < 1) fail(`${where} shrinks the ${height}x${width} image to nothing.`);
        break;
      }
      case 'batchNorm': {
        const channels = shape[shape.length - 1];
        const gamma = filled([channels], 1);
        const beta = filled([channels], 0);
        const movingMean = filled([channels], 0);
        const movingVariance = filled([channels], 1);
        weights.push(gamma, beta, movingMean, movingVariance);
        trainable = [gamma, beta];
        const axes = shape.length === 3 ? [0, 1, 2] : [0];
        forward = (h, training) => {
          if (!training || frozen.has(name)) {
            return tf.batchNorm(h, movingMean, movingVariance, beta, gamma, layer.epsilon);
          }
          const { mean, variance } = tf.moments(h, axes);
          // Keras's update, outside the gradient: moving = momentum * moving + (1 - momentum) * batch.
          const m = layer.momentum;
          movingMean.assign(tf.tidy(() => tf.add(tf.mul(movingMean, m), tf.mul(mean, 1 - m))));
          movingVariance.assign(tf.tidy(() => tf.add(tf.mul(movingVariance, m), tf.mul(variance, 1 - m))));
          return tf.batchNorm(h, mean, variance, beta, gamma, layer.epsilon);
        };
        break;
      }
      case 'dropout': {
        const rate = layer.rate;
        // Seeded per call, so the same run gives the same masks.
        forward = (h, training) =>
          training && rate > 0 ? tf.dropout(h, rate, undefined, seed * 7919 + dropoutCalls++) : h;
        break;
      }
      case 'flatten': {
        const size = shape.reduce((a, b) => a * b, 1);
        forward = (h) => (h.rank === 2 ? h : tf.reshape(h, [-1, size]));
        shape = [size];
        break;
      }
      case 'activation': {
        forward = (h) => activate(h, layer.activation);
        break;
      }
    }
    if (WEIGHTED_LAYERS.includes(layer.type) && layer.type !== 'batchNorm') trainable = weights.slice();
    created.push(...weights);
    built.push({ spec: layer, name, weights, trainable, outputShape: shape.slice() });
    forwards.push(forward!);
  });

  if (shape.length !== 1 || shape[0] !== numClasses) {
    fail(
      `The model's output is ${shape.join('x')} values per sample, but the data ` +
        `has ${numClasses} classes: end with a dense layer of ${numClasses} units ` +
        `(logits or softmax).`,
    );
  }
  // A trailing softmax is skipped: the loss and the verdicts work on logits (argmax is unchanged).
  let last = layerSpecs.length - 1;
  while (last >= 0 && layerSpecs[last].type === 'dropout') last--;
  const tail = layerSpecs[last];
  const softmaxTail = tail.type === 'activation' ? tail.activation === 'softmax' : false;
  const softmaxDense = tail.type === 'dense' && tail.activation === 'softmax';
  const outputOk =
    (tail.type === 'dense' && (tail.activation === 'linear' || tail.activation === 'softmax')) ||
    (softmaxTail && layerSpecs.slice(0, last).some((l) => l.type === 'dense'));
  if (!outputOk) {
    fail(
      `The last layer ("${names[last]}", ${tail.type}` +
        `${'activation' in tail ? ` with activation ${tail.activation}` : ''}) ` +
        `is not a softmax or logits (linear) dense layer of the ${numClasses} classes.`,
    );
  }

  const variables = built.flatMap((l) => l.weights);
  /** layer/weight (Keras's names), in `variables` order. */
  const weightLabels = built.flatMap((l) => {
    const names = weightNames(l.spec);
    return l.weights.map((_, i) => `${l.name}/${names[i] ?? i}`);
  });
  const logits = (x: tf.Tensor2D, training = false): tf.Tensor2D => {
    let h: tf.Tensor = x;
    for (let i = 0; i < forwards.length; i++) {
      if (i === last && softmaxTail) continue;
      if (i === last && softmaxDense) {
        // The dense layer without its softmax.
        const dense = built[i];
        h = tf.matMul(h as tf.Tensor2D, dense.weights[0] as tf.Tensor2D);
        if (dense.weights[1]) h = tf.add(h, dense.weights[1]);
        continue;
      }
      h = forwards[i](h, training);
    }
    return h as tf.Tensor2D;
  };

  return {
    spec,
    input,
    numClasses,
    layers: built,
    variables,
    logits,
    setFrozen: (names) => {
      frozen.clear();
      names.forEach((n) => frozen.add(n));
    },
    getWeights: () => variables.map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a)),
    setWeights: (weights) => {
      if (weights.length !== variables.length) {
        throw new Error(`Expected ${variables.length} weight arrays, got ${weights.length}.`);
      }
      variables.forEach((v, i) => {
        if (weights[i].length !== v.size)
          throw new Error(`Weight array ${i} has ${weights[i].length} values, expected ${v.size}.`);
        tf.tidy(() => v.assign(tf.tensor(weights[i], v.shape, 'float32')));
      });
    },
    snapshot: () => ({
      weights: variables.map((v, i) => ({
        name: weightLabels[i],
        shape: v.shape.slice(),
        values: (v.dataSync() as Float32Array).slice(),
      })),
      dropoutCalls,
    }),
    restore: (state) => {
      const describe = (ws: readonly { name: string; shape: number[] }[]) =>
        ws.map((w) => `${w.name} ${w.shape.join('x')}`).join(', ');
      const own = variables.map((v, i) => ({ name: weightLabels[i], shape: v.shape }));
      if (describe(own) !== describe(state.weights)) {
        throw new Error(
          `The checkpoint's weights (${describe(state.weights)}) are not this model's (${describe(own)}).`,
        );
      }
      variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(state.weights[i].values, v.shape, 'float32'))));
      dropoutCalls = state.dropoutCalls;
    },
    resetDropoutDraws: () => {
      dropoutCalls = 0;
    },
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
