// Measures the history's write costs on a file database (not a test: timings vary by machine).
// Build, then: node dist/bench/store.js [iterations]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseRunConfig } from '../shared/config.js';
import type { BinTrace } from '../shared/results.js';
import { openHistory, type History } from '../src-main/store/database.js';

function stats(samplesNs: bigint[]): { medianUs: number; p90Us: number } {
  const us = samplesNs.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  return { medianUs: us[Math.floor(us.length / 2)], p90Us: us[Math.floor(us.length * 0.9)] };
}

function time(iterations: number, fn: (i: number) => void): { medianUs: number; p90Us: number } {
  for (let i = 0; i < Math.min(50, iterations); i++) fn(-1 - i); // warm-up (negative i: throwaway keys)
  const samples: bigint[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    samples.push(process.hrtime.bigint() - t0);
  }
  return stats(samples);
}

function newRun(h: History): number {
  return h.createRun({ config: parseRunConfig({ rehearsal: { strategy: 'mix-cd' } }), status: 'running' });
}

function trace(step: number, bins: number): BinTrace {
  const size = Array.from({ length: bins }, (_, k) => 600 + k);
  return {
    step,
    size,
    alpha: size.map((_, k) => 1 + k * 0.01),
    probability: size.map(() => 1 / bins),
    drawn: size.map((_, k) => k % 7),
    cdFound: size.map((_, k) => k % 3),
    trueCdRate: size.map((_, k) => (k % 10 === 0 ? null : k / bins)),
  };
}

export function measure(iterations = 2000, synchronous: 'NORMAL' | 'FULL' = 'NORMAL'): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mixcd-measure-'));
  const h = openHistory(path.join(dir, 'history.db'));
  try {
    h.db.pragma(`synchronous = ${synchronous}`);
    const evalRun = newRun(h);
    const evalPoint = time(iterations, (i) =>
      h.appendEvalPoints(evalRun, [
        { step: i + 100, pretrainTestAcc: 0.9, finetuneTestAcc: 0.8, cdRate: 0.05, rehearsalPrecision: 0.3 },
      ]),
    );
    const traceRun = newRun(h);
    const binTrace = time(iterations, (i) => h.appendBinTraces(traceRun, [trace(i + 100, 100)]));
    const traceBytes = (
      h.db
        .prepare(
          'SELECT avg(length(size) + length(alpha) + length(probability) + length(drawn) ' +
            '+ length(cd_found) + length(true_cd_rate)) AS b FROM bin_traces',
        )
        .get() as { b: number }
    ).b;

    // 20,000 rehearsals over 60,000 samples: at most a third of the samples are touched -> sparse.
    const n = 60_000;
    const log = new Int32Array(2 * 20_000);
    const sparseCounts = new Uint32Array(n);
    for (let k = 0; k < 20_000; k++) {
      const index = (k * 7919) % n;
      log[2 * k] = Math.floor(k / 13);
      log[2 * k + 1] = index;
      sparseCounts[index]++;
    }
    const denseCounts = new Uint32Array(n).map((_, i) => 1 + (i % 5)); // every sample touched -> dense
    const rehearsalRun = newRun(h);
    const saveRounds = Math.max(20, Math.floor(iterations / 40));
    const sampleSparse = time(saveRounds, () => h.saveSampleRehearsals(rehearsalRun, sparseCounts, log, null));
    const sparseBytes = h.db
      .prepare('SELECT length(counts) AS counts, length(log) AS log FROM sample_rehearsals')
      .get();
    const sampleDense = time(saveRounds, () => h.saveSampleRehearsals(rehearsalRun, denseCounts, log, null));
    const readBack = time(saveRounds, () => h.getSampleRehearsals(rehearsalRun));
    return {
      synchronous,
      iterations,
      appendEvalPoints_1point: evalPoint,
      appendBinTraces_100bins: { ...binTrace, bytesPerTrace: traceBytes },
      saveSampleRehearsals_60k_20kLog_sparse: { ...sampleSparse, bytes: sparseBytes },
      saveSampleRehearsals_60k_20kLog_dense: sampleDense,
      getSampleRehearsals_dense: readBack,
    };
  } finally {
    h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const iterations = Number(process.argv[2] ?? 2000);
  console.log(JSON.stringify(measure(iterations, 'NORMAL'), null, 2));
  console.log(JSON.stringify(measure(Math.min(iterations, 300), 'FULL'), null, 2));
}
