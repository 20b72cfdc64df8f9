// The host: the workbench's application behind every face (Electron window, browser mode,
// scripts). It answers the host API (shared/contract.ts), keeps the run queue, runs each run in
// a trainer process of its own and is the only writer of the history. No Electron import: a
// shell passes its own SpawnTrainer (utilityProcess) and carries messages over IPC or WebSocket.
import { checkModelFile, ModelFileError } from '../engine/kerasTopology.js';
import { checkData } from './dataCheck.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../packageRoot.js';
import { ConfigError, parseRunConfig, scenarioNameOf, type RunConfig } from '../../shared/config.js';
import {
  RequestError,
  parseRequest,
  type ErrorBody,
  type EventMessage,
  type EventName,
  type HostEvents,
  type MethodName,
  type MethodResults,
  type ParsedParams,
  type ParsedRequest,
  type ResponseMessage,
  type RequestId,
} from '../../shared/contract.js';
import { CATEGORIES, type RunStatus } from '../../shared/results.js';
import { studyTable } from '../../shared/studyTable.js';
import { expandGrid, gridCell, type StudyGrid } from '../../shared/studyGrid.js';
import { openHistory, type History } from '../store/database.js';
import { HistoryError, sqliteCode } from '../store/errors.js';
import { INTERRUPTED_ERROR } from '../store/runs.js';
import type { TrainerToHost } from '../trainer/protocol.js';
import { SampleInspector } from '../inspector/inspector.js';
import { catalog } from './catalog.js';
import { RunQueue } from './queue.js';
import { importRunRecord, readRunRecord } from '../store/importRun.js';
import { RunRecorder } from './recorder.js';
import { TrainerProcess, forkTrainer, type SpawnTrainer, type TrainerOutcome } from './trainerProcess.js';
import { errorMessage } from '../../shared/errors.js';

export interface HostOptions {
  historyFile: string;
  /** f0 cache shared by all trainers. */
  cacheDir: string;
  /** Runs trained at once, one process each (default 1). */
  concurrency?: number;
  /** The compiled trainer (default: dist/src-main/trainer/main.js). */
  trainerEntry?: string;
  /** How a trainer process is started (default: child_process.fork). */
  spawnTrainer?: SpawnTrainer;
  /** Where runs keep their checkpoints (default: `checkpoints` beside the f0 cache). */
  checkpointDir?: string;
  /** Keep a finished run's checkpoint (default: removed when the run finishes). */
  keepCheckpoints?: boolean;
  /** Folders a run's final model is saved into when it finishes (the CLI's --save-model, --keep-model). */
  modelDirs?: (runId: number) => string[];
  /** How the history is opened (default: openHistory); tests use it to reach the connection. */
  openHistory?: (file: string) => History;
}

/** How often the host tries again to store run endings the history refused (e.g. a full disk). */
export const UNSTORED_RETRY_MS = 2000;
/** SQLite errors that pass (disk full, I/O, locked): the write is tried again, not given up. */
const TRANSIENT_WRITE_ERRORS = /^SQLITE_(FULL|IOERR|BUSY|LOCKED)/;

export interface Host {
  /** Answers one request; never throws (errors are responses). */
  handle(raw: unknown): Promise<ResponseMessage>;
  /** Every event, in the order it happened; returns the unsubscribe function. */
  subscribe(listener: (event: EventMessage) => void): () => void;
  setConcurrency(n: number): void;
  /**
   * Stops every run now: queued ones are cancelled, running ones checkpoint at their current step
   * and are stored as cancelled (resumable). Resolves when all are stored.
   */
  stopAll(options?: { immediately?: boolean }): Promise<void>;
  /** Stops the trainers (their runs are stored as cancelled), drops the queue, closes the history. */
  close(): Promise<void>;
}

/** A study larger than this is almost certainly a typo in its lists. */
const MAX_STUDY_RUNS = 1000;

interface Job {
  runId: number;
  config: RunConfig;
  studyId: number | null;
  /** Runs of one group share one f0 (see canStart). */
  f0Group: string;
  recorder: RunRecorder;
  trainer: TrainerProcess | null;
  /** Continue from the run's checkpoint when there is one (runs.resume, studies.resume). */
  resume: boolean;
  /** Settles once the run is stored as ended. */
  done: Promise<void> | null;
}

