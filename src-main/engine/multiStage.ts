// Multi-stage finetuning (MIXCD.md, "Multi-stage"): pretrain, then stage 1, stage 2, ... Each
// stage calls the ordinary finetune loop once, starting from the model the previous stage ended
// with. Before each stage after the first, a prior pass of the starting model over the rehearsal
// pool (P plus earlier stages' train sets) gives the stage's prior loss and correctness; it is
// real inference and is counted as extra forward passes. Every task's test accuracy is taken at
// every eval, giving the accuracy matrix and the retention curve of every earlier task.
import type { RunConfig } from '../../shared/config.js';
import { continualMeasures } from '../../shared/continual.js';
import type { ContinualSummary, EvalPoint, StageFinal } from '../../shared/results.js';
import { sampleSize } from '../data/dataset.js';
import type { Scenario } from '../data/scenarios.js';
import { createStrategy } from '../sampler/index.js';
import { BatchBuilder } from './batches.js';
import { finetune, type FinetuneObserver, type FinetuneResult, type FinetuneState } from './finetune.js';
import { accuracy, judge, judgeSubset, INFERENCE_CHUNK, ResidentDataset } from './inference.js';
import type { Classifier } from './model.js';
import type { PriorPass } from './priorPass.js';
import { buildPool, poolIndex } from './stagePool.js';

export { buildPool } from './stagePool.js';

export interface MultiStageOutcome {
  status: 'finished' | 'cancelled';
  /** The stages' eval points on one step axis (stage s's step t is (s - 1) * steps + t). */
  series: EvalPoint[];
  stages: StageFinal[];
  continual: ContinualSummary;
  compute: { forwardPasses: number; backwardPasses: number; extraForwardPasses: number };
  seconds: { train: number; evaluation: number; sampler: number; extraInference: number; observer: number };
  /** Over P only (its indices are the same in every stage's pool), steps on the global axis. */
  rehearsalCounts: Uint32Array;
  rehearsalLog: Int32Array;
  rehearsalCategories: Uint8Array;
  verdicts: { rehearsed: number; damaged: number };
}

type Seconds = MultiStageOutcome['seconds'];

/**
 * A multi-stage run at a step boundary: the stage it is in, that stage's prior (the starting
 * model's prior pass, which a resumed run cannot recompute: its model is mid-stage), what the
 * finished stages and this stage's evaluations added so far, and the stage's loop state.
 */
export interface MultiStageState {
  /** 0-based. */
  stage: number;
  /** The stage's prior; null for the first stage (f0's cached prior pass). */
  prior: PriorPass | null;
  priorPasses: number;
  initialAccuracy: number[];
  compute: MultiStageOutcome['compute'];
  seconds: Seconds;
  series: EvalPoint[];
  stageFinals: StageFinal[];
  taskSeries: ContinualSummary['taskSeries'];
  matrix: number[][];
  counts: Uint32Array;
  logs: Int32Array[];
  categories: Uint8Array[];
  verdicts: { rehearsed: number; damaged: number };
  loop: FinetuneState;
}

export type MultiStageObserver = Omit<FinetuneObserver, 'onCheckpoint'> & {
  /** As FinetuneObserver.onCheckpoint, with the stages' state around the current stage's loop. */
  onCheckpoint?(state: MultiStageState): void;
};

