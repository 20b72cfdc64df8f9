// Bring your own model: a TensorFlow.js LayersModel on disk (model.json + weight shards) read
// and written by our own tf.io IOHandler (no network, no tfjs-node), mapped onto the declared
// layer specs the engine builds (model.ts). An imported f0 is then the same kind of classifier as
// one pretrained here, so the prior pass and the finetune loop treat both alike, and an exported
// model re-imported gives the very same numbers.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../../shared/config.js';
import type { LayerSpec } from '../../shared/modelSpec.js';
import { ModelFileError, readArtifacts, topologyLayers, type Artifacts } from './kerasTopology.js';

export { ModelFileError };
import { buildClassifier, ModelSpecError, weightNames, type Classifier, type InputShape } from './model.js';

const WEIGHTS_FILE = 'group1-shard1of1.bin';

/**
 * A tf.io.IOHandler over a model.json on disk: `load` for tf.loadLayersModel (and our importer),
 * `save` for model.save(). Every problem is one ModelFileError sentence naming the file.
 */
export function fileIO(modelJson: string): tf.io.IOHandler {
  return {
    load: async () => readArtifacts(modelJson),
    save: async (artifacts) => {
      writeArtifacts(modelJson, artifacts as Artifacts);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}

function writeArtifacts(file: string, artifacts: Artifacts): void {
  const dir = path.dirname(file);
  // Written beside, then renamed: an interrupted export never leaves a half model that loads.
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(path.join(staging, WEIGHTS_FILE), new Uint8Array(artifacts.weightData));
  const json = {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy ?? 'mix-cd workbench',
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
  };
  writeFileSync(path.join(staging, path.basename(file)), JSON.stringify(json));
  if (existsSync(dir)) {
    // Replace only our own files: the folder may hold other things of the user's.
    for (const name of [path.basename(file), WEIGHTS_FILE]) {
      rmSync(path.join(dir, name), { force: true });
      renameSync(path.join(staging, name), path.join(dir, name));
    }
    rmSync(staging, { recursive: true, force: true });
  } else {
    mkdirSync(path.dirname(dir), { recursive: true });
    renameSync(staging, dir);
  }
}

// ---- topology <-> layer specs ----

const pair = (n: number) => [n, n];

function kerasLayer(layer: LayerSpec, name: string): { class_name: string; config: Record<string, unknown> } {
  const common = { name, trainable: true, dtype: 'float32' };
  switch (layer.type) {
    case 'dense':
      return {
        class_name: 'Dense',
        config: { ...common, units: layer.units, activation: layer.activation, use_bias: layer.useBias },
      };
    case 'conv2d':
      return {
        class_name: 'Conv2D',
        config: {
          ...common,
          filters: layer.filters,
          kernel_size: pair(layer.kernelSize),
          strides: pair(layer.strides),
          padding: layer.padding,
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: layer.activation,
          use_bias: layer.useBias,
        },
      };
    case 'depthwiseConv2d':
      return {
        class_name: 'DepthwiseConv2D',
        config: {
          ...common,
          kernel_size: pair(layer.kernelSize),
          strides: pair(layer.strides),
          padding: layer.padding,
          depth_multiplier: layer.depthMultiplier,
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: layer.activation,
          use_bias: layer.useBias,
        },
      };
    case 'separableConv2d':
      return {
        class_name: 'SeparableConv2D',
        config: {
          ...common,
          filters: layer.filters,
          kernel_size: pair(layer.kernelSize),
          strides: pair(layer.strides),
          padding: layer.padding,
          depth_multiplier: layer.depthMultiplier,
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: layer.activation,
          use_bias: layer.useBias,
        },
      };
    case 'maxPool2d':
    case 'avgPool2d':
      return {
        class_name: layer.type === 'maxPool2d' ? 'MaxPooling2D' : 'AveragePooling2D',
        config: {
          ...common,
          pool_size: pair(layer.poolSize),
          strides: pair(layer.strides ?? layer.poolSize),
          padding: layer.padding,
          data_format: 'channels_last',
        },
      };
    case 'batchNorm':
      return {
        class_name: 'BatchNormalization',
        config: { ...common, axis: -1, momentum: layer.momentum, epsilon: layer.epsilon, center: true, scale: true },
      };
    case 'dropout':
      return { class_name: 'Dropout', config: { ...common, rate: layer.rate } };
    case 'flatten':
      return { class_name: 'Flatten', config: { ...common, data_format: 'channels_last' } };
    case 'activation':
      return { class_name: 'Activation', config: { ...common, activation: layer.activation } };
  }
}

/**
 * The classifier as a Keras Sequential LayersModel taking [n, height, width, channels] images
 * (a flatten first when the model starts with a dense layer), with its current weights.
 */
export function modelArtifacts(model: Classifier): Artifacts {
  const { height, width, channels } = model.input;
  const layers: { class_name: string; config: Record<string, unknown> }[] = [
    {
      class_name: 'InputLayer',
      config: { name: 'input', batch_input_shape: [null, height, width, channels], dtype: 'float32', sparse: false },
    },
  ];
  if (model.layers[0]?.spec.type === 'dense' || model.layers[0]?.spec.type === 'batchNorm') {
    layers.push({ class_name: 'Flatten', config: { name: 'input_flatten', trainable: true, dtype: 'float32' } });
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Float32Array[] = [];
  for (const layer of model.layers) {
    layers.push(kerasLayer(layer.spec, layer.name));
    weightNames(layer.spec).forEach((w, i) => {
      const v = layer.weights[i];
      weightSpecs.push({ name: `${layer.name}/${w}`, shape: v.shape, dtype: 'float32' });
      parts.push(v.dataSync() as Float32Array);
    });
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return {
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'mixcd', layers },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    format: 'layers-model',
    generatedBy: 'mix-cd workbench',
    weightSpecs,
    weightData: all.buffer,
  };
}

/** Write the classifier to dir/model.json + its weight shard (a LayersModel tf.loadLayersModel reads). */
export function saveModel(model: Classifier, dir: string): string {
  const file = path.join(path.resolve(dir), 'model.json');
  writeArtifacts(file, modelArtifacts(model));
  return file;
}

export interface ImportedModel {
  file: string;
  layers: LayerSpec[];
  /** The input per sample the model declares: [features], [h, w] or [h, w, c]. */
  inputShape: number[];
  /** Per layer, per weight (Keras order), the weight's values and shape. */
  weights: { values: Float32Array; shape: number[]; name: string }[][];
  /** SHA-256 of the topology and the weights: what the f0 cache keys an imported f0 by. */
  fingerprint: string;
}

/** Read and check a LayersModel file; everything but the data-dependent checks (see toClassifier). */
export async function readModelFile(file: string): Promise<ImportedModel> {
  const resolved = path.resolve(file);
  const artifacts = readArtifacts(resolved);
  const { layers, inputShape } = topologyLayers(resolved, artifacts.modelTopology as Record<string, unknown>);
  // The weights by name, layer by layer, in Keras's order.
  const offsets = new Map<string, { offset: number; spec: tf.io.WeightsManifestEntry }>();
  let offset = 0;
  for (const spec of artifacts.weightSpecs) {
    offsets.set(spec.name, { offset, spec });
    offset += spec.shape.reduce((a, b) => a * b, 1) * 4;
  }
  const find = (name: string) =>
    offsets.get(name) ?? [...offsets.entries()].find(([n]) => n.endsWith(`/${name}`))?.[1] ?? null;
  const weights = layers.map((layer) =>
    weightNames(layer).map((w) => {
      const name = `${layer.name}/${w}`;
      const hit = find(name);
      if (!hit) throw new ModelFileError(`${resolved}: the weights manifest has no ${name} for layer ${layer.name}.`);
      const size = hit.spec.shape.reduce((a, b) => a * b, 1);
      return {
        name,
        shape: hit.spec.shape,
        values: new Float32Array(artifacts.weightData.slice(hit.offset, hit.offset + size * 4)),
      };
    }),
  );
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ layers, inputShape }))
    .update(new Uint8Array(artifacts.weightData))
    .digest('hex');
  return { file: resolved, layers, inputShape, weights, fingerprint };
}

