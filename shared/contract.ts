// The host API: what a client (the Electron window over IPC, a browser over WebSocket, a script)
// may ask the host and what the host tells it. Runtime schemas (zod) for everything a client
// sends, plain types for what the host sends back. No Node, DOM or Electron imports.
//
//   client -> host   RequestMessage  { id, method, params? }
//   host -> client   ResponseMessage { id, ok: true, result } | { id, ok: false, error }
//   host -> client   EventMessage    { event, data }
import type { DatasetDescription } from './datasets.js';
import type { ScenarioSpec } from './scenarioFile.js';
import { z } from 'zod';
import {
  ConfigError,
  MAX_NESTING,
  nestedTooDeep,
  SCENARIOS,
  STRATEGIES,
  parseRunConfig,
  runConfigSchema,
  scenarioNameOf,
  type BackendRequest,
  type OptimizerName,
  type PartitionRule,
  type RunConfig,
  type ScenarioName,
  type StrategyName,
} from './config.js';
import {
  CATEGORIES,
  RUN_STATUSES,
  type BinTrace,
  type EvalPoint,
  type RunStatus,
  type RunSummary,
  type TaskPoint,
} from './results.js';
import {
  SAMPLE_SORTS,
  type InspectedSample,
  type RunInspection,
  type SampleData,
  type StudyBudget,
  type SampleStory,
  type SamplePage,
} from './inspect.js';
import type { StudyCell } from './studyTable.js';

// --- envelope ---

export type RequestId = number | string;

export const requestMessageSchema = z.object({
  id: z.union([z.number(), z.string()]),
  method: z.string(),
  params: z.unknown().optional(),
});
export type RequestMessage = z.infer<typeof requestMessageSchema>;

export const ERROR_CODES = ['invalid-request', 'not-found', 'conflict', 'failed'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  /** One sentence: the field, the value, what is allowed or what to do. */
  message: string;
  /** The offending field of the request, e.g. "id", "config.rehearsal.budget". */
  field?: string;
}

/** `id` is null only when the request had no usable id to answer to. */
export type ResponseMessage =
  { id: RequestId | null; ok: true; result: unknown } | { id: RequestId | null; ok: false; error: ErrorBody };

export const responseMessageSchema = z.union([
  z.object({ id: z.union([z.number(), z.string(), z.null()]), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.union([z.number(), z.string(), z.null()]),
    ok: z.literal(false),
    error: z.object({ code: z.enum(ERROR_CODES), message: z.string(), field: z.string().optional() }),
  }),
]);

export const eventMessageSchema = z.object({ event: z.string(), data: z.unknown() });

// --- method params ---

const id = z.number().int().positive();
const idParams = z.object({ id }).strict();
const tag = z.string().trim().min(1).max(100);
const status = z.enum(RUN_STATUSES);

