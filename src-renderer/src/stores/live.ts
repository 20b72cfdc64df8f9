// Live state of the runs being watched: progress, backend/device and the eval series, kept
// current by the host's run.* events. Runs already running when the page opens are picked up
// with runs.list + runs.get (their series so far), so a reload loses no curve.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { EventMessage, RunPhase } from '../../../shared/contract.js';
import type { EvalPoint, RunStatus, RunSummary, TaskPoint } from '../../../shared/results.js';
import { taskNamesOf } from '../../../shared/charts/continual.js';
import type { RunConfig } from '../../../shared/config.js';
import type { HostClient } from '../api/client.js';
import { runUpdateOf, type RunUpdate } from './runEvents.js';
import { errorMessage } from '../../../shared/errors.js';
import { provenanceLine } from '../../../shared/provenance.js';

export interface LiveRun {
  id: number;
  status: RunStatus;
  config: RunConfig | null;
  phase: RunPhase | null;
  step: number;
  totalSteps: number;
  etaSeconds: number | null;
  backend: string | null;
  device: string | null;
  points: EvalPoint[];
  /** f0's pretrain-test accuracy: known from the summary, or from the eval at step 0. */
  f0PretrainAcc: number | null;
  error: string | null;
  /** Versions and machine (from the stored summary), one line. */
  provenance: string | null;
  /** A multi-stage run's tasks (pretrain, then each stage's); null for a single-stage run. */
  taskNames: string[] | null;
  /**
   * Every task's accuracy at each eval: from run.eval events as they come, the stored summary's
   * once the run ends. The history keeps them only at the end, so a run watched mid-way (a
   * reload) shows the tasks from the evals after that.
   */
  taskSeries: TaskPoint[];
}

const describe = errorMessage;
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function runLabel(run: Pick<LiveRun, 'id' | 'config'>): string {
  if (!run.config) return `#${run.id}`;
  const { rehearsal, seed } = run.config;
  return rehearsal.strategy === 'none'
    ? `#${run.id} none seed ${seed}`
    : `#${run.id} ${rehearsal.strategy} r=${rehearsal.budget} seed ${seed}`;
}

function blank(id: number): LiveRun {
  return {
    id,
    status: 'queued',
    config: null,
    phase: null,
    step: 0,
    totalSteps: 0,
    etaSeconds: null,
    backend: null,
    device: null,
    points: [],
    f0PretrainAcc: null,
    error: null,
    provenance: null,
    taskNames: null,
    taskSeries: [],
  };
}

