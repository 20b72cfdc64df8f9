// `npm run bench`: every speed and memory figure the project claims, printed, each beside a
// reference measured in the same run (this machine is shared and noisy: read the ratios).
//   npm run bench                      all sections
//   npm run bench -- --only training,sampler
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { throughputAllBackends } from './training.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const torchScript = path.join(root, 'bench/torch_reference.py');
const SYSTEM_PYTHON = '/usr/bin/python3';

function heading(title: string): void {
  console.log(`\n== ${title} ==`);
}

/** PyTorch CPU (Debian's python3-torch) as the yardstick, or null with the reason. */
function torch(args: string[]): { result: Record<string, any> | null; reason: string } {
  if (!existsSync(SYSTEM_PYTHON)) return { result: null, reason: `${SYSTEM_PYTHON} not found` };
  const child = spawnSync(SYSTEM_PYTHON, [torchScript, ...args], { encoding: 'utf8', timeout: 900_000 });
  const line = child.stdout?.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !line.startsWith('{')) {
    return { result: null, reason: (child.stderr || 'no output').trim().split('\n').pop() ?? '' };
  }
  return { result: JSON.parse(line), reason: '' };
}

function training(): void {
  heading('Training throughput, batch 128, Adam (samples/s; higher is better)');
  const { results, skipped } = throughputAllBackends(3);
  const reference = torch(['--mode', 'throughput', '--threads', '1']);
  for (const r of results) {
    const ref = reference.result?.[r.model]?.samplesPerSec as number | undefined;
    const ratio = ref ? `  = ${(r.samplesPerSec / ref).toFixed(2)}x PyTorch CPU (1 thread, ${ref.toFixed(0)}/s)` : '';
    console.log(
      `${r.model.toUpperCase().padEnd(4)} ${r.backend.padEnd(10)} ${r.samplesPerSec.toFixed(0).padStart(7)} ` +
        `samples/s  ${r.stepMs.toFixed(1).padStart(7)} ms/step  [${r.device}]${ratio}`,
    );
  }
  for (const s of skipped) console.log(`skipped ${s}`);
  if (!reference.result)
    console.log(`PyTorch reference not run: ${reference.reason} (apt-get install python3-torch libopenblas0-pthread)`);
}

async function kernels(): Promise<void> {
  heading('Supplied wasm kernels (CNN shapes, batch 128)');
  const { benchKernels } = await import('./kernels.js');
  for (const line of await benchKernels()) console.log(line);
}

async function sampler(): Promise<void> {
  heading('Sampler alone (m = 64, K = 1,000 bins, N = 10,000,000)');
  const { benchSampler } = await import('./sampler.js');
  for (const line of benchSampler()) console.log(line);
}

async function store(): Promise<void> {
  heading('History writes (file database, WAL, synchronous=NORMAL; median / p90 microseconds)');
  const { measure } = await import('./store.js');
  const m = measure(1000, 'NORMAL') as Record<string, { medianUs: number; p90Us: number }>;
  for (const [name, v] of Object.entries(m))
    if (typeof v === 'object' && v && 'medianUs' in v)
      console.log(`${name.padEnd(42)} ${v.medianUs.toFixed(1).padStart(8)} / ${v.p90Us.toFixed(1)}`);
}

