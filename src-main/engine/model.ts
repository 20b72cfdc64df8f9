// The two classifiers of the workbench, written as plain variables + a forward function rather
// than tf.layers: the finetune loop needs the logits of one forward pass for both the loss and
// the rehearsal verdicts, and plain functions keep the per-step overhead small.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../shared/config.js';
import { Rng } from '../sampler/rng.js';

export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

export interface Classifier {
  readonly spec: ModelSpec;
  readonly input: InputShape;
  readonly numClasses: number;
  readonly variables: tf.Variable[];
  /** Logits for a batch of flattened inputs [n, height*width*channels] in [0, 1]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
  getWeights(): Float32Array[];
  setWeights(weights: Float32Array[]): void;
  dispose(): void;
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
  // The variable shares the initial tensor's data; the tensor itself must still be released.
  const initial = tf.tensor(values, shape, 'float32');
  const variable = tf.variable(initial);
  initial.dispose();
  return variable;
}

export function describeModel(spec: ModelSpec, input: InputShape, numClasses: number): string {
  const inputSize = input.height * input.width * input.channels;
  if (spec.arch === 'mlp') return `MLP ${[inputSize, ...spec.hidden, numClasses].join('-')}`;
  const convs = spec.filters.map((f) => `conv${spec.kernelSize}x${spec.kernelSize}x${f}-pool`);
  return `CNN ${convs.join('-')}-dense${numClasses}`;
}

export function createClassifier(spec: ModelSpec, input: InputShape, numClasses: number, seed: number): Classifier {
  const rng = new Rng(seed, 0x1417);
  const variables: tf.Variable[] = [];
  let forward: (x: tf.Tensor2D) => tf.Tensor2D;

  if (spec.arch === 'mlp') {
    const sizes = [input.height * input.width * input.channels, ...spec.hidden, numClasses];
    const layers: { w: tf.Variable; b: tf.Variable }[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const w = uniformInit(rng, [sizes[l], sizes[l + 1]], sizes[l]);
      const b = uniformInit(rng, [sizes[l + 1]], sizes[l]);
      layers.push({ w, b });
      variables.push(w, b);
    }
    forward = (x) => {
      let h: tf.Tensor2D = x;
      layers.forEach(({ w, b }, l) => {
        h = tf.add(tf.matMul(h, w as tf.Tensor2D), b);
        if (l + 1 < layers.length) h = tf.relu(h);
      });
      return h;
    };
  } else {
    const k = spec.kernelSize;
    const convs: { w: tf.Variable; b: tf.Variable }[] = [];
    let channels = input.channels;
    let height = input.height;
    let width = input.width;
    for (const filters of spec.filters) {
      const fanIn = k * k * channels;
      const w = uniformInit(rng, [k, k, channels, filters], fanIn);
      const b = uniformInit(rng, [filters], fanIn);
      convs.push({ w, b });
      variables.push(w, b);
      channels = filters;
      height = Math.ceil(height / 2); // 'same' max-pool 2x2, stride 2
      width = Math.ceil(width / 2);
    }
    const flat = height * width * channels;
    const dw = uniformInit(rng, [flat, numClasses], flat);
    const db = uniformInit(rng, [numClasses], flat);
    variables.push(dw, db);
    forward = (x) => {
      let h = tf.reshape(x, [-1, input.height, input.width, input.channels]) as tf.Tensor4D;
      for (const { w, b } of convs) {
        h = tf.relu(tf.add(tf.conv2d(h, w as tf.Tensor4D, 1, 'same'), b)) as tf.Tensor4D;
        h = tf.maxPool(h, 2, 2, 'same');
      }
      return tf.add(tf.matMul(tf.reshape(h, [-1, flat]), dw as tf.Tensor2D), db);
    };
  }

  return {
    spec,
    input,
    numClasses,
    variables,
    logits: forward,
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
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
