// Step 5 of the method's loop: the training forward pass's verdicts on the rehearsed samples go
// back to the strategy. With feedbackDelay = 1 a step's verdicts are read after the next step is
// dispatched, so the device-to-host copy overlaps with work instead of stalling the device.
import type * as tf from '@tensorflow/tfjs-core';
import type { PhaseTimer } from './phaseTimer.js';

export type Deliver = (step: number, indices: Int32Array, misclassified: Uint8Array) => void;

/** A verdict held back at a step boundary, as data (a checkpoint keeps it pending). */
export interface PendingVerdict {
  step: number;
  indices: Int32Array;
  /** 1 = misclassified, one per rehearsed sample. */
  misclassified: Uint8Array;
}

interface Pending {
  step: number;
  indices: Int32Array;
  /** On the device (a step of this run) or already read (restored from a checkpoint). */
  flags: tf.Tensor1D | Uint8Array;
}

export class VerdictFeedback {
  private pending: Pending | null = null;

  constructor(
    private readonly delay: number,
    private readonly timer: PhaseTimer,
    private readonly deliver: Deliver,
  ) {}

  /** Takes ownership of `flags` (1 = misclassified, one per rehearsed sample). */
  push(step: number, indices: Int32Array, flags: tf.Tensor1D): void {
    if (this.delay === 0) {
      this.deliver(step, indices, this.read(flags));
    } else {
      this.flush();
      this.pending = { step, indices, flags };
    }
  }

  /** Delivers the verdicts still held back (before an eval, or when the run stops). */
  flush(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    this.deliver(pending.step, pending.indices, this.read(pending.flags));
  }

  /** The verdict held back, copied as data (it stays pending here), or null. */
  snapshot(): PendingVerdict | null {
    const pending = this.pending;
    if (!pending) return null;
    const flags = pending.flags;
    const misclassified = flags instanceof Uint8Array ? flags.slice() : Uint8Array.from(flags.dataSync());
    return { step: pending.step, indices: pending.indices.slice(), misclassified };
  }

  /** Holds back a verdict of a checkpoint, to be delivered when the uninterrupted run would have. */
  restore(pending: PendingVerdict | null): void {
    this.dispose();
    if (pending) {
      this.pending = { step: pending.step, indices: pending.indices.slice(), flags: pending.misclassified.slice() };
    }
  }

  /** Releases verdicts that will never be delivered (the run ended by an error). */
  dispose(): void {
    if (this.pending && !(this.pending.flags instanceof Uint8Array)) this.pending.flags.dispose();
    this.pending = null;
  }

  /** The read-back is a sync point with the device, so it counts as training time. */
  private read(flags: tf.Tensor1D | Uint8Array): Uint8Array {
    if (flags instanceof Uint8Array) return flags;
    return this.timer.time('train', () => {
      const values = flags.dataSync() as Uint8Array;
      flags.dispose();
      return values;
    });
  }
}
