// catalog.get: what a run can be configured with, in words a researcher reads in the form.
import {
  BACKENDS,
  DEFAULT_RUN_CONFIG,
  OPTIMIZERS,
  PARTITION_RULES,
  SCENARIOS,
  STRATEGIES,
  type PartitionRule,
  type StrategyName,
} from '../../shared/config.js';
import type { Catalog } from '../../shared/contract.js';
import { SCENARIO_DESCRIPTIONS } from '../data/scenarios.js';

const STRATEGY_DESCRIPTIONS: Record<StrategyName, string> = {
  none: 'no rehearsal: finetune on the new task only (the forgetting baseline)',
  random: 'rehearse m = r * B pretrain samples drawn uniformly at random each step',
  'mix-cd':
    'rehearse from the bins of P where collateral damage is estimated to be ' +
    "highest, learned from the training step's own forward pass (no extra inference)",
  'oracle-cd':
    'every R steps run f_t over the candidates and rehearse uniformly from ' +
    'the true collateral damage set (extra forward passes, counted; the upper ' +
    'reference)',
  'loss-based':
    'rehearse the m highest-loss samples of a random pool of c * m scored by ' +
    'f_t (c * m extra forward passes per step, counted)',
  mir:
    'maximally interfered retrieval: rehearse the m of a random pool of c * ' +
    'm whose loss rises most under a virtual SGD step on the finetune batch ' +
    '(2 c m extra forward passes per step, counted)',
};

const EXTRA_INFERENCE: ReadonlySet<StrategyName> = new Set(['oracle-cd', 'loss-based', 'mir']);

const PARTITION_RULE_DESCRIPTIONS: Record<PartitionRule, string> = {
  'prior-loss': 'K equal-count bins of the prior loss l0',
  class: 'one bin per class',
  'class-loss': 'per class, K equal-count bins of the prior loss l0',
  group: "one bin per value of the data's group column",
};

export function catalog(): Catalog {
  return {
    scenarios: SCENARIOS.map((name) => ({ name, description: SCENARIO_DESCRIPTIONS[name] })),
    strategies: STRATEGIES.map((name) => ({
      name,
      description: STRATEGY_DESCRIPTIONS[name],
      extraInference: EXTRA_INFERENCE.has(name),
    })),
    partitionRules: PARTITION_RULES.map((name) => ({ name, description: PARTITION_RULE_DESCRIPTIONS[name] })),
    optimizers: [...OPTIMIZERS],
    backends: [...BACKENDS],
    defaults: DEFAULT_RUN_CONFIG,
  };
}
