// A Keras/TensorFlow.js LayersModel topology (the modelTopology of a model.json) as the workbench's
// declared layer specs. No tfjs here: the CLI reads a topology as a spec (--model-spec) without
// loading the engine.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { ACTIVATIONS, layerSpecSchema, type ActivationName, type LayerSpec } from '../../shared/modelSpec.js';

/** A model file that is not a trainable LayersModel: one sentence naming the file and why. */
export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

type KerasLayer = { class_name: string; config: Record<string, unknown>; inbound_nodes?: unknown[]; name?: string };

function kerasLayers(file: string, topology: Record<string, unknown>): KerasLayer[] {
  const root = (topology.model_config as Record<string, unknown> | undefined) ?? topology;
  const className = root.class_name as string;
  const config = root.config as Record<string, unknown> | unknown[];
  const layers = (Array.isArray(config) ? config : (config?.layers as KerasLayer[] | undefined)) as
    KerasLayer[] | undefined;
  if (!Array.isArray(layers)) throw new ModelFileError(`${file}: modelTopology lists no layers.`);
  if (className === 'Sequential') return layers;
  if (className === 'Functional' || className === 'Model') {
    // Only a chain: each layer's one input is the layer before it.
    layers.forEach((layer, i) => {
      if (i === 0) return;
      const inbound = JSON.stringify(layer.inbound_nodes ?? []);
      const prev = (layers[i - 1].name ?? layers[i - 1].config.name) as string;
      const names = [...inbound.matchAll(/"([^"]+)"/g)]
        .map((m) => m[1])
        .filter((n) => layers.some((l) => (l.name ?? l.config.name) === n));
      if (names.length !== 1 || names[0] !== prev) {
        throw new ModelFileError(
          `${file}: layer ${String(layer.config.name)} does not simply follow ${prev} ` +
            `(branches or several inputs); only a chain of layers can be trained here.`,
        );
      }
    });
    return layers;
  }
  throw new ModelFileError(`${file}: a ${className} model is not a Sequential or Functional LayersModel.`);
}

function square(file: string, name: string, what: string, value: unknown): number {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || v[0] !== v[1] || !Number.isInteger(v[0])) {
    throw new ModelFileError(
      `${file}: layer ${name} has ${what} ${JSON.stringify(value)}; only square ones can be trained here.`,
    );
  }
  return v[0] as number;
}

function activationOf(file: string, name: string, value: unknown): ActivationName {
  const a = (value ?? 'linear') as string;
  if (!(ACTIVATIONS as readonly string[]).includes(a)) {
    throw new ModelFileError(
      `${file}: layer ${name} uses activation ${JSON.stringify(value)}, which ` +
        `cannot be trained here (supported: ${ACTIVATIONS.join(', ')}).`,
    );
  }
  return a as ActivationName;
}

