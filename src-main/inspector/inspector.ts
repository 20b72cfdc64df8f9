// The sample inspector behind the host methods inspect.* and runs.samples: it gathers one run's
// arrays from the history (rehearsal counts, log and verdicts, probe categories, bin traces),
// f0's prior pass from the f0 cache and the pretrain set from the data files, then answers from
// memory with the pure queries in queries.ts. Finished runs never change, so what is gathered is
// kept (a few runs); a run still going is gathered afresh each time.
import { binNames } from '../../shared/binNames.js';
import type { ParsedParams, RunSamples } from '../../shared/contract.js';
import { RequestError } from '../../shared/contract.js';
import {
  studyBudgetRows,
  type BinPartition,
  type RunInspection,
  type SampleData,
  type SampleStory,
  type SamplePage,
  type StudyBudget,
} from '../../shared/inspect.js';
import type { RunSummary } from '../../shared/results.js';
import { F0Cache, f0KeyFor, f0KeyHash } from '../engine/f0Cache.js';
import type { PriorPass } from '../engine/priorPass.js';
import type { PartitionRule } from '../../shared/config.js';
import { firstStagePool, poolIndex } from '../engine/stagePool.js';
import { buildPartition } from '../sampler/partition.js';
import type { PretrainIndex } from '../sampler/strategy.js';
import type { History } from '../store/database.js';
import { PretrainDataCache, type PretrainData, type PretrainDataOptions } from './pretrainData.js';
import {
  budgetWindows,
  filterSamples,
  knownCategories,
  rehearsalsBy,
  sampleStory,
  sizesBy,
  tally,
  type KnownCategories,
  type RunArrays,
} from './queries.js';
import { errorMessage } from '../../shared/errors.js';

interface GatheredRun {
  run: RunSummary;
  arrays: RunArrays;
  data: PretrainData;
  evalSteps: number[];
  notes: string[];
  known: Map<number, KnownCategories>;
}

interface PartitionEntry {
  info: BinPartition;
  binOf: Int32Array;
}

const MAX_RUNS = 6;
const MAX_PARTITIONS = 4;
const MAX_PRIORS = 4;
const MAX_KNOWN_STEPS = 4;
/** "At the run's end": later than every rehearsal and eval. */
const END = Number.MAX_SAFE_INTEGER;
const ENDED = new Set(['finished', 'failed', 'cancelled']);

const notFound = (message: string, field = 'id') => new RequestError(message, field, null, 'not-found');

export class SampleInspector {
  private readonly runs = new Map<number, GatheredRun>();
  private readonly partitions = new Map<number, PartitionEntry>();
  private readonly priors = new Map<string, PriorPass>();
  private readonly pretrain: PretrainDataCache;
  private readonly f0s: F0Cache;

  constructor(
    private readonly history: History,
    cacheDir: string,
    options: PretrainDataOptions = {},
  ) {
    this.f0s = new F0Cache(cacheDir);
    this.pretrain = new PretrainDataCache(cacheDir, options);
  }

  /** Forget a run (it was deleted). */
  forget(id: number): void {
    this.runs.delete(id);
    this.partitions.delete(id);
  }

  async inspectRun(id: number, partitionOf?: number): Promise<RunInspection> {
    const g = await this.gather(id);
    const { run, arrays, data } = g;
    const notes = [...g.notes];
    const partition = await this.partitionFor(g, partitionOf, notes);
    const numClasses = data.numClasses;
    const byBin = partition ? rehearsalsBy(arrays.counts, partition.binOf, partition.info.sizes.length) : null;
    const { rehearsals, distinct } = tally(arrays.counts);
    return {
      runId: run.id,
      studyId: run.studyId,
      status: run.status,
      strategy: run.config.rehearsal.strategy,
      budget: run.config.rehearsal.budget,
      seed: run.config.seed,
      pretrainSize: arrays.size,
      numClasses,
      classNames: classNamesOf(data),
      classSizes: sizesBy(arrays.labels, numClasses).byKey,
      shape: data.shape,
      evalSteps: g.evalSteps,
      probeSize: arrays.probes[0]?.indices.length ?? 0,
      binTraces: this.history.getBinTraces(id) ?? [],
      partition: partition?.info ?? null,
      rehearsals,
      distinctRehearsed: distinct,
      byClass: rehearsalsBy(arrays.counts, arrays.labels, numClasses).byKey,
      byBin: byBin ? { bins: byBin.byKey, outside: byBin.outside } : null,
      budgetWindows: budgetWindows(arrays, g.evalSteps),
      notes,
    };
  }

