// Training throughput of the two models on every backend this machine can run, each in its own
// process (a process runs one tfjs backend).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../src-main/engine/backend.js';
import { initBackend } from '../src-main/engine/backend.js';
import { createClassifier } from '../src-main/engine/model.js';
import { createOptimizer } from '../src-main/engine/optimizer.js';
import { trainStep } from '../src-main/engine/trainStep.js';
import type { ModelSpec } from '../shared/config.js';

export interface Throughput {
  backend: string;
  device: string;
  model: 'mlp' | 'cnn';
  samplesPerSec: number;
  stepMs: number;
}

const MODELS: Record<'mlp' | 'cnn', ModelSpec> = {
  mlp: { arch: 'mlp', hidden: [256, 256] },
  cnn: { arch: 'cnn', filters: [16, 32], kernelSize: 3 },
};

/** The benchmark's training batch size. */
export const BENCH_BATCH = 128;

/**
 * Adam, batch 128, fixed pseudo-random inputs: the same workload as bench/torch_reference.py's
 * throughput mode. One step reads the loss back (a full sync), as a training loop's progress does.
 */
export function trainingWorkload(model: 'mlp' | 'cnn'): { step: () => void; dispose: () => void } {
  const net = createClassifier(MODELS[model], { height: 28, width: 28, channels: 1 }, 10, 0);
  const optimizer = createOptimizer({ name: 'adam', lr: 1e-3, momentum: 0.9 });
  const pixels = new Float32Array(BENCH_BATCH * 784);
  const labels = new Int32Array(BENCH_BATCH);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 2654435761) % 1000) / 1000;
  for (let i = 0; i < BENCH_BATCH; i++) labels[i] = i % 10;
  return {
    step: () => {
      const { loss } = trainStep(net, optimizer, pixels, labels, BENCH_BATCH);
      loss.dataSync();
      loss.dispose();
    },
    dispose: () => {
      optimizer.dispose();
      net.dispose();
    },
  };
}

export async function measureThroughput(backend: BackendName, model: 'mlp' | 'cnn', seconds = 3): Promise<Throughput> {
  const info = await initBackend(backend);
  const batch = BENCH_BATCH;
  const { step, dispose } = trainingWorkload(model);
  for (let i = 0; i < 3; i++) step();
  let steps = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    step();
    steps++;
  }
  const elapsed = (performance.now() - start) / 1000;
  dispose();
  void tf;
  return {
    backend: info.backend,
    device: info.device,
    model,
    samplesPerSec: (steps * batch) / elapsed,
    stepMs: (elapsed * 1000) / steps,
  };
}

/** Runs measureThroughput in a child process per backend; backends that cannot start are skipped. */
export function throughputAllBackends(seconds = 3): { results: Throughput[]; skipped: string[] } {
  const results: Throughput[] = [];
  const skipped: string[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const backend of ['tensorflow', 'wasm', 'cpu'] as BackendName[]) {
    for (const model of ['mlp', 'cnn'] as const) {
      // Plain-JS cpu on the CNN takes minutes per step batch; a shorter window still measures it.
      const child = spawnSync(
        process.execPath,
        [self, backend, model, String(backend === 'cpu' ? Math.min(seconds, 2) : seconds)],
        { encoding: 'utf8' },
      );
      const line = child.stdout.trim().split('\n').pop() ?? '';
      if (child.status === 0 && line.startsWith('{')) results.push(JSON.parse(line) as Throughput);
      else {
        skipped.push(`${backend}: ${(child.stderr || line).trim().split('\n').pop()}`);
        break;
      }
    }
  }
  return { results, skipped };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [backend, model, seconds] = process.argv.slice(2);
  measureThroughput(backend as BackendName, model as 'mlp' | 'cnn', Number(seconds))
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: Error) => {
      console.error(e.message);
      process.exit(1);
    });
}