export const METHODS = {
  /** Newest first: each run's list item (RunListItem: the table's fields and tags; runs.get has the rest). */
  'runs.list': z
    .object({
      filter: z
        .object({
          /** A study's id, or null for runs outside any study. */
          studyId: id.nullable().optional(),
          scenario: z.enum(SCENARIOS).optional(),
          strategy: z.enum(STRATEGIES).optional(),
          status: z.union([status, z.array(status)]).optional(),
          tag: tag.optional(),
          limit: z.number().int().min(1).max(100_000).optional(),
          offset: z.number().int().min(0).optional(),
          /**
           * Not a filter: how the runs come back. `items` (the default): RunListItem objects;
           * `table`: the same fields as one RunListTable (a column list and a row of values per run),
           * a quarter of the bytes, which History asks for (10,000 runs). In `filter` because the
           * host hands runs.list's filter to the history as it is.
           */
          format: z.enum(['items', 'table']).optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  'runs.get': idParams,
  /** Refused for a queued or running run: cancel it first. */
  'runs.delete': idParams,
  /** Replaces the run's tags (any status). */
  'runs.tag': z.object({ id, tags: z.array(tag).max(100) }).strict(),
  'runs.series': idParams,
  'runs.telemetry': idParams,
  'runs.samples': z.object({ id, top: z.number().int().min(1).max(100_000).default(50) }).strict(),
  /** `studyId` adds the run to an existing study (the CLI's `mixcd run --study`). */
  'runs.start': z.object({ config: runConfigSchema, studyId: id.optional() }).strict(),
  /** Resolves once the run is stored as cancelled (or as what it became if it ended first). */
  'runs.cancel': idParams,
  /**
   * A queued or running run whose process is gone, or is not the process that started it (a new one
   * with the same PID after a restart), is stored as failed (interrupted). Refused for a run this
   * host runs, or whose owner is provably still running it: cancel those.
   */
  'runs.markInterrupted': idParams,
  /**
   * A failed or cancelled run continues from its checkpoint (written at every evaluation and when
   * it was stopped) and ends with exactly the numbers of an uninterrupted run; without a
   * checkpoint it starts over. Same config, same run id.
   */
  'runs.resume': idParams,
  'studies.list': z.object({}).strict(),
  'studies.get': idParams,
  /** The grid strategies x budgets x seeds over `base`; `none` runs once per seed. */
  'studies.start': z
    .object({
      base: runConfigSchema,
      strategies: z.array(z.enum(STRATEGIES)).min(1),
      budgets: z.array(z.number().min(0).max(10)).min(1),
      seeds: z.array(z.number().int().min(0)).min(1),
      name: z.string().trim().min(1).max(200).optional(),
      /** Equal compute: `budgets` are compute budgets R (rehearsal.computeBudget), resolved per strategy. */
      matched: z.boolean().optional(),
      /**
       * Copy finished runs of the history with the same identity (same config as run, data and
       * engine numerics; backend named, not 'auto') into the study instead of running them again.
       */
      reuse: z.boolean().optional(),
    })
    .strict(),
  /** Runs what the study is missing: resumes its failed/cancelled runs, starts the ones never queued. */
  'studies.resume': idParams,
  /** Its runs stay in the history, outside any study. Refused while one of them is queued or running. */
  'studies.delete': idParams,
  // The sample inspector. `partitionOf` names a mix-cd run whose bins the per-bin figures and the
  // `bin` fields use (default: the run's own bins when it is a mix-cd run), so two runs of a study
  // can be shown in the same bins side by side.
  'inspect.run': z.object({ id, partitionOf: id.optional() }).strict(),
  /** The gallery's page: a filter, a sort and a window. Categories are the latest known at `step`. */
  'inspect.samples': z
    .object({
      id,
      partitionOf: id.optional(),
      /** An eval step of the run (default: its last eval). */
      step: z.number().int().min(0).optional(),
      class: z.number().int().min(0).max(255).optional(),
      /** -1: samples outside every bin. */
      bin: z.number().int().min(-1).optional(),
      category: z.enum(CATEGORIES).optional(),
      /** Only samples rehearsed at least once (default); false lists the whole pretrain set. */
      rehearsedOnly: z.boolean().default(true),
      sort: z.enum(SAMPLE_SORTS).default('count'),
      order: z.enum(['desc', 'asc']).default('desc'),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(60),
    })
    .strict(),
  /** One sample's story; its `category` is the latest known at `step` (default: the run's end). */
  'inspect.sample': z
    .object({
      id,
      index: z.number().int().min(0),
      partitionOf: id.optional(),
      step: z.number().int().min(0).optional(),
    })
    .strict(),
  /** Where the budget went for every strategy and budget of a study (mean and sd over seeds). */
  'inspect.study': idParams,
  /** Raw bytes of up to 1,000 pretrain samples (thumbnails). */
  'inspect.data': z.object({ id, indices: z.array(z.number().int().min(0)).min(1).max(1000) }).strict(),
  'catalog.get': z.object({}).strict(),
  'host.status': z.object({}).strict(),
  /** Checks a scenario file, or a dataset folder or file, on the host's disk (the New-run form's field). */
  'data.check': z.object({ path: z.string().trim().min(1).max(4096) }).strict(),
} as const;

export type MethodName = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];
/** What a client sends (defaults not yet applied). */
export type MethodParams<M extends MethodName> = z.input<(typeof METHODS)[M]>;
/** What the host works with (validated, defaults applied). */
export type ParsedParams<M extends MethodName> = z.output<(typeof METHODS)[M]>;

// --- method results ---

export interface RunDetail extends RunSummary {
  tags: string[];
}

/**
 * A run as runs.list lists it: what the History table shows, and its tags, so a list needs no
 * runs.get per run. The fields keep their names and places in a run's summary (the settings at
 * their paths in the run config), but only these are sent: runs.get has the whole run (its
 * config, prior, compute, provenance, ...). 10,000 full summaries were 11.7 MB to send and parse.
 */
export interface RunListItem {
  id: number;
  studyId: number | null;
  status: RunStatus;
  createdAt: string;
  finishedAt?: string | null;
  backend: string;
  error?: string | null;
  config: RunListConfig;
  final: RunSummary['final'];
  tags: string[];
  /** Multi-stage runs only (a scenario file with several stages); absent for the others. */
  multiStage?: RunListMultiStage;
  /** The scenario's name as History shows it: the scenario file's name, or the built-in one's. */
  scenarioName: string;
}

/** What History shows of a multi-stage run: that it is one, and its continual summary's average. */
export interface RunListMultiStage {
  /** The scenario file's name. */
  scenario: string;
  stages: number;
  /** continual.averageAccuracy (mean over tasks after the last stage); null until the run has ended. */
  averageAccuracy: number | null;
}

/** The settings History shows (and filters, sorts and searches by), at their paths in RunConfig. */
export interface RunListConfig {
  scenario: RunConfig['scenario'];
  seed: number;
  rehearsal: Pick<RunConfig['rehearsal'], 'strategy' | 'budget'>;
  finetune: { steps: number; optimizer: Pick<RunConfig['finetune']['optimizer'], 'lr'> };
}

/** runs.list with `format: 'table'`: the list items' fields as columns, one row of values per run. */
export interface RunListTable {
  columns: typeof RUN_LIST_COLUMNS;
  /** Per run, its values in the order of `columns`. */
  rows: RunListTableRow[];
}

/** The columns of a RunListTable: a list item's fields (config's by their last name), in this order. */
export const RUN_LIST_COLUMNS = [
  'id',
  'studyId',
  'status',
  'createdAt',
  'backend',
  'error',
  'scenario',
  'seed',
  'strategy',
  'budget',
  'steps',
  'lr',
  'pretrainTestAcc',
  'finetuneTestAcc',
  'tags',
  'multiStage',
  'scenarioName',
] as const;

export type RunListTableRow = [
  id: number,
  studyId: number | null,
  status: RunStatus,
  createdAt: string,
  backend: string,
  error: string | null,
  scenario: RunConfig['scenario'],
  seed: number,
  strategy: RunConfig['rehearsal']['strategy'],
  budget: number,
  steps: number,
  lr: number,
  pretrainTestAcc: number,
  finetuneTestAcc: number,
  tags: string[],
  multiStage: RunListMultiStage | null,
  scenarioName: string,
];

/** The list items as one table (runs.list's `format: 'table'`). */
export function toRunListTable(items: readonly RunListItem[]): RunListTable {
  return {
    columns: RUN_LIST_COLUMNS,
    rows: items.map((r) => [
      r.id,
      r.studyId,
      r.status,
      r.createdAt,
      r.backend,
      r.error ?? null,
      r.config.scenario,
      r.config.seed,
      r.config.rehearsal.strategy,
      r.config.rehearsal.budget,
      r.config.finetune.steps,
      r.config.finetune.optimizer.lr,
      r.final.pretrainTestAcc,
      r.final.finetuneTestAcc,
      r.tags,
      r.multiStage ?? null,
      r.scenarioName,
    ]),
  };
}

/** A run's multi-stage part of its list item: null for a single-stage run. */
export function runListMultiStage(
  config: Pick<RunConfig, 'scenarioFile'>,
  averageAccuracy: number | null | undefined,
): RunListMultiStage | null {
  const spec = config.scenarioFile?.spec;
  if (!spec || spec.stages.length < 2) return null;
  const average = typeof averageAccuracy === 'number' && Number.isFinite(averageAccuracy) ? averageAccuracy : null;
  return { scenario: spec.name, stages: spec.stages.length, averageAccuracy: average };
}

/**
 * A run's list item (runs.list): the table's fields of its summary, and its tags. `averageAccuracy`:
 * a multi-stage run's continual average when the caller read it apart (runs.list reads only that
 * number, not the whole continual summary); else the summary's own.
 */
export function toRunListItem(run: RunSummary, tags: string[], averageAccuracy?: number | null): RunListItem {
  const { config } = run;
  const staged = runListMultiStage(config, averageAccuracy ?? run.continual?.averageAccuracy);
  const multiStage = staged ? { multiStage: staged } : {};
  return {
    id: run.id,
    studyId: run.studyId,
    status: run.status,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt ?? null,
    backend: run.backend,
    error: run.error ?? null,
    config: {
      scenario: config.scenario,
      seed: config.seed,
      rehearsal: { strategy: config.rehearsal.strategy, budget: config.rehearsal.budget },
      finetune: { steps: config.finetune.steps, optimizer: { lr: config.finetune.optimizer.lr } },
    },
    final: { ...run.final },
    tags,
    ...multiStage,
    scenarioName: scenarioNameOf(config),
  };
}

export interface ProbeCategories {
  step: number;
  /** Pretrain sample indices of the probe subset. */
  indices: number[];
  /** Index into `categoryNames` per probe sample. */
  categories: number[];
}

export interface RunTelemetry {
  runId: number;
  /** mix-cd's per-bin state at each eval (empty for other strategies). */
  binTraces: BinTrace[];
  /** The probe subset's categories at each eval (empty without a probe). */
  probes: ProbeCategories[];
  categoryNames: typeof CATEGORIES;
}

/** A most-rehearsed sample as runs.samples lists it: the gallery's sample at the run's end. */
export type RehearsedSample = Omit<InspectedSample, 'categoryStep' | 'categorySource'>;

export interface RunSamples {
  runId: number;
  /** Size of the pretrain set. */
  pretrainSize: number;
  /** Distinct samples rehearsed at least once, and rehearsals in all. */
  distinctRehearsed: number;
  rehearsals: number;
  /** Most rehearsed first (ties: lower index first). */
  samples: RehearsedSample[];
  /** Why a field is missing, one sentence each. */
  notes: string[];
}

/** A study's grid, strategies x budgets x seeds (defined once, beside its expansion). */
export type { StudyGrid } from './studyGrid.js';

export interface StudySummary {
  id: number;
  name: string;
  createdAt: string;
  /** The study's definition as stored: { base, grid } for studies started by the host or the CLI. */
  config: unknown;
}

export interface StudyDetail {
  study: StudySummary;
  /** With their series, in the order they were queued. */
  runs: RunSummary[];
  table: StudyCell[];
}

export interface Catalog {
  scenarios: { name: ScenarioName; description: string }[];
  strategies: { name: StrategyName; description: string; extraInference: boolean }[];
  partitionRules: { name: PartitionRule; description: string }[];
  optimizers: OptimizerName[];
  backends: BackendRequest[];
  defaults: RunConfig;
}

export interface HostStatus {
  queueLength: number;
  /** Queued runs in start order. */
  queued: number[];
  running: number[];
  /** The trainer process of each running run. */
  trainers: { runId: number; pid: number | null }[];
  concurrency: number;
  version: string;
}

export interface MethodResults {
  /**
   * RunListItem[], as every caller that leaves `filter.format` out gets it; with `format: 'table'`
   * the answer is one RunListTable instead (History asks for it, and reads either).
   */
  'runs.list': RunListItem[];
  'runs.get': RunDetail;
  'runs.delete': { id: number };
  'runs.tag': { id: number; tags: string[] };
  'runs.series': EvalPoint[];
  'runs.telemetry': RunTelemetry;
  'runs.samples': RunSamples;
  'runs.start': { runId: number };
  'runs.cancel': { id: number; status: RunSummary['status'] };
  'runs.markInterrupted': { id: number; status: RunSummary['status'] };
  'runs.resume': { runId: number };
  /** Run ids: resumed from checkpoints, newly started, already finished, still active elsewhere. */
  'studies.resume': { studyId: number; resumed: number[]; started: number[]; finished: number[]; busy: number[] };
  'studies.list': StudySummary[];
  'studies.get': StudyDetail;
  /** runIds: the runs queued; reused (with `reuse`): the copies made, and the run each copies. */
  'studies.start': { studyId: number; runIds: number[]; reused?: { runId: number; from: number }[] };
  'studies.delete': { id: number };
  'inspect.run': RunInspection;
  'inspect.samples': SamplePage;
  'inspect.sample': SampleStory;
  'inspect.study': StudyBudget;
  'inspect.data': SampleData;
  'catalog.get': Catalog;
  'host.status': HostStatus;
  'data.check': DataCheck;
}

/** `data.check`: a scenario file (its checked content, to put in the run config) or a dataset. */
export type DataCheck =
  | { ok: true; kind: 'scenario'; path: string; spec: ScenarioSpec; message: string }
  | { ok: true; kind: 'dataset'; path: string; description: DatasetDescription; message: string }
  | { ok: false; path: string; message: string };

// --- events ---

export const RUN_PHASES = ['loading-data', 'pretraining', 'prior-pass', 'finetuning'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export interface HostEvents {
  'run.queued': { runId: number; studyId: number | null; config: RunConfig };
  /** f0 is ready (pretrained here, or loaded: f0Cached) and finetuning begins. */
  'run.started': {
    runId: number;
    backend: string;
    device: string;
    dataFingerprint: string;
    f0Key: string;
    f0Cached: boolean;
    /** Set when the run continues from a checkpoint taken at this step. */
    resumedFromStep?: number;
    /** Backend 'auto' fell back from the GPU: why, in one line. */
    backendNote?: string;
  };
  /** About 5 per second per run at most. Phases before finetuning come before run.started. */
  'run.progress': {
    runId: number;
    phase: RunPhase;
    step: number;
    totalSteps: number;
    loss?: number;
    etaSeconds?: number;
  };
  /** `task`: a multi-stage run's every task's accuracy at this eval (its retention curves, live). */
  'run.eval': { runId: number; point: EvalPoint; trace?: BinTrace; task?: TaskPoint };
  'run.finished': { runId: number; summary: RunSummary };
  'run.failed': { runId: number; error: string; exitCode: number | null; signal: string | null };
  'run.cancelled': { runId: number };
}
export type EventName = keyof HostEvents;
export const EVENT_NAMES: EventName[] = [
  'run.queued',
  'run.started',
  'run.progress',
  'run.eval',
  'run.finished',
  'run.failed',
  'run.cancelled',
];
export type EventMessage<E extends EventName = EventName> = { [K in E]: { event: K; data: HostEvents[K] } }[E];

// --- request validation ---

/** A request the host cannot take as it is; `field` names what to fix. */
export class RequestError extends Error {
  constructor(
    message: string,
    readonly field: string,
    /** The request's id when it had a usable one. */
    readonly requestId: RequestId | null = null,
    readonly code: ErrorCode = 'invalid-request',
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export type ParsedRequest = { [M in MethodName]: { id: RequestId; method: M; params: ParsedParams<M> } }[MethodName];

/** Params that hold a whole run config: their errors are worded by parseRunConfig. */
const CONFIG_PARAMS = new Set(['config', 'base']);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What the schema wanted, as the end of "expected ...". */
function expected(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  // A union (e.g. a status or a list of statuses): say what its first form wanted.
  if (issue.code === 'invalid_union' && issue.errors[0]?.[0]) return expected(issue.errors[0][0]);
  return issue.message.replace(/^(Invalid input|Too small|Too big): /, '').replace(/^expected /, '');
}

function describeIssue(issue: z.core.$ZodIssue, params: unknown, method: string, requestId: RequestId): RequestError {
  const head = issue.path[0];
  const headValue = valueAt(params, [head ?? '']);
  if (
    typeof head === 'string' &&
    CONFIG_PARAMS.has(head) &&
    typeof headValue === 'object' &&
    headValue !== null &&
    !Array.isArray(headValue)
  ) {
    // The same sentence the CLI gives for the same mistake, with the field as a path in params.
    try {
      parseRunConfig(headValue);
    } catch (error) {
      if (error instanceof ConfigError) {
        return new RequestError(error.message, error.field === '(config)' ? head : `${head}.${error.field}`, requestId);
      }
    }
  }
  const field = issue.path.map(String).join('.') || 'params';
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${field === 'params' ? k : `${field}.${k}`}"`).join(', ');
    return new RequestError(
      `${method} has no parameter ${keys}: remove it or check the spelling.`,
      field === 'params' ? issue.keys[0] : `${field}.${issue.keys[0]}`,
      requestId,
    );
  }
  return new RequestError(
    `${method}: "${field}" has value ${shown(valueAt(params, issue.path))}, ` +
      `which is not allowed: expected ${expected(issue)}.`,
    field,
    requestId,
  );
}

/** Validate an incoming message and its params; throws RequestError naming the field. */
export function parseRequest(raw: unknown): ParsedRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RequestError(`A request must be an object { id, method, params? }, not ${shown(raw)}.`, 'request');
  }
  const message = raw as Record<string, unknown>;
  const rawId = message.id;
  const requestId = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : null;
  if (requestId === null) {
    throw new RequestError(
      `The request's "id" is ${shown(rawId)}: give a number or a string, echoed in the response.`,
      'id',
    );
  }
  if (typeof message.method !== 'string') {
    throw new RequestError(
      `The request's "method" is ${shown(message.method)}: give one of ${METHOD_NAMES.join(', ')}.`,
      'method',
      requestId,
    );
  }
  const method = message.method;
  if (!Object.hasOwn(METHODS, method)) {
    throw new RequestError(`Unknown method "${method}": use one of ${METHOD_NAMES.join(', ')}.`, 'method', requestId);
  }
  // Missing params count as {} so the error names the missing field, not "params".
  const params = message.params ?? {};
  if (nestedTooDeep(params))
    throw new RequestError(
      `The params of "${method}" nest more than ${MAX_NESTING} levels deep: no method takes that.`,
      'params',
      requestId,
    );
  const result = METHODS[method as MethodName].safeParse(params);
  if (!result.success) throw describeIssue(result.error.issues[0], params, method, requestId);
  return { id: requestId, method, params: result.data } as ParsedRequest;
}
