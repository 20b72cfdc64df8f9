// Declared architectures: a small JSON list of layers, checked here and built by the engine with
// plain tfjs ops (src-main/engine/model.ts). The built-in MLP and CNN are two such specs; a
// TensorFlow.js LayersModel's topology maps onto the same layers (src-main/engine/modelFile.ts).
import { z } from 'zod';

export const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'tanh', 'sigmoid', 'softmax'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

const positiveInt = z.number().int().positive();
const activation = z.enum(ACTIVATIONS).default('linear');
const padding = z.enum(['same', 'valid']).default('same');
const kernel = z.number().int().min(1).max(15);
/** Layer names: unique within a model, used by `freeze.layers` and in exported weight names. */
const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/)
  .optional();

export const layerSpecSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('dense'),
      name,
      units: positiveInt.max(65536),
      activation,
      useBias: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      type: z.literal('conv2d'),
      name,
      filters: positiveInt.max(4096),
      kernelSize: kernel,
      strides: z.number().int().min(1).max(8).default(1),
      padding,
      activation,
      useBias: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      type: z.literal('depthwiseConv2d'),
      name,
      kernelSize: kernel,
      depthMultiplier: z.number().int().min(1).max(64).default(1),
      strides: z.number().int().min(1).max(8).default(1),
      padding,
      activation,
      useBias: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      type: z.literal('separableConv2d'),
      name,
      filters: positiveInt.max(4096),
      kernelSize: kernel,
      depthMultiplier: z.number().int().min(1).max(64).default(1),
      strides: z.number().int().min(1).max(8).default(1),
      padding,
      activation,
      useBias: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      type: z.enum(['maxPool2d', 'avgPool2d']),
      name,
      poolSize: z.number().int().min(1).max(8).default(2),
      /** Defaults to poolSize. */
      strides: z.number().int().min(1).max(8).optional(),
      padding,
    })
    .strict(),
  z
    .object({
      type: z.literal('batchNorm'),
      name,
      /** Keras's convention: moving = momentum * moving + (1 - momentum) * batch. */
      momentum: z.number().min(0).max(1).default(0.99),
      epsilon: z.number().positive().max(1).default(1e-3),
    })
    .strict(),
  z.object({ type: z.literal('dropout'), name, rate: z.number().min(0).lt(1) }).strict(),
  z.object({ type: z.literal('flatten'), name }).strict(),
  z.object({ type: z.literal('activation'), name, activation: z.enum(ACTIVATIONS) }).strict(),
]);
export type LayerSpec = z.infer<typeof layerSpecSchema>;
export type LayerSpecInput = z.input<typeof layerSpecSchema>;
export type LayerType = LayerSpec['type'];

/** A declared model: its layers in order; the input comes from the data, the last layer gives the classes. */
export const layersModelSchema = z
  .object({
    arch: z.literal('layers'),
    layers: z.array(layerSpecSchema).min(1).max(64),
  })
  .strict();

/** An f0 imported from a TensorFlow.js LayersModel on disk (model.json + weight shards). */
export const fileModelSchema = z
  .object({
    arch: z.literal('file'),
    /** Path of the model.json. */
    path: z.string().min(1),
  })
  .strict();

/** Layer types that hold weights (the ones freezing and a head learning rate act on). */
export const WEIGHTED_LAYERS: readonly LayerType[] = [
  'dense',
  'conv2d',
  'depthwiseConv2d',
  'separableConv2d',
  'batchNorm',
];