/** One Keras layer as a layer spec (null for layers that only declare the input). */
function toLayerSpec(file: string, layer: KerasLayer, index: number): LayerSpec | { input: number[] } | null {
  const c = layer.config;
  const name = String(c.name ?? layer.name ?? `layer_${index + 1}`);
  const batchShape = (c.batch_input_shape ?? c.batch_shape) as (number | null)[] | undefined;
  const unsupported = (why: string): never => {
    throw new ModelFileError(`${file}: layer ${name} (${layer.class_name}) cannot be trained here: ${why}.`);
  };
  if (c.data_format && c.data_format !== 'channels_last') unsupported('only channels_last data is supported');
  const dilation = c.dilation_rate;
  if (dilation !== undefined && JSON.stringify(dilation) !== '[1,1]' && dilation !== 1)
    unsupported('dilation is not supported');
  const padding = c.padding === undefined ? 'valid' : c.padding;
  if (padding !== 'same' && padding !== 'valid') unsupported(`padding ${JSON.stringify(padding)} is not supported`);
  let spec: unknown;
  switch (layer.class_name) {
    case 'InputLayer':
      return batchShape ? { input: batchShape.slice(1) as number[] } : unsupported('it has no input shape');
    case 'Reshape':
      return { input: c.target_shape as number[] };
    case 'Dense':
      spec = {
        type: 'dense',
        name,
        units: c.units,
        activation: activationOf(file, name, c.activation),
        useBias: c.use_bias ?? true,
      };
      break;
    case 'Conv2D':
      if ((c.groups ?? 1) !== 1) unsupported('grouped convolution is not supported');
      spec = {
        type: 'conv2d',
        name,
        filters: c.filters,
        kernelSize: square(file, name, 'kernel_size', c.kernel_size),
        strides: square(file, name, 'strides', c.strides ?? 1),
        padding,
        activation: activationOf(file, name, c.activation),
        useBias: c.use_bias ?? true,
      };
      break;
    case 'DepthwiseConv2D':
    case 'SeparableConv2D':
      spec = {
        type: layer.class_name === 'DepthwiseConv2D' ? 'depthwiseConv2d' : 'separableConv2d',
        name,
        ...(layer.class_name === 'SeparableConv2D' ? { filters: c.filters } : {}),
        kernelSize: square(file, name, 'kernel_size', c.kernel_size),
        strides: square(file, name, 'strides', c.strides ?? 1),
        depthMultiplier: c.depth_multiplier ?? 1,
        padding,
        activation: activationOf(file, name, c.activation),
        useBias: c.use_bias ?? true,
      };
      break;
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      spec = {
        type: layer.class_name === 'MaxPooling2D' ? 'maxPool2d' : 'avgPool2d',
        name,
        poolSize: square(file, name, 'pool_size', c.pool_size ?? 2),
        strides: c.strides == null ? undefined : square(file, name, 'strides', c.strides),
        padding,
      };
      break;
    case 'BatchNormalization': {
      const axis = Array.isArray(c.axis) ? c.axis[0] : (c.axis ?? -1);
      if (axis !== -1 && axis !== 3 && axis !== 1) unsupported('only batch norm over the channels is supported');
      if (c.center === false || c.scale === false) unsupported('batch norm without center or scale is not supported');
      spec = { type: 'batchNorm', name, momentum: c.momentum ?? 0.99, epsilon: c.epsilon ?? 1e-3 };
      break;
    }
    case 'Dropout':
      spec = { type: 'dropout', name, rate: c.rate };
      break;
    case 'Flatten':
      spec = { type: 'flatten', name };
      break;
    case 'Activation':
      spec = { type: 'activation', name, activation: activationOf(file, name, c.activation) };
      break;
    case 'Softmax':
      spec = { type: 'activation', name, activation: 'softmax' };
      break;
    case 'ReLU':
      spec = { type: 'activation', name, activation: 'relu' };
      break;
    default:
      return unsupported(
        'supported layers are Dense, Conv2D, DepthwiseConv2D, SeparableConv2D, ' +
          'MaxPooling2D, AveragePooling2D, BatchNormalization, Dropout, Flatten, ' +
          'Activation, Softmax, ReLU, Reshape and InputLayer',
      );
  }
  const parsed = layerSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    unsupported(`its ${issue.path.join('.') || 'config'} is not valid (${issue.message})`);
  }
  return parsed.data as LayerSpec;
}

/** The layers and the declared input shape per sample of a topology. */
export function topologyLayers(
  file: string,
  topology: Record<string, unknown>,
): { layers: LayerSpec[]; inputShape: number[] } {
  const raw = kerasLayers(file, topology);
  const layers: LayerSpec[] = [];
  let inputShape: number[] | null = null;
  raw.forEach((layer, i) => {
    const batchShape = (layer.config.batch_input_shape ?? layer.config.batch_shape) as number[] | undefined;
    if (batchShape && !inputShape) inputShape = batchShape.slice(1);
    const spec = toLayerSpec(file, layer, i);
    if (!spec) return;
    if ('input' in spec) {
      if (layers.length) throw new ModelFileError(`${file}: a Reshape after the first layers cannot be trained here.`);
      if (layer.class_name === 'InputLayer' || !inputShape) inputShape = spec.input;
      return;
    }
    layers.push(spec);
  });
  if (!inputShape) throw new ModelFileError(`${file}: the model declares no input shape (batch_input_shape).`);
  return { layers, inputShape };
}

/**
 * A declared architecture from a file: a JSON list of layer specs, { "layers": [...] }, or a
 * model.json / Keras topology (its weights, if any, are not used: the workbench pretrains it).
 */
export function readModelSpec(file: string): LayerSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModelFileError(`Cannot read model spec ${file}: ${(error as Error).message}.`);
  }
  if (Array.isArray(json)) return json as LayerSpec[];
  const obj = json as Record<string, unknown>;
  if (obj && Array.isArray(obj.layers)) return obj.layers as LayerSpec[];
  const topology = (obj?.modelTopology ?? (obj?.class_name ? obj : null)) as Record<string, unknown> | null;
  if (!topology) {
    throw new ModelFileError(`${file} is neither a list of layer specs nor a LayersModel topology (modelTopology).`);
  }
  return topologyLayers(file, topology).layers;
}

