// `npm run bench -- --only gpu`: the webgpu backend beside wasm in the same bench run, each in
// its own child process (a process runs one tfjs backend): per-step time of the MLP and the CNN
// (batch 128, Adam), then one rot90 finetune (MLP, random r = 0.1, eval every 100 steps) on both
// from the same f0 (wasm's, --f0-backend wasm). On a machine without a GPU the software adapter
// is used (--allow-software-adapter) and named as such.
// The run is the default config (real Fashion-MNIST, MLP 784-256-256-10, random r = 0.1, 1,500
// steps, eval every 100) with feedbackDelay 1 on both backends (the default differs: 1 on a GPU,
// 0 on the CPU), so the two runs differ only in arithmetic and their metrics can be compared.
//   MIXCD_BENCH_GPU_STEPS=300 npm run bench -- --only gpu    a shorter run for a quick look (default 1,500)
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendRequest } from '../shared/config.js';
import { initBackend } from '../src-main/engine/backend.js';
import { ExperimentContext, runExperiment } from '../src-main/engine/experiment.js';
import { parseRunConfig } from '../shared/config.js';
import { trainingWorkload } from './training.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const self = fileURLToPath(import.meta.url);
type Backend = Extract<BackendRequest, 'webgpu' | 'wasm'>;

/** ms per training step (median of timed steps after warm-up, the loss read every step). */
async function stepTime(backend: Backend, model: 'mlp' | 'cnn', steps: number) {
  const info = await initBackend(backend, { allowSoftwareAdapter: true });
  const { step: one, dispose } = trainingWorkload(model);
  for (let i = 0; i < 3; i++) one(); // shader compilation, pipeline caches
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    one();
    times.push(performance.now() - t0);
  }
  dispose();
  times.sort((a, b) => a - b);
  return { backend: info.backend, device: info.device, model, msPerStep: times[Math.floor(times.length / 2)] };
}

async function finetuneRun(backend: Backend, steps: number) {
  const config = parseRunConfig({
    scenario: 'rot90',
    // feedbackDelay pinned to the GPU default on both: then only the arithmetic differs.
    rehearsal: { strategy: 'random', budget: 0.1, probe: 0, feedbackDelay: 1 },
    finetune: { steps },
    backend,
    f0Backend: 'wasm',
    allowSoftwareAdapter: backend === 'webgpu' ? true : undefined,
  });
  const cacheDir = process.env.MIXCD_CACHE_DIR ?? path.join(root, '.cache/f0');
  const r = await runExperiment(config, new ExperimentContext({ cacheDir }));
  return {
    backend: r.backend.backend,
    device: r.backend.device,
    steps,
    prior: r.prior,
    final: r.final,
    series: r.series,
    timing: r.timing,
    wallSeconds: r.compute.wallSeconds,
  };
}

/** The 1-minute load average, at the start and end of a child's work: a shared machine says so. */
const load = () => os.loadavg()[0].toFixed(1);

/** The run's step count: 1,500 (the issue's), or MIXCD_BENCH_GPU_STEPS for a quick look. */
export function benchGpuSteps(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIXCD_BENCH_GPU_STEPS;
  if (raw === undefined || raw === '') return 1500;
  const steps = Number(raw);
  if (!Number.isInteger(steps) || steps < 1) {
    throw new Error(`MIXCD_BENCH_GPU_STEPS must be a whole number of steps >= 1 (got "${raw}"); unset it for 1,500.`);
  }
  return steps;
}

