// A multi-stage run's rehearsal pool and the strategy's view of it, apart from the training loop
// (no tfjs): the engine builds each stage's pool with these, and the sample inspector rebuilds
// stage 1's view of P with the same code, so its bins are the ones the run drew from.
import type { RunConfig } from '../../shared/config.js';
import { DataError, sampleSize, type ImageDataset } from '../data/dataset.js';
import type { PretrainIndex } from '../sampler/strategy.js';

/** The rehearsal pool: P then the given train sets, with the source (0 = P, k = stage k) as group. */
export function buildPool(pretrain: ImageDataset, earlier: ImageDataset[], names: string[]): ImageDataset {
  const parts = [pretrain, ...earlier];
  const count = parts.reduce((a, d) => a + d.count, 0);
  const size = sampleSize(pretrain);
  const floats = Boolean(pretrain.values);
  const images = floats ? new Uint8Array(0) : new Uint8Array(count * size);
  const values = floats ? new Float32Array(count * size) : undefined;
  const labels = new Uint8Array(count);
  const groups = new Uint16Array(count);
  let at = 0;
  parts.forEach((d, source) => {
    if (values) values.set(d.values!, at * size);
    else images.set(d.images, at * size);
    labels.set(d.labels, at);
    groups.fill(source, at, at + d.count);
    at += d.count;
  });
  return { ...pretrain, count, images, values, labels, groups, groupNames: names.slice(0, parts.length) };
}

/** What poolIndex reads of a pool: no pixels, so the inspector can pass P's labels alone. */
export type PoolLabels = Pick<ImageDataset, 'count' | 'numClasses' | 'labels' | 'groups' | 'groupNames'>;

/** The strategy's view of the pool: bins over source x class x prior loss by default. */
export function poolIndex(
  config: Pick<RunConfig, 'multiStage' | 'rehearsal'>,
  pool: PoolLabels,
  prior: { loss: Float32Array; correct: Uint8Array },
): { index: PretrainIndex; rehearsal: RunConfig['rehearsal'] } {
  const sources = pool.groupNames!.length;
  const bySource = config.multiStage.bins === 'source-class-loss';
  if (bySource && sources * pool.numClasses > 256)
    throw new DataError(
      `Bins over source x class need ${sources} sources x ${pool.numClasses} ` +
        `classes <= 256; set multiStage.bins to "rule" for this scenario.`,
    );
  // source x class as one label, so the class-loss rule gives source x class x loss-quantile bins.
  const labels = bySource ? pool.labels.map((l, i) => pool.groups![i] * pool.numClasses + l) : pool.labels;
  const index: PretrainIndex = {
    size: pool.count,
    numClasses: bySource ? sources * pool.numClasses : pool.numClasses,
    labels,
    priorLoss: prior.loss,
    priorCorrect: prior.correct,
    groups: pool.groups,
  };
  const rehearsal = bySource
    ? { ...config.rehearsal, mixCd: { ...config.rehearsal.mixCd, rule: 'class-loss' as const } }
    : config.rehearsal;
  return { index, rehearsal };
}

/** Stage 1's pool as the engine builds it: P alone, every sample of source 0 ("pretrain"). */
export function firstStagePool(pretrain: PoolLabels): PoolLabels {
  return { ...pretrain, groups: new Uint16Array(pretrain.count), groupNames: ['pretrain'] };
}
