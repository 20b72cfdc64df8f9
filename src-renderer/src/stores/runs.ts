// The run history as a table: loaded with runs.list, then kept current by the host's run.*
// events (runs started from this window) and by reloading when the page regains focus (runs
// started from the CLI write the same history but send no events here).
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { EventMessage, RunPhase } from '../../../shared/contract.js';
import type { RunConfig } from '../../../shared/config.js';
import type { RunStatus, RunSummary } from '../../../shared/results.js';
import type { HostClient } from '../api/client.js';

export interface RunRow {
  id: number;
  status: RunStatus;
  scenario: RunConfig['scenario'];
  strategy: RunConfig['rehearsal']['strategy'];
  budget: number;
  seed: number;
  /** The study the run belongs to, or null. */
  studyId: number | null;
  /** ISO time the run was queued. */
  createdAt: string;
  /** '' until the run has chosen one. */
  backend: string;
  /** Final test accuracies; null until the run has them (JSON turns NaN into null). */
  finalPretrainAcc: number | null;
  finalFinetuneAcc: number | null;
  progress: { phase: RunPhase; step: number; totalSteps: number } | null;
  error: string | null;
}

const measured = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

export function rowFromSummary(run: RunSummary): RunRow {
  const unfinished = run.status === 'queued' || run.status === 'running';
  return {
    id: run.id,
    status: run.status,
    scenario: run.config.scenario,
    strategy: run.config.rehearsal.strategy,
    budget: run.config.rehearsal.budget,
    seed: run.config.seed,
    studyId: run.studyId ?? null,
    createdAt: run.createdAt,
    backend: run.backend ?? '',
    finalPretrainAcc: unfinished ? null : measured(run.final?.pretrainTestAcc),
    finalFinetuneAcc: unfinished ? null : measured(run.final?.finetuneTestAcc),
    progress: null,
    error: run.error ?? null,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const useRunsStore = defineStore('runs', () => {
  const rows = ref<RunRow[]>([]);
  const loaded = ref(false);
  /** The last failed request, as the host worded it. */
  const loadError = ref<string | null>(null);
  /** The connection problem, if any (browser mode: server gone or token missing). */
  const connectionProblem = ref<string | null>(null);
  const client = shallowRef<HostClient | null>(null);

  const byId = computed(() => new Map(rows.value.map((r) => [r.id, r])));

  async function refresh(): Promise<void> {
    if (!client.value) return;
    try {
      const runs = await client.value.request('runs.list', {});
      rows.value = runs.map(rowFromSummary);
      loaded.value = true;
      loadError.value = null;
    } catch (error) {
      loadError.value = describe(error);
    }
  }

  function upsert(row: RunRow): void {
    const i = rows.value.findIndex((r) => r.id === row.id);
    if (i >= 0) rows.value[i] = row;
    else rows.value = [row, ...rows.value].sort((a, b) => b.id - a.id); // newest first, as runs.list
  }

  function update(runId: number, change: Partial<RunRow>): void {
    const row = byId.value.get(runId);
    if (row) Object.assign(row, change);
    else void refresh(); // a run this page has not seen yet: take the host's word for it
  }

  function applyEvent(message: EventMessage): void {
    switch (message.event) {
      case 'run.queued': {
        const { runId, studyId, config } = message.data;
        upsert({
          id: runId,
          status: 'queued',
          scenario: config.scenario,
          strategy: config.rehearsal.strategy,
          budget: config.rehearsal.budget,
          seed: config.seed,
          studyId,
          createdAt: new Date().toISOString(),
          backend: '',
          finalPretrainAcc: null,
          finalFinetuneAcc: null,
          progress: null,
          error: null,
        });
        break;
      }
      case 'run.started':
        update(message.data.runId, { status: 'running', backend: message.data.backend });
        break;
      case 'run.progress': {
        const { runId, phase, step, totalSteps } = message.data;
        update(runId, { status: 'running', progress: { phase, step, totalSteps } });
        break;
      }
      case 'run.finished':
        upsert(rowFromSummary(message.data.summary));
        break;
      case 'run.failed':
        update(message.data.runId, { status: 'failed', progress: null, error: message.data.error });
        break;
      case 'run.cancelled':
        update(message.data.runId, { status: 'cancelled', progress: null });
        break;
      case 'run.eval':
        break; // live curves are the run view's concern, not the table's
    }
  }

  /** Connects the store to the host once; reloads whenever the connection comes (back). */
  function attach(hostClient: HostClient): void {
    if (client.value) return;
    client.value = hostClient;
    hostClient.onEvent(applyEvent);
    hostClient.onConnection((problem) => {
      connectionProblem.value = problem;
      if (problem === null) void refresh();
    });
  }

  /** Drops a deleted run from the table (the host has already forgotten it). */
  function remove(runId: number): void {
    rows.value = rows.value.filter((r) => r.id !== runId);
  }

  return { rows, loaded, loadError, connectionProblem, client, attach, refresh, applyEvent, remove };
});
