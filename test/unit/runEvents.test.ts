// The renderer's one reading of the host's run events (src-renderer/src/stores/runEvents.ts):
// every event name gives an update for its run, with what that event says and nothing else.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from '../../shared/config.js';
import { EVENT_NAMES, type EventMessage } from '../../shared/contract.js';
import type { RunSummary } from '../../shared/results.js';
import { runUpdateOf } from '../../src-renderer/src/stores/runEvents.js';

const config = structuredClone(DEFAULT_RUN_CONFIG);
const summary = { id: 4, status: 'finished', config } as unknown as RunSummary;
const point = { step: 10, pretrainTestAcc: 0.8, finetuneTestAcc: 0.5, cdRate: 0.1, rehearsalPrecision: 0.2 };

const examples: EventMessage[] = [
  { event: 'run.queued', data: { runId: 4, studyId: 2, config } },
  {
    event: 'run.started',
    data: { runId: 4, backend: 'wasm', device: 'CPU', dataFingerprint: 'x', f0Key: 'k', f0Cached: true },
  },
  { event: 'run.progress', data: { runId: 4, phase: 'finetuning', step: 5, totalSteps: 10, etaSeconds: Infinity } },
  { event: 'run.eval', data: { runId: 4, point } },
  { event: 'run.finished', data: { runId: 4, summary } },
  { event: 'run.failed', data: { runId: 4, error: 'out of memory', exitCode: 1, signal: null } },
  { event: 'run.cancelled', data: { runId: 4 } },
];

describe('runUpdateOf', () => {
  it('covers every run event the contract names', () => {
    expect(examples.map((e) => e.event).sort()).toEqual([...EVENT_NAMES].sort());
  });

  it('turns each event into what it says about its run', () => {
    expect(examples.map(runUpdateOf)).toEqual([
      { runId: 4, status: 'queued', queued: { studyId: 2, config } },
      { runId: 4, status: 'running', backend: 'wasm', device: 'CPU' },
      // A non-finite ETA (nothing measured yet) is no ETA.
      { runId: 4, status: 'running', progress: { phase: 'finetuning', step: 5, totalSteps: 10, etaSeconds: null } },
      // A point says nothing about the status.
      { runId: 4, point },
      { runId: 4, status: 'finished', summary },
      { runId: 4, status: 'failed', error: 'out of memory' },
      { runId: 4, status: 'cancelled' },
    ]);
  });
});
