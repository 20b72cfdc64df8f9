// Recording one run in the history as it goes: the row first (so a crash leaves a failed run,
// not nothing), eval points, bin traces and probe categories as they arrive, rehearsal counts
// and the summary at the end. The host (trainer messages) and recordRun (in-process, for tests and
// benchmarks that bring their own data) both record through this, so a run reads the same either way.
import type { RunConfig } from '../../shared/config.js';
import type { BinTrace, EvalPoint, Provenance, RunStatus, RunSummary } from '../../shared/results.js';
import type { ExperimentResult } from '../engine/experiment.js';
import type { History } from '../store/database.js';

export interface StartedInfo {
  backend: string;
  device: string;
  dataFingerprint: string;
  /** The config as run (backend-dependent defaults resolved); replaces the stored request. */
  config?: RunConfig;
  identity?: string;
  provenance?: Provenance;
}

/** What a resumed run had stored up to its checkpoint (trainer/protocol.ts ResumedTelemetry). */
export interface RestoredData {
  series: EvalPoint[];
  traces: BinTrace[];
  probes: ProbeCategoriesSnapshot[];
}

export interface ProbeCategoriesSnapshot {
  step: number;
  indices: Int32Array;
  categories: Uint8Array;
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const noCompute = (wallSeconds: number) => ({
  forwardPasses: 0,
  backwardPasses: 0,
  extraForwardPasses: 0,
  wallSeconds,
});

export class RunRecorder {
  /** Wall time of a run that ends without a result counts from here (see launched()). */
  private launchedAt = performance.now();

  private constructor(
    private readonly history: History,
    readonly id: number,
  ) {}

  /** Creates the run row, queued. */
  static create(history: History, config: RunConfig, studyId: number | null = null): RunRecorder {
    return new RunRecorder(history, history.createRun({ config, studyId, status: 'queued' }));
  }

  /** A run already in the history (reopened to be resumed). */
  static existing(history: History, id: number): RunRecorder {
    return new RunRecorder(history, id);
  }

  /**
   * A resumed run's data becomes its checkpoint's: what an interrupted attempt stored past the
   * checkpoint goes (it will be computed again, identically); null = no checkpoint, start over.
   */
  replaceData(restored: RestoredData | null): void {
    this.history.db.transaction(() => {
      this.history.clearRunData(this.id);
      if (!restored) return;
      this.history.appendEvalPoints(this.id, restored.series);
      if (restored.traces.length) this.history.appendBinTraces(this.id, restored.traces);
      for (const p of restored.probes) this.history.saveProbeCategories(this.id, p.step, p.indices, p.categories);
    })();
  }

  /** The run leaves the queue now (its trainer is starting). */
  launched(): void {
    this.launchedAt = performance.now();
  }

  started(info: StartedInfo): void {
    this.history.markRunning(this.id, { ...info, startedAt: new Date().toISOString() });
  }

  eval(point: EvalPoint, trace: BinTrace | null, probe: ProbeCategoriesSnapshot | null): void {
    this.history.appendEvalPoints(this.id, [point]);
    if (trace) this.history.appendBinTraces(this.id, [trace]);
    if (probe) this.history.saveProbeCategories(this.id, probe.step, probe.indices, probe.categories);
  }

  /** The experiment's result: finished, or cancelled by its shouldStop (`error` then says why, if known). */
  finished(result: ExperimentResult, error: string | null = null): void {
    // One transaction: refused (e.g. a full disk) it leaves nothing half-written, so it can be tried again.
    this.history.db.transaction(() => this.storeResult(result, error))();
  }

  private storeResult(result: ExperimentResult, error: string | null): void {
    const t0 = performance.now();
    this.history.saveSampleRehearsals(this.id, result.rehearsalCounts, result.rehearsalLog, result.rehearsalCategories);
    if (result.multiStage) this.history.saveStages(this.id, result.multiStage.stages, result.multiStage.continual);
    const storeAtEnd = seconds(t0);
    this.history.finishRun(this.id, {
      status: result.status,
      error: result.status === 'cancelled' ? error : null,
      compute: result.compute,
      timing: { ...result.timing, store: result.timing.store + storeAtEnd },
      prior: result.prior,
      final: result.final,
    });
  }

  /** A failure before the run ended; a run that already ended is left as it is. */
  failed(error: string, exitCode: number | null = null): void {
    if (!this.isOpen()) return;
    this.history.finishRun(this.id, {
      status: 'failed',
      error,
      exitCode,
      compute: noCompute(seconds(this.launchedAt)),
    });
  }

  /**
   * Cancelled from outside (its process was stopped): it keeps the eval points it had, and its
   * prior / final values are read off them (step 0 is f0).
   */
  cancelled(error: string | null = null): void {
    if (!this.isOpen()) return;
    const series = this.history.getSeries(this.id) ?? [];
    const first = series[0];
    const last = series[series.length - 1];
    this.history.finishRun(this.id, {
      status: 'cancelled',
      error,
      compute: noCompute(seconds(this.launchedAt)),
      prior:
        first?.step === 0
          ? { pretrainTestAcc: first.pretrainTestAcc, finetuneTestAcc: first.finetuneTestAcc }
          : undefined,
      final: last
        ? {
            pretrainTestAcc: last.pretrainTestAcc,
            finetuneTestAcc: last.finetuneTestAcc,
            cdRate: last.cdRate,
            rehearsalPrecision: last.rehearsalPrecision,
          }
        : undefined,
    });
  }

  status(): RunStatus | null {
    return this.history.getRunStatus(this.id);
  }

  summary(): RunSummary {
    return this.history.getRun(this.id)!;
  }

  private isOpen(): boolean {
    const status = this.status();
    return status === 'queued' || status === 'running';
  }
}
