// Declared architectures: the built-in MLP and CNN are layer lists now, and must give the f0, the
// cache key and the run numbers they gave before (values recorded with the pre-spec code on the
// same generated data); a declared list of the same layers trains to the same numbers; a CNN spec
// with batch norm and separable convolutions trains on wasm.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRunConfig } from '../../shared/config.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../../src-main/engine/experiment.js';
import { f0KeyFor, f0KeyHash } from '../../src-main/engine/f0Cache.js';
import { builtinLayers, createClassifier } from '../../src-main/engine/model.js';
import { modelArtifacts } from '../../src-main/engine/modelFile.js';
import { configFromFlags } from '../../src-main/cli/configFromFlags.js';
import { syntheticSource, smallConfig } from '../helpers/syntheticData.js';

const source = syntheticSource();
const hash = (data: string | Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 16);

beforeAll(async () => {
  await initBackend('wasm');
});

// Recorded at commit b7802b7 (before the layer specs) with the same configs on wasm.
const BEFORE = {
  mlp: {
    key: '61367259dc317ddfdbf429ac',
    prior: { pretrainTestAcc: 0.945, finetuneTestAcc: 0.045 },
    final: { pretrainTestAcc: 0.65, finetuneTestAcc: 0.43, cdRate: 0.328042328042328, rehearsalPrecision: 0.2125 },
    series: '5f36b6b169ddd3a6',
    log: '81acb43ee7aa62ff',
  },
  cnn: {
    key: '43acbeb36d2fa8b18f671a57',
    prior: { pretrainTestAcc: 0.9375, finetuneTestAcc: 0.0275 },
    final: { pretrainTestAcc: 0.365, finetuneTestAcc: 0.185, cdRate: 0.6213333333333333, rehearsalPrecision: 0.55 },
    series: '1c13d06e2485929e',
    log: '618153e5b50c54b7',
  },
};

/** The series as the values above were recorded: before compute units per eval were added (issue 16). */
const seriesAsRecorded = (series: unknown) =>
  JSON.stringify(series, (key, value) => (key === 'computeUnits' ? undefined : value));

describe('built-in architectures as layer specs', () => {
  for (const model of [
    { arch: 'mlp' as const, hidden: [32] },
    { arch: 'cnn' as const, filters: [4, 8] },
  ]) {
    it(`${model.arch}: same f0 key, same f0 and same run numbers as before specs`, async () => {
      const context = new ExperimentContext({ loadData: () => source });
      const config = smallConfig({ model, rehearsal: { strategy: 'mix-cd' }, finetune: { steps: 20 } });
      const r = await runExperiment(config, context);
      const before = BEFORE[model.arch];
      expect(f0KeyHash(f0KeyFor(config, source.fingerprint, 'wasm'))).toBe(before.key);
      expect(r.f0Key).toBe(before.key);
      expect(r.prior).toEqual(before.prior);
      expect(r.final).toEqual(before.final);
      expect(hash(seriesAsRecorded(r.series))).toBe(before.series);
      expect(hash(Buffer.from(r.rehearsalLog.buffer))).toBe(before.log);

      // The same layers declared as a spec: its own f0 key, the same numbers.
      const declared = smallConfig({
        model: { arch: 'layers', layers: builtinLayers(config.model, 10) },
        rehearsal: { strategy: 'mix-cd' },
        finetune: { steps: 20 },
      });
      const d = await runExperiment(declared, context);
      expect(d.f0Key).not.toBe(before.key);
      expect(d.final).toEqual(before.final);
      expect(hash(seriesAsRecorded(d.series))).toBe(before.series);
    }, 60_000);
  }

  it('a CNN spec with batch norm, separable and depthwise convs, dropout and avg pooling trains on wasm', async () => {
    const context = new ExperimentContext({ loadData: () => source });
    const config = smallConfig({
      model: {
        arch: 'layers',
        layers: [
          { type: 'conv2d', filters: 4, kernelSize: 3 },
          { type: 'batchNorm' },
          { type: 'activation', activation: 'relu' },
          { type: 'separableConv2d', filters: 8, kernelSize: 3, strides: 2, activation: 'relu' },
          { type: 'depthwiseConv2d', kernelSize: 3, padding: 'valid' },
          { type: 'batchNorm', name: 'bn2' },
          { type: 'avgPool2d', poolSize: 2 },
          { type: 'flatten' },
          { type: 'dropout', rate: 0.1 },
          { type: 'dense', units: 10, activation: 'softmax' },
        ],
      },
      pretrain: { epochs: 2 },
      finetune: { steps: 20 },
    });
    const r = await runExperiment(config, context);
    expect(r.backend.backend).toBe('wasm');
    expect(r.prior.pretrainTestAcc).toBeGreaterThan(0.4);
    expect(r.series.length).toBe(3);
    // Same config, same numbers (seeded dropout).
    const again = await runExperiment(config, new ExperimentContext({ loadData: () => source }));
    expect(again.prior).toEqual(r.prior);
    expect(again.series).toEqual(r.series);
    // f0 loaded (from the context) rather than pretrained here: the same dropout masks, the same numbers.
    const loaded = await runExperiment(config, context);
    expect(loaded.f0Cached).toBe(true);
    expect(loaded.series).toEqual(r.series);
  }, 120_000);

  it('a spec that does not fit the data says which layer and why', () => {
    const input = { height: 12, width: 12, channels: 1 };
    const build = (layers: unknown[]) => {
      const config = parseRunConfig({ model: { arch: 'layers', layers } });
      return () => createClassifier(config.model, input, 10, 0);
    };
    expect(build([{ type: 'dense', units: 7 }])).toThrow(/output is 7 values per sample, but the data has 10 classes/);
    expect(
      build([
        { type: 'conv2d', filters: 4, kernelSize: 3 },
        { type: 'dense', units: 10 },
      ]),
    ).toThrow(
      /Layer 2 \("dense_2", dense\) needs flat features but gets a 12x12x4 image: add a flatten layer before it/,
    );
    expect(build([{ type: 'dense', units: 10, activation: 'relu' }])).toThrow(/not a softmax or logits/);
    expect(() => parseRunConfig({ model: { arch: 'layers', layers: [{ type: 'lstm' }] } })).toThrow(/model\.layers\.0/);
    expect(() => builtinLayers({ arch: 'file', path: 'x/model.json' }, 10)).toThrow(/model\.json/);
  });

  it('a model.json topology without weights works as a spec (--model-spec): same layers, same initial weights', () => {
    const input = { height: 12, width: 12, channels: 1 };
    for (const model of [parseRunConfig({ model: { arch: 'cnn', filters: [4, 8] } }).model, parseRunConfig({}).model]) {
      const builtin = createClassifier(model, input, 10, 3);
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mixcd-spec-')), 'model.json');
      writeFileSync(file, JSON.stringify({ modelTopology: modelArtifacts(builtin).modelTopology }));
      const config = configFromFlags({ modelSpec: file });
      expect(config.model.arch).toBe('layers');
      const declared = createClassifier(config.model, input, 10, 3);
      expect(declared.getWeights()).toEqual(builtin.getWeights());
      builtin.dispose();
      declared.dispose();
    }
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'mixcd-spec-')), 'x.json');
    writeFileSync(bad, '{"foo": 1}');
    expect(() => configFromFlags({ modelSpec: bad })).toThrow(
      /x\.json is neither a list of layer specs nor a LayersModel topology/,
    );
  });
});