/** Everything f0 depends on that is known before the data is loaded (cf. engine/f0Cache F0Key). */
function f0Group(config: RunConfig): string {
  return JSON.stringify([
    config.dataset,
    config.dataDir ?? null,
    config.scenario,
    // A scenario file's pretrain sets decide f0 too (config.scenario is then only the default).
    config.scenarioFile ? [config.scenarioFile.spec.datasets, config.scenarioFile.spec.pretrain] : null,
    config.model,
    config.pretrain,
    config.backend,
  ]);
}

/**
 * A name for the history in checkpoint file names that does not depend on where the file is
 * mounted (a requeued cluster task may land on a node that mounts the shared folder elsewhere):
 * the time its schema was first created, which is stored in the file itself.
 */
function historyTag(history: History): string {
  const row = history.db.prepare('SELECT applied_at FROM schema_migrations WHERE version = 1').get() as
    { applied_at: string } | undefined;
  return createHash('sha256')
    .update(row?.applied_at ?? history.file)
    .digest('hex')
    .slice(0, 12);
}

/** From dist/ the trainer is a sibling; from the sources (tests) it is the build in dist/. */
export function defaultTrainerEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sibling = path.join(here, '../trainer/main.js');
  return existsSync(sibling) ? sibling : path.resolve(here, '../../dist/src-main/trainer/main.js');
}

/**
 * An imported f0 that cannot be read or trained is refused before a run is stored (the checks
 * that need the data run in the trainer, before it records anything).
 */
function checkModelFileOf(config: RunConfig): void {
  if (config.model.arch !== 'file') return;
  try {
    checkModelFile(config.model.path);
  } catch (error) {
    if (error instanceof ModelFileError) throw new RequestError(error.message, 'model.path');
    throw error;
  }
}

const notFound = (message: string, field = 'id') => new RequestError(message, field, null, 'not-found');
const conflict = (message: string, field = 'id') => new RequestError(message, field, null, 'conflict');

function errorBody(error: unknown): ErrorBody {
  if (error instanceof RequestError) return { code: error.code, message: error.message, field: error.field };
  if (error instanceof ConfigError) return { code: 'invalid-request', message: error.message, field: error.field };
  if (error instanceof HistoryError) {
    const code =
      error.code === 'unknown-run' || error.code === 'unknown-study'
        ? 'not-found'
        : error.code === 'run-state' || error.code === 'duplicate'
          ? 'conflict'
          : error.code === 'invalid-input'
            ? 'invalid-request'
            : 'failed';
    return { code, message: error.message };
  }
  return { code: 'failed', message: errorMessage(error) };
}

class WorkbenchHost implements Host {
  private readonly history: History;
  private readonly queue: RunQueue<Job>;
  private readonly jobs = new Map<number, Job>();
  private readonly listeners = new Set<(event: EventMessage) => void>();
  /** f0 groups whose f0 is known to be in the cache: their runs may start in parallel. */
  private readonly f0Ready = new Set<string>();
  private readonly inspector: SampleInspector;
  private readonly entry: string;
  private readonly spawn: SpawnTrainer;
  private readonly version = packageVersion();
  private closing: Promise<void> | null = null;
  /** Run endings the history refused to store (a full disk), tried again until it takes them. */
  private readonly unstored = new Map<number, () => void>();
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly checkpointDir: string;
  /** Checkpoint files are named by history file and run id: run ids are only unique per history. */
  private readonly historyTag: string;

  constructor(private readonly options: HostOptions) {
    this.entry = options.trainerEntry ?? defaultTrainerEntry();
    this.spawn = options.spawnTrainer ?? forkTrainer;
    // Before the history opens: a bad concurrency must not leave the file open.
    this.queue = new RunQueue<Job>(
      options.concurrency ?? 1,
      (job) => this.runJob(job),
      (job, running) => this.canStart(job, running),
    );
    this.history = (options.openHistory ?? openHistory)(options.historyFile);
    this.checkpointDir = options.checkpointDir ?? path.join(path.dirname(options.cacheDir), 'checkpoints');
    this.historyTag = historyTag(this.history);
    this.inspector = new SampleInspector(this.history, options.cacheDir);
    // Runs left queued/running by a host or CLI that died are failed, so none looks alive forever.
    this.history.markInterruptedRuns();
  }

  async handle(raw: unknown): Promise<ResponseMessage> {
    let id: RequestId | null = null;
    try {
      const request = parseRequest(raw);
      id = request.id;
      if (this.closing)
        throw new RequestError('The host is closed; requests are no longer answered.', 'method', id, 'failed');
      return { id, ok: true, result: await this.dispatch(request) };
    } catch (error) {
      return { id: error instanceof RequestError ? (error.requestId ?? id) : id, ok: false, error: errorBody(error) };
    }
  }

