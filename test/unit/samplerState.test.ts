// Every strategy's snapshot()/restore() (checkpoints, docs/checkpoints.md): a strategy restored
// from a snapshot, taken mid-run and passed through node:v8 as a checkpoint file would be,
// continues exactly as the original: same selections, same traces, same extra inference. The
// verdicts come back now or one step late, as the loop's feedbackDelay does.
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { parseRunConfig, STRATEGIES, type StrategyName } from '../../shared/config.js';
import { createStrategy } from '../../src-main/sampler/index.js';
import { Rng } from '../../src-main/sampler/rng.js';
import type {
  InferFn,
  InterferenceFn,
  PretrainIndex,
  RehearsalStrategy,
  StrategyState,
} from '../../src-main/sampler/strategy.js';

function makeIndex(N: number): PretrainIndex {
  const rng = new Rng(3, 4);
  const labels = Uint8Array.from({ length: N }, () => rng.int(10));
  const priorLoss = Float32Array.from({ length: N }, () => rng.next());
  const priorCorrect = Uint8Array.from({ length: N }, () => (rng.next() < 0.7 ? 1 : 0));
  return { size: N, numClasses: 10, labels, priorLoss, priorCorrect };
}

/** f_t's verdict on sample i at step t: a fixed hash, drifting with t. */
function wrong(i: number, t: number): boolean {
  let z = Math.imul(i ^ Math.imul(Math.floor(t / 3), 0x9e3779b1), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return ((z ^ (z >>> 16)) >>> 0) / 4294967296 < 0.3;
}

/** Steps [from, to) of the loop's contract with a strategy; returns everything it produced. */
function drive(strategy: RehearsalStrategy, from: number, to: number, delay: number, pending: Pending | null) {
  const out: unknown[] = [];
  let held = pending;
  for (let t = from; t < to; t++) {
    const infer: InferFn = (indices) => {
      out.push(['infer', t, Array.from(indices)]);
      return {
        misclassified: Uint8Array.from(indices, (i) => (wrong(i, t) ? 1 : 0)),
        loss: Float32Array.from(indices, (i) => (i % 97) / 97 + (wrong(i, t) ? 1 : 0)),
      };
    };
    const interference: InterferenceFn = (indices) => Float32Array.from(indices, (i) => ((i * 31 + t) % 101) / 101);
    const chosen = strategy.select(t, 12, infer, interference);
    out.push(['select', t, Array.from(chosen)]);
    const verdict = { step: t, indices: chosen, flags: Uint8Array.from(chosen, (i) => (wrong(i, t) ? 1 : 0)) };
    if (delay === 0) strategy.observe(t, verdict.indices, verdict.flags);
    else {
      if (held) strategy.observe(held.step, held.indices, held.flags);
      held = verdict;
    }
    if ((t + 1) % 5 === 0 && strategy.trace) out.push(['trace', strategy.trace(t + 1)]);
  }
  return { out, held };
}

interface Pending {
  step: number;
  indices: Int32Array;
  flags: Uint8Array;
}

const index = makeIndex(2_000);

function make(name: StrategyName): RehearsalStrategy {
  const config = parseRunConfig({
    rehearsal: { strategy: name, oracleCd: { refreshEvery: 4, pool: 300, freshPool: name === 'oracle-cd' } },
  });
  return createStrategy(config.rehearsal, index, 5);
}

describe('strategy snapshot/restore', () => {
  for (const name of STRATEGIES) {
    for (const delay of [0, 1]) {
      it(`${name}, feedback delay ${delay}: a restored strategy continues exactly`, () => {
        const original = make(name);
        const first = drive(original, 0, 23, delay, null);
        const state = deserialize(serialize(original.snapshot!())) as StrategyState;
        const rest = drive(original, 23, 60, delay, first.held);
        const restored = make(name);
        restored.restore!(state);
        const again = drive(restored, 23, 60, delay, first.held);
        expect(again.out).toEqual(rest.out);
        expect(rest.out.length).toBeGreaterThan(0);
      });
    }
  }

  it("refuses another strategy's state", () => {
    expect(() => make('random').restore!(make('mix-cd').snapshot!())).toThrow(
      "A mix-cd strategy's state cannot restore random.",
    );
  });
});
