// The finetune loop with rehearsal (docs/method.md), the method in one function: each step the
// strategy picks m pretrain samples, they are trained on together with B finetune samples, and the
// step's own forward pass tells the strategy which of them f_t misclassified. Bookkeeping lives in
// small modules: timing (loop/phaseTimer), what was rehearsed and what it turned out to be
// (loop/rehearsalLedger), the probe's diagnostics (loop/probeDiagnostic) and the hand-over of the
// verdicts, now or one step late (loop/verdictFeedback).
import type { RunConfig } from '../../shared/config.js';
import { computeUnits, resolveRehearsal } from '../../shared/computeBudget.js';
import type { ComputeCounts, EvalPoint, BinTrace, TaskPoint } from '../../shared/results.js';
import type { Scenario } from '../data/scenarios.js';
import { sampleSize } from '../data/dataset.js';
import type { InferFn, RehearsalStrategy, StrategyState } from '../sampler/strategy.js';
import { Rng } from '../sampler/rng.js';
import { BatchBuilder, EpochOrder, type EpochOrderState } from './batches.js';
import {
  accuracy,
  collateralDamageRate,
  judge,
  judgeSubset,
  INFERENCE_CHUNK,
  type ResidentDataset,
} from './inference.js';
import type { Classifier, ModelState } from './model.js';
import { disposeOptimizer, trainPlan, Updater, type UpdaterState } from './optimizer.js';
import type { PriorPass } from './priorPass.js';
import { trainStep } from './trainStep.js';
import { PhaseTimer, type Phase } from './loop/phaseTimer.js';
import { ProbeDiagnostic, type ProbeSnapshot } from './loop/probeDiagnostic.js';
import { RehearsalLedger, type LedgerRecord, type LedgerState } from './loop/rehearsalLedger.js';
import { VerdictFeedback, type PendingVerdict } from './loop/verdictFeedback.js';
import { VirtualStep } from './virtualStep.js';

export type { ProbeSnapshot } from './loop/probeDiagnostic.js';

export interface FinetuneObserver {
  onProgress?(p: { step: number; totalSteps: number; loss: number }): void;
  /** `task`: every task's accuracy at this eval, from a multi-stage run (the loop itself never sends it). */
  onEval?(point: EvalPoint, trace: BinTrace | null, probe: ProbeSnapshot | null, task?: TaskPoint): void;
  /** Polled between steps; true ends the run as cancelled. */
  shouldStop?(): boolean;
  /**
   * The loop's whole state after every evaluation but the last (step === steps), and when
   * shouldStop() stops the run (then with a verdict held back by feedbackDelay still pending,
   * before the run returns cancelled). Given to `finetune({ resume })`, it continues exactly.
   * Without this hook no state is copied.
   */
  onCheckpoint?(state: FinetuneState): void;
}

/**
 * Everything the loop's next steps depend on, at a step boundary, as plain data (typed arrays,
 * numbers): see docs/checkpoints.md. The probe's indices are fixed by a constant and the data,
 * prior pass and partition are rebuilt from the config, so they are not in it.
 */
export interface FinetuneState {
  /** Steps done: the loop goes on with this step. */
  step: number;
  model: ModelState;
  optimizer: UpdaterState;
  order: EpochOrderState;
  orderRng: Int32Array;
  strategy: StrategyState;
  ledger: LedgerState;
  /** A verdict held back by feedbackDelay = 1, delivered when the uninterrupted run would have. */
  pendingVerdict: PendingVerdict | null;
  compute: FinetuneResult['compute'];
  seconds: Record<Phase, number>;
  /** The eval points so far. */
  series: EvalPoint[];
  /** MIR's virtual step (its counter), else null. */
  virtual: { extraForwardPasses: number } | null;
}

export interface FinetuneResult extends LedgerRecord {
  status: 'finished' | 'cancelled';
  series: EvalPoint[];
  compute: Omit<ComputeCounts, 'wallSeconds'>;
  seconds: PhaseTimer['seconds'];
}

