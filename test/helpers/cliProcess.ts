// The built `mixcd` binary run as a user runs it: a real process with its own history and f0 cache
// (MIXCD_DB, MIXCD_CACHE_DIR), for the CLI tests that check exit codes, stdout and stderr.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const MIXCD_BIN = path.resolve(__dirname, '../../bin/mixcd.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runMixcd(
  args: string[],
  options: { db: string; cacheDir: string; timeout: number; env?: Record<string, string> },
): CliResult {
  const result = spawnSync(process.execPath, [MIXCD_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MIXCD_DB: options.db, MIXCD_CACHE_DIR: options.cacheDir, ...options.env },
    timeout: options.timeout,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The CLI tests' small run on generated IDX data in `dataDir`: wasm, a one-layer MLP, a short
 * pretraining and finetune, quiet. Each test sets the sizes its checks need.
 */
export function smallRunFlags(
  dataDir: string,
  size: { hidden?: number; pretrainEpochs?: number; steps: number; evalEvery: number },
): string[] {
  const { hidden = 32, pretrainEpochs = 2, steps, evalEvery } = size;
  return [
    ...['--data-dir', dataDir, '--backend', 'wasm', '--hidden', String(hidden)],
    ...['--pretrain-epochs', String(pretrainEpochs), '--steps', String(steps), '--eval-every', String(evalEvery)],
    ...['--batch-size', '32', '--quiet'],
  ];
}