async function finetuneRun(): Promise<void> {
  heading('One rot90 run: MLP 784-256-256-10, random r = 0.1, 1,500 steps, eval every 100 steps on both test sets');
  const { runExperiment, ExperimentContext } = await import('../src-main/engine/experiment.js');
  const { parseRunConfig } = await import('../shared/config.js');
  const cacheDir = process.env.MIXCD_CACHE_DIR ?? path.join(root, '.cache/f0');
  // No probe: PyTorch's reference does the same work (the probe's own cost is measured in --only inspector).
  const config = parseRunConfig({
    scenario: 'rot90',
    rehearsal: { strategy: 'random', budget: 0.1, probe: 0 },
    backend: 'wasm',
  });
  const context = new ExperimentContext({ cacheDir });
  // Pretrain or load f0.
  const warm = await runExperiment({ ...config, finetune: { ...config.finetune, steps: 0 } }, context);
  const f0Origin = warm.f0Cached ? 'from the cache' : `pretrained in ${warm.timing.setup.toFixed(0)} s`;
  console.log(`f0: pretrain-test ${warm.prior.pretrainTestAcc.toFixed(4)} (${f0Origin}) on ${warm.backend.device}`);
  const r = await runExperiment(config, context);
  const t = r.timing;
  const steps = config.finetune.steps;
  console.log(
    `tfjs wasm: ${r.compute.wallSeconds.toFixed(1)} s wall (setup ${t.setup.toFixed(1)}, ` +
      `training steps ${t.train.toFixed(1)} = ${((t.train / steps) * 1000).toFixed(1)} ` +
      `ms/step, evaluation ${t.evaluation.toFixed(1)}, sampler ${(t.sampler * 1000).toFixed(1)} ` +
      `ms = ${((t.sampler / steps) * 1e6).toFixed(1)} us/step, observer/store ` +
      `${(t.store * 1000).toFixed(1)} ms)`,
  );
  console.log(
    `           final pretrain-test ${r.final.pretrainTestAcc.toFixed(4)}, ` +
      `finetune-test ${r.final.finetuneTestAcc.toFixed(4)}`,
  );
  const ref = torch(['--mode', 'finetune', '--threads', '1', '--steps', String(steps), '--budget', '0.1']);
  if (ref.result) {
    const f = ref.result.finetune;
    console.log(
      `PyTorch CPU 1 thread: ${f.wallSeconds.toFixed(1)} s wall (training ${f.trainSeconds.toFixed(1)}, ` +
        `evaluation ${f.evalSeconds.toFixed(1)}); final pretrain-test ${f.final.pretrainTestAcc.toFixed(4)}, ` +
        `finetune-test ${f.final.finetuneTestAcc.toFixed(4)}; ` +
        `its f0 ${ref.result.pretrain.pretrainTestAcc.toFixed(4)} in ${ref.result.pretrain.seconds.toFixed(1)} s`,
    );
    console.log(
      `ratio: tfjs wasm finetune wall = ${((r.compute.wallSeconds - t.setup) / f.wallSeconds).toFixed(1)}x ` +
        `PyTorch's (setup excluded on both sides)`,
    );
  } else console.log(`PyTorch reference not run: ${ref.reason}`);
}

async function host(): Promise<void> {
  heading('Host: event latency from trainer to client, memory with 3 queued runs');
  const { benchHost } = await import('./host.js');
  for (const line of await benchHost()) console.log(line);
}

async function renderer(): Promise<void> {
  heading('Renderer: bundle sizes, and drawing 5 runs x 2,000 points in headless Chromium');
  const { benchRenderer } = await import('./renderer.js');
  for (const line of await benchRenderer()) console.log(line);
}

async function inspector(): Promise<void> {
  heading(
    'Sample inspector: host queries on the 60,000-sample Fashion-MNIST pretrain set (ms, through host.handle + JSON)',
  );
  const { benchInspector } = await import('./inspector.js');
  for (const line of await benchInspector()) console.log(line);
}

async function data(): Promise<void> {
  heading('Loading each dataset format (generated files; one child process per format)');
  const { benchData } = await import('./data.js');
  for (const line of await benchData()) console.log(line);
}

async function gpu(): Promise<void> {
  heading('WebGPU beside wasm: per-step time (MLP, CNN) and one rot90 run, adapter named');
  const { benchGpu } = await import('./gpu.js');
  try {
    benchGpu();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exit(2);
  }
}

const SECTIONS: Record<string, () => void | Promise<void>> = {
  training,
  kernels,
  sampler,
  store,
  host,
  renderer,
  finetune: finetuneRun,
  inspector,
  data,
  gpu,
};

const program = new Command('bench')
  .option('--only <list>', `comma-separated sections: ${Object.keys(SECTIONS).join(', ')}`)
  .parse(process.argv);
const only: string[] = program.opts().only ? String(program.opts().only).split(',') : Object.keys(SECTIONS);
for (const name of only) {
  const section = SECTIONS[name];
  if (!section) {
    console.error(`bench: unknown section "${name}"; use ${Object.keys(SECTIONS).join(', ')}.`);
    process.exit(2);
  }
  await section();
}