export interface FinetuneInputs {
  config: RunConfig;
  /** Starts as f0; trained in place. */
  model: Classifier;
  scenario: Scenario;
  prior: PriorPass;
  strategy: RehearsalStrategy;
  pretrainTest: ResidentDataset;
  finetuneTest: ResidentDataset;
  observer?: FinetuneObserver;
  /**
   * Continue from this state (of a run with the same config, f0, data and strategy) instead of
   * step 0: no evaluation at step 0, and the result covers the whole run.
   */
  resume?: FinetuneState | null;
}

/** Progress callbacks at most every this many steps (the loss read-back is a sync point on a GPU). */
const PROGRESS_EVERY = 10;

export function finetune(inputs: FinetuneInputs): FinetuneResult {
  const { config, model, scenario, prior, strategy, observer } = inputs;
  const { pretrainTrain: pretrainSet, finetuneTrain: finetuneSet } = scenario;
  const { batchSize: B, steps, evalEvery } = config.finetune;
  // m per strategy: round(r B), or resolved from rehearsal.computeBudget (equal compute).
  const m = resolveRehearsal(config).m;
  const orderRng = new Rng(config.seed, 0x0bde);
  const order = new EpochOrder(finetuneSet.count, (a) => orderRng.shuffle(a));
  const batch = new BatchBuilder(sampleSize(pretrainSet), B + m);
  const inferBatch = new BatchBuilder(sampleSize(pretrainSet), Math.min(INFERENCE_CHUNK, pretrainSet.count));
  // Frozen layers, head lr and weight decay (optimizer.ts); frozen layers still run forward, and
  // a backward pass is counted per sample as before (it stops early at the first trained layer).
  const optimizer = new Updater(
    model,
    config.finetune.optimizer,
    trainPlan(model, config.finetune),
    config.finetune.headLr,
  );

  const compute = { forwardPasses: 0, backwardPasses: 0, extraForwardPasses: 0, probeForwardPasses: 0 };
  const series: EvalPoint[] = [];
  const timer = new PhaseTimer();
  const ledger = new RehearsalLedger(pretrainSet.count, m, steps, prior.priorCorrect);
  const probe = new ProbeDiagnostic(pretrainSet, config.rehearsal.probe, prior.priorCorrect, strategy, inferBatch);
  const feedback = new VerdictFeedback(config.rehearsal.feedbackDelay ?? 0, timer, (step, indices, misclassified) => {
    timer.time('sampler', () => strategy.observe(step, indices, misclassified));
    ledger.judge(indices, misclassified);
  });

  // Inference a strategy asks for beyond the training pass (oracle, loss-based): counted as compute.
  const infer: InferFn = (indices) =>
    timer.time('extraInference', () => {
      compute.extraForwardPasses += indices.length;
      compute.forwardPasses += indices.length;
      const { correct, loss } = judgeSubset(model, pretrainSet, indices, inferBatch);
      return { misclassified: correct.map((c) => (c ? 0 : 1)), loss };
    });

  // MIR: a virtual SGD step on the finetune batch; its scoring passes count as extra inference.
  const virtual = strategy.needsInterference
    ? new VirtualStep(model, config.finetune.optimizer.lr, pretrainSet, inferBatch, (samples) => {
        compute.extraForwardPasses += samples;
        compute.forwardPasses += samples;
      })
    : null;

  const evaluate = (step: number) => {
    const { point, measured } = timer.time('evaluation', () => {
      const pre = judge(model, inputs.pretrainTest);
      const fin = judge(model, inputs.finetuneTest);
      const point: EvalPoint = {
        step,
        pretrainTestAcc: accuracy(pre.correct),
        finetuneTestAcc: accuracy(fin.correct),
        cdRate: collateralDamageRate(prior.testCorrect, pre.correct),
        rehearsalPrecision: ledger.takePrecision(),
        computeUnits: computeUnits(compute),
      };
      const measured = probe.measure(model, step);
      // Diagnostic only: reported apart, never in the run's compute units.
      if (measured) compute.probeForwardPasses += measured.snapshot.indices.length;
      return { point, measured };
    });
    const trace = timer.time('sampler', () => ProbeDiagnostic.annotate(strategy.trace?.(step) ?? null, measured));
    series.push(point);
    timer.time('observer', () => observer?.onEval?.(point, trace, measured?.snapshot ?? null));
  };

  const snapshot = (step: number): FinetuneState => {
    if (!strategy.snapshot) throw new Error(`The ${strategy.name} strategy has no snapshot(): it cannot checkpoint.`);
    return {
      step,
      model: model.snapshot(),
      optimizer: optimizer.snapshot(),
      order: order.snapshot(),
      orderRng: orderRng.snapshot(),
      strategy: strategy.snapshot(),
      ledger: ledger.snapshot(),
      pendingVerdict: feedback.snapshot(),
      compute: { ...compute },
      seconds: timer.snapshot(),
      series: series.map((point) => ({ ...point })),
      virtual: virtual ? virtual.snapshot() : null,
    };
  };
  const checkpoint = (step: number) => {
    const hook = observer?.onCheckpoint;
    if (hook) timer.time('observer', () => hook.call(observer, snapshot(step)));
  };

  let status: FinetuneResult['status'] = 'finished';
  try {
    const resume = inputs.resume;
    if (resume) {
      if (!(resume.step >= 0 && resume.step < steps)) {
        throw new Error(`A checkpoint at step ${resume.step} cannot continue a run of ${steps} steps.`);
      }
      if (!strategy.restore) throw new Error(`The ${strategy.name} strategy has no restore(): it cannot resume.`);
      if (Boolean(virtual) !== Boolean(resume.virtual)) {
        throw new Error(`The checkpoint's strategy (${resume.strategy.name}) is not this run's (${strategy.name}).`);
      }
      model.restore(resume.model);
      optimizer.restore(resume.optimizer);
      orderRng.restore(resume.orderRng);
      order.restore(resume.order);
      strategy.restore(resume.strategy);
      ledger.restore(resume.ledger);
      feedback.restore(resume.pendingVerdict);
      Object.assign(compute, resume.compute);
      timer.restore(resume.seconds);
      series.push(...resume.series.map((point) => ({ ...point })));
      if (virtual && resume.virtual) virtual.restore(resume.virtual);
    } else {
      evaluate(0);
      if (steps > 0) checkpoint(0);
    }
    for (let step = resume?.step ?? 0; step < steps; step++) {
      if (observer?.shouldStop?.()) {
        status = 'cancelled';
        checkpoint(step); // the state at this boundary, a held-back verdict still pending
        feedback.flush(); // the last step's verdicts are computed already: keep them
        break;
      }
      batch.reset().add(finetuneSet, order.next(B));
      if (virtual) {
        const finetuneHalf = batch.view();
        timer.time('train', () => virtual.prepare(finetuneHalf.pixels, finetuneHalf.labels));
      }
      const rehearsal =
        m > 0 ? timer.time('sampler', () => strategy.select(step, m, infer, virtual?.interference)) : new Int32Array(0);
      const { loss, misclassified } = timer.time('train', () => {
        const view = batch.add(pretrainSet, rehearsal).view();
        compute.forwardPasses += view.count;
        compute.backwardPasses += view.count;
        return virtual
          ? virtual.trainStep(optimizer, view.pixels, view.labels, B)
          : trainStep(model, optimizer, view.pixels, view.labels, B);
      });
      ledger.rehearsed(step, rehearsal);
      if (misclassified) feedback.push(step, rehearsal, misclassified);

      const done = step + 1;
      if (observer?.onProgress && (done % PROGRESS_EVERY === 0 || done === steps)) {
        timer.time('observer', () => observer.onProgress!({ step: done, totalSteps: steps, loss: loss.dataSync()[0] }));
      }
      loss.dispose();
      if (done % evalEvery === 0 || done === steps) {
        feedback.flush();
        evaluate(done);
        if (done < steps) checkpoint(done);
      }
    }
  } finally {
    feedback.dispose();
    virtual?.dispose();
    disposeOptimizer(optimizer);
  }
  return { status, series, compute, seconds: timer.seconds, ...ledger.finish() };
}
