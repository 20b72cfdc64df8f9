// Bring your own model: export a LayersModel, load it back with tf.loadLayersModel through our
// file IO handler, re-import it as f0 (same prior pass, same run numbers as the in-app f0), a
// hand-written model.json, every malformed file with its sentence (nothing stored), and the
// finetuning choices (frozen layers, head learning rate, AdamW).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.js';
import { ExperimentContext, exportF0, runExperiment } from '../../src-main/engine/experiment.js';
import { fileIO, readModelFile, saveModel, toClassifier } from '../../src-main/engine/modelFile.js';
import type { Classifier } from '../../src-main/engine/model.js';
import { recordRun } from '../../src-main/host/recordRun.js';
import { openHistory } from '../../src-main/store/database.js';
import { syntheticSource, smallConfig } from '../helpers/syntheticData.js';

const source = syntheticSource();
const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-model-'));
const input = { height: 12, width: 12, channels: 1 };

beforeAll(async () => {
  await initBackend('wasm');
});

function values(count: number, seed: number, scale = 0.3): number[] {
  const out: number[] = [];
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push((s / 2 ** 31 - 1) * scale);
  }
  return out;
}

/** A hand-written Keras Sequential model.json + shard (the shape a converter writes). */
function writeHandModel(
  dir: string,
  { inputShape = [12, 12, 1], outUnits = 10, outActivation = 'softmax', extra = [] as unknown[] } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const flat = inputShape.reduce((a, b) => a * b, 1);
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'hand',
      layers: [
        {
          class_name: 'InputLayer',
          config: { name: 'in', batch_input_shape: [null, ...inputShape], dtype: 'float32' },
        },
        { class_name: 'Flatten', config: { name: 'flat' } },
        { class_name: 'Dense', config: { name: 'hidden', units: 16, activation: 'relu', use_bias: true } },
        ...extra,
        { class_name: 'Dense', config: { name: 'out', units: outUnits, activation: outActivation, use_bias: true } },
      ],
    },
    keras_version: '2.15.0',
    backend: 'tensorflow',
  };
  const weights = [
    { name: 'hidden/kernel', shape: [flat, 16], dtype: 'float32' },
    { name: 'hidden/bias', shape: [16], dtype: 'float32' },
    { name: 'out/kernel', shape: [16, outUnits], dtype: 'float32' },
    { name: 'out/bias', shape: [outUnits], dtype: 'float32' },
  ];
  const data = new Float32Array(values(flat * 16 + 16 + 16 * outUnits + outUnits, 11));
  writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(data.buffer));
  const file = path.join(dir, 'model.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: topology,
      weightsManifest: [{ paths: ['w.bin'], weights }],
    }),
  );
  return file;
}

function logitsOf(model: Classifier, x: Float32Array, n: number): Float32Array {
  return tf.tidy(() => model.logits(tf.tensor2d(x, [n, 144])).dataSync() as Float32Array);
}

describe('export and re-import', () => {
  const context = new ExperimentContext({ loadData: () => source });
  const inApp = smallConfig({ rehearsal: { strategy: 'mix-cd' }, finetune: { steps: 20 } });
  let f0File = '';

  it('writes f0 as a LayersModel that tf.loadLayersModel loads back with the same predictions', async () => {
    await runExperiment(inApp, context); // pretrains f0 into the context
    f0File = await exportF0(inApp, context, path.join(work, 'f0'));
    const loaded = await tfl.loadLayersModel(fileIO(f0File));
    const imported = await readModelFile(f0File);
    const ours = toClassifier(imported, { arch: 'file', path: f0File }, input, 10);
    const n = 64;
    const x = source.test.images.subarray(0, n * 144);
    const pixels = Float32Array.from(x, (v) => v / 255);
    const theirs = tf.tidy(
      () => (loaded.predict(tf.tensor4d(pixels, [n, 12, 12, 1])) as tf.Tensor).dataSync() as Float32Array,
    );
    const mine = logitsOf(ours, pixels, n);
    let maxDiff = 0;
    for (let i = 0; i < mine.length; i++) maxDiff = Math.max(maxDiff, Math.abs(mine[i] - theirs[i]));
    // tfjs-layers fuses the bias into its matMul; the sums are the same up to float rounding.
    expect(maxDiff).toBeLessThan(1e-4);
    const argmax = (a: Float32Array) =>
      Array.from({ length: n }, (_, r) =>
        a.subarray(r * 10, r * 10 + 10).indexOf(Math.max(...a.subarray(r * 10, r * 10 + 10))),
      );
    expect(argmax(mine)).toEqual(argmax(theirs));
    loaded.dispose();
    ours.dispose();
  }, 60_000);

  it('an imported f0 gives the same prior pass and the same run numbers as the in-app f0', async () => {
    const fromFile = smallConfig({
      model: { arch: 'file', path: f0File },
      rehearsal: { strategy: 'mix-cd' },
      finetune: { steps: 20 },
    });
    const fresh = new ExperimentContext({ loadData: () => source });
    const a = await runExperiment(inApp, context);
    const b = await runExperiment(fromFile, fresh);
    expect(b.f0Cached).toBe(false);
    expect(b.f0Key).not.toBe(a.f0Key);
    expect(b.prior).toEqual(a.prior);
    expect(b.series).toEqual(a.series);
    expect(Array.from(b.rehearsalLog)).toEqual(Array.from(a.rehearsalLog));
    // The finetuned model exported and re-imported gives its own final numbers as f0.
    let saved = '';
    await runExperiment(fromFile, fresh, { onFinalModel: (m) => (saved = saveModel(m, path.join(work, 'final'))) });
    const again = await runExperiment(
      smallConfig({ model: { arch: 'file', path: saved }, finetune: { steps: 1 } }),
      fresh,
    );
    expect(again.prior.pretrainTestAcc).toBe(b.final.pretrainTestAcc);
    expect(again.prior.finetuneTestAcc).toBe(b.final.finetuneTestAcc);
  }, 60_000);

  it('a hand-written model.json with weights trains as f0 (softmax output used as logits)', async () => {
    const file = writeHandModel(path.join(work, 'hand'));
    const result = await runExperiment(
      smallConfig({ model: { arch: 'file', path: file } }),
      new ExperimentContext({ loadData: () => source }),
    );
    expect(result.status).toBe('finished');
    // Random weights: about chance before finetuning, better on the finetune task after.
    expect(result.prior.pretrainTestAcc).toBeLessThan(0.3);
    expect(result.final.finetuneTestAcc).toBeGreaterThan(result.prior.finetuneTestAcc);
    // Same predictions as TensorFlow.js's own loader (softmax of our logits).
    const loaded = await tfl.loadLayersModel(fileIO(file));
    const ours = toClassifier(await readModelFile(file), { arch: 'file', path: file }, input, 10);
    const pixels = Float32Array.from(source.test.images.subarray(0, 8 * 144), (v) => v / 255);
    const theirs = tf.tidy(() => (loaded.predict(tf.tensor4d(pixels, [8, 12, 12, 1])) as tf.Tensor).dataSync());
    const mine = tf.tidy(() => tf.softmax(ours.logits(tf.tensor2d(pixels, [8, 144]))).dataSync());
    for (let i = 0; i < mine.length; i++) expect(mine[i]).toBeCloseTo(theirs[i], 5);
    loaded.dispose();
    ours.dispose();
  }, 60_000);
});

