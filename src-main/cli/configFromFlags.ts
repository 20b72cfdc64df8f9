// CLI flags -> a run config: the config file (if any) first, flags on top, then the shared
// schema decides. Errors name the flag the user typed, the value, and what is allowed.
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  DEFAULT_RUN_CONFIG,
  MAX_NESTING,
  MIXCD_PRESETS,
  SCENARIOS,
  nestedTooDeep,
  parseRunConfig,
  type RunConfig,
} from '../../shared/config.js';
import { DataError } from '../data/dataset.js';
import { findScenarioFile, readScenarioFile } from '../data/scenarioFile.js';
import { readModelSpec } from '../engine/kerasTopology.js';
import { resolveRehearsal } from '../../shared/computeBudget.js';

/** Flag name -> path in the config, for every flag that sets a config field. */
export const CONFIG_FLAGS = {
  scenario: ['scenario'],
  model: ['model', 'arch'],
  hidden: ['model', 'hidden'],
  filters: ['model', 'filters'],
  backend: ['backend'],
  dataDir: ['dataDir'],
  seed: ['seed'],
  pretrainEpochs: ['pretrain', 'epochs'],
  pretrainSeed: ['pretrain', 'seed'],
  steps: ['finetune', 'steps'],
  batchSize: ['finetune', 'batchSize'],
  lr: ['finetune', 'optimizer', 'lr'],
  optimizer: ['finetune', 'optimizer', 'name'],
  momentum: ['finetune', 'optimizer', 'momentum'],
  evalEvery: ['finetune', 'evalEvery'],
  strategy: ['rehearsal', 'strategy'],
  budget: ['rehearsal', 'budget'],
  feedbackDelay: ['rehearsal', 'feedbackDelay'],
  probe: ['rehearsal', 'probe'],
  rule: ['rehearsal', 'mixCd', 'rule'],
  bins: ['rehearsal', 'mixCd', 'bins'],
  candidates: ['rehearsal', 'mixCd', 'candidates'],
  prior: ['rehearsal', 'mixCd', 'prior'],
  priorRate: ['rehearsal', 'mixCd', 'priorRate'],
  priorStrength: ['rehearsal', 'mixCd', 'priorStrength'],
  gamma: ['rehearsal', 'mixCd', 'gamma'],
  epsilon: ['rehearsal', 'mixCd', 'epsilon'],
  refreshEvery: ['rehearsal', 'oracleCd', 'refreshEvery'],
  pool: ['rehearsal', 'oracleCd', 'pool'],
  poolFactor: ['rehearsal', 'lossBased', 'poolFactor'],
  modelFile: ['model', 'path'],
  modelSpec: ['model', 'layers'],
  trainLast: ['finetune', 'freeze', 'trainLast'],
  freezeLayers: ['finetune', 'freeze', 'layers'],
  headLr: ['finetune', 'headLr'],
  weightDecay: ['finetune', 'optimizer', 'weightDecay'],
  computeBudget: ['rehearsal', 'computeBudget'],
  mirPoolFactor: ['rehearsal', 'mir', 'poolFactor'],
  f0Backend: ['f0Backend'],
  allowSoftwareAdapter: ['allowSoftwareAdapter'],
} as const satisfies Record<string, readonly string[]>;

export type ConfigFlag = keyof typeof CONFIG_FLAGS;

const OPTIMIZER_FLAGS = new Set<ConfigFlag>(['lr', 'optimizer', 'momentum']);
const LIST_FLAGS = new Set<ConfigFlag>(['hidden', 'filters']);
const STRING_FLAGS = new Set<ConfigFlag>([
  'scenario',
  'model',
  'backend',
  'dataDir',
  'optimizer',
  'strategy',
  'rule',
  'candidates',
  'prior',
  'modelFile',
  'f0Backend',
]);
/** Flags without a value (present = true). */
export const BOOLEAN_FLAGS = new Set<ConfigFlag>(['allowSoftwareAdapter']);
/** Comma-separated names, kept as text. */
const NAME_LIST_FLAGS = new Set<ConfigFlag>(['freezeLayers']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Numbers where the text is a number; otherwise the text itself, so the schema can name it. */
function coerce(flag: ConfigFlag, text: string): unknown {
  if (STRING_FLAGS.has(flag)) return text;
  // A declared architecture from a file: layer specs, or a model.json topology (weights unused).
  if (flag === 'modelSpec') return readModelSpec(text);
  if (NAME_LIST_FLAGS.has(flag)) return text.split(',').map((part) => part.trim());
  if (BOOLEAN_FLAGS.has(flag)) return text === 'true';
  if (LIST_FLAGS.has(flag)) return text.split(',').map((part) => coerceNumber(part.trim()));
  return coerceNumber(text);
}

function coerceNumber(text: string): unknown {
  return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    // A UTF-8 byte order mark (Windows editors add one) is not part of the JSON.
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message;
    throw new ConfigError(`Cannot read config file ${file}: ${why}.`, 'config');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `Config file ${file} is not valid JSON (${(error as Error).message}); fix it or pass the settings as flags.`,
      'config',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`Config file ${file} must hold a JSON object of run settings.`, 'config');
  }
  if (nestedTooDeep(parsed))
    throw new ConfigError(
      `Config file ${file} nests more than ${MAX_NESTING} levels deep; a run ` +
        `config is a few levels of settings (see the README).`,
      'config',
    );
  return parsed as Record<string, unknown>;
}

