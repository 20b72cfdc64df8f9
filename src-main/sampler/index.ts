// The sampler's entry point: one strategy per run, chosen by `rehearsal.strategy`. Each strategy
// draws from its own RNG stream of the run seed, so switching strategy does not shift the others'
// random streams (e.g. the engine's batch order).
import type { RehearsalConfig } from '../../shared/config.js';
import type { PretrainIndex, RehearsalStrategy } from './strategy.js';
import { createNone } from './none.js';
import { createRandom } from './random.js';
import { createMixCd } from './mixCd.js';
import { createOracleCd } from './oracleCd.js';
import { createLossBased } from './lossBased.js';
import { createMir } from './mir.js';

export type { PretrainIndex, RehearsalStrategy, InferFn, Inference, InterferenceFn } from './strategy.js';
export type { Partition, CandidateRule } from './partition.js';
export type { MixCdStrategy } from './mixCd.js';
export type { ExtraInferenceStrategy } from './oracleCd.js';
export { buildPartition, candidateIndices } from './partition.js';
export { createNone, createRandom, createMixCd, createOracleCd, createLossBased, createMir };

export function createStrategy(rehearsal: RehearsalConfig, index: PretrainIndex, seed: number): RehearsalStrategy {
  switch (rehearsal.strategy) {
    case 'none':
      return createNone();
    case 'random':
      return createRandom(index.size, seed);
    case 'mix-cd':
      return createMixCd(index, rehearsal.mixCd, seed);
    case 'oracle-cd':
      // The oracle and loss-based score the same candidates mix-cd draws from.
      return createOracleCd(index, rehearsal.oracleCd, seed, rehearsal.mixCd.candidates);
    case 'loss-based':
      return createLossBased(index, rehearsal.lossBased, seed, rehearsal.mixCd.candidates);
    case 'mir':
      return createMir(index, rehearsal.mir, seed, rehearsal.mixCd.candidates);
    default: {
      const unknown: never = rehearsal.strategy;
      throw new Error(`Unknown rehearsal strategy ${JSON.stringify(unknown)}.`);
    }
  }
}
