// `mixcd study --jobs N`: the runs of a study in parallel, one `mixcd run` child process each
// (with the wasm backend a process trains on one core). f0 is cached beforehand by the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { fixed } from './table.js';

/**
 * Runs of a study in parallel, one `mixcd run` child process each (a process trains on one
 * core with the wasm backend). f0 is cached beforehand, so no child pretrains.
 */
export async function runInChildren(
  configs: RunConfig[],
  options: { jobs: number; studyId: number; file: string; interrupted: () => boolean; quiet: boolean },
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mixcd-study-'));
  const bin = fileURLToPath(new URL('../../../bin/mixcd.js', import.meta.url));
  const children = new Set<ChildProcess>();
  const forward = () => children.forEach((c) => c.kill('SIGINT'));
  process.on('SIGINT', forward);
  let next = 0;
  let done = 0;
  const failures: string[] = [];
  const startOne = (): Promise<void> | null => {
    if (next >= configs.length || options.interrupted()) return null;
    const i = next++;
    const config = configs[i];
    const configFile = path.join(dir, `run-${i}.json`);
    writeFileSync(configFile, JSON.stringify(config));
    const label =
      `[${i + 1}/${configs.length}] ${config.rehearsal.strategy} r=${config.rehearsal.budget} ` + `seed=${config.seed}`;
    return new Promise<void>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          bin,
          'run',
          '--config',
          configFile,
          '--study',
          String(options.studyId),
          '--db',
          options.file,
          '--json',
          '--quiet',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      children.add(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      child.on('close', (code) => {
        children.delete(child);
        done++;
        if (code === 0) {
          const run = JSON.parse(out) as RunSummary;
          if (!options.quiet)
            process.stderr.write(
              `${label} done (${done}/${configs.length}): pretrain-test ${fixed(run.final.pretrainTestAcc)}, ` +
                `finetune-test ${fixed(run.final.finetuneTestAcc)}, ${run.compute.wallSeconds.toFixed(0)} ` +
                `s\n`,
            );
        } else {
          failures.push(`${label}: ${err.trim().split('\n').pop() ?? `exit ${code}`}`);
          if (!options.quiet) process.stderr.write(`${label} failed: ${err.trim().split('\n').pop()}\n`);
        }
        resolve();
      });
    });
  };
  const lane = async () => {
    for (let job = startOne(); job; job = startOne()) await job;
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.jobs, configs.length) }, lane));
  } finally {
    process.off('SIGINT', forward);
    rmSync(dir, { recursive: true, force: true });
  }
}
