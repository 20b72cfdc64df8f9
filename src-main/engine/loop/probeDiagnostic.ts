// The probe: a fixed random subset of the pretrain set whose category (CD, unforgotten, ...) is
// measured at every eval, and, for a strategy with bins, each bin's true CD rate on it (what
// mix-cd's estimate alpha is compared with). Diagnostic only: its forward passes are neither
// budget nor compute, and it changes no number of the run.
import type { ImageDataset } from '../../data/dataset.js';
import type { BinTrace } from '../../../shared/results.js';
import { CATEGORY_CODE, categoryOf } from '../../../shared/results.js';
import type { RehearsalStrategy } from '../../sampler/strategy.js';
import { Rng } from '../../sampler/rng.js';
import type { BatchBuilder } from '../batches.js';
import { judgeSubset } from '../inference.js';
import type { Classifier } from '../model.js';

export interface ProbeSnapshot {
  step: number;
  indices: Int32Array;
  /** CATEGORY_CODE per probe sample. */
  categories: Uint8Array;
}

/** One eval's measurement: the snapshot, and per bin how many probe samples f_t misclassifies. */
export interface ProbeMeasurement {
  snapshot: ProbeSnapshot;
  trueCd: { misclassified: number[]; total: number[] } | null;
}

/** The probe subset is fixed by a constant, not the run seed, so every run of a study shares it. */
const PROBE_SEED = 0x9b0be;

export class ProbeDiagnostic {
  readonly indices: Int32Array;

  constructor(
    private readonly pretrainSet: ImageDataset,
    size: number,
    private readonly priorCorrect: Uint8Array,
    private readonly strategy: RehearsalStrategy,
    private readonly batch: BatchBuilder,
  ) {
    this.indices = drawProbe(pretrainSet.count, size);
  }

  /** Judges the probe with f_t at `step`; null when the probe is off. */
  measure(model: Classifier, step: number): ProbeMeasurement | null {
    const indices = this.indices;
    if (!indices.length) return null;
    const verdicts = judgeSubset(model, this.pretrainSet, indices, this.batch);
    const categories = new Uint8Array(indices.length);
    for (let j = 0; j < indices.length; j++) {
      categories[j] = CATEGORY_CODE[categoryOf(this.priorCorrect[indices[j]] === 1, verdicts.correct[j] === 1)];
    }
    let trueCd: ProbeMeasurement['trueCd'] = null;
    const binOf = this.strategy.binOf?.bind(this.strategy);
    if (binOf && this.strategy.trace) {
      trueCd = { misclassified: [], total: [] };
      for (let j = 0; j < indices.length; j++) {
        const bin = binOf(indices[j]);
        if (bin < 0) continue;
        trueCd.total[bin] = (trueCd.total[bin] ?? 0) + 1;
        trueCd.misclassified[bin] = (trueCd.misclassified[bin] ?? 0) + (verdicts.correct[j] ? 0 : 1);
      }
    }
    return { snapshot: { step, indices, categories }, trueCd };
  }

  /** The strategy's bin trace with each bin's true CD rate on the probe beside its estimate. */
  static annotate(trace: BinTrace | null, measured: ProbeMeasurement | null): BinTrace | null {
    const trueCd = measured?.trueCd;
    if (!trace || !trueCd) return trace;
    const bins = trace.size.length;
    const rates: (number | null)[] = new Array(bins);
    for (let k = 0; k < bins; k++) rates[k] = trueCd.total[k] ? trueCd.misclassified[k] / trueCd.total[k] : null;
    return { ...trace, trueCdRate: rates };
  }
}

function drawProbe(size: number, requested: number): Int32Array {
  const n = Math.min(size, requested);
  if (n <= 0) return new Int32Array(0);
  const all = new Int32Array(size);
  for (let i = 0; i < size; i++) all[i] = i;
  new Rng(PROBE_SEED, 0).shuffle(all);
  return all.slice(0, n).sort();
}
