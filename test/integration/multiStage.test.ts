// Multi-stage finetuning end to end on small generated data written as a NumPy dataset: a
// two-stage scenario file (rot90, then a pixel permutation), the accuracy matrix, forgetting,
// prior passes counted per stage, the pool's sources, storage in the history, and determinism.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearsalBudget, type RunConfig } from '../../shared/config.js';
import { continualMeasures } from '../../shared/continual.js';
import { matrixToCsv } from '../../shared/export/accuracyMatrix.js';
import { parseScenarioSpec } from '../../shared/scenarioFile.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { recordRun } from '../../src-main/host/recordRun.js';
import { openHistory } from '../../src-main/store/database.js';
import { smallConfig } from '../helpers/syntheticData.js';
import { writeTwoStageScenario } from '../helpers/twoStageScenario.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-multistage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { file: scenarioPath, spec, source } = writeTwoStageScenario(dir, 600, 200);

function config(overrides: Parameters<typeof smallConfig>[0] = {}): RunConfig {
  return smallConfig({
    scenarioFile: { path: scenarioPath, spec: parseScenarioSpec(spec, scenarioPath) },
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 0 },
    ...overrides,
  } as Parameters<typeof smallConfig>[0]);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('multi-stage finetuning', () => {
  const context = new ExperimentContext();

  it('runs both stages from one model, pools P and stage 1, and measures the accuracy matrix', async () => {
    const c = config();
    const result = await runExperiment(c, context);
    const ms = result.multiStage!;
    expect(ms.stages.map((s) => s.name)).toEqual(['rot90', 'permute']);
    expect(ms.continual.taskNames).toEqual(['pretrain', 'rot90', 'permute']);
    const A = ms.continual.accuracyMatrix;
    expect(A.length).toBe(3);
    expect(A.every((row) => row.length === 2)).toBe(true);
    // Stage 1 learns rot90, stage 2 learns permute.
    expect(A[1][0]).toBeGreaterThan(ms.continual.initialAccuracy[1] + 0.2);
    expect(A[2][1]).toBeGreaterThan(A[2][0]);
    // The pool grows by stage 1's train set; its prior pass is counted as extra inference.
    expect(ms.stages[0]).toMatchObject({ poolSize: 600, priorPassForwardPasses: 0 });
    expect(ms.stages[1]).toMatchObject({ poolSize: 1200, priorPassForwardPasses: 1200 });
    const m = rehearsalBudget(c);
    const perStep = c.finetune.batchSize + m;
    expect(result.compute.backwardPasses).toBe(2 * 40 * perStep);
    expect(result.compute.extraForwardPasses).toBe(1200);
    expect(result.compute.forwardPasses).toBe(2 * 40 * perStep + 1200);
    // One series on a global step axis; retention curves of every task at every eval.
    expect(result.series.map((p) => p.step)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    expect(ms.continual.taskSeries.length).toBe(10);
    expect(ms.continual.taskSeries.at(-1)!.accuracy).toEqual(A.map((row) => row[1]));
    expect(result.final.finetuneTestAcc).toBe(ms.stages[1].finetuneTestAcc);
    const measures = continualMeasures(ms.continual.initialAccuracy, A);
    expect(ms.continual.averageAccuracy).toBeCloseTo((A[0][1] + A[1][1] + A[2][1]) / 3, 12);
    expect(ms.continual.forgetting).toEqual(measures.forgetting);
    expect(ms.continual.forgetting[2]).toBeNull();
    expect(ms.continual.forgetting[1]).toBeCloseTo(Math.max(A[1][0]) - A[1][1], 12);
    expect(ms.continual.sources[0].fingerprint).toBe(result.dataFingerprint);
  });

  it('same config and seed give the same matrix; keeping f0 prior for P runs fewer prior passes', async () => {
    const a = await runExperiment(config({ seed: 2 }), context);
    const b = await runExperiment(config({ seed: 2 }), context);
    expect(b.multiStage!.continual.accuracyMatrix).toEqual(a.multiStage!.continual.accuracyMatrix);
    const cheap = await runExperiment(config({ seed: 2, multiStage: { prior: 'f0-for-pretrain' } }), context);
    expect(cheap.multiStage!.stages[1].priorPassForwardPasses).toBe(600);
    const pretrainOnly = await runExperiment(config({ seed: 2, multiStage: { pool: 'pretrain' } }), context);
    expect(pretrainOnly.multiStage!.stages[1].poolSize).toBe(600);
  });

  it('stores the stages and the matrix in the history; the JSON summary and the export carry them', async () => {
    const history = openHistory(path.join(dir, 'h.db'));
    try {
      const run = await recordRun(
        history,
        config({ rehearsal: { strategy: 'random', budget: 0.25, probe: 0 } }),
        context,
      );
      expect(run.status).toBe('finished');
      expect(run.accuracyMatrix).toEqual(run.continual!.accuracyMatrix);
      expect(run.stages!.length).toBe(2);
      expect(Object.keys(run.stages![0])).toEqual(expect.arrayContaining(Object.keys(run.final)));
      const csv = matrixToCsv([history.getRun(run.id)!]);
      expect(csv.split('\n')[0]).toBe('run,strategy,budget,seed,task,f0,after stage 1,after stage 2,forgetting');
      expect(csv.trim().split('\n').length).toBe(4);
      // A single-stage run keeps today's summary: no multi-stage fields.
      const single = await recordRun(history, smallConfig(), new ExperimentContext({ loadData: () => source }));
      expect(single.accuracyMatrix).toBeUndefined();
      expect(single.stages).toBeUndefined();
    } finally {
      history.close();
    }
  });
});
