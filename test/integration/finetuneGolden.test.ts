// The finetune loop's numbers are pinned: series, compute counts, rehearsal log, counts,
// categories, verdict totals, bin traces and probe snapshots of a few small runs on generated data
// must equal the values recorded from the loop before it was restructured into observer hooks
// (test/fixtures/finetune-golden.json). A refactor that changes one number fails here.
// To re-record after an intended change: MIXCD_RECORD_GOLDEN=1 npx vitest run test/integration/finetuneGolden.test.ts
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunConfigInput } from '../../shared/config.js';
import { buildScenario } from '../../src-main/data/scenarios.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { finetune } from '../../src-main/engine/finetune.js';
import { ResidentDataset } from '../../src-main/engine/inference.js';
import { createClassifier } from '../../src-main/engine/model.js';
import { pretrain } from '../../src-main/engine/pretrain.js';
import { priorPass } from '../../src-main/engine/priorPass.js';
import { createStrategy, type PretrainIndex } from '../../src-main/sampler/index.js';
import { smallConfig, syntheticSource } from '../helpers/syntheticData.js';

const ADDED_AFTER_RECORDING = new Set(['computeUnits', 'probeForwardPasses']);
const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'finetune-golden.json');
const RECORD = process.env.MIXCD_RECORD_GOLDEN === '1';

const source = syntheticSource(600, 200);
const scenario = buildScenario('rot90', source.train, source.test);

const CASES: Record<string, { config: RunConfigInput; stopAfter?: number }> = {
  'mix-cd, probe, delay 0': {
    config: {
      seed: 1,
      finetune: { steps: 30, evalEvery: 10 },
      rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 120 },
    },
  },
  'mix-cd, probe, delay 1': {
    config: {
      seed: 2,
      finetune: { steps: 30, evalEvery: 7 },
      rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 120, feedbackDelay: 1 },
    },
  },
  'oracle-cd (extra inference), no probe': {
    config: {
      seed: 3,
      finetune: { steps: 20, evalEvery: 10 },
      rehearsal: { strategy: 'oracle-cd', budget: 0.25, probe: 0, oracleCd: { refreshEvery: 5 } },
    },
  },
  'random, probe, cancelled after 13 steps, delay 1': {
    config: {
      seed: 4,
      finetune: { steps: 30, evalEvery: 5 },
      rehearsal: { strategy: 'random', budget: 0.25, probe: 50, feedbackDelay: 1 },
    },
    stopAfter: 13,
  },
  none: { config: { seed: 5, finetune: { steps: 10, evalEvery: 5 }, rehearsal: { strategy: 'none', probe: 50 } } },
};

function sha(data: ArrayBufferView): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

let f0Weights: { model: ReturnType<typeof createClassifier>; prior: ReturnType<typeof priorPass> } | null = null;

beforeAll(async () => {
  await initBackend('wasm');
  // One briefly pretrained f0, so that samples can be forgotten (CD) and not only unlearned.
  const config = smallConfig({ pretrain: { epochs: 2 } });
  const model = createClassifier(config.model, { height: 12, width: 12, channels: 1 }, 10, 0);
  pretrain(model, scenario.pretrainTrain, config.pretrain);
  const train = new ResidentDataset(scenario.pretrainTrain);
  const pretrainTest = new ResidentDataset(scenario.pretrainTest);
  const finetuneTest = new ResidentDataset(scenario.finetuneTest);
  const prior = priorPass(model, train, pretrainTest, finetuneTest);
  train.dispose();
  pretrainTest.dispose();
  finetuneTest.dispose();
  f0Weights = { model, prior };
});

function runCase(name: string) {
  const { config: input, stopAfter } = CASES[name];
  const config = smallConfig(input);
  const { model: f0, prior } = f0Weights!;
  const model = createClassifier(config.model, { height: 12, width: 12, channels: 1 }, 10, 0);
  model.setWeights(f0.getWeights());
  const pretrainTest = new ResidentDataset(scenario.pretrainTest);
  const finetuneTest = new ResidentDataset(scenario.finetuneTest);
  const index: PretrainIndex = {
    size: scenario.pretrainTrain.count,
    numClasses: scenario.numClasses,
    labels: scenario.pretrainTrain.labels,
    priorLoss: prior.priorLoss,
    priorCorrect: prior.priorCorrect,
    groups: scenario.pretrainTrain.groups,
  };
  const strategy = createStrategy(config.rehearsal, index, config.seed);
  const evals: unknown[] = [];
  const progress: number[] = [];
  let polled = 0;
  const result = finetune({
    config,
    model,
    scenario,
    prior,
    strategy,
    pretrainTest,
    finetuneTest,
    observer: {
      onProgress: (p) => progress.push(p.step, p.loss),
      onEval: (point, trace, probe) =>
        evals.push({
          point,
          trace,
          probe: probe && { step: probe.step, indices: sha(probe.indices), categories: sha(probe.categories) },
        }),
      shouldStop: () => stopAfter !== undefined && polled++ >= stopAfter,
    },
  });
  model.dispose();
  pretrainTest.dispose();
  finetuneTest.dispose();
  // A JSON round trip makes the record comparable with the fixture (nulls, plain numbers). Fields
  // added after the fixture was recorded (compute units per eval, the probe's passes reported apart:
  // issue 16, checked in computeAndMir.test.ts) are left out; every number the old loop gave is kept.
  return JSON.parse(
    JSON.stringify(
      {
        status: result.status,
        series: result.series,
        compute: result.compute,
        rehearsalCounts: sha(result.rehearsalCounts),
        rehearsalLog: sha(result.rehearsalLog),
        rehearsalLogLength: result.rehearsalLog.length,
        rehearsalCategories: sha(result.rehearsalCategories),
        rehearsalCategoryList: Array.from(result.rehearsalCategories.slice(0, 40)),
        verdicts: result.verdicts,
        timingKeys: Object.keys(result.seconds).sort(),
        progress,
        evals,
      },
      (key, value) => (ADDED_AFTER_RECORDING.has(key) ? undefined : value),
    ),
  ) as Record<string, unknown>;
}

describe('finetune loop: numbers pinned to the recorded loop', () => {
  const recorded: Record<string, unknown> = RECORD
    ? {}
    : existsSync(FIXTURE)
      ? (JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>)
      : {};

  for (const name of Object.keys(CASES)) {
    it(name, () => {
      const actual = runCase(name);
      if (RECORD) {
        recorded[name] = actual;
        mkdirSync(dirname(FIXTURE), { recursive: true });
        writeFileSync(FIXTURE, JSON.stringify(recorded, null, 1) + '\n');
        return;
      }
      expect(recorded[name], `${FIXTURE} has no record for "${name}": re-record it (see the header)`).toBeDefined();
      expect(actual).toEqual(recorded[name]);
    });
  }
});
