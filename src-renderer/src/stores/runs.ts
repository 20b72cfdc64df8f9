// The run history as a table: loaded with runs.list, then kept current by the host's run.*
// events (runs started from this window) and by reloading when the page regains focus (runs
// started from the CLI write the same history but send no events here).
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { runUpdateOf, type RunUpdate } from './runEvents.js';
import {
  runListMultiStage,
  type EventMessage,
  type RunListItem,
  type RunListMultiStage,
  type RunListTable,
  type RunListTableRow,
  type RunPhase,
} from '../../../shared/contract.js';
import { scenarioNameOf, type RunConfig } from '../../../shared/config.js';
import type { RunStatus, RunSummary } from '../../../shared/results.js';
import type { HostClient } from '../api/client.js';
import { errorMessage } from '../../../shared/errors.js';

export interface RunRow {
  id: number;
  status: RunStatus;
  /** The scenario file's name, or the built-in scenario's (shared/config.ts scenarioNameOf). */
  scenario: string;
  strategy: RunConfig['rehearsal']['strategy'];
  budget: number;
  seed: number;
  /** Finetune steps and learning rate: 100- and 1,500-step runs must not look alike. */
  steps: number;
  lr: number;
  /** Tags, carried by runs.list (one request for the whole table). */
  tags: string[];
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
  /** A multi-stage run: its scenario file, stage count and average accuracy (null until it ends). */
  multiStage: RunListMultiStage | null;
}

/** A list item's multi-stage part, or a whole summary's (a run.finished event). */
function multiStageOf(run: RunSummary | RunListItem): RunListMultiStage | null {
  if ('tags' in run) return run.multiStage ?? null;
  return runListMultiStage(run.config, run.continual?.averageAccuracy);
}

const measured = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

export function rowFromSummary(run: RunSummary | RunListItem): RunRow {
  const unfinished = run.status === 'queued' || run.status === 'running';
  return {
    id: run.id,
    status: run.status,
    scenario: 'scenarioName' in run ? run.scenarioName : scenarioNameOf(run.config),
    strategy: run.config.rehearsal.strategy,
    budget: run.config.rehearsal.budget,
    seed: run.config.seed,
    steps: run.config.finetune.steps,
    lr: run.config.finetune.optimizer.lr,
    tags: 'tags' in run ? run.tags : [],
    studyId: run.studyId ?? null,
    createdAt: run.createdAt,
    backend: run.backend ?? '',
    finalPretrainAcc: unfinished ? null : measured(run.final?.pretrainTestAcc),
    finalFinetuneAcc: unfinished ? null : measured(run.final?.finetuneTestAcc),
    progress: null,
    error: run.error ?? null,
    multiStage: multiStageOf(run),
  };
}

/** A row of runs.list's table (format 'table': the same fields in RUN_LIST_COLUMNS order). */
export function rowFromTable(values: RunListTableRow): RunRow {
  const [
    id,
    studyId,
    status,
    createdAt,
    backend,
    error,
    scenario,
    seed,
    strategy,
    budget,
    steps,
    lr,
    pt,
    ft,
    tags,
    multiStage,
    scenarioName,
  ] = values;
  const unfinished = status === 'queued' || status === 'running';
  return {
    id,
    status,
    // A run of a scenario file by the file's name (older hosts send no name: the built-in's).
    scenario: scenarioName ?? scenario,
    strategy,
    budget,
    seed,
    steps,
    lr,
    tags,
    studyId,
    createdAt,
    backend: backend ?? '',
    finalPretrainAcc: unfinished ? null : measured(pt),
    finalFinetuneAcc: unfinished ? null : measured(ft),
    progress: null,
    error: error ?? null,
    // Absent from a host older than this field (a table of 15 columns).
    multiStage: multiStage ?? null,
  };
}