export function runStages(inputs: {
  config: RunConfig;
  model: Classifier;
  scenario: Scenario;
  f0Prior: PriorPass;
  pretrainTest: ResidentDataset;
  firstStageTest: ResidentDataset;
  observer: MultiStageObserver;
  sources: ContinualSummary['sources'];
  /** Continue from this state instead of the first stage's step 0. */
  resume?: MultiStageState | null;
}): MultiStageOutcome {
  const { config, model, scenario, f0Prior, observer } = inputs;
  const resume = inputs.resume ?? null;
  const stages = scenario.stages!;
  const P = scenario.pretrainTrain;
  const steps = config.finetune.steps;
  const taskNames = ['pretrain', ...stages.map((s) => s.name)];
  const owned = stages.slice(1).map((s) => new ResidentDataset(s.test));
  const taskTests = [inputs.pretrainTest, inputs.firstStageTest, ...owned];
  if (resume && !(resume.stage >= 0 && resume.stage < stages.length && resume.counts.length === P.count)) {
    throw new Error(`A checkpoint of stage ${resume.stage + 1} does not fit this ${stages.length}-stage scenario.`);
  }
  const compute = resume ? { ...resume.compute } : { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0 };
  const seconds: Seconds = resume
    ? { ...resume.seconds }
    : { train: 0, evaluation: 0, sampler: 0, extraInference: 0, observer: 0 };
  const series: EvalPoint[] = resume ? resume.series.map((p) => ({ ...p })) : [];
  const stageFinals: StageFinal[] = resume ? resume.stageFinals.map((f) => ({ ...f })) : [];
  const taskSeries: ContinualSummary['taskSeries'] = resume
    ? resume.taskSeries.map((t) => ({ ...t, accuracy: t.accuracy.slice() }))
    : [];
  const matrix: number[][] = resume ? resume.matrix.map((row) => row.slice()) : taskNames.map(() => []);
  const counts = resume ? resume.counts.slice() : new Uint32Array(P.count);
  const logs: Int32Array[] = resume ? resume.logs.map((l) => l.slice()) : [];
  const categories: Uint8Array[] = resume ? resume.categories.map((c) => c.slice()) : [];
  const verdicts = resume ? { ...resume.verdicts } : { rehearsed: 0, damaged: 0 };
  let status: MultiStageOutcome['status'] = 'finished';
  const taskAccuracies = () => taskTests.map((t) => accuracy(judge(model, t).correct));
  try {
    const initialAccuracy = resume ? resume.initialAccuracy.slice() : taskAccuracies();
    for (let s = resume?.stage ?? 0; s < stages.length && status === 'finished'; s++) {
      const stage = stages[s];
      const earlier = config.multiStage.pool === 'all-earlier' ? stages.slice(0, s).map((x) => x.train) : [];
      const pool = buildPool(P, earlier, taskNames);
      // The resumed stage: its prior and prior-pass cost come from the checkpoint (the cost is in
      // the checkpoint's compute and seconds already).
      const resumed = resume && s === resume.stage ? resume : null;
      // The stage's prior: f0's cached pass for stage 1 (the single-stage case), else the starting
      // model over the pool (or over the earlier stages' part only, keeping f0's for P).
      let prior: PriorPass;
      let priorPasses = 0;
      if (s === 0) prior = f0Prior;
      else if (resumed) {
        if (!resumed.prior) throw new Error(`The checkpoint of stage ${s + 1} has no prior pass.`);
        prior = resumed.prior;
        priorPasses = resumed.priorPasses;
      } else {
        const t0 = performance.now();
        const keepF0 = config.multiStage.prior === 'f0-for-pretrain';
        const from = keepF0 ? P.count : 0;
        const indices = Int32Array.from({ length: pool.count - from }, (_, i) => from + i);
        const builder = new BatchBuilder(sampleSize(pool), Math.min(INFERENCE_CHUNK, Math.max(1, indices.length)));
        const judged = indices.length
          ? judgeSubset(model, pool, indices, builder)
          : { correct: new Uint8Array(0), loss: new Float32Array(0) };
        const loss = new Float32Array(pool.count);
        const correct = new Uint8Array(pool.count);
        if (keepF0) {
          loss.set(f0Prior.priorLoss);
          correct.set(f0Prior.priorCorrect);
        }
        loss.set(judged.loss, from);
        correct.set(judged.correct, from);
        priorPasses = indices.length;
        compute.forwardPasses += priorPasses;
        compute.extraForwardPasses += priorPasses;
        seconds.extraInference += (performance.now() - t0) / 1000;
        const t1 = performance.now();
        const test = keepF0 ? f0Prior.testCorrect : judge(model, inputs.pretrainTest).correct;
        const stageTest = judge(model, taskTests[s + 1]).correct;
        seconds.evaluation += (performance.now() - t1) / 1000;
        prior = {
          priorLoss: loss,
          priorCorrect: correct,
          testCorrect: test,
          pretrainTestAcc: accuracy(test),
          finetuneTestAcc: accuracy(stageTest),
          pretrainTrainAcc: accuracy(correct),
        };
      }
      const { index, rehearsal } = poolIndex(config, pool, { loss: prior.priorLoss, correct: prior.priorCorrect });
      const strategy = createStrategy(rehearsal, index, config.seed);
      const offset = s * steps;
      const stageScenario: Scenario = {
        ...scenario,
        pretrainTrain: pool,
        finetuneTrain: stage.train,
        finetuneTest: stage.test,
      };
      const stagePrior = s === 0 ? null : prior;
      const stagePriorPasses = priorPasses;
      // The stages' state around this stage's loop state (copies: the run goes on).
      const stageState = (loop: FinetuneState): MultiStageState => ({
        stage: s,
        prior: stagePrior,
        priorPasses: stagePriorPasses,
        initialAccuracy: initialAccuracy.slice(),
        compute: { ...compute },
        seconds: { ...seconds },
        series: series.map((p) => ({ ...p })),
        stageFinals: stageFinals.map((f) => ({ ...f })),
        taskSeries: taskSeries.map((t) => ({ ...t, accuracy: t.accuracy.slice() })),
        matrix: matrix.map((row) => row.slice()),
        counts: counts.slice(),
        logs: logs.map((l) => l.slice()),
        categories: categories.map((c) => c.slice()),
        verdicts: { ...verdicts },
        loop,
      });
      const onCheckpoint = observer.onCheckpoint;
      const result: FinetuneResult = finetune({
        config: { ...config, rehearsal },
        model,
        scenario: stageScenario,
        prior,
        strategy,
        pretrainTest: inputs.pretrainTest,
        finetuneTest: taskTests[s + 1],
        resume: resumed?.loop ?? null,
        observer: {
          onCheckpoint: onCheckpoint && ((loop) => onCheckpoint.call(observer, stageState(loop))),
          shouldStop: observer.shouldStop,
          onProgress: (p) =>
            observer.onProgress?.({ step: offset + p.step, totalSteps: stages.length * steps, loss: p.loss }),
          onEval: (point, trace, probe) => {
            const accuracies = taskAccuracies();
            const task = { stage: s + 1, step: point.step, globalStep: offset + point.step, accuracy: accuracies };
            taskSeries.push(task);
            // Stage s + 1's step 0 is stage s's last eval: one point per global step. Bins and the
            // probe index the pool, which changes per stage: the history keeps stage 1's.
            if (s > 0 && point.step === 0) return;
            const global = { ...point, step: offset + point.step };
            series.push(global);
            // The tasks' accuracies ride along (a few numbers an eval): the Monitor draws them live.
            observer.onEval?.(global, s === 0 ? trace : null, s === 0 ? probe : null, {
              ...task,
              accuracy: [...accuracies],
            });
          },
        },
      });
      if (result.status === 'cancelled') status = 'cancelled';
      compute.forwardPasses += result.compute.forwardPasses;
      compute.backwardPasses += result.compute.backwardPasses;
      compute.extraForwardPasses += result.compute.extraForwardPasses;
      for (const k of Object.keys(seconds) as (keyof typeof seconds)[]) seconds[k] += result.seconds[k];
      verdicts.rehearsed += result.verdicts.rehearsed;
      verdicts.damaged += result.verdicts.damaged;
      for (let i = 0; i < P.count; i++) counts[i] += result.rehearsalCounts[i];
      const log: number[] = [];
      const cats: number[] = [];
      for (let e = 0; e < result.rehearsalLog.length / 2; e++) {
        const idx = result.rehearsalLog[2 * e + 1];
        if (idx >= P.count) continue;
        log.push(offset + result.rehearsalLog[2 * e], idx);
        cats.push(result.rehearsalCategories[e]);
      }
      logs.push(Int32Array.from(log));
      categories.push(Uint8Array.from(cats));
      const last = result.series[result.series.length - 1];
      const end = taskSeries[taskSeries.length - 1].accuracy;
      end.forEach((a, i) => matrix[i].push(a));
      stageFinals.push({
        name: stage.name,
        pretrainTestAcc: last.pretrainTestAcc,
        finetuneTestAcc: last.finetuneTestAcc,
        cdRate: last.cdRate,
        rehearsalPrecision: result.verdicts.rehearsed ? result.verdicts.damaged / result.verdicts.rehearsed : null,
        poolSize: pool.count,
        priorPassForwardPasses: priorPasses,
      });
    }
    // A cancelled run's matrix has the stages it finished (and the one it stopped in).
    const measures = continualMeasures(initialAccuracy, matrix);
    const joinedLog = new Int32Array(logs.reduce((a, l) => a + l.length, 0));
    const joinedCats = new Uint8Array(joinedLog.length / 2);
    let at = 0;
    logs.forEach((l, k) => {
      joinedLog.set(l, at);
      joinedCats.set(categories[k], at / 2);
      at += l.length;
    });
    return {
      status,
      series,
      stages: stageFinals,
      continual: {
        taskNames,
        initialAccuracy,
        accuracyMatrix: matrix,
        ...measures,
        taskSeries,
        sources: inputs.sources,
      },
      compute,
      seconds,
      rehearsalCounts: counts,
      rehearsalLog: joinedLog,
      rehearsalCategories: joinedCats,
      verdicts,
    };
  } finally {
    for (const t of owned) t.dispose();
  }
}