export const useLiveStore = defineStore('live', () => {
  const runs = ref<Record<number, LiveRun>>({});
  /** A host error as the host worded it (loading running runs, cancelling). */
  const problem = ref<string | null>(null);
  const client = shallowRef<HostClient | null>(null);

  /** Newest first, as the history. */
  const list = computed(() => Object.values(runs.value).sort((a, b) => b.id - a.id));
  const active = computed(() => list.value.some((r) => r.status === 'queued' || r.status === 'running'));

  function ensure(id: number): LiveRun {
    runs.value[id] ??= blank(id);
    return runs.value[id];
  }

  function applySummary(run: LiveRun, summary: RunSummary): void {
    run.status = summary.status;
    run.config = summary.config;
    // A run opened after the fact (History's "curves", a reload) has had no progress event: its
    // length comes from its config, and a finished run is at its last step, not at step 0 of 0.
    run.totalSteps ||= summary.config.finetune.steps;
    if (summary.status === 'finished') {
      run.step = run.totalSteps;
      run.phase = 'finetuning';
      run.etaSeconds = null;
    }
    if (summary.backend) run.backend = summary.backend;
    if (summary.device) run.device = summary.device;
    if (summary.series?.length) run.points = [...summary.series];
    if (finite(summary.prior?.pretrainTestAcc)) run.f0PretrainAcc = summary.prior.pretrainTestAcc;
    if (summary.error) run.error = summary.error;
    if (summary.provenance) run.provenance = provenanceLine(summary.provenance);
    run.taskNames = summary.continual?.taskNames ?? taskNamesOf(summary.config);
    if (summary.continual?.taskSeries.length) run.taskSeries = [...summary.continual.taskSeries];
  }

  function addTaskPoint(run: LiveRun, point: TaskPoint): void {
    const i = run.taskSeries.findIndex((p) => p.globalStep >= point.globalStep);
    if (i < 0) run.taskSeries.push(point);
    else if (run.taskSeries[i].globalStep === point.globalStep) run.taskSeries[i] = point;
    else run.taskSeries.splice(i, 0, point);
  }

  function addPoint(run: LiveRun, point: EvalPoint): void {
    // Events and a runs.series load may overlap: keep one point per step, in step order.
    const i = run.points.findIndex((p) => p.step >= point.step);
    if (i < 0) run.points.push(point);
    else if (run.points[i].step === point.step) run.points[i] = point;
    else run.points.splice(i, 0, point);
    if (point.step === 0 && run.f0PretrainAcc === null && finite(point.pretrainTestAcc))
      run.f0PretrainAcc = point.pretrainTestAcc;
  }

  function applyUpdate(u: RunUpdate): void {
    const run = ensure(u.runId);
    if (u.summary) {
      applySummary(run, u.summary);
      run.etaSeconds = null;
      run.step = run.totalSteps;
      return;
    }
    if (u.queued) {
      run.config = u.queued.config;
      run.totalSteps = u.queued.config.finetune.steps;
      run.taskNames = taskNamesOf(u.queued.config);
      // Queued again: a resumed run (its points so far stay; the rest arrive as it continues).
      if (run.status === 'cancelled' || run.status === 'failed') {
        run.status = 'queued';
        run.error = null;
      }
    }
    if (u.point) addPoint(run, u.point);
    if (u.task) addTaskPoint(run, u.task);
    if (u.status && !u.queued) run.status = u.status;
    if (u.backend !== undefined) run.backend = u.backend;
    if (u.device !== undefined) run.device = u.device;
    if (u.progress) Object.assign(run, u.progress);
    if (u.error !== undefined) run.error = u.error;
    if (u.status === 'failed' || u.status === 'cancelled') run.etaSeconds = null;
  }

  const applyEvent = (message: EventMessage): void => applyUpdate(runUpdateOf(message));

  /** Start watching a run: its summary and series so far (runs started elsewhere, or before a reload). */
  async function watchRun(id: number): Promise<void> {
    if (!client.value) return;
    const run = ensure(id);
    try {
      const detail = await client.value.request('runs.get', { id });
      applySummary(run, detail);
      const series = await client.value.request('runs.series', { id });
      for (const point of series) addPoint(run, point);
    } catch (error) {
      problem.value = `Could not load run ${id}: ${describe(error)}`;
    }
  }

  /** The runs running or queued right now, with their series so far. */
  async function loadActive(): Promise<void> {
    if (!client.value) return;
    try {
      const active = await client.value.request('runs.list', { filter: { status: ['running', 'queued'] } });
      await Promise.all(active.map((r) => watchRun(r.id)));
    } catch (error) {
      problem.value = `Could not load the running runs: ${describe(error)}`;
    }
  }

  async function cancel(id: number): Promise<void> {
    if (!client.value) return;
    try {
      const result = await client.value.request('runs.cancel', { id });
      ensure(id).status = result.status;
    } catch (error) {
      problem.value = `Could not cancel run ${id}: ${describe(error)}`;
    }
  }

  /** Continues a cancelled or failed run from its checkpoint (the host re-queues it under its id). */
  async function resume(id: number): Promise<void> {
    if (!client.value) return;
    try {
      await client.value.request('runs.resume', { id });
    } catch (error) {
      problem.value = `Could not resume run ${id}: ${describe(error)}`;
    }
  }

  /** Drops the runs that have ended from the monitor (they stay in the history). */
  function clearEnded(): void {
    for (const run of list.value) if (run.status !== 'queued' && run.status !== 'running') delete runs.value[run.id];
  }

  function attach(hostClient: HostClient): void {
    if (client.value) return;
    client.value = hostClient;
    hostClient.onEvent(applyEvent);
    hostClient.onConnection((lost) => {
      if (lost === null) void loadActive(); // also after a reconnect: events sent meanwhile are lost
    });
  }

  return { runs, list, active, problem, client, attach, applyEvent, watchRun, loadActive, cancel, resume, clearEnded };
});
