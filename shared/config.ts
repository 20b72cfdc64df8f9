// The run configuration: one schema, one set of defaults, used by the CLI, the host and the UI.
// Everything that changes a run's numbers lives here, so a stored config re-runs exactly.
import { z } from 'zod';

export const SCENARIOS = ['rot90', 'permute', 'split'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const STRATEGIES = ['none', 'random', 'mix-cd', 'oracle-cd', 'loss-based'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];

export const PARTITION_RULES = ['prior-loss', 'class', 'class-loss', 'group'] as const;
export type PartitionRule = (typeof PARTITION_RULES)[number];

export const OPTIMIZERS = ['sgd', 'momentum', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

const positiveInt = z.number().int().positive();
const rate = z.number().min(0).max(1);

export const mlpSchema = z
  .object({
    arch: z.literal('mlp'),
    /** Hidden layer widths; the input and output sizes come from the data. */
    hidden: z.array(positiveInt).min(1).max(8).default([256, 256]),
  })
  .strict();

export const cnnSchema = z
  .object({
    arch: z.literal('cnn'),
    /** Filters of each conv3x3 + relu + maxpool2 block, then one dense layer to the classes. */
    filters: z.array(positiveInt).min(1).max(4).default([16, 32]),
    kernelSize: z.number().int().min(1).max(7).default(3),
  })
  .strict();

export const modelSchema = z.discriminatedUnion('arch', [mlpSchema, cnnSchema]);
export type ModelSpec = z.infer<typeof modelSchema>;

export const optimizerSchema = z
  .object({
    name: z.enum(OPTIMIZERS),
    lr: z.number().positive().max(10),
    /** Used by `momentum` only (PyTorch's SGD momentum: v = mu v + g; w -= lr v). */
    momentum: z.number().min(0).max(0.9999).default(0.9),
  })
  .strict();
export type OptimizerSpec = z.infer<typeof optimizerSchema>;

export const pretrainSchema = z
  .object({
    epochs: positiveInt.max(1000).default(10),
    batchSize: positiveInt.max(65536).default(128),
    optimizer: optimizerSchema.default({ name: 'adam', lr: 1e-3, momentum: 0.9 }),
    /** Seed of f0's initialisation and shuffling: every run with the same pretrain seed shares f0. */
    seed: z.number().int().min(0).default(0),
  })
  .strict();

/** mix-cd's estimator settings (docs/method.md, steps 1-5). */
export const mixCdSchema = z
  .object({
    rule: z.enum(PARTITION_RULES).default('class-loss'),
    /** Loss quantile bins (per class for class-loss). */
    bins: positiveInt.max(100000).default(10),
    /** Candidates: only prior-correct samples can become collateral damage. */
    candidates: z.enum(['prior-correct', 'all']).default('prior-correct'),
    prior: z.enum(['pooled', 'fixed']).default('pooled'),
    /** The fixed prior CD rate pi (used when prior = fixed). */
    priorRate: rate.default(0.5),
    /** Prior strength a, in pseudo-observations. */
    priorStrength: z.number().min(0).max(1e6).default(1),
    /** Per-step decay of the counts n_k and s_k. */
    gamma: z.number().gt(0).max(1).default(0.995),
    /** Share of size-proportional draws so that no bin is starved. */
    epsilon: rate.default(0.02),
  })
  .strict();

export const oracleCdSchema = z
  .object({
    /** Refresh the true CD set every R steps (extra inference, counted). */
    refreshEvery: positiveInt.default(10),
    /** 0: all candidates; otherwise a fixed random pool of this many candidates. */
    pool: z.number().int().min(0).default(0),
  })
  .strict();

export const lossBasedSchema = z
  .object({
    /** Pool of c * m random samples scored by f_t (extra inference, counted). */
    poolFactor: z.number().min(1).max(1000).default(4),
  })
  .strict();

export const rehearsalSchema = z
  .object({
    strategy: z.enum(STRATEGIES).default('random'),
    /** Rehearsal ratio r = m / B; m = round(r * B) pretrain samples join every finetune batch. */
    budget: z.number().min(0).max(10).default(0.1),
    /** Hand the sampler each step's outcome this many steps late (1 avoids a GPU sync point). */
    feedbackDelay: z.number().int().min(0).max(1).default(0),
    mixCd: mixCdSchema.default(mixCdSchema.parse({})),
    oracleCd: oracleCdSchema.default(oracleCdSchema.parse({})),
    lossBased: lossBasedSchema.default(lossBasedSchema.parse({})),
    /**
     * Diagnostic only (not budget, not compute): size of a fixed random subset of the pretrain set
     * whose category (CD, unforgotten, ...) is measured at every eval. The sample inspector reads
     * the true CD rate per bin and the pretrain set's category shares off it; 2,000 costs about 3%
     * of a default run's time on wasm and gives shares to about +-1 point. 0 turns it off.
     */
    probe: z.number().int().min(0).default(2000),
  })
  .strict();

export const finetuneSchema = z
  .object({
    steps: z.number().int().min(0).max(10_000_000).default(1500),
    batchSize: positiveInt.max(65536).default(128),
    optimizer: optimizerSchema.default({ name: 'momentum', lr: 0.01, momentum: 0.9 }),
    evalEvery: positiveInt.default(100),
  })
  .strict();

export const runConfigSchema = z
  .object({
    scenario: z.enum(SCENARIOS).default('rot90'),
    dataset: z.literal('fashion-mnist').default('fashion-mnist'),
    /** Folder holding the four IDX files; empty = look in the usual places. */
    dataDir: z.string().optional(),
    model: modelSchema.default({ arch: 'mlp', hidden: [256, 256] }),
    pretrain: pretrainSchema.default(pretrainSchema.parse({})),
    finetune: finetuneSchema.default(finetuneSchema.parse({})),
    rehearsal: rehearsalSchema.default(rehearsalSchema.parse({})),
    /** Seed of the finetune run: batch order, rehearsal draws. */
    seed: z.number().int().min(0).default(1),
    backend: z.enum(BACKENDS).default('auto'),
  })
  .strict();

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type MixCdConfig = z.infer<typeof mixCdSchema>;
export type OracleCdConfig = z.infer<typeof oracleCdSchema>;
export type LossBasedConfig = z.infer<typeof lossBasedSchema>;
export type RehearsalConfig = z.infer<typeof rehearsalSchema>;

export const DEFAULT_RUN_CONFIG: RunConfig = runConfigSchema.parse({});

/** A config error as one sentence: the field, the value, what is allowed. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): { field: string; message: string } {
  const field = issue.path.map(String).join('.') || '(config)';
  let value: unknown = input;
  for (const key of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  let allowed: string;
  switch (issue.code) {
    case 'invalid_value':
      allowed = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'invalid_union':
      allowed = 'a valid option (see the README)';
      break;
    case 'unrecognized_keys':
      return {
        field,
        message:
          `Unknown config field${issue.keys.length > 1 ? 's' : ''} ` +
          `${issue.keys.map((k) => `"${field === '(config)' ? k : `${field}.${k}`}"`).join(', ')}: ` +
          `remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling.`,
      };
    default:
      allowed = issue.message.replace(/^(Invalid input|Too small|Too big): /, '').replace(/^expected /, '');
  }
  return { field, message: `Config field "${field}" has value ${shown}, which is not allowed: expected ${allowed}.` };
}

/** Parse and default a run config, or throw a ConfigError naming the first bad field. */
export function parseRunConfig(input: unknown): RunConfig {
  const result = runConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const { field, message } = describeIssue(result.error.issues[0], input);
  throw new ConfigError(message, field);
}

/** m = round(r * B): the per-step rehearsal budget in samples. */
export function rehearsalBudget(config: Pick<RunConfig, 'finetune' | 'rehearsal'>): number {
  if (config.rehearsal.strategy === 'none') return 0;
  return Math.round(config.rehearsal.budget * config.finetune.batchSize);
}