/** A mix-cd preset over the file's settings; the flags come on top of it. */
function applyPreset(input: Record<string, unknown>, preset: string): void {
  if (!Object.hasOwn(MIXCD_PRESETS, preset))
    throw new ConfigError(
      `--preset "${preset}" is not valid: give one of ${Object.keys(MIXCD_PRESETS).join(', ')}.`,
      'preset',
    );
  const rehearsal = (input.rehearsal ??= {});
  if (!isObject(rehearsal)) return; // the schema names the bad field
  const mixCd = (rehearsal.mixCd ??= {});
  if (!isObject(mixCd)) return;
  Object.assign(mixCd, MIXCD_PRESETS[preset as keyof typeof MIXCD_PRESETS]);
}

/** Build the run config from an optional file and flag values (strings as typed). */
export function configFromFlags(flags: Partial<Record<ConfigFlag, string>>, file?: string, preset?: string): RunConfig {
  return configFromObject(flags, file ? readConfigFile(file) : {}, preset);
}

/** Like configFromFlags, from settings already read (a study file's `base`). */
export function configFromObject(
  flags: Partial<Record<ConfigFlag, string>>,
  settings: Record<string, unknown>,
  preset?: string,
): RunConfig {
  const input: Record<string, unknown> = structuredClone(settings);
  if (preset !== undefined) applyPreset(input, preset);
  const given = (Object.keys(flags) as ConfigFlag[]).filter((f) => f in CONFIG_FLAGS && flags[f] !== undefined);
  // The optimizer's fields come as one object in the schema: one flag (--lr alone) overrides its own
  // field over the optimizer the file gives, or the default one, instead of leaving the others missing.
  if (given.some((f) => OPTIMIZER_FLAGS.has(f)) && (input.finetune === undefined || isObject(input.finetune))) {
    const finetune = (input.finetune ??= {}) as Record<string, unknown>;
    const fromFile = finetune.optimizer;
    if (fromFile === undefined || isObject(fromFile))
      finetune.optimizer = { ...DEFAULT_RUN_CONFIG.finetune.optimizer, ...(fromFile as object | undefined) };
  }
  for (const flag of given) setPath(input, CONFIG_FLAGS[flag], coerce(flag, flags[flag]!));
  // Switching --model without its sizes: drop the other architecture's fields.
  const model = input.model as Record<string, unknown> | undefined;
  // --model-file: an imported f0 replaces whatever architecture the file or flags declared.
  if (flags.modelSpec !== undefined && model) {
    for (const key of Object.keys(model)) if (key !== 'layers') delete model[key];
    model.arch = 'layers';
  }
  if (flags.modelFile !== undefined && model) {
    for (const key of Object.keys(model)) if (key !== 'path') delete model[key];
    model.arch = 'file';
  }
  if (model && model.arch === undefined) model.arch = model.filters !== undefined ? 'cnn' : 'mlp';
  if (model?.arch === 'mlp') {
    delete model.filters;
    delete model.kernelSize;
  }
  if (model?.arch === 'cnn') delete model.hidden;
  // --scenario FILE|NAME: a scenario file (a path, or the name of a shipped one) travels as its
  // content, so the stored config re-runs exactly; the built-in names keep their own code path.
  if (typeof input.scenario === 'string' && !(SCENARIOS as readonly string[]).includes(input.scenario)) {
    try {
      const file = findScenarioFile(input.scenario);
      if (file) {
        input.scenarioFile = { path: file, spec: readScenarioFile(file) };
        delete input.scenario;
      }
    } catch (error) {
      if (error instanceof DataError) throw new ConfigError(`--scenario: ${error.message}`, 'scenario');
      throw error;
    }
  }
  // --compute-budget R without --budget: the nominal ratio is R too (tables group runs by it).
  const rehearsal = input.rehearsal as Record<string, unknown> | undefined;
  if (rehearsal && rehearsal.computeBudget !== undefined && rehearsal.budget === undefined)
    rehearsal.budget = rehearsal.computeBudget;
  try {
    const config = parseRunConfig(input);
    resolveRehearsal(config); // a compute budget no m >= 1 fits: one sentence, before anything runs
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const flag = given.find(
      (f) => CONFIG_FLAGS[f].join('.') === error.field || error.field.startsWith(CONFIG_FLAGS[f].join('.') + '.'),
    );
    if (!flag) throw error;
    const message = error.message.replace(/^Config field "[^"]+"/, `--${kebab(flag)} (config field "${error.field}")`);
    throw new ConfigError(message, error.field);
  }
}
