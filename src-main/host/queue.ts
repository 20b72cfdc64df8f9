// The run queue: first in, first out, at most `concurrency` jobs at once. A job may be held back
// while another one it depends on is running (canStart), without blocking the jobs behind it.
export class RunQueue<J> {
  private readonly waiting: J[] = [];
  private readonly active = new Set<J>();

  constructor(
    private concurrency: number,
    /** Runs the job; the slot is free again when the promise settles. */
    private readonly start: (job: J) => Promise<void>,
    private readonly canStart: (job: J, running: ReadonlySet<J>) => boolean = () => true,
  ) {
    RunQueue.checkConcurrency(concurrency);
  }

  static checkConcurrency(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Concurrency must be a whole number >= 1, not ${n}.`);
  }

  get queued(): readonly J[] {
    return this.waiting;
  }

  get running(): ReadonlySet<J> {
    return this.active;
  }

  get limit(): number {
    return this.concurrency;
  }

  add(job: J): void {
    this.waiting.push(job);
    this.pump();
  }

  /** Takes a job out before it starts; false when it is not waiting (started or unknown). */
  remove(job: J): boolean {
    const i = this.waiting.indexOf(job);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Empties the queue (nothing more starts) and returns what was waiting. */
  clear(): J[] {
    return this.waiting.splice(0);
  }

  setConcurrency(n: number): void {
    RunQueue.checkConcurrency(n);
    this.concurrency = n;
    this.pump();
  }

  /** Starts what may start; call again when something canStart depends on has changed. */
  pump(): void {
    while (this.active.size < this.concurrency) {
      const i = this.waiting.findIndex((job) => this.canStart(job, this.active));
      if (i < 0) return;
      const [job] = this.waiting.splice(i, 1);
      this.active.add(job);
      const release = () => {
        this.active.delete(job);
        this.pump();
      };
      // start() reports its own failures; a rejection here must only free the slot.
      this.start(job).then(release, release);
    }
  }
}
