// What a mix-cd bin holds, as the inspector names it: its class (with the class's name), its group,
// and for the loss rules its prior-loss quantile range and the losses at its ends, e.g.
// "class 3 (Dress), prior loss 20–30th pct (0.0121–0.0340)". One rule for every loss the inspector
// shows (bins, sample cards, a sample's detail): 3 significant digits, plain down to 0.001 and
// scientific below it (both ends of a range alike), a loss of exactly 0 (a sample f0 is certain
// of) as 0. The sampler's own description read "l0 0.00..0.00" for such bins. Pure: the host
// names the bins, the page shows them.
import type { PartitionRule } from './config.js';

export interface BinNaming {
  rule: PartitionRule;
  /** K + 1 offsets into `members` (the sampler's partition layout). */
  offsets: ArrayLike<number>;
  /** Candidate indices grouped by bin, each bin in the rule's order (class or group, then loss). */
  members: ArrayLike<number>;
  /** f0's loss per pretrain sample. */
  priorLoss: ArrayLike<number>;
  /** Class per pretrain sample. */
  labels: ArrayLike<number>;
  groups?: ArrayLike<number> | null;
  /** Group names by group number, where the data has them (a CSV group column, a run's sources). */
  groupNames?: readonly string[];
  /** Class names by class number, where the data has them. */
  classNames?: readonly string[];
}

const SIGNIFICANT = 3;

/**
 * One formatter for losses shown together (a range's two ends): 3 significant digits in plain
 * notation (0.0121, 1.53, 12.4), or scientific for all of them (1.21e-2, 1.19e-7) when one is
 * below 0.001; 0 as 0.
 */
export function lossFormat(values: Iterable<number>): (value: number) => string {
  let scientific = false;
  for (const v of values) if (Number.isFinite(v) && v !== 0 && Math.abs(v) < 1e-3) scientific = true;
  return (value: number) => {
    if (!Number.isFinite(value)) return String(value);
    if (value === 0) return '0';
    if (scientific) return value.toExponential(SIGNIFICANT - 1);
    return value.toPrecision(SIGNIFICANT);
  };
}

/** One loss on its own (a sample's): 3 significant digits, scientific below 0.001, 0 as 0. */
export function formatLoss(value: number): string {
  return lossFormat([value])(value);
}

/** "0.0121–0.0340"; one value when both ends agree ("0"); more digits when 3 cannot tell them apart. */
function lossRange(lo: number, hi: number): string {
  const format = lossFormat([lo, hi]);
  if (lo === hi) return format(lo);
  let [a, b] = [format(lo), format(hi)];
  for (let digits = SIGNIFICANT + 1; a === b && digits <= 8; digits++)
    [a, b] = [lo.toPrecision(digits), hi.toPrecision(digits)];
  return `${a}–${b}`;
}

/** "20–30th pct": a quantile range in percent, with a decimal where there are more than 100 bins. */
function percentileRange(before: number, size: number, total: number, bins: number): string {
  const decimals = Math.max(0, Math.ceil(Math.log10(Math.max(1, bins))) - 2);
  const pct = (n: number) => ((100 * n) / Math.max(1, total)).toFixed(decimals);
  return `${pct(before)}–${pct(before + size)}th pct`;
}

/** The name of each bin of a partition, in bin order. */
export function binNames(p: BinNaming): string[] {
  const bins = Math.max(0, p.offsets.length - 1);
  const first = (k: number) => p.members[p.offsets[k]];
  const last = (k: number) => p.members[p.offsets[k + 1] - 1];
  const className = (c: number) => (p.classNames?.[c] ? `class ${c} (${p.classNames[c]})` : `class ${c}`);

  // For the quantiles: each bin's place within its class (class-loss) or among all candidates.
  const groupOf = (k: number) => (p.rule === 'class-loss' ? p.labels[first(k)] : 0);
  const span = new Map<number, { from: number; to: number; bins: number }>();
  for (let k = 0; k < bins; k++) {
    const g = groupOf(k);
    const s = span.get(g);
    if (s) {
      s.to = p.offsets[k + 1];
      s.bins++;
    } else span.set(g, { from: p.offsets[k], to: p.offsets[k + 1], bins: 1 });
  }

  return Array.from({ length: bins }, (_, k) => {
    const size = p.offsets[k + 1] - p.offsets[k];
    if (size <= 0) return `bin ${k} (empty)`;
    switch (p.rule) {
      case 'class':
        return className(p.labels[first(k)]);
      case 'group': {
        const g = p.groups?.[first(k)];
        if (g === undefined) return 'group ?';
        return p.groupNames?.[g] ? `group ${g} (${p.groupNames[g]})` : `group ${g}`;
      }
      case 'class-loss':
      case 'prior-loss': {
        const s = span.get(groupOf(k))!;
        const quantile = percentileRange(p.offsets[k] - s.from, size, s.to - s.from, s.bins);
        const losses = lossRange(p.priorLoss[first(k)], p.priorLoss[last(k)]);
        const range = `prior loss ${quantile} (${losses})`;
        return p.rule === 'class-loss' ? `${className(p.labels[first(k)])}, ${range}` : range;
      }
    }
  });
}
