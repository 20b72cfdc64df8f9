// The prior pass (docs/method.md): one inference of f0 over the pretrain set, done once per f0 and
// cached with it. It gives each pretrain sample its prior loss l0 and prior correctness c0;
// f0's verdicts on the pretrain test set are the reference for the CD rate.
import type { Classifier } from './model.js';
import { accuracy, judge, type ResidentDataset } from './inference.js';

export interface PriorPass {
  priorLoss: Float32Array;
  priorCorrect: Uint8Array;
  /** f0's correctness on the pretrain test set. */
  testCorrect: Uint8Array;
  pretrainTestAcc: number;
  finetuneTestAcc: number;
  /** f0's accuracy on its own pretrain (training) set. */
  pretrainTrainAcc: number;
}

export function priorPass(
  f0: Classifier,
  pretrainTrain: ResidentDataset,
  pretrainTest: ResidentDataset,
  finetuneTest: ResidentDataset,
): PriorPass {
  const train = judge(f0, pretrainTrain, true);
  const test = judge(f0, pretrainTest);
  const fin = judge(f0, finetuneTest);
  return {
    priorLoss: train.loss!,
    priorCorrect: train.correct,
    testCorrect: test.correct,
    pretrainTestAcc: accuracy(test.correct),
    finetuneTestAcc: accuracy(fin.correct),
    pretrainTrainAcc: accuracy(train.correct),
  };
}
