// Phases timed inside another count only once: the enclosing phase gets its own time alone.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PhaseTimer } from '../../src-main/engine/loop/phaseTimer.js';

afterEach(() => vi.restoreAllMocks());

describe('PhaseTimer', () => {
  it('subtracts a nested phase from the enclosing one, so the phases add up to the wall time', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const timer = new PhaseTimer();
    const result = timer.time('sampler', () => {
      now += 1000;
      timer.time('extraInference', () => (now += 3000));
      timer.time('extraInference', () => (now += 500));
      now += 250;
      return 'picked';
    });
    timer.time('train', () => (now += 2000));
    expect(result).toBe('picked');
    expect(timer.seconds).toEqual({ train: 2, evaluation: 0, sampler: 1.25, extraInference: 3.5, observer: 0 });
  });

  it('counts the time of a phase that throws', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const timer = new PhaseTimer();
    expect(() =>
      timer.time('evaluation', () => {
        now += 1500;
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(timer.seconds.evaluation).toBe(1.5);
  });
});
