// Pretraining f0 on the pretrain set: plain minibatch training, epoch-wise shuffled.
import type { RunConfig } from '../../shared/config.js';
import type { ImageDataset } from '../data/dataset.js';
import { sampleSize } from '../data/dataset.js';
import { Rng } from '../sampler/rng.js';
import { BatchBuilder, EpochOrder } from './batches.js';
import type { Classifier } from './model.js';
import { createOptimizer, disposeOptimizer } from './optimizer.js';
import { trainStep } from './trainStep.js';

export interface PretrainProgress {
  epoch: number;
  step: number;
  totalSteps: number;
  loss?: number;
}

export function pretrain(
  model: Classifier,
  data: ImageDataset,
  config: RunConfig['pretrain'],
  onProgress?: (p: PretrainProgress) => void,
  shouldStop?: () => boolean,
): { steps: number; samples: number } {
  const rng = new Rng(config.seed, 0xf0);
  const order = new EpochOrder(data.count, (a) => rng.shuffle(a));
  const optimizer = createOptimizer(config.optimizer);
  const builder = new BatchBuilder(sampleSize(data), config.batchSize);
  const stepsPerEpoch = Math.ceil(data.count / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  let samples = 0;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      for (let s = 0; s < stepsPerEpoch; s++) {
        if (shouldStop?.()) throw new Error('cancelled');
        // The last batch of an epoch is short, so every sample is seen exactly once per epoch.
        const size = Math.min(config.batchSize, data.count - s * config.batchSize);
        const view = builder.reset().add(data, order.next(size)).view();
        const { loss } = trainStep(model, optimizer, view.pixels, view.labels, view.count);
        samples += size;
        const step = epoch * stepsPerEpoch + s + 1;
        if (onProgress && (step % 50 === 0 || step === totalSteps)) {
          onProgress({ epoch, step, totalSteps, loss: loss.dataSync()[0] });
        }
        loss.dispose();
      }
    }
  } finally {
    disposeOptimizer(optimizer);
  }
  return { steps: totalSteps, samples };
}