  async samples(params: ParsedParams<'inspect.samples'>): Promise<SamplePage> {
    const g = await this.gather(params.id);
    const notes = [...g.notes];
    const partition = await this.partitionFor(g, params.partitionOf, notes);
    const arrays: RunArrays = { ...g.arrays, binOf: partition?.binOf ?? null };
    if (params.bin !== undefined) {
      if (!partition)
        throw new RequestError(
          `inspect.samples: run ${params.id} has no bins to filter by (${notes.at(-1) ?? 'no partition'}); ` +
            `leave out "bin".`,
          'bin',
        );
      const bins = partition.info.sizes.length;
      if (params.bin >= bins)
        throw new RequestError(
          `inspect.samples: "bin" is ${params.bin} but there are bins 0..${bins - 1} ` +
            `(and -1 for samples outside every bin).`,
          'bin',
        );
    }
    if (params.class !== undefined && params.class >= g.data.numClasses) {
      throw new RequestError(
        `inspect.samples: "class" is ${params.class} but run ${params.id}'s data ` +
          `has classes 0..${g.data.numClasses - 1}.`,
        'class',
      );
    }
    if (params.sort === 'priorLoss' && !arrays.priorLoss) {
      throw new RequestError(
        `inspect.samples: cannot sort run ${params.id} by prior loss: f0's prior ` +
          `pass is not in the f0 cache; sort by count or index.`,
        'sort',
      );
    }
    const step = this.evalStep(g, params.step, 'step');
    const known = this.known(g, step);
    const { total, samples } = filterSamples(arrays, known, params);
    return { runId: g.run.id, step, total, samples, notes };
  }

  /** One sample's story; its category is the latest known at eval `step` (default: the run's end). */
  async sample(id: number, index: number, partitionOf?: number, step?: number): Promise<SampleStory> {
    const g = await this.gather(id);
    this.checkIndex(g, index, 'index');
    const arrays = await this.withBins(g, partitionOf, []);
    return sampleStory(arrays, this.known(g, step === undefined ? END : this.evalStep(g, step, 'step')), index);
  }

  /** Where the budget went across a study: its ended runs, grouped by strategy and budget. */
  async study(id: number): Promise<StudyBudget> {
    if (!this.history.getStudy(id)) throw notFound(`There is no study ${id} in the history.`);
    const notes: string[] = [];
    const runs: {
      runId: number;
      strategy: RunInspection['strategy'];
      budget: number;
      windows: RunInspection['budgetWindows'];
    }[] = [];
    // Oldest first, so rows come in the order the study queued them.
    for (const run of this.history.listRuns({ studyId: id }).reverse()) {
      if (!ENDED.has(run.status)) {
        notes.push(`Run ${run.id} is ${run.status}: it joins the table once it ends.`);
        continue;
      }
      try {
        const inspection = await this.inspectRun(run.id);
        runs.push({
          runId: run.id,
          strategy: inspection.strategy,
          budget: inspection.budget,
          windows: inspection.budgetWindows,
        });
      } catch (error) {
        notes.push(`Run ${run.id} is left out: ${errorMessage(error)}`);
      }
    }
    return { studyId: id, rows: studyBudgetRows(runs), notes };
  }

  /** Only the pretrain set is needed: a run still going is not gathered for its thumbnails. */
  async data(id: number, indices: readonly number[]): Promise<SampleData> {
    const gathered = this.runs.get(id);
    const run = gathered?.run ?? this.history.getRun(id);
    if (!run) throw notFound(`There is no run ${id} in the history.`);
    const data = gathered?.data ?? (await this.pretrainOf(run));
    indices.forEach((i, k) => {
      if (i >= data.count)
        throw new RequestError(
          `"indices.${k}" is ${i} but run ${id}'s pretrain set has samples 0..${data.count - 1}.`,
          `indices.${k}`,
        );
    });
    let pixels: Uint8Array;
    try {
      pixels = await data.pixels();
    } catch (error) {
      // Runs holding this data must be gathered afresh next time (the files changed under them).
      for (const [runId, g] of this.runs) if (g.data === data) this.runs.delete(runId);
      throw new RequestError(`Run ${id}'s images cannot be read: ${errorMessage(error)}`, 'id', null, 'failed');
    }
    const { sampleBytes, shape } = data;
    const out = Buffer.allocUnsafe(indices.length * sampleBytes);
    indices.forEach((i, k) => out.set(pixels.subarray(i * sampleBytes, (i + 1) * sampleBytes), k * sampleBytes));
    return { shape, indices: [...indices], data: out.toString('base64') };
  }

