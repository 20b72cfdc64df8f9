// `none`: plain finetuning, m = 0.
import type { RehearsalStrategy } from './strategy.js';

export function createNone(): RehearsalStrategy {
  const empty = new Int32Array(0);
  return {
    name: 'none',
    select: () => empty,
    observe: () => {},
  };
}
