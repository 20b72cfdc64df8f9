// Partition rules over the candidates (docs/method.md, steps 1-2), using only what is known without
// running f_t: prior loss l0, class label, an auxiliary group column.
//
// Layout: `members` holds the candidate sample indices grouped by bin, bin k being
// members[offsets[k] .. offsets[k+1]). That is 4 bytes per candidate and O(K) besides; there is
// no per-sample bin array. Within the rule's total order (class / group first, then l0, then the
// sample index to break ties) every bin is a contiguous run, so `binOf` finds a sample's bin by
// binary search against each bin's first member: O(log K), for diagnostics only.
import type { PartitionRule } from '../../shared/config.js';
import type { PretrainIndex } from './strategy.js';

export type CandidateRule = 'prior-correct' | 'all';

export interface Partition {
  readonly rule: PartitionRule;
  readonly candidates: CandidateRule;
  /** K, the number of non-empty bins (empty bins are dropped). */
  readonly numBins: number;
  /** Number of candidates (= offsets[K]). */
  readonly candidateCount: number;
  /** Candidate sample indices grouped by bin. */
  readonly members: Int32Array;
  /** K + 1 offsets into `members`; N_k = offsets[k+1] - offsets[k]. */
  readonly offsets: Int32Array;
  /** Bin of pretrain sample i, or -1 when i is not a candidate. O(log K); reads the index. */
  binOf(index: number): number;
  /** Human-readable description of bin k (class, group, l0 range), for the inspector. */
  describeBin(bin: number): string;
  /** Bytes held in typed arrays (members + offsets). */
  readonly byteLength: number;
}

/** Candidate sample indices in increasing order: prior-correct ones, or all of P. */
export function candidateIndices(index: PretrainIndex, candidates: CandidateRule): Int32Array {
  const { size, priorCorrect } = index;
  if (candidates === 'all') {
    const out = new Int32Array(size);
    for (let i = 0; i < size; i++) out[i] = i;
    return out;
  }
  let count = 0;
  for (let i = 0; i < size; i++) if (priorCorrect[i]) count++;
  const out = new Int32Array(count);
  for (let i = 0, j = 0; i < size; i++) if (priorCorrect[i]) out[j++] = i;
  return out;
}

/**
 * Map a float32's bit pattern to an unsigned 32-bit key with the same order as the float
 * (negatives flipped); NaN sorts after +Infinity so a diverged prior pass cannot break the order.
 */