  subscribe(listener: (event: EventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  setConcurrency(n: number): void {
    this.queue.setConcurrency(n);
  }

  async stopAll(options: { immediately?: boolean } = {}): Promise<void> {
    for (const job of this.queue.clear()) this.cancelQueued(job, null);
    const running = [...this.jobs.values()].filter((job) => job.trainer);
    running.forEach((job) => (options.immediately ? job.trainer!.kill() : job.trainer!.cancel()));
    await Promise.all(running.map((job) => job.done));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const job of this.queue.clear()) this.cancelQueued(job, 'The host closed before it started.');
      const running = [...this.jobs.values()].filter((job) => job.trainer);
      running.forEach((job) => job.trainer!.cancel());
      await Promise.all(running.map((job) => job.done));
      this.retryUnstored(); // a last chance; what is still refused is marked interrupted at the next start
      if (this.retryTimer) clearInterval(this.retryTimer);
      this.history.close();
    })();
    return this.closing;
  }

  /** The run's checkpoint file and the file whose existence asks its trainer to stop. */
  private checkpointFiles(runId: number): { checkpoint: string; stop: string } {
    const base = path.join(this.checkpointDir, `${this.historyTag}-run-${runId}`);
    return { checkpoint: `${base}.ckpt`, stop: `${base}.stop` };
  }

  // --- the API ---

  private dispatch(request: ParsedRequest): unknown {
    const method = this.methods[request.method] as (params: unknown) => unknown;
    return method(request.params);
  }

  private readonly methods: {
    [M in MethodName]: (params: ParsedParams<M>) => MethodResults[M] | Promise<MethodResults[M]>;
  } = {
    'runs.list': ({ filter }) => this.history.listRunsWithTags(filter),
    'runs.get': ({ id }) => {
      const run = this.history.getRun(id) ?? this.noRun(id);
      return { ...run, tags: this.history.getTags(id) ?? [] };
    },
    'runs.delete': ({ id }) => {
      const status = this.history.getRunStatus(id) ?? this.noRun(id);
      if (status === 'queued' || status === 'running')
        throw conflict(`Run ${id} is ${status}: cancel it first (runs.cancel), then delete it.`);
      this.history.deleteRun(id);
      this.inspector.forget(id);
      return { id };
    },
    'runs.tag': ({ id, tags }) => {
      this.history.setTags(id, tags);
      return { id, tags: this.history.getTags(id) ?? [] };
    },
    'runs.series': ({ id }) => this.history.getSeries(id) ?? this.noRun(id),
    'runs.telemetry': ({ id }) => {
      const binTraces = this.history.getBinTraces(id) ?? this.noRun(id);
      const probes = (this.history.getProbeCategories(id) ?? []).map((p) => ({
        step: p.step,
        indices: Array.from(p.indices),
        categories: Array.from(p.categories),
      }));
      return { runId: id, binTraces, probes, categoryNames: CATEGORIES };
    },
    'runs.samples': ({ id, top }) => this.inspector.topSamples(id, top),
    'inspect.run': ({ id, partitionOf }) => this.inspector.inspectRun(id, partitionOf),
    'inspect.samples': (params) => this.inspector.samples(params),
    'inspect.sample': ({ id, index, partitionOf, step }) => this.inspector.sample(id, index, partitionOf, step),
    'inspect.study': ({ id }) => this.inspector.study(id),
    'inspect.data': ({ id, indices }) => this.inspector.data(id, indices),
    'runs.start': ({ config, studyId }) => {
      checkModelFileOf(config);
      if (studyId !== undefined) this.history.getStudy(studyId) ?? this.noStudy(studyId);
      return { runId: this.enqueue(config, studyId ?? null) };
    },
    'runs.cancel': (params) => this.cancel(params.id),
    'runs.resume': ({ id }) => ({ runId: this.resumeRun(id) }),
    'runs.markInterrupted': ({ id }) => {
      if (this.jobs.has(id)) throw conflict(`Run ${id} is running in this workbench: cancel it (runs.cancel) instead.`);
      this.history.markRunInterrupted(id);
      this.emit('run.failed', { runId: id, error: INTERRUPTED_ERROR, exitCode: null, signal: null });
      return { id, status: this.history.getRunStatus(id)! };
    },
    'studies.list': () => this.history.listStudies(),
    'studies.get': ({ id }) => {
      const study = this.history.getStudy(id) ?? this.noStudy(id);
      const runs = this.history
        .listRuns({ studyId: id })
        .reverse()
        .map((r) => this.history.getRun(r.id)!);
      return { study, runs, table: studyTable(runs) };
    },
    'studies.start': async ({ base, strategies, budgets, seeds, name, matched, reuse }) => {
      const grid = matched ? { strategies, budgets, seeds, matched } : { strategies, budgets, seeds };
      const size = strategies.reduce((n, s) => n + (s === 'none' ? 1 : budgets.length) * seeds.length, 0);
      if (size > MAX_STUDY_RUNS)
        throw new RequestError(
          `studies.start would queue ${size} runs; a study holds at most ${MAX_STUDY_RUNS}: ` +
            `shorten strategies, budgets or seeds.`,
          'seeds',
        );
      checkModelFileOf(base);
      const configs = expandGrid(base, grid);
      // Finished runs of the history with a run's identity are copied into the study instead of run again.
      const identities = reuse ? await this.plannedIdentities(configs) : configs.map(() => null);
      const studyId = this.history.createStudy(
        name ??
          `${scenarioNameOf(base)}: ${strategies.join(', ')} x r ${budgets.join(', ')} x seeds ${seeds.join(', ')}`,
        { base, grid },
      );
      const runIds: number[] = [];
      const reused: { runId: number; from: number }[] = [];
      configs.forEach((config, i) => {
        const identity = identities[i];
        const from = identity ? this.history.finishedRunWithIdentity(identity) : null;
        if (identity && from !== null) reused.push({ runId: this.copyRun(from, identity, studyId), from });
        else runIds.push(this.enqueue(config, studyId));
      });
      return { studyId, runIds, ...(reuse ? { reused } : {}) };
    },
    'studies.resume': ({ id }) => this.resumeStudy(id),
    'studies.delete': ({ id }) => {
      this.history.getStudy(id) ?? this.noStudy(id);
      const active = [...this.jobs.values()].filter((job) => job.studyId === id).map((job) => job.runId);
      if (active.length)
        throw conflict(
          `Study ${id} still has queued or running runs (${active.join(', ')}): cancel them first, then delete it.`,
        );
      this.history.deleteStudy(id);
      return { id };
    },
    'catalog.get': () => catalog(),
    'data.check': ({ path }) => checkData(path),
    'host.status': () => {
      const running = [...this.queue.running];
      return {
        queueLength: this.queue.queued.length,
        queued: this.queue.queued.map((job) => job.runId),
        running: running.map((job) => job.runId),
        trainers: running.map((job) => ({ runId: job.runId, pid: job.trainer?.pid ?? null })),
        concurrency: this.queue.limit,
        version: this.version,
      };
    },
  };

  /**
   * Runs only what a study is missing: its grid's runs that never finished are resumed from their
   * checkpoints (failed, cancelled) or started (never queued); finished ones are kept as they are.
   */
  private resumeStudy(id: number): MethodResults['studies.resume'] {
    const study = this.history.getStudy<{ base: RunConfig; grid: StudyGrid }>(id) ?? this.noStudy(id);
    const { base, grid } = study.config;
    if (!base || !grid?.strategies)
      throw new RequestError(`Study ${id} has no grid stored (it was made by an older version); start it anew.`, 'id');
    const existing = new Map<string, { id: number; status: RunStatus }>();
    for (const run of this.history.listRuns({ studyId: id }).reverse())
      existing.set(gridCell(run.config), { id: run.id, status: run.status });
    const result: MethodResults['studies.resume'] = { studyId: id, resumed: [], started: [], finished: [], busy: [] };
    for (const config of expandGrid(parseRunConfig(base), grid)) {
      const run = existing.get(gridCell(config));
      if (!run) result.started.push(this.enqueue(config, id));
      else if (run.status === 'finished') result.finished.push(run.id);
      else if (this.jobs.has(run.id) || run.status === 'queued' || run.status === 'running') result.busy.push(run.id);
      else result.resumed.push(this.resumeRun(run.id));
    }
    return result;
  }

  /** The identities the configs' runs will store (null where the backend is 'auto'). */
  private async plannedIdentities(configs: RunConfig[]): Promise<(string | null)[]> {
    const { dataFingerprints, plannedIdentity } = await import('../engine/plannedIdentity.js');
    const named = configs.filter((c) => c.backend !== 'auto');
    const fingerprintOf = await dataFingerprints(named, this.options.cacheDir);
    return configs.map((c) => (c.backend === 'auto' ? null : plannedIdentity(c, fingerprintOf(c))));
  }

  /** A copy of finished run `from` in the study (tagged with where it came from); its new id. */
  private copyRun(from: number, identity: string, studyId: number): number {
    const outcome = importRunRecord(this.history, readRunRecord(this.history, from), { identity, studyId, copy: true });
    if (!outcome.added) throw new Error(`Run ${from} could not be copied.`);
    this.history.setTags(outcome.id, [`copy of run ${from}`]);
    const summary = this.history.getRun(outcome.id)!;
    this.emit('run.queued', { runId: outcome.id, studyId, config: summary.config });
    this.emit('run.finished', { runId: outcome.id, summary });
    return outcome.id;
  }

  private noRun(id: number): never {
    throw notFound(`There is no run ${id} in the history (runs.list lists them).`);
  }

  private noStudy(id: number): never {
    throw notFound(`There is no study ${id} in the history (studies.list lists them).`);
  }

  // --- runs ---

  private enqueue(config: RunConfig, studyId: number | null): number {
    return this.queueJob(RunRecorder.create(this.history, config, studyId), config, studyId, false);
  }

  /** A failed or cancelled run back in the queue, to continue from its checkpoint. */
  private resumeRun(id: number): number {
    const run = this.history.getRun(id) ?? this.noRun(id);
    if (this.jobs.has(id)) throw conflict(`Run ${id} is ${run.status} in this workbench already.`);
    if (run.status === 'finished') throw conflict(`Run ${id} is finished: there is nothing to resume.`);
    if (run.status === 'queued' || run.status === 'running')
      throw conflict(
        `Run ${id} is ${run.status} in another process: cancel it there, or mark it interrupted ` +
          '(runs.markInterrupted) if that process is gone, then resume it.',
      );
    checkModelFileOf(run.config);
    this.history.reopenRun(id);
    return this.queueJob(RunRecorder.existing(this.history, id), run.config, run.studyId, true);
  }

  private queueJob(recorder: RunRecorder, config: RunConfig, studyId: number | null, resume: boolean): number {
    const job: Job = {
      runId: recorder.id,
      config,
      studyId,
      f0Group: f0Group(config),
      recorder,
      trainer: null,
      done: null,
      resume,
    };
    this.jobs.set(job.runId, job);
    this.emit('run.queued', { runId: job.runId, studyId, config });
    this.queue.add(job);
    return job.runId;
  }

  /**
   * One f0 per group: while a run of the group is still preparing (it may be pretraining f0),
   * the group's other runs wait, then load that f0 from the cache instead of pretraining again.
   */
  private canStart(job: Job, running: ReadonlySet<Job>): boolean {
    if (this.f0Ready.has(job.f0Group)) return true;
    for (const other of running) if (other.f0Group === job.f0Group) return false;
    return true;
  }

  private runJob(job: Job): Promise<void> {
    job.recorder.launched();
    const files = this.checkpointFiles(job.runId);
    mkdirSync(this.checkpointDir, { recursive: true });
    rmSync(files.stop, { force: true });
    const start = {
      type: 'start' as const,
      runId: job.runId,
      config: job.config,
      cacheDir: this.options.cacheDir,
      checkpoint: { file: files.checkpoint, resume: job.resume, keep: this.options.keepCheckpoints ?? false },
      stopFile: files.stop,
      saveModelTo: this.options.modelDirs?.(job.runId) ?? [],
    };
    try {
      job.trainer = new TrainerProcess(this.spawn, this.entry, start, (message) => this.onTrainerMessage(job, message));
    } catch (error) {
      // No process at all (e.g. a shell's spawn function threw): the run fails, the queue goes on.
      const message = `The trainer process could not be started: ${errorMessage(error)}`;
      job.done = Promise.resolve(this.record(job, { kind: 'failed', error: message, exitCode: null, signal: null }));
      return job.done;
    }
    job.done = job.trainer.outcome.then((outcome) => {
      rmSync(files.stop, { force: true });
      this.record(job, outcome);
    });
    return job.done;
  }

  /** Throws when the history refuses a write; TrainerProcess then fails the run with that error. */
  private onTrainerMessage(job: Job, message: Exclude<TrainerToHost, { type: 'finished' | 'failed' }>): void {
    switch (message.type) {
      case 'started': {
        const {
          backend,
          device,
          dataFingerprint,
          f0Key,
          f0Cached,
          config,
          identity,
          provenance,
          resumed,
          backendNote,
        } = message;
        job.recorder.started({ backend, device, dataFingerprint, config, identity, provenance });
        // A resumed run's data is what its checkpoint holds (an interrupted attempt may have stored
        // evaluations past it, or, without a checkpoint, it starts over).
        if (job.resume) job.recorder.replaceData(resumed ?? null);
        this.emit('run.started', {
          runId: job.runId,
          backend,
          device,
          dataFingerprint,
          f0Key,
          f0Cached,
          ...(resumed ? { resumedFromStep: resumed.step } : {}),
          ...(backendNote ? { backendNote } : {}),
        });
        this.f0Ready.add(job.f0Group); // f0 is in the cache now: the group's other runs may go
        this.queue.pump();
        break;
      }
      case 'progress': {
        const { type: _, ...progress } = message;
        this.emit('run.progress', progress);
        break;
      }
      case 'eval': {
        job.recorder.eval(message.point, message.trace, message.probe);
        this.emit('run.eval', {
          runId: job.runId,
          point: message.point,
          ...(message.trace ? { trace: message.trace } : {}),
          ...(message.task ? { task: message.task } : {}),
        });
        break;
      }
    }
  }

  /** Stores how the run ended, then tells the subscribers. */
  private record(job: Job, outcome: TrainerOutcome): void {
    const { runId, recorder } = job;
    try {
      this.store(job, outcome);
    } catch (error) {
      const message = `The host could not store how run ${runId} ended: ${errorMessage(error)}`;
      try {
        // A full disk or a failing device passes; the run's results are kept, not thrown away.
        if (TRANSIENT_WRITE_ERRORS.test(sqliteCode(error) ?? '')) throw error;
        recorder.failed(message);
        this.emit('run.failed', { runId, error: message, exitCode: null, signal: null });
      } catch {
        // The history refuses the write: keep the ending and store it as soon as it can.
        this.unstored.set(runId, () => this.store(job, outcome));
        this.retryTimer ??= setInterval(() => this.retryUnstored(), UNSTORED_RETRY_MS).unref();
        this.emit('run.failed', {
          runId,
          error: `${message}. It is kept and stored as soon as the history can be written again.`,
          exitCode: null,
          signal: null,
        });
      }
    } finally {
      this.jobs.delete(runId);
    }
  }

  /** Writes the run's ending (each ending is one transaction) and emits its event. */
  private store(job: Job, outcome: TrainerOutcome): void {
    const { runId, recorder } = job;
    if (outcome.kind === 'finished') {
      recorder.finished(outcome.result, this.closing ? 'The host closed while it ran.' : null);
      if (outcome.result.status === 'cancelled') this.emit('run.cancelled', { runId });
      else this.emit('run.finished', { runId, summary: recorder.summary() });
    } else if (outcome.kind === 'failed') {
      recorder.failed(outcome.error, outcome.exitCode);
      this.emit('run.failed', { runId, error: outcome.error, exitCode: outcome.exitCode, signal: outcome.signal });
    } else {
      recorder.cancelled(this.closing ? 'The host closed while it ran.' : null);
      this.emit('run.cancelled', { runId });
    }
  }

  private retryUnstored(): void {
    for (const [runId, write] of this.unstored) {
      try {
        write();
        this.unstored.delete(runId);
      } catch {
        // Still refused: next time.
      }
    }
    if (!this.unstored.size && this.retryTimer) {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private async cancel(id: number): Promise<MethodResults['runs.cancel']> {
    const job = this.jobs.get(id);
    if (!job) {
      const status = this.history.getRunStatus(id) ?? this.noRun(id);
      throw conflict(`Run ${id} is ${status}: only queued or running runs can be cancelled.`);
    }
    if (this.queue.remove(job)) {
      this.cancelQueued(job, null);
    } else {
      job.trainer!.cancel();
      await job.done;
    }
    return { id, status: this.history.getRunStatus(id)! };
  }

  private cancelQueued(job: Job, reason: string | null): void {
    job.recorder.cancelled(reason);
    this.jobs.delete(job.runId);
    this.emit('run.cancelled', { runId: job.runId });
  }

  private emit<E extends EventName>(event: E, data: HostEvents[E]): void {
    const message = { event, data } as EventMessage;
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch {
        // A subscriber's bug must not stop the host or the other subscribers.
      }
    }
  }
}

export function createHost(options: HostOptions): Host {
  return new WorkbenchHost(options);
}