  /** runs.samples / `mixcd samples`: the most rehearsed, with the latest known category. */
  async topSamples(id: number, top: number): Promise<RunSamples> {
    const g = await this.gather(id);
    const notes = [...g.notes];
    const arrays = await this.withBins(g, undefined, notes);
    // Latest known: up to the run's very end (a cancelled run's last rehearsals come after its last eval).
    const page = filterSamples(arrays, this.known(g, END), {
      rehearsedOnly: true,
      sort: 'count',
      order: 'desc',
      offset: 0,
      limit: top,
    });
    const samples = page.samples.map(({ categoryStep: _step, categorySource: _source, ...sample }) => sample);
    const { rehearsals, distinct } = tally(arrays.counts);
    return { runId: id, pretrainSize: arrays.size, distinctRehearsed: distinct, rehearsals, samples, notes };
  }

  // --- gathering ---

  private async gather(id: number): Promise<GatheredRun> {
    const hit = this.runs.get(id);
    if (hit) {
      this.runs.delete(id);
      this.runs.set(id, hit);
      return hit;
    }
    const run = this.history.getRun(id);
    if (!run) throw notFound(`There is no run ${id} in the history.`);
    if (run.status === 'queued')
      throw new RequestError(
        `Run ${id} is still queued: there is nothing to inspect until it runs.`,
        'id',
        null,
        'conflict',
      );
    const data = await this.pretrainOf(run);
    const size = data.count;
    const notes: string[] = [];
    const multi = multiStageNote(run);
    if (multi) notes.push(multi);
    const stored = this.history.getSampleRehearsals(id);
    if (stored && stored.counts.length !== size) {
      throw new RequestError(
        `Run ${id} counted ${stored.counts.length} pretrain samples but its data ` +
          `now has ${size}: the inspector cannot line them up.`,
        'id',
        null,
        'failed',
      );
    }
    if (!stored)
      notes.push(`Run ${id} is ${run.status} and has saved no rehearsals yet (they are saved when a run ends).`);
    else if (stored.logCategoriesProblem)
      notes.push(`${stored.logCategoriesProblem}: its rehearsals' categories are shown as unknown.`);
    else if (!stored.logCategories)
      notes.push(
        `Run ${id} was recorded before each rehearsal's category was stored: the ` +
          `budget breakdown and rehearsal verdicts are unknown.`,
      );
    const probes = (this.history.getProbeCategories(id) ?? []).map(sortedProbe);
    if (probes.length === 0)
      notes.push(
        `Run ${id} had no probe subset (rehearsal.probe = 0): no true CD rate per bin and no pretrain category shares.`,
      );
    const prior = this.prior(run, size, notes);
    const arrays: RunArrays = {
      size,
      labels: data.labels,
      classNames: classNamesOf(data),
      counts: stored?.counts ?? new Uint32Array(size),
      log: stored?.log ?? new Int32Array(0),
      logCategories: stored?.logCategories ?? null,
      probes,
      priorLoss: prior?.priorLoss ?? null,
      priorCorrect: prior?.priorCorrect ?? null,
      binOf: null,
    };
    const gathered: GatheredRun = {
      run,
      arrays,
      data,
      evalSteps: run.series.map((p) => p.step),
      notes,
      known: new Map(),
    };
    // Kept only if it still exists: it may have been deleted while its data was read.
    if (ENDED.has(run.status) && this.history.getRunStatus(id) !== null) {
      if (this.runs.size >= MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      this.runs.set(id, gathered);
    }
    return gathered;
  }

  /**
   * f0's prior pass, from the cache the trainers wrote (keyed like the engine keys it): read once
   * per f0, since every run of a study shares one.
   */
  private prior(run: RunSummary, size: number, notes: string[]): PriorPass | null {
    const key = f0KeyFor(run.config, run.dataFingerprint, run.backend);
    const hash = f0KeyHash(key);
    let prior = this.priors.get(hash) ?? null;
    if (!prior) {
      prior = this.f0s.loadPrior(key);
      if (prior) {
        if (this.priors.size >= MAX_PRIORS) this.priors.delete(this.priors.keys().next().value!);
        this.priors.set(hash, prior);
      }
    }
    if (!prior || prior.priorLoss.length !== size) {
      notes.push(
        `Prior losses and bins are unknown: f0's prior pass for run ${run.id} is ` +
          `no longer in the f0 cache (${this.f0s.dir}).`,
      );
      return null;
    }
    return prior;
  }

  private async pretrainOf(run: RunSummary): Promise<PretrainData> {
    const data = await this.pretrain.get(run);
    if (typeof data === 'string') {
      throw new RequestError(
        `Run ${run.id} cannot be inspected: ${data}. The inspector draws classes ` +
          `and images from the data files the run used.`,
        'id',
        null,
        'failed',
      );
    }
    return data;
  }

  private known(g: GatheredRun, step: number): KnownCategories {
    let k = g.known.get(step);
    if (!k) {
      k = knownCategories(g.arrays, step);
      if (g.known.size >= MAX_KNOWN_STEPS) g.known.delete(g.known.keys().next().value!);
      g.known.set(step, k);
    }
    return k;
  }

  private evalStep(g: GatheredRun, step: number | undefined, field: string): number {
    const last = g.evalSteps.at(-1);
    if (step === undefined) return last ?? 0;
    if (!g.evalSteps.includes(step)) {
      const shown =
        g.evalSteps.length > 8 ? `${g.evalSteps.slice(0, 4).join(', ')}, ..., ${last}` : g.evalSteps.join(', ');
      throw new RequestError(
        `"${field}" is ${step} but run ${g.run.id} was evaluated at steps ${shown || '(none yet)'}: ` +
          `choose one of those.`,
        field,
      );
    }
    return step;
  }

  private checkIndex(g: GatheredRun, index: number, field: string): void {
    if (index >= g.arrays.size)
      throw new RequestError(
        `"${field}" is ${index} but run ${g.run.id}'s pretrain set has samples 0..${g.arrays.size - 1}.`,
        field,
      );
  }

  private async withBins(g: GatheredRun, partitionOf: number | undefined, notes: string[]): Promise<RunArrays> {
    const p = await this.partitionFor(g, partitionOf, notes);
    return { ...g.arrays, binOf: p?.binOf ?? null };
  }

  /** The bins to show: another mix-cd run's (partitionOf), else the run's own when it is mix-cd. */
  private async partitionFor(
    g: GatheredRun,
    partitionOf: number | undefined,
    notes: string[],
  ): Promise<PartitionEntry | null> {
    const source = partitionOf === undefined ? g : await this.gatherPartitionSource(partitionOf);
    if (source.run.config.rehearsal.strategy !== 'mix-cd') {
      if (partitionOf !== undefined)
        throw new RequestError(
          `"partitionOf" names run ${partitionOf}, a ${source.run.config.rehearsal.strategy} ` +
            `run: give a mix-cd run, whose bins are used.`,
          'partitionOf',
        );
      notes.push(
        `${g.run.config.rehearsal.strategy} has no bins; pick a mix-cd run of the same data to see rehearsals per bin.`,
      );
      return null;
    }
    // Bins are groups of one f0's prior losses: another f0 (model, pretraining, data, backend)
    // would sort the samples differently, so its bins say nothing about this run.
    if (
      source !== g &&
      f0KeyHash(f0KeyFor(source.run.config, source.run.dataFingerprint, source.run.backend)) !==
        f0KeyHash(f0KeyFor(g.run.config, g.run.dataFingerprint, g.run.backend))
    ) {
      throw new RequestError(
        `"partitionOf" names run ${partitionOf}, which started from another f0 ` +
          `than run ${g.run.id} (other data, scenario, model, pretraining or backend): ` +
          `its bins do not apply.`,
        'partitionOf',
      );
    }
    const hit = this.partitions.get(source.run.id);
    if (hit) return hit;
    const { priorLoss, priorCorrect, labels, size } = source.arrays;
    if (!priorLoss || !priorCorrect) {
      notes.push(
        `Bins are unknown: they are built from f0's prior losses, which are not ` +
          `in the f0 cache for run ${source.run.id}.`,
      );
      return null;
    }
    const { index, rule, groupNames } = partitionIndex(source.run, source.data, {
      loss: priorLoss,
      correct: priorCorrect,
    });
    const { bins, candidates } = source.run.config.rehearsal.mixCd;
    const partition = buildPartition(index, rule, bins, candidates);
    const binOf = new Int32Array(size).fill(-1);
    for (let k = 0; k < partition.numBins; k++) {
      for (let j = partition.offsets[k]; j < partition.offsets[k + 1]; j++) binOf[partition.members[j]] = k;
    }
    const sizes = sizesBy(binOf, partition.numBins);
    // Named here, not by the sampler's describeBin: one number format for all bins, quantiles, class names.
    const labelsOfBins = binNames({
      rule,
      offsets: partition.offsets,
      members: partition.members,
      priorLoss,
      labels,
      groups: index.groups,
      groupNames,
      classNames: classNamesOf(source.data),
    });
    const entry = {
      info: { runId: source.run.id, rule, sizes: sizes.byKey, outside: sizes.outside, labels: labelsOfBins },
      binOf,
    };
    if (this.partitions.size >= MAX_PARTITIONS) this.partitions.delete(this.partitions.keys().next().value!);
    this.partitions.set(source.run.id, entry);
    return entry;
  }

  /** The run named by partitionOf; its problems are reported against that field, not "id". */
  private async gatherPartitionSource(id: number): Promise<GatheredRun> {
    try {
      return await this.gather(id);
    } catch (error) {
      if (error instanceof RequestError)
        throw new RequestError(`"partitionOf": ${error.message}`, 'partitionOf', null, error.code);
      throw error;
    }
  }
}

/** How many finetune stages a run has (a scenario file's; the built-ins have one). */
function stageCount(run: RunSummary): number {
  return run.config.scenarioFile?.spec.stages.length ?? 1;
}

/**
 * The index mix-cd binned P by. A multi-stage run's bins and traces are stage 1's, whose pool is
 * P with every sample of source "pretrain" (the engine's own stagePool code), so its rule and
 * groups may differ from the run's --rule and the data's group column.
 */
function partitionIndex(
  run: RunSummary,
  data: PretrainData,
  prior: { loss: Float32Array; correct: Uint8Array },
): { index: PretrainIndex; rule: PartitionRule; groupNames?: string[] } {
  if (stageCount(run) > 1) {
    const pool = firstStagePool(data);
    const { index, rehearsal } = poolIndex(run.config, pool, prior);
    return { index, rule: rehearsal.mixCd.rule, groupNames: pool.groupNames };
  }
  const { labels, numClasses, count: size, groups, groupNames } = data;
  const index = { size, numClasses, labels, priorLoss: prior.loss, priorCorrect: prior.correct, groups };
  return { index, rule: run.config.rehearsal.mixCd.rule, groupNames };
}

/** What a multi-stage run's inspection shows, said once: P only, stage 1's bins and probe. */
function multiStageNote(run: RunSummary): string | null {
  const stages = stageCount(run);
  if (stages < 2) return null;
  const earlier =
    run.config.multiStage.pool === 'all-earlier'
      ? ` From stage 2 on the pool also held earlier stages' train samples; their rehearsals are ` +
        `counted in the run's compute but not kept per sample, so they are not shown.`
      : '';
  return (
    `Run ${run.id} has ${stages} stages: shown is the pretrain set P, each sample's rehearsals summed over ` +
    `every stage, a rehearsal's category judged against its stage's starting model; bins, bin traces ` +
    `and the probe are stage 1's (later stages rebin their pool from their own starting model).${earlier}`
  );
}

function classNamesOf(data: PretrainData): string[] {
  const { classNames, numClasses } = data;
  return Array.from({ length: numClasses }, (_, c) => classNames?.[c] ?? `class ${c}`);
}

/** Probe indices ascending (the engine stores them so; sorted here should another writer not). */
function sortedProbe(p: { step: number; indices: Int32Array; categories: Uint8Array }) {
  let sorted = true;
  for (let j = 1; j < p.indices.length && sorted; j++) sorted = p.indices[j - 1] < p.indices[j];
  if (sorted) return p;
  const order = Array.from(p.indices.keys()).sort((a, b) => p.indices[a] - p.indices[b]);
  return {
    step: p.step,
    indices: Int32Array.from(order, (j) => p.indices[j]),
    categories: Uint8Array.from(order, (j) => p.categories[j]),
  };
}
