// Where a run's time goes, by phase, without `performance.now()` pairs in the loop: each phase
// runs inside `time(phase, fn)`. A phase timed inside another (a strategy's extra inference
// during its selection) counts only for the inner phase, so the phases add up to the loop's time.

export type Phase = 'train' | 'evaluation' | 'sampler' | 'extraInference' | 'observer';

export class PhaseTimer {
  readonly seconds: Record<Phase, number> = { train: 0, evaluation: 0, sampler: 0, extraInference: 0, observer: 0 };
  /** Seconds spent in timed phases so far; an enclosing phase subtracts what its inner ones took. */
  private timed = 0;

  /** Seconds per phase so far (a copy), for a checkpoint. */
  snapshot(): Record<Phase, number> {
    return { ...this.seconds };
  }

  /** A resumed run counts on from the seconds its earlier part spent. */
  restore(seconds: Record<Phase, number>): void {
    for (const phase of Object.keys(this.seconds) as Phase[]) this.seconds[phase] = seconds[phase] ?? 0;
  }

  time<T>(phase: Phase, fn: () => T): T {
    const t0 = performance.now();
    const timedBefore = this.timed;
    try {
      return fn();
    } finally {
      const elapsed = (performance.now() - t0) / 1000;
      this.seconds[phase] += elapsed - (this.timed - timedBefore);
      this.timed = timedBefore + elapsed;
    }
  }
}