function child(args: string[]): Record<string, any> | string {
  const run = spawnSync(process.execPath, [self, ...args], { encoding: 'utf8', timeout: 4 * 3600_000 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status === 0 && line.startsWith('{')) return JSON.parse(line) as Record<string, any>;
  return (
    run.stderr
      .split('\n')
      .filter((l) => l.startsWith('mixcd') || l.includes('Error'))
      .pop() ?? line
  ).trim();
}

/** Whether the two runs started from the same prior and ended identical, said in one line. */
export function sameness(wasm: Record<string, any>, gpu: Record<string, any>): string {
  const samePrior = JSON.stringify(wasm.prior) === JSON.stringify(gpu.prior);
  const final = Object.keys(wasm.final ?? {}).filter((k) => typeof wasm.final[k] === 'number');
  const differing = final.filter((k) => wasm.final[k] !== gpu.final[k]);
  const maxDiff = Math.max(0, ...final.map((k) => Math.abs(wasm.final[k] - gpu.final[k])));
  const a: Record<string, any>[] = wasm.series ?? [];
  const b: Record<string, any>[] = gpu.series ?? [];
  const accuracies = a.flatMap((p, i) => [
    p.pretrainTestAcc - b[i]?.pretrainTestAcc,
    p.finetuneTestAcc - b[i]?.finetuneTestAcc,
  ]);
  const seriesDiff = Math.max(0, ...accuracies.map((d) => (Number.isNaN(d) ? Infinity : Math.abs(d))));
  return (
    `prior (f0 from wasm) ${samePrior ? 'identical' : 'DIFFERENT'}; final metrics ` +
    (differing.length === 0
      ? `identical (${final.join(', ')})`
      : `not identical: ${differing.join(', ')} differ, at most by ${maxDiff.toPrecision(3)}`) +
    `; over the ${a.length} evaluations (${b.length} on webgpu) the test accuracies differ by at most ` +
    `${seriesDiff.toFixed(4)}`
  );
}

export function benchGpu(): string[] {
  const lines: string[] = [];
  const print = (line: string) => {
    console.log(line);
    lines.push(line);
  };
  const steps = benchGpuSteps();
  const stepsPerModel = { mlp: 20, cnn: 5 };
  print(
    `load average at the start: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')} (${os.cpus().length} cores)`,
  );
  for (const model of ['mlp', 'cnn'] as const) {
    const results: Record<string, any>[] = [];
    for (const backend of ['wasm', 'webgpu'] as const) {
      const before = load();
      const r = child(['step', backend, model, String(stepsPerModel[model])]);
      if (typeof r === 'string') print(`${model.toUpperCase()} ${backend}: not measured (${r})`);
      else results.push({ ...r, load: `${before}-${load()}` });
    }
    for (const r of results) {
      const ratio = results[0].backend === 'wasm' ? ` = ${(r.msPerStep / results[0].msPerStep).toFixed(2)}x wasm` : '';
      print(
        `${model.toUpperCase().padEnd(4)} ${String(r.backend).padEnd(7)} ${r.msPerStep.toFixed(1).padStart(8)} ` +
          `ms/step (batch 128, Adam, median of ${stepsPerModel[model]})${ratio}  ` +
          `[${r.device}] load ${r.load}`,
      );
    }
  }
  print(
    `rot90 finetune, MLP 784-256-256-10, random r = 0.1, ${steps} steps, eval every 100, ` +
      'feedback delay 1 on both, f0 from wasm:',
  );
  const runs: Record<string, any>[] = [];
  for (const backend of ['wasm', 'webgpu'] as const) {
    const before = load();
    const started = new Date().toISOString();
    const r = child(['run', backend, String(steps)]);
    if (typeof r === 'string') {
      print(`  ${backend}: not run (${r})`);
      continue;
    }
    runs.push(r);
    const t = r.timing;
    print(
      `  ${String(r.backend).padEnd(7)} ${r.wallSeconds.toFixed(1)} s wall (setup ` +
        `${t.setup.toFixed(1)}, training ${t.train.toFixed(1)} = ${((t.train / steps) * 1000).toFixed(1)} ` +
        `ms/step, evaluation ${t.evaluation.toFixed(1)}); final pretrain-test ${r.final.pretrainTestAcc.toFixed(4)}, ` +
        `finetune-test ${r.final.finetuneTestAcc.toFixed(4)}, CD rate ${r.final.cdRate.toFixed(4)}, rehearsal ` +
        `precision ${r.final.rehearsalPrecision?.toFixed(4) ?? '-'}  [${r.device}]; started ${started}, ` +
        `load average ${before} at the start, ${load()} at the end`,
    );
  }
  if (runs.length === 2) {
    const [w, g] = runs;
    print(
      `  ratio webgpu/wasm: wall ${(g.wallSeconds / w.wallSeconds).toFixed(2)}x, ` +
        `training ${(g.timing.train / w.timing.train).toFixed(2)}x; |final difference| ` +
        `pretrain-test ${Math.abs(g.final.pretrainTestAcc - w.final.pretrainTestAcc).toFixed(4)}, ` +
        `finetune-test ${Math.abs(g.final.finetuneTestAcc - w.final.finetuneTestAcc).toFixed(4)}`,
    );
    print(`  ${sameness(w, g)}`);
  }
  return lines;
}

if (process.argv[1] === self) {
  const [mode, backend, arg, steps] = process.argv.slice(2);
  const work =
    mode === 'step'
      ? stepTime(backend as Backend, arg as 'mlp' | 'cnn', Number(steps))
      : finetuneRun(backend as Backend, Number(arg));
  work
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: Error) => {
      console.error(`Error: ${e.message}`);
      process.exit(1);
    });
}