describe('malformed model files: one sentence each, nothing stored', () => {
  const cases: [string, () => string, RegExp][] = [
    [
      'input shape does not match the data',
      () => writeHandModel(path.join(work, 'bad-input'), { inputShape: [28, 28, 1] }),
      /takes inputs of shape 28x28x1, but the data's images are 12x12x1/,
    ],
    [
      'output not of the class count',
      () => writeHandModel(path.join(work, 'bad-classes'), { outUnits: 5 }),
      /output is 5 values per sample, but the data has 10 classes/,
    ],
    [
      'output not softmax/logits',
      () => writeHandModel(path.join(work, 'bad-act'), { outActivation: 'sigmoid' }),
      /last layer \("out", dense with activation sigmoid\) is not a softmax or logits/,
    ],
    [
      'a layer that cannot be trained',
      () =>
        writeHandModel(path.join(work, 'bad-layer'), {
          extra: [{ class_name: 'LSTM', config: { name: 'lstm', units: 4 } }],
        }),
      /layer lstm \(LSTM\) cannot be trained here: supported layers are Dense/,
    ],
    [
      'a GraphModel',
      () => {
        const dir = path.join(work, 'graph');
        mkdirSync(dir, { recursive: true });
        const file = path.join(dir, 'model.json');
        writeFileSync(
          file,
          JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
        );
        return file;
      },
      /is a TensorFlow\.js GraphModel, which TensorFlow\.js can only run, not train: .*--output_format tfjs_layers_model/,
    ],
    [
      'a missing shard',
      () => {
        const file = writeHandModel(path.join(work, 'no-shard'));
        const json = JSON.parse(readFileSync(file, 'utf8'));
        json.weightsManifest[0].paths = ['gone.bin'];
        writeFileSync(file, JSON.stringify(json));
        return file;
      },
      /lists the weight shard gone\.bin, which is missing from/,
    ],
    [
      'a truncated shard',
      () => {
        const file = writeHandModel(path.join(work, 'short-shard'));
        const shard = path.join(work, 'short-shard', 'w.bin');
        writeFileSync(shard, readFileSync(shard).subarray(0, 100));
        return file;
      },
      /the weight shards hold 100 bytes but the manifest needs \d+: a shard is truncated/,
    ],
    [
      'a Keras .h5 file',
      () => {
        const file = path.join(work, 'model.h5');
        writeFileSync(file, Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
        return file;
      },
      /is a Keras file, not a TensorFlow\.js LayersModel: convert it with `tensorflowjs_converter --input_format keras model\.h5 out\/`/,
    ],
  ];
  const db = path.join(work, 'history.db');
  for (const [what, make, sentence] of cases) {
    it(what, async () => {
      const file = make();
      const history = openHistory(db);
      try {
        const context = new ExperimentContext({ loadData: () => source });
        const error = await recordRun(history, smallConfig({ model: { arch: 'file', path: file } }), context).then(
          () => null,
          (e: Error) => e,
        );
        expect(error?.name).toBe('ModelFileError');
        expect(error!.message).toMatch(sentence);
        expect(error!.message).toContain(path.basename(file));
        expect(error!.message.trim().split(/(?<=[.!?])\s+(?=[A-Z])/).length).toBe(1);
        expect(history.listRuns({ limit: 10 })).toEqual([]);
      } finally {
        history.close();
      }
    });
  }
});
