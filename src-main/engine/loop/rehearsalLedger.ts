// The rehearsal ledger: what the loop rehearsed and what each rehearsal turned out to be.
// It keeps the rehearsal log (step, sample) in order, how often each pretrain sample was
// rehearsed, each rehearsal's category (f0's verdict against the training step's own forward
// pass, i.e. f_t before that step's update), and the rehearsal precision: the share of the
// rehearsed samples that were collateral damage (prior-correct, now wrong), per eval interval
// and over the run.
import { CATEGORY_CODE, UNKNOWN_CATEGORY, categoryOf } from '../../../shared/results.js';

export interface LedgerRecord {
  /** How often each pretrain sample was rehearsed. */
  rehearsalCounts: Uint32Array;
  /** (step, sample index) pairs of every rehearsal, in order. */
  rehearsalLog: Int32Array;
  /** Per log entry: its CATEGORY_CODE; UNKNOWN_CATEGORY when its verdict never arrived. */
  rehearsalCategories: Uint8Array;
  /** Rehearsed samples whose verdict reached the strategy, and how many of them were CD. */
  verdicts: { rehearsed: number; damaged: number };
}

/** The ledger at a step boundary: the log and categories up to what was rehearsed so far. */
export interface LedgerState {
  counts: Uint32Array;
  log: Int32Array;
  categories: Uint8Array;
  judged: number;
  rehearsedSinceEval: number;
  damagedSinceEval: number;
  totals: { rehearsed: number; damaged: number };
}

export class RehearsalLedger {
  private readonly counts: Uint32Array;
  private log: Int32Array;
  private logLength = 0;
  private categories: Uint8Array;
  /** Verdicts arrive in log order (delay or not), so one cursor walks the log behind `logLength`. */
  private judged = 0;
  private rehearsedSinceEval = 0;
  private damagedSinceEval = 0;
  private readonly totals = { rehearsed: 0, damaged: 0 };

  /** Room for m rehearsals in each of `steps` steps. */
  constructor(
    poolSize: number,
    m: number,
    steps: number,
    private readonly priorCorrect: Uint8Array,
  ) {
    this.counts = new Uint32Array(poolSize);
    this.log = new Int32Array(Math.max(0, 2 * m * steps));
    this.categories = new Uint8Array(this.log.length / 2).fill(UNKNOWN_CATEGORY);
  }

  /** The samples rehearsed at `step`. */
  rehearsed(step: number, indices: Int32Array): void {
    for (let j = 0; j < indices.length; j++) {
      this.counts[indices[j]]++;
      this.log[this.logLength++] = step;
      this.log[this.logLength++] = indices[j];
    }
  }

  /** The training forward pass's verdicts on rehearsed samples (1 = misclassified), in log order. */
  judge(indices: Int32Array, misclassified: Uint8Array): void {
    for (let j = 0; j < indices.length; j++) {
      const priorCorrect = this.priorCorrect[indices[j]] === 1;
      this.rehearsedSinceEval++;
      this.categories[this.judged++] = CATEGORY_CODE[categoryOf(priorCorrect, misclassified[j] === 0)];
      if (misclassified[j] && priorCorrect) {
        this.damagedSinceEval++;
        this.totals.damaged++;
      }
    }
    this.totals.rehearsed += indices.length;
  }

  /** The rehearsal precision since the previous call (null when nothing was judged), then restart. */
  takePrecision(): number | null {
    const precision = this.rehearsedSinceEval ? this.damagedSinceEval / this.rehearsedSinceEval : null;
    this.rehearsedSinceEval = 0;
    this.damagedSinceEval = 0;
    return precision;
  }

  /** Copies of everything so far, for a checkpoint (the log only up to what was rehearsed). */
  snapshot(): LedgerState {
    return {
      counts: this.counts.slice(),
      log: this.log.slice(0, this.logLength),
      categories: this.categories.slice(0, this.logLength / 2),
      judged: this.judged,
      rehearsedSinceEval: this.rehearsedSinceEval,
      damagedSinceEval: this.damagedSinceEval,
      totals: { ...this.totals },
    };
  }

  /** Continue from a snapshot taken in a run of the same pool, m and steps. */
  restore(state: LedgerState): void {
    if (state.counts.length !== this.counts.length || state.log.length > this.log.length) {
      throw new Error('The rehearsal ledger of a checkpoint does not fit this run (another pool, budget or length).');
    }
    this.counts.set(state.counts);
    this.log.set(state.log);
    this.logLength = state.log.length;
    this.categories.fill(UNKNOWN_CATEGORY).set(state.categories);
    this.judged = state.judged;
    this.rehearsedSinceEval = state.rehearsedSinceEval;
    this.damagedSinceEval = state.damagedSinceEval;
    this.totals.rehearsed = state.totals.rehearsed;
    this.totals.damaged = state.totals.damaged;
  }

  /** The ledger, trimmed to what was rehearsed (a cancelled run stops early). */
  finish(): LedgerRecord {
    if (this.logLength < this.log.length) {
      this.log = this.log.slice(0, this.logLength);
      this.categories = this.categories.slice(0, this.logLength / 2);
    }
    return {
      rehearsalCounts: this.counts,
      rehearsalLog: this.log,
      rehearsalCategories: this.categories,
      verdicts: this.totals,
    };
  }
}
