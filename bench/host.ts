// The host's own costs, apart from training: how late an eval reaches a subscriber (trainer ->
// IPC -> host -> history -> event), and how much memory the host holds with runs queued.
// Small generated data, so the figures are the host's, not the engine's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunConfigInput } from '../shared/config.js';
import type { EventMessage } from '../shared/contract.js';
import { writeIdx } from '../src-main/data/idx.js';
import { makeSyntheticSplit } from '../src-main/data/synthetic.js';
import { createHost } from '../src-main/host/host.js';
import { forkTrainer, type SpawnTrainer } from '../src-main/host/trainerProcess.js';

const wallClock = () => performance.timeOrigin + performance.now();
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function writeData(dir: string): void {
  const { train, test } = makeSyntheticSplit({ trainCount: 800, testCount: 300, numClasses: 10, size: 12, seed: 3 });
  mkdirSync(dir, { recursive: true });
  const write = (name: string, dims: number[], data: Uint8Array) =>
    writeFileSync(path.join(dir, name), writeIdx(dims, data));
  write('train-images-idx3-ubyte', [train.count, 12, 12], train.images);
  write('train-labels-idx1-ubyte', [train.count], train.labels);
  write('t10k-images-idx3-ubyte', [test.count, 12, 12], test.images);
  write('t10k-labels-idx1-ubyte', [test.count], test.labels);
}

/** Resident set of another process (Linux), or null. */
function rssOf(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : null;
  } catch {
    return null;
  }
}

export async function benchHost(): Promise<string[]> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-bench-host-'));
  const dataDir = path.join(work, 'data');
  writeData(dataDir);
  const config = (steps: number, evalEvery: number): RunConfigInput => ({
    dataDir,
    backend: 'wasm',
    model: { arch: 'mlp', hidden: [32] },
    pretrain: { epochs: 2, batchSize: 32 },
    finetune: { steps, batchSize: 32, evalEvery },
    // mix-cd with a probe: every eval carries a bin trace and probe categories, as in real use.
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 200 },
  });
  const lines: string[] = [];
  const baseline = process.memoryUsage();

  // The trainer stamps each eval when it posts it; the host stamps its arrival (before recording).
  const sentAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const stamping: SpawnTrainer = (entry) => {
    const handle = forkTrainer(entry);
    return {
      get pid() {
        return handle.pid;
      },
      send: (m) => handle.send(m),
      kill: (s) => handle.kill(s),
      onExit: (l) => handle.onExit(l),
      onMessage: (listener) =>
        handle.onMessage((m) => {
          const msg = m as { type?: string; runId: number; point?: { step: number }; sentAt?: number };
          if (msg.type === 'eval') {
            sentAt.set(`${msg.runId}:${msg.point!.step}`, msg.sentAt!);
            arrivedAt.set(`${msg.runId}:${msg.point!.step}`, wallClock());
          }
          listener(m);
        }),
    };
  };

  const host = createHost({
    historyFile: path.join(work, 'history.db'),
    cacheDir: path.join(work, 'f0'),
    spawnTrainer: stamping,
  });
  try {
    // 1. Latency: one run evaluating every 2nd step, ~200 evals.
    const endToEnd: number[] = [];
    const inHost: number[] = [];
    const done = new Promise<void>((resolve) => {
      host.subscribe((e: EventMessage) => {
        if (e.event === 'run.eval') {
          const key = `${e.data.runId}:${e.data.point.step}`;
          const now = wallClock();
          endToEnd.push(now - sentAt.get(key)!);
          inHost.push(now - arrivedAt.get(key)!);
        }
        if (e.event === 'run.finished' || e.event === 'run.failed' || e.event === 'run.cancelled') resolve();
      });
    });
    const started = await host.handle({ id: 1, method: 'runs.start', params: { config: config(400, 2) } });
    if (!started.ok) throw new Error(started.error.message);
    await done;
    endToEnd.sort((a, b) => a - b);
    inHost.sort((a, b) => a - b);
    const f = (v: number) => `${v.toFixed(2)} ms`;
    lines.push(
      `eval -> subscriber, ${endToEnd.length} evals (bin trace + 200-sample probe ` +
        `each): median ${f(quantile(endToEnd, 0.5))}, p90 ${f(quantile(endToEnd, 0.9))}, ` +
        `max ${f(endToEnd.at(-1)!)}`,
      `  of which in the host (arrival -> history write -> event): median ${f(quantile(inHost, 0.5))}, ` +
        `p90 ${f(quantile(inHost, 0.9))}, max ${f(inHost.at(-1)!)}`,
      `  (clocks: performance.timeOrigin + now() in each process; load average ` +
        `${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores: a busy CPU ` +
        `delays the host's wake-up, and a WAL checkpoint now and then stalls one ` +
        `write and the messages queued behind it)`,
    );

    // 2. Memory with 3 runs queued: one training, two waiting.
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await host.handle({ id: 10 + i, method: 'runs.start', params: { config: config(20_000, 500) } });
      if (r.ok) ids.push((r.result as { runId: number }).runId);
    }
    let peak = process.memoryUsage();
    let trainerRss = 0;
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = process.memoryUsage();
      if (now.rss > peak.rss) peak = now;
      const status = await host.handle({ id: 20 + i, method: 'host.status' });
      const pid = status.ok
        ? ((status.result as { trainers: { pid: number | null }[] }).trainers[0]?.pid ?? null)
        : null;
      trainerRss = Math.max(trainerRss, rssOf(pid) ?? 0);
    }
    lines.push(
      `host process with 3 runs queued (1 training, 2 waiting): RSS ${mb(peak.rss)}, ` +
        `heap used ${mb(peak.heapUsed)} of ${mb(peak.heapTotal)}, external ${mb(peak.external)}` +
        ` (before the host: RSS ${mb(baseline.rss)}, heap used ${mb(baseline.heapUsed)})`,
      `one trainer process (tfjs wasm, tiny model and data): RSS ${trainerRss ? mb(trainerRss) : 'n/a'}`,
    );
    for (const id of ids.reverse()) await host.handle({ id: 30 + id, method: 'runs.cancel', params: { id } });
  } finally {
    await host.close();
    rmSync(work, { recursive: true, force: true });
  }
  return lines;
}
