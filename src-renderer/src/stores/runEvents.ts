// The one reading of the host's seven run.* events, shared by the stores: each event becomes a
// RunUpdate (what is now known about one run), and each store applies updates its own way (the
// history table keeps a row, the monitor a live run with its curve). A new event or field is
// handled here once.
import type { EventMessage, RunPhase } from '../../../shared/contract.js';
import type { RunConfig } from '../../../shared/config.js';
import type { EvalPoint, RunStatus, RunSummary, TaskPoint } from '../../../shared/results.js';

export interface RunUpdate {
  runId: number;
  /** Absent for run.eval (a point says nothing about the status). */
  status?: RunStatus;
  /** run.queued: the run is new. */
  queued?: { studyId: number | null; config: RunConfig };
  backend?: string;
  device?: string;
  progress?: { phase: RunPhase; step: number; totalSteps: number; etaSeconds: number | null };
  point?: EvalPoint;
  /** run.eval of a multi-stage run: every task's accuracy at that eval. */
  task?: TaskPoint;
  /** run.finished: the stored summary, which supersedes everything else known. */
  summary?: RunSummary;
  error?: string;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function runUpdateOf(message: EventMessage): RunUpdate {
  switch (message.event) {
    case 'run.queued': {
      const { runId, studyId, config } = message.data;
      return { runId, status: 'queued', queued: { studyId, config } };
    }
    case 'run.started': {
      const { runId, backend, device } = message.data;
      return { runId, status: 'running', backend, device };
    }
    case 'run.progress': {
      const { runId, phase, step, totalSteps, etaSeconds } = message.data;
      return {
        runId,
        status: 'running',
        progress: { phase, step, totalSteps, etaSeconds: finite(etaSeconds) ? etaSeconds : null },
      };
    }
    case 'run.eval': {
      const { runId, point, task } = message.data;
      return task ? { runId, point, task } : { runId, point };
    }
    case 'run.finished':
      return { runId: message.data.runId, status: message.data.summary.status, summary: message.data.summary };
    case 'run.failed':
      return { runId: message.data.runId, status: 'failed', error: message.data.error };
    case 'run.cancelled':
      return { runId: message.data.runId, status: 'cancelled' };
  }
}
