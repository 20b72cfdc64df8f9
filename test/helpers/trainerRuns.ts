// What the host tests share: a tiny run config on generated IDX data (about a second a run once
// f0 is cached) and a check that a trainer process is gone.
import type { RunConfigInput } from '../../shared/config.js';

/** `steps` makes a run long enough to cancel or kill mid-way. */
export function tinyRunConfig(dataDir: string, steps = 60, overrides: RunConfigInput = {}): RunConfigInput {
  return {
    dataDir,
    backend: 'wasm',
    model: { arch: 'mlp', hidden: [32] },
    pretrain: { epochs: 2, batchSize: 32, optimizer: { name: 'adam', lr: 3e-3 } },
    finetune: { steps, batchSize: 32, evalEvery: steps > 100 ? 100 : 20 },
    rehearsal: { strategy: 'mix-cd', budget: 0.25, probe: 50 },
    ...overrides,
  };
}

/** True once no process with this pid exists. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
