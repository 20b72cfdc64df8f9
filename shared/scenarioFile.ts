// Scenario files: the pretrain train/test sets and an ordered list of finetune stages, each set a
// dataset (or its train/test split, or a seeded part of it) with transforms. One schema for the
// CLI, the host and the New-run form; `scenario.schema.json` is generated from it for editors.
import { z } from 'zod';
import { DATASET_FORMATS, datasetSpecSchema } from './datasets.js';

/** The datasets a scenario draws from: the built-in Fashion-MNIST, a path, or an inline declaration. */
export const scenarioDatasetSchema = z.union([
  z.object({ builtin: z.literal('fashion-mnist') }).strict(),
  z
    .object({
      /** A dataset folder, dataset.json or data file, relative to the scenario file. */
      path: z.string().min(1),
      format: z.enum(DATASET_FORMATS).optional(),
    })
    .strict(),
  z.object({ declared: datasetSpecSchema }).strict(),
]);

export const transformSchema = z.discriminatedUnion('op', [
  /** Keep only these classes (labels unchanged: one head for all tasks). */
  z.object({ op: z.literal('classes'), keep: z.array(z.number().int().min(0).max(255)).min(1) }).strict(),
  /** Relabel: { "from": to } for each label to change; others unchanged. */
  z.object({ op: z.literal('labelMap'), map: z.record(z.string(), z.number().int().min(0).max(255)) }).strict(),
  /** Rotate square images counter-clockwise by a multiple of 90 degrees. */
  z.object({ op: z.literal('rotate'), degrees: z.union([z.literal(90), z.literal(180), z.literal(270)]) }).strict(),
  /** One fixed pixel permutation (channels of a pixel move together); 20240213 is the built-in permute's. */
  z.object({ op: z.literal('permute'), seed: z.number().int().min(0) }).strict(),
  /** Additive Gaussian noise of this standard deviation (in [0, 1] pixel units), fixed by its seed. */
  z.object({ op: z.literal('noise'), std: z.number().positive().max(1), seed: z.number().int().min(0) }).strict(),
]);
export type Transform = z.infer<typeof transformSchema>;

export const setSchema = z
  .object({
    /** A key of the scenario's `datasets`. */
    dataset: z.string().min(1),
    split: z.enum(['train', 'test']).default('train'),
    /** A seeded part of the split: `fraction` of it (shuffled by `seed`), or the rest. */
    part: z
      .object({
        seed: z.number().int().min(0),
        fraction: z.number().gt(0).lt(1),
        take: z.enum(['fraction', 'rest']),
      })
      .strict()
      .optional(),
    transforms: z.array(transformSchema).default([]),
  })
  .strict();
export type SetSpec = z.infer<typeof setSchema>;

export const taskSchema = z.object({ train: setSchema, test: setSchema }).strict();

export const stageSchema = taskSchema.extend({ name: z.string().min(1).max(80) }).strict();

export const scenarioSpecSchema = z
  .object({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash or underscore')
      .max(80),
    description: z.string().max(1000).default(''),
    datasets: z.record(z.string().min(1), scenarioDatasetSchema),
    pretrain: taskSchema,
    /** Finetune stages in order: stage s starts from the model stage s-1 ended with. */
    stages: z.array(stageSchema).min(1).max(20),
  })
  .strict();
export type ScenarioSpec = z.infer<typeof scenarioSpecSchema>;
export type ScenarioSpecInput = z.input<typeof scenarioSpecSchema>;

/** Checks a scenario's content; the error is one sentence naming the field. */
export function parseScenarioSpec(input: unknown, source: string): ScenarioSpec {
  const result = scenarioSpecSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.map(String).join('.') || '(top level)';
    throw new ScenarioSpecError(
      `${source} field "${field}" is not valid: ${issue.message}; see scenario.schema.json ` +
        `or the README's scenario-file section.`,
    );
  }
  const spec = result.data;
  const sets = [spec.pretrain.train, spec.pretrain.test, ...spec.stages.flatMap((s) => [s.train, s.test])];
  for (const set of sets)
    if (!(set.dataset in spec.datasets))
      throw new ScenarioSpecError(
        `${source} uses dataset "${set.dataset}", which its "datasets" does not ` +
          `declare (it declares ${Object.keys(spec.datasets).join(', ') || 'none'}); ` +
          `add it or fix the name.`,
      );
  return spec;
}

export class ScenarioSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioSpecError';
  }
}