const CONVERT = 'convert it with `tensorflowjs_converter --input_format keras model.h5 out/` and pass out/model.json';

/** tf.io's artifacts, with the weights as one buffer. */
export type Artifacts = Omit<tf.io.ModelArtifacts, 'weightData'> & {
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
};

/** Read a LayersModel's model.json and shards, or one sentence naming the file and why not. */
export function readArtifacts(file: string): Artifacts {
  const lower = file.toLowerCase();
  if (lower.endsWith('.h5') || lower.endsWith('.hdf5') || lower.endsWith('.keras')) {
    throw new ModelFileError(`${file} is a Keras file, not a TensorFlow.js LayersModel: ${CONVERT}.`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      `Cannot read model file ${file}: ` +
        (code === 'ENOENT'
          ? 'it does not exist'
          : code === 'EISDIR'
            ? 'it is a folder (pass its model.json)'
            : (error as Error).message) +
        '.',
    );
  }
  // HDF5 and zip (Keras 3 .keras) signatures, whatever the file is called.
  if (
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])) ||
    bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))
  ) {
    throw new ModelFileError(`${file} is a Keras file (HDF5 or zip), not a TensorFlow.js LayersModel: ${CONVERT}.`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new ModelFileError(
      `${file} is not valid JSON (${(error as Error).message}): pass the model.json of a TensorFlow.js LayersModel.`,
    );
  }
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (
    json.format === 'graph-model' ||
    (topology && (Array.isArray(topology.node) || 'versions' in topology || 'library' in topology))
  ) {
    throw new ModelFileError(
      `${file} is a TensorFlow.js GraphModel, which TensorFlow.js can only run, ` +
        `not train: convert the original model with tensorflowjs_converter --output_format ` +
        `tfjs_layers_model.`,
    );
  }
  if (!topology || typeof topology !== 'object') {
    throw new ModelFileError(`${file} has no modelTopology: it is not the model.json of a TensorFlow.js LayersModel.`);
  }
  const manifest = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] | undefined;
  if (!Array.isArray(manifest) || !manifest.length) {
    throw new ModelFileError(
      `${file} has no weightsManifest: a topology without weights is an architecture; ` +
        `pass it as --model-spec to pretrain it here.`,
    );
  }
  const dir = path.dirname(file);
  const buffers: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  let needed = 0;
  for (const group of manifest) {
    for (const spec of group.weights ?? []) {
      if (spec.dtype !== undefined && spec.dtype !== 'float32') {
        throw new ModelFileError(
          `${file}: weight ${spec.name} is ${spec.dtype}; only float32 weights can ` +
            `be trained here (convert without quantization).`,
        );
      }
      if ((spec as { quantization?: unknown }).quantization) {
        throw new ModelFileError(
          `${file}: weight ${spec.name} is quantized; only float32 weights can be ` +
            `trained here (convert without --quantize_*).`,
        );
      }
      needed += spec.shape.reduce((a, b) => a * b, 1) * 4;
      weightSpecs.push(spec);
    }
    for (const shard of group.paths ?? []) {
      const shardPath = path.join(dir, shard);
      if (!existsSync(shardPath)) {
        throw new ModelFileError(`${file} lists the weight shard ${shard}, which is missing from ${dir}.`);
      }
      buffers.push(readFileSync(shardPath));
    }
  }
  const weightData = Buffer.concat(buffers);
  if (weightData.byteLength !== needed) {
    throw new ModelFileError(
      `${file}: the weight shards hold ${weightData.byteLength} bytes but the ` +
        `manifest needs ${needed}: a shard is ${weightData.byteLength < needed ? 'truncated' : 'too long'} ` +
        `(copy the model folder again).`,
    );
  }
  return {
    modelTopology: topology as tf.io.ModelJSON['modelTopology'],
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    weightSpecs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  };
}

/**
 * The checks that need no data and no tfjs (the host runs them before queueing a run): the file
 * is a LayersModel whose layers can be trained here, with all its weights.
 */
export function checkModelFile(file: string): void {
  const resolved = path.resolve(file);
  topologyLayers(resolved, readArtifacts(resolved).modelTopology as Record<string, unknown>);
}
