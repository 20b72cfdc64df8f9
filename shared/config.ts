// The run configuration: one schema, one set of defaults, used by the CLI, the host and the UI.
// Everything that changes a run's numbers lives here, so a stored config re-runs exactly.
import { z } from 'zod';
import { scenarioSpecSchema } from './scenarioFile.js';
import { fileModelSchema, layersModelSchema } from './modelSpec.js';

export const SCENARIOS = ['rot90', 'permute', 'split'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export const STRATEGIES = ['none', 'random', 'mix-cd', 'oracle-cd', 'loss-based', 'mir'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];

export const PARTITION_RULES = ['prior-loss', 'class', 'class-loss', 'group'] as const;
export type PartitionRule = (typeof PARTITION_RULES)[number];

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamw'] as const;
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

/** mlp and cnn are shorthands for two declared layer lists (builtinLayers in the engine). */
export const modelSchema = z.discriminatedUnion('arch', [mlpSchema, cnnSchema, layersModelSchema, fileModelSchema]);
export type ModelSpec = z.infer<typeof modelSchema>;

/**
 * Whether a model must be built once to know it fits the data: an imported file or a declared
 * layer list can be wrong; mlp and cnn are built from the data's shape and always fit. The CLI
 * loads the engine (tfjs, about half a second) for the check only when it can fail.
 */
export function modelNeedsCheck(model: ModelSpec): boolean {
  return model.arch === 'file' || model.arch === 'layers';
}

export const optimizerSchema = z
  .object({
    name: z.enum(OPTIMIZERS),
    lr: z.number().positive().max(10),
    /** Used by `momentum` only (PyTorch's SGD momentum: v = mu v + g; w -= lr v). */
    momentum: z.number().min(0).max(0.9999).default(0.9),
    /**
     * Weight decay lambda. sgd/momentum/adam: L2, lambda * w added to the gradient (PyTorch's
     * weight_decay); adamw: decoupled, w -= lr * lambda * w before the Adam step (PyTorch's AdamW).
     * Optional (no default) so that stored configs and f0 cache keys stay as they were.
     */
    weightDecay: z.number().min(0).max(1).optional(),
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

/**
 * Named sets of mix-cd settings (`--preset NAME`), applied over the defaults or the config file and
 * under any flag. `paper-plain` is the plain per-bin ratio alpha_k = s_k / n_k: no prior (a = 0),
 * no decay (gamma = 1), no size-proportional floor (epsilon = 0).
 */
export const MIXCD_PRESETS = {
  'paper-plain': { priorStrength: 0, gamma: 1, epsilon: 0 },
} as const satisfies Record<string, Partial<z.input<typeof mixCdSchema>>>;
export type MixCdPreset = keyof typeof MIXCD_PRESETS;

export const oracleCdSchema = z
  .object({
    /** Refresh the true CD set every R steps (extra inference, counted). */
    refreshEvery: positiveInt.default(10),
    /** 0: all candidates; otherwise a fixed random pool of this many candidates. */
    pool: z.number().int().min(0).default(0),
    /** With a pool: draw a fresh random pool at every refresh instead of one fixed for the run. */
    freshPool: z.boolean().default(false),
  })
  .strict();

export const lossBasedSchema = z
  .object({
    /** Pool of c * m random samples scored by f_t (extra inference, counted). */
    poolFactor: z.number().min(1).max(1000).default(4),
  })
  .strict();

/** MIR, maximally interfered retrieval (Aljundi et al. 2019). */
export const mirSchema = z
  .object({
    /** Pool of c * m random candidates scored before and after a virtual SGD step (2 c m extra forward passes). */
    poolFactor: z.number().min(1).max(1000).default(4),
  })
  .strict();

export const rehearsalSchema = z
  .object({
    strategy: z.enum(STRATEGIES).default('random'),
    /** Rehearsal ratio r = m / B; m = round(r * B) pretrain samples join every finetune batch. */
    budget: z.number().min(0).max(10).default(0.1),
    /**
     * Hand the sampler each step's outcome this many steps late (1 avoids a GPU sync point).
     * Unset = the backend's default (1 on GPU backends, 0 on CPU ones), written into the stored
     * config once the backend is known (resolveBackendDefaults), so a re-run is exact.
     */
    feedbackDelay: z.number().int().min(0).max(1).optional(),
    mixCd: mixCdSchema.default(mixCdSchema.parse({})),
    oracleCd: oracleCdSchema.default(oracleCdSchema.parse({})),
    lossBased: lossBasedSchema.default(lossBasedSchema.parse({})),
    mir: mirSchema.default(mirSchema.parse({})),
    /**
     * Compare at equal compute: when set, m (and the scored pools of loss-based, MIR and oracle-cd)
     * is resolved per strategy so that the compute units per step equal random mixing's at
     * r = computeBudget (shared/computeBudget.ts). `budget` is then only the nominal ratio.
     */
    computeBudget: z.number().min(0).max(10).optional(),
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
    // At least one step: a 0-step run would be stored as "finished" without having finetuned.
    steps: z.number().int().min(1).max(10_000_000).default(1500),
    batchSize: positiveInt.max(65536).default(128),
    optimizer: optimizerSchema.default({ name: 'momentum', lr: 0.01, momentum: 0.9 }),
    evalEvery: positiveInt.default(100),
    /**
     * Layers that stay as in f0 during finetuning: all but the last `trainLast` weighted layers
     * and/or the layers named in `layers`. Frozen layers still run forward (and counted so).
     */
    freeze: z
      .object({
        trainLast: z.number().int().min(0).max(64).optional(),
        layers: z.array(z.string().min(1)).max(64).optional(),
      })
      .strict()
      .optional(),
    /** Learning rate of the head (the last weighted layer); the optimizer's lr elsewhere. */
    headLr: z.number().positive().max(10).optional(),
  })
  .strict();

/** Multi-stage finetuning (MIXCD.md, "Multi-stage"): used when a scenario file has several stages. */
export const MULTI_STAGE_POOLS = ['all-earlier', 'pretrain'] as const;
export const MULTI_STAGE_PRIORS = ['stage-start', 'f0-for-pretrain'] as const;
export const MULTI_STAGE_BINS = ['source-class-loss', 'rule'] as const;
export const multiStageSchema = z
  .object({
    /** Rehearsal pool of stage s: P plus the train sets of stages 1..s-1, or P only. */
    pool: z.enum(MULTI_STAGE_POOLS).default('all-earlier'),
    /**
     * Whose verdicts define CD in stage s: a prior pass of the stage's starting model over the pool
     * (counted as extra forward passes), or f0's cached prior pass for P (earlier stages' samples
     * still get the starting model's pass).
     */
    prior: z.enum(MULTI_STAGE_PRIORS).default('stage-start'),
    /** mix-cd bins: source x class x prior-loss quantile, or the run's own partition rule. */
    bins: z.enum(MULTI_STAGE_BINS).default('source-class-loss'),
  })
  .strict();
export type MultiStageConfig = z.infer<typeof multiStageSchema>;

export const runConfigSchema = z
  .object({
    scenario: z.enum(SCENARIOS).default('rot90'),
    /** A scenario file: its path (for messages) and content (so the run re-runs exactly); overrides `scenario`. */
    scenarioFile: z.object({ path: z.string(), spec: scenarioSpecSchema }).strict().optional(),
    multiStage: multiStageSchema.default(multiStageSchema.parse({})),
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
    /**
     * Start from the f0 (and prior pass) pretrained on this backend instead of the run's own,
     * pretraining it there first if the cache lacks it: a slow backend (webgpu on a software
     * adapter) can finetune from the f0 wasm made. Unset = the run's backend.
     */
    f0Backend: z.enum(BACKENDS).exclude(['auto']).optional(),
    /** webgpu may use a software adapter (llvmpipe, SwiftShader): for tests, never chosen by auto. */
    allowSoftwareAdapter: z.boolean().optional(),
  })
  .strict();

export type RunConfig = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type MixCdConfig = z.infer<typeof mixCdSchema>;
export type OracleCdConfig = z.infer<typeof oracleCdSchema>;
export type LossBasedConfig = z.infer<typeof lossBasedSchema>;
export type RehearsalConfig = z.infer<typeof rehearsalSchema>;
export type MirConfig = z.infer<typeof mirSchema>;

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
      // A discriminated union (the model's arch) names its options; the others point to the README.
      allowed =
        (issue as { discriminator?: string }).discriminator === 'arch'
          ? `one of ${modelSchema.options.map((o) => JSON.stringify(o.shape.arch.value)).join(', ')}`
          : 'a valid option (see the README)';
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

/** No run config or request nests deeper than this; deeper input is refused before validation. */
export const MAX_NESTING = 32;

/**
 * True when `value` nests objects/arrays more than `max` levels deep. Iterative, so a 100,000-deep
 * payload is measured without the recursion that would overflow the stack in the validator.
 */
export function nestedTooDeep(value: unknown, max = MAX_NESTING): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parse and default a run config, or throw a ConfigError naming the first bad field. */
export function parseRunConfig(input: unknown): RunConfig {
  if (nestedTooDeep(input))
    throw new ConfigError(
      `The config nests more than ${MAX_NESTING} levels deep; a run config is ` +
        `a few levels of settings (see the README).`,
      '(config)',
    );
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

/**
 * Settings that mean nothing for the chosen strategy, normalised so the stored config says what ran:
 * `none` rehearses nothing, so its budget is 0 (as in a study's grid). Each change comes back as a
 * sentence for the user.
 */
export function normaliseRunConfig(config: RunConfig): { config: RunConfig; notes: string[] } {
  const notes: string[] = [];
  if (config.rehearsal.strategy === 'none' && config.rehearsal.budget !== 0) {
    notes.push(
      `Strategy "none" rehearses nothing: budget r = ${config.rehearsal.budget} ` +
        `is stored as 0 (use --strategy random or mix-cd to rehearse).`,
    );
    config = { ...config, rehearsal: { ...config.rehearsal, budget: 0 } };
  }
  return { config, notes };
}

/**
 * What a run's scenario is called: its scenario file's name when it ran from one (config.scenario
 * then only holds the schema's default), else the built-in scenario's name.
 */
export function scenarioNameOf(config: Pick<RunConfig, 'scenario' | 'scenarioFile'>): string {
  return config.scenarioFile?.spec.name ?? config.scenario;
}
