// CLI flags -> a run config: the config file (if any) first, flags on top, then the shared
// schema decides. Errors name the flag the user typed, the value, and what is allowed.
import { readFileSync } from 'node:fs';
import { ConfigError, parseRunConfig, type RunConfig } from '../../shared/config.js';

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
} as const satisfies Record<string, readonly string[]>;

export type ConfigFlag = keyof typeof CONFIG_FLAGS;

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
]);

export function kebab(flag: string): string {
  return flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Numbers where the text is a number; otherwise the text itself, so the schema can name it. */
function coerce(flag: ConfigFlag, text: string): unknown {
  if (STRING_FLAGS.has(flag)) return text;
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
    text = readFileSync(file, 'utf8');
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
  return parsed as Record<string, unknown>;
}

/** Build the run config from an optional file and flag values (strings as typed). */
export function configFromFlags(flags: Partial<Record<ConfigFlag, string>>, file?: string): RunConfig {
  const input: Record<string, unknown> = file ? structuredClone(readConfigFile(file)) : {};
  const given = (Object.keys(flags) as ConfigFlag[]).filter((f) => f in CONFIG_FLAGS && flags[f] !== undefined);
  for (const flag of given) setPath(input, CONFIG_FLAGS[flag], coerce(flag, flags[flag]!));
  // Switching --model without its sizes: drop the other architecture's fields.
  const model = input.model as Record<string, unknown> | undefined;
  if (model && model.arch === undefined) model.arch = model.filters !== undefined ? 'cnn' : 'mlp';
  if (model?.arch === 'mlp') {
    delete model.filters;
    delete model.kernelSize;
  }
  if (model?.arch === 'cnn') delete model.hidden;
  try {
    return parseRunConfig(input);
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