export function sortableLossKey(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return 0xffffffff;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

function lossBitsView(index: PretrainIndex): Uint32Array {
  const l0 = index.priorLoss;
  return new Uint32Array(l0.buffer, l0.byteOffset, l0.length);
}

/**
 * Stable LSD radix sort of sample indices by their l0 key (3 passes of 11 bits). The input is in
 * increasing index order, so ties stay ordered by index: (l0, i) is the total order binOf relies
 * on. O(N) time, 16 bytes per candidate transiently; much faster than a comparator sort at 10^7.
 */
function sortByLoss(index: PretrainIndex, idx: Int32Array): Int32Array {
  const n = idx.length;
  if (n < 2) return idx;
  const bits = lossBitsView(index);
  let srcI: Int32Array = idx;
  let srcK: Uint32Array = new Uint32Array(n);
  for (let j = 0; j < n; j++) srcK[j] = sortableLossKey(bits[idx[j]]);
  let dstI: Int32Array = new Int32Array(n);
  let dstK: Uint32Array = new Uint32Array(n);
  const count = new Int32Array(2048);
  for (let shift = 0; shift < 32; shift += 11) {
    count.fill(0);
    for (let j = 0; j < n; j++) count[(srcK[j] >>> shift) & 0x7ff]++;
    // All keys share this digit: the pass would be the identity.
    if (count[(srcK[0] >>> shift) & 0x7ff] === n) continue;
    let sum = 0;
    for (let b = 0; b < 2048; b++) {
      const c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (let j = 0; j < n; j++) {
      const key = srcK[j];
      const p = count[(key >>> shift) & 0x7ff]++;
      dstI[p] = srcI[j];
      dstK[p] = key;
    }
    const ti = srcI;
    srcI = dstI;
    dstI = ti;
    const tk = srcK;
    srcK = dstK;
    dstK = tk;
  }
  return srcI;
}

/** Stable counting sort of indices by a small integer column; returns the bucket starts too. */
function sortByColumn(
  idx: Int32Array,
  column: Uint8Array | Uint16Array,
  buckets: number,
  what: string,
): { sorted: Int32Array; starts: Int32Array } {
  const n = idx.length;
  const starts = new Int32Array(buckets + 1);
  for (let j = 0; j < n; j++) {
    const v = column[idx[j]];
    if (v >= buckets) throw new Error(`Sample ${idx[j]} has ${what} ${v}, outside 0..${buckets - 1}.`);
    starts[v + 1]++;
  }
  for (let b = 0; b < buckets; b++) starts[b + 1] += starts[b];
  const next = starts.slice(0, buckets);
  const sorted = new Int32Array(n);
  for (let j = 0; j < n; j++) sorted[next[column[idx[j]]]++] = idx[j];
  return { sorted, starts };
}

/**
 * Equal-count split of [lo, hi) into min(n, K) non-empty chunks (counts differ by at most one);
 * K > n would leave empty chunks, which are dropped. Appends the chunk starts to `out` at `at`.
 */
function equalCountSplit(lo: number, hi: number, bins: number, out: Int32Array, at: number): number {
  const n = hi - lo;
  const chunks = Math.min(n, bins);
  for (let b = 0; b < chunks; b++) out[at++] = lo + Math.floor((b * n) / chunks);
  return at;
}

function checkIndex(index: PretrainIndex): void {
  const { size } = index;
  if (!Number.isInteger(size) || size < 0) throw new Error(`Pretrain index size ${size} is not a count.`);
  if (size > 0x7fffffff) throw new Error(`Pretrain index size ${size} exceeds the 2^31 samples the sampler supports.`);
  for (const [name, arr] of [
    ['labels', index.labels],
    ['priorLoss', index.priorLoss],
    ['priorCorrect', index.priorCorrect],
  ] as const) {
    if (arr.length < size)
      throw new Error(`Pretrain index ${name} has ${arr.length} entries, fewer than size ${size}.`);
  }
}

/** Build the partition once: O(N) (radix and counting sorts), then immutable. */
export function buildPartition(
  index: PretrainIndex,
  rule: PartitionRule,
  bins: number,
  candidates: CandidateRule,
): Partition {
  checkIndex(index);
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`Partition bins must be a positive integer, got ${bins}.`);
  if (rule === 'group' && !index.groups) {
    throw new Error(
      'Partition rule "group" needs a group column, but this pretrain data has none: choose another rule.',
    );
  }
  if (index.groups && index.groups.length < index.size) {
    throw new Error(`Pretrain index groups has ${index.groups.length} entries, fewer than size ${index.size}.`);
  }
  const candidateList = candidateIndices(index, candidates);
  const count = candidateList.length;
  let members: Int32Array;
  let starts: Int32Array; // bin starts; offsets = starts + [count]
  let numBins = 0;

  switch (rule) {
    case 'prior-loss': {
      members = sortByLoss(index, candidateList);
      starts = new Int32Array(Math.min(count, bins));
      numBins = equalCountSplit(0, count, bins, starts, 0);
      break;
    }
    case 'class':
    case 'group': {
      const column = rule === 'class' ? index.labels : index.groups!;
      const buckets = rule === 'class' ? index.numClasses : 65536;
      const sorted = sortByColumn(candidateList, column, buckets, rule === 'class' ? 'label' : 'group');
      members = sorted.sorted;
      starts = new Int32Array(buckets);
      for (let c = 0; c < buckets; c++)
        if (sorted.starts[c + 1] > sorted.starts[c]) starts[numBins++] = sorted.starts[c];
      break;
    }
    case 'class-loss': {
      // Stable: sort by l0 first, then by class, so each class's run is ordered by (l0, i).
      const sorted = sortByColumn(sortByLoss(index, candidateList), index.labels, index.numClasses, 'label');
      members = sorted.sorted;
      let total = 0;
      for (let c = 0; c < index.numClasses; c++) total += Math.min(sorted.starts[c + 1] - sorted.starts[c], bins);
      starts = new Int32Array(total);
      for (let c = 0; c < index.numClasses; c++) {
        numBins = equalCountSplit(sorted.starts[c], sorted.starts[c + 1], bins, starts, numBins);
      }
      break;
    }
    default:
      throw new Error(`Unknown partition rule ${JSON.stringify(rule)}.`);
  }
  const offsets = new Int32Array(numBins + 1);
  offsets.set(starts.subarray(0, numBins));
  offsets[numBins] = count;

  // binOf: order of sample i against the first member of bin b under the rule's total order.
  const labels = index.labels;
  const groups = index.groups;
  const bitsView = lossBitsView(index);
  const lossKey = (i: number): number => sortableLossKey(bitsView[i]);
  const compareLoss = (f: number, i: number): number => {
    const kf = lossKey(f);
    const ki = lossKey(i);
    return kf !== ki ? (kf < ki ? -1 : 1) : f - i;
  };
  const compareFirst = (b: number, i: number): number => {
    const f = members[offsets[b]];
    switch (rule) {
      case 'class':
        return labels[f] - labels[i];
      case 'group':
        return groups![f] - groups![i];
      case 'class-loss':
        return labels[f] !== labels[i] ? labels[f] - labels[i] : compareLoss(f, i);
      case 'prior-loss':
        return compareLoss(f, i);
    }
  };
  const onlyCorrect = candidates === 'prior-correct';
  const { priorCorrect, size } = index;

  return {
    rule,
    candidates,
    numBins,
    candidateCount: count,
    members,
    offsets,
    byteLength: members.byteLength + offsets.byteLength,
    binOf(i: number): number {
      if (numBins === 0 || !Number.isInteger(i) || i < 0 || i >= size) return -1;
      if (onlyCorrect && !priorCorrect[i]) return -1;
      // The last bin whose first member is <= i in the rule's order.
      let lo = 0;
      let hi = numBins - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (compareFirst(mid, i) <= 0) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
    describeBin(b: number): string {
      if (!(b >= 0 && b < numBins)) return `no bin ${b}`;
      const first = members[offsets[b]];
      const last = members[offsets[b + 1] - 1];
      const range = `l0 ${index.priorLoss[first].toPrecision(3)}..${index.priorLoss[last].toPrecision(3)}`;
      switch (rule) {
        case 'class':
          return `class ${labels[first]}`;
        case 'group':
          return `group ${groups![first]}`;
        case 'class-loss':
          return `class ${labels[first]}, ${range}`;
        case 'prior-loss':
          return range;
      }
    },
  };
}
