// `none`: plain finetuning, m = 0.
import { stateOf, type RehearsalStrategy } from './strategy.js';

export function createNone(): RehearsalStrategy {
  const empty = new Int32Array(0);
  return {
    name: 'none',
    select: () => empty,
    observe: () => {},
    snapshot: () => ({ name: 'none' }),
    restore: (state) => void stateOf(state, 'none'),
  };
}
