// The sample inspector's queries on the real 60,000-sample Fashion-MNIST pretrain set: two
// default rot90 runs (mix-cd and random, r = 0.1, 1,500 steps, probe 2,000) are trained and
// recorded first, then every inspect.* request the UI makes is timed through host.handle plus
// the JSON encoding browser mode sends: the first time on this machine, the first time in a new
// host (session), and warm (20 repeats).
// Reference in the same process: runs.get of the same run, an ordinary history read.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseRunConfig } from '../shared/config.js';
import { ExperimentContext } from '../src-main/engine/experiment.js';
import { createHost, type Host } from '../src-main/host/host.js';
import { recordRun } from '../src-main/host/recordRun.js';
import { openHistory } from '../src-main/store/database.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GOAL_MS = 200;

async function timed(host: Host, method: string, params: unknown): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const response = await host.handle({ id: 1, method, params });
  const bytes = JSON.stringify(response).length; // what browser mode puts on the socket
  const ms = performance.now() - t0;
  if (!response.ok) throw new Error(`${method} failed: ${response.error.message}`);
  return { ms, bytes };
}

interface Pass {
  times: Map<string, { ms: number; bytes: number }>;
  /** The longest the host's event loop was blocked meanwhile (a trainer's events wait that long). */
  maxBlockMs: number;
}

async function firstPassOn(host: Host, rows: [string, string, unknown][]): Promise<Pass> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const times = new Map<string, { ms: number; bytes: number }>();
  for (const [name, method, params] of rows) times.set(name, await timed(host, method, params));
  delay.disable();
  return { times, maxBlockMs: delay.max / 1e6 };
}

async function firstPass(historyFile: string, cacheDir: string, rows: [string, string, unknown][]): Promise<Pass> {
  const host = createHost({ historyFile, cacheDir });
  try {
    return await firstPassOn(host, rows);
  } finally {
    await host.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs: number[]) => Math.max(...xs);

export async function benchInspector(): Promise<string[]> {
  const lines: string[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-bench-inspector-'));
  const historyFile = path.join(work, 'history.db');
  const cacheDir = process.env.MIXCD_CACHE_DIR ?? path.join(root, '.cache/f0');
  try {
    const history = openHistory(historyFile);
    const context = new ExperimentContext({ cacheDir });
    const ids: Record<string, number> = {};
    for (const strategy of ['mix-cd', 'random'] as const) {
      const config = parseRunConfig({ scenario: 'rot90', rehearsal: { strategy, budget: 0.1 }, backend: 'wasm' });
      const t0 = performance.now();
      const run = await recordRun(history, config, context);
      ids[strategy] = run.id;
      lines.push(
        `recorded ${strategy} r = 0.1 (${config.finetune.steps} steps, probe ${config.rehearsal.probe}) ` +
          `in ${((performance.now() - t0) / 1000).toFixed(1)} s: final pretrain-test ` +
          `${run.final.pretrainTestAcc.toFixed(4)}, precision ${run.final.rehearsalPrecision?.toFixed(3)}`,
      );
    }
    history.close();

    const mix = ids['mix-cd'];
    const rnd = ids.random;
    const rows: [string, string, unknown][] = [
      ['runs.get (reference)', 'runs.get', { id: mix }],
      ['inspect.run mix-cd', 'inspect.run', { id: mix }],
      ['inspect.run random in mix-cd bins', 'inspect.run', { id: rnd, partitionOf: mix }],
      ['inspect.samples top 60 by count', 'inspect.samples', { id: mix }],
      [
        'inspect.samples all 60,000 by prior loss',
        'inspect.samples',
        { id: mix, rehearsedOnly: false, sort: 'priorLoss', order: 'asc' },
      ],
      [
        'inspect.samples CD at step 700, one class',
        'inspect.samples',
        { id: mix, step: 700, category: 'collateral-damage', class: 6, rehearsedOnly: false },
      ],
      [
        'inspect.samples one bin, random run',
        'inspect.samples',
        { id: rnd, partitionOf: mix, bin: 40, rehearsedOnly: false },
      ],
      ['inspect.sample (detail)', 'inspect.sample', { id: mix, index: 661 }],
      [
        'inspect.data 60 thumbnails',
        'inspect.data',
        { id: mix, indices: Array.from({ length: 60 }, (_, i) => i * 997) },
      ],
      ['runs.samples top 50 (mixcd samples)', 'runs.samples', { id: mix, top: 50 }],
    ];
    // Each first pass is a fresh host: nothing gathered yet. The first has no fingerprint memo
    // (as for runs trained on another machine, or data files touched since): it decompresses and
    // hashes the four data files, off the event loop. The second is the usual case (the trainers
    // wrote the memo; the inspector reads the labels and loads the pixels in the background).
    rmSync(path.join(cacheDir, 'data-fingerprints.json'), { force: true });
    const firstEver = await firstPass(historyFile, cacheDir, rows);
    const host = createHost({ historyFile, cacheDir });
    try {
      const firstLater = await firstPassOn(host, rows);
      const warm = new Map<string, number[]>();
      for (let rep = 0; rep < 20; rep++) {
        for (const [name, method, params] of rows) {
          const list = warm.get(name) ?? [];
          list.push((await timed(host, method, params)).ms);
          warm.set(name, list);
        }
      }
      const ref = median(warm.get('runs.get (reference)')!);
      lines.push(
        `${'query'.padEnd(44)} ${'no memo'.padStart(8)} ${'1st/host'.padStart(8)} ` +
          `${'median'.padStart(8)} ${'max'.padStart(8)}  ${'x runs.get'.padStart(10)} ` +
          ` response`,
      );
      let worst = 0;
      for (const [name] of rows) {
        const w = warm.get(name)!;
        if (name !== 'runs.get (reference)') worst = Math.max(worst, max(w), firstLater.times.get(name)!.ms);
        const ms = (v: number) => `${v.toFixed(1).padStart(6)}ms`;
        lines.push(
          `${name.padEnd(44)} ${ms(firstEver.times.get(name)!.ms)} ${ms(firstLater.times.get(name)!.ms)} ` +
            `${ms(median(w))} ${ms(max(w))}  ${(median(w) / ref).toFixed(1).padStart(9)}x ` +
            ` ${(firstLater.times.get(name)!.bytes / 1024).toFixed(1)} kB`,
        );
      }
      lines.push(
        `event loop blocked at most ${firstEver.maxBlockMs.toFixed(0)} ms during ` +
          `the first-ever pass, ${firstLater.maxBlockMs.toFixed(0)} ms during a later ` +
          `host's first pass`,
      );
      const everWorst = Math.max(
        ...rows.filter(([n]) => n !== 'runs.get (reference)').map(([n]) => firstEver.times.get(n)!.ms),
      );
      lines.push(
        `slowest query once a host has seen the data (first per host, and 20 repeats): ` +
          `${worst.toFixed(1)} ms (goal < ${GOAL_MS} ms: ${worst < GOAL_MS ? 'met' : 'NOT met'}); ` +
          (`the first open without a fingerprint memo (runs trained elsewhere, or ` +
            `data files touched since): ${everWorst.toFixed(0)} ms (${everWorst < GOAL_MS ? 'within' : 'over'} ` +
            `the goal)`),
      );
    } finally {
      await host.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return lines;
}