/** The table's rows from runs.list's answer: a RunListTable (what refresh asks for) or list items. */
export function rowsFromList(listed: RunListTable | readonly RunListItem[]): RunRow[] {
  return Array.isArray(listed) ? listed.map(rowFromSummary) : (listed as RunListTable).rows.map(rowFromTable);
}

function describe(error: unknown): string {
  return errorMessage(error);
}

export const useRunsStore = defineStore('runs', () => {
  // Shallow: rows are replaced, never edited in place, so 10,000 of them cost no deep proxies
  // (deep reactivity made listing them take seconds).
  const rows = shallowRef<readonly RunRow[]>([]);
  const loaded = ref(false);
  /** How many times runs.list has filled the table (History shows it as data-listed, for the timing test). */
  const listings = ref(0);
  /** The last failed request, as the host worded it. */
  const loadError = ref<string | null>(null);
  /** The connection problem, if any (browser mode: server gone or token missing). */
  const connectionProblem = ref<string | null>(null);
  const client = shallowRef<HostClient | null>(null);

  const byId = computed(() => new Map(rows.value.map((r) => [r.id, r])));

  async function refresh(): Promise<void> {
    if (!client.value) return;
    try {
      // As one table, not 10,000 objects: a quarter of the bytes to receive and parse (contract.ts RunListTable).
      const listed: RunListTable | RunListItem[] = await client.value.request('runs.list', {
        filter: { format: 'table' },
      });
      rows.value = rowsFromList(listed);
      loaded.value = true;
      listings.value++;
      loadError.value = null;
    } catch (error) {
      loadError.value = describe(error);
    }
  }

  function upsert(row: RunRow): void {
    const i = rows.value.findIndex((r) => r.id === row.id);
    if (i >= 0) rows.value = rows.value.with(i, row);
    else rows.value = [row, ...rows.value].sort((a, b) => b.id - a.id); // newest first, as runs.list
  }

  function update(runId: number, change: Partial<RunRow>): void {
    const row = byId.value.get(runId);
    if (row) upsert({ ...row, ...change });
    else void refresh(); // a run this page has not seen yet: take the host's word for it
  }

  function applyUpdate(u: RunUpdate): void {
    if (u.summary) {
      upsert({ ...rowFromSummary(u.summary), tags: byId.value.get(u.runId)?.tags ?? [] });
    } else if (u.queued) {
      const { config, studyId } = u.queued;
      upsert({
        id: u.runId,
        status: 'queued',
        scenario: scenarioNameOf(config),
        strategy: config.rehearsal.strategy,
        budget: config.rehearsal.budget,
        seed: config.seed,
        steps: config.finetune.steps,
        lr: config.finetune.optimizer.lr,
        tags: [],
        studyId,
        createdAt: new Date().toISOString(),
        backend: '',
        finalPretrainAcc: null,
        finalFinetuneAcc: null,
        progress: null,
        error: null,
        multiStage: runListMultiStage(config, null),
      });
    } else if (u.status) {
      // run.eval carries no status: live curves are the monitor's concern, not the table's.
      const change: Partial<RunRow> = { status: u.status };
      if (u.backend !== undefined) change.backend = u.backend;
      if (u.progress)
        change.progress = { phase: u.progress.phase, step: u.progress.step, totalSteps: u.progress.totalSteps };
      if (u.status === 'failed' || u.status === 'cancelled') change.progress = null;
      if (u.error !== undefined) change.error = u.error;
      update(u.runId, change);
    }
  }

  const applyEvent = (message: EventMessage): void => applyUpdate(runUpdateOf(message));

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

  /** A run's tags as the host stored them (runs.tag's answer). */
  function setRowTags(runId: number, tags: string[]): void {
    const row = byId.value.get(runId);
    if (row) upsert({ ...row, tags });
  }

  return {
    rows,
    loaded,
    listings,
    loadError,
    connectionProblem,
    client,
    attach,
    refresh,
    applyEvent,
    remove,
    setRowTags,
  };
});
