// `random` (the paper's "random mixing"): m samples uniformly from all of P, no repeats in a step.
import { stateOf, type RehearsalStrategy } from './strategy.js';
import { Rng } from './rng.js';
import { drawDistinct } from './drawDistinct.js';

export function createRandom(size: number, seed: number): RehearsalStrategy {
  const rng = new Rng(seed, 0x5a3);
  return {
    name: 'random',
    select: (_step, m) => drawDistinct(rng, size, m),
    observe: () => {},
    snapshot: () => ({ name: 'random', rng: rng.snapshot() }),
    restore: (state) => rng.restore(stateOf<{ rng: Int32Array }>(state, 'random').rng),
  };
}