/**
 * The imported model as a classifier for this data, with its own weights. One sentence when
 * the input shape or the class count does not fit, or a weight has the wrong shape.
 */
export function toClassifier(
  imported: ImportedModel,
  spec: ModelSpec,
  input: InputShape,
  numClasses: number,
): Classifier {
  const { file, inputShape } = imported;
  const features = input.height * input.width * input.channels;
  const fits =
    (inputShape.length === 1 && inputShape[0] === features) ||
    (inputShape.length === 2 &&
      input.channels === 1 &&
      inputShape[0] === input.height &&
      inputShape[1] === input.width) ||
    (inputShape.length === 3 &&
      inputShape[0] === input.height &&
      inputShape[1] === input.width &&
      inputShape[2] === input.channels);
  if (!fits) {
    throw new ModelFileError(
      `${file} takes inputs of shape ${inputShape.join('x')}, but the data's ` +
        `images are ${input.height}x${input.width}x${input.channels}: use a model ` +
        `made for this data.`,
    );
  }
  let model: Classifier;
  try {
    model = buildClassifier(spec, imported.layers, input, numClasses, 0);
  } catch (error) {
    if (error instanceof ModelSpecError) throw new ModelFileError(`${file}: ${error.message}`);
    throw error;
  }
  const flat: Float32Array[] = [];
  try {
    model.layers.forEach((layer, l) => {
      layer.weights.forEach((v, i) => {
        const w = imported.weights[l][i];
        if (w.shape.join(',') !== v.shape.join(',')) {
          throw new ModelFileError(
            `${file}: weight ${w.name} has shape [${w.shape.join(', ')}] but its layer ` +
              `needs [${v.shape.join(', ')}] here.`,
          );
        }
        flat.push(w.values);
      });
    });
    model.setWeights(flat);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Copy a LayersModel (model.json + shards) to dir, re-checked on the way; `missing` when absent. */
export function copyModel(modelJson: string, dir: string, missing: () => never): string {
  if (!existsSync(modelJson)) missing();
  const file = path.join(path.resolve(dir), 'model.json');
  writeArtifacts(file, readArtifacts(modelJson));
  return file;
}
