// runs.samples: the most-rehearsed pretrain samples of a run, with what is known about each
// (class, mix-cd bin, prior loss). The history stores only the counts, so the rest is read back
// from the f0 cache (prior pass) and the run's data (labels), both checked against the run.
import type { RunSummary } from '../../shared/results.js';
import type { RehearsedSample, RunSamples } from '../../shared/contract.js';
import { loadFashionMnist } from '../data/fashionMnist.js';
import { buildScenario } from '../data/scenarios.js';
import { F0Cache, f0KeyFor } from '../engine/f0Cache.js';
import { buildPartition } from '../sampler/partition.js';
import type { History } from '../store/database.js';

interface PretrainLabels {
  labels: Uint8Array;
  numClasses: number;
  classNames?: string[];
  groups?: Uint16Array;
}

/** Labels are kept per (data, scenario); a handful covers every study one looks at. */
const MAX_CACHED_LABELS = 4;

export class SampleInspector {
  private readonly labelCache = new Map<string, PretrainLabels>();
  private readonly f0s: F0Cache;

  constructor(cacheDir: string) {
    this.f0s = new F0Cache(cacheDir);
  }

  samples(history: History, run: RunSummary, top: number): RunSamples {
    const notes: string[] = [];
    const stored = history.getSampleRehearsals(run.id);
    if (!stored) {
      notes.push(`Run ${run.id} is ${run.status} and saved no rehearsal counts (they are saved when a run finishes).`);
      return { runId: run.id, pretrainSize: 0, distinctRehearsed: 0, rehearsals: 0, samples: [], notes };
    }
    const { counts } = stored;
    const rehearsed: number[] = [];
    let rehearsals = 0;
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] > 0) rehearsed.push(i);
      rehearsals += counts[i];
    }
    rehearsed.sort((a, b) => counts[b] - counts[a] || a - b);
    const chosen = rehearsed.slice(0, top);

    const prior = this.prior(run, counts.length, notes);
    const labels = this.labels(run, counts.length, notes);
    const binOf = prior && labels ? this.bins(run, prior, labels, notes) : null;
    if (run.config.rehearsal.strategy !== 'mix-cd') notes.push(`bin is left out: ${run.config.rehearsal.strategy} has no bins (mix-cd only).`);

    const samples = chosen.map((index) => {
      const sample: RehearsedSample = { index, count: counts[index] };
      if (labels) {
        sample.class = labels.labels[index];
        const name = labels.classNames?.[sample.class];
        if (name !== undefined) sample.className = name;
      }
      if (binOf) sample.bin = binOf(index);
      if (prior) sample.priorLoss = prior.priorLoss[index];
      return sample;
    });
    return { runId: run.id, pretrainSize: counts.length, distinctRehearsed: rehearsed.length, rehearsals, samples, notes };
  }

  /** f0's prior pass, from the cache the trainers wrote (keyed like the engine keys it). */
  private prior(run: RunSummary, size: number, notes: string[]) {
    const cached = this.f0s.load(f0KeyFor(run.config, run.dataFingerprint, run.backend));
    if (!cached || cached.prior.priorLoss.length !== size) {
      notes.push(`priorLoss is left out: f0's prior pass for run ${run.id} is no longer in the f0 cache (${this.f0s.dir}).`);
      return null;
    }
    return cached.prior;
  }

  /** The pretrain labels, by reading the run's data again; refused if the data has changed since. */
  private labels(run: RunSummary, size: number, notes: string[]): PretrainLabels | null {
    const key = `${run.dataFingerprint}|${run.config.scenario}`;
    let entry = this.labelCache.get(key);
    if (!entry) {
      try {
        const data = loadFashionMnist(run.config.dataDir);
        if (data.fingerprint !== run.dataFingerprint) {
          notes.push(`class is left out: the data in ${data.dir} is not the data run ${run.id} used (its fingerprint differs).`);
          return null;
        }
        const pretrain = buildScenario(run.config.scenario, data.train, data.test).pretrainTrain;
        entry = { labels: pretrain.labels, numClasses: pretrain.numClasses, classNames: pretrain.classNames, groups: pretrain.groups };
      } catch (error) {
        notes.push(`class is left out: the run's data could not be read (${error instanceof Error ? error.message : String(error)}).`);
        return null;
      }
      if (this.labelCache.size >= MAX_CACHED_LABELS) this.labelCache.delete(this.labelCache.keys().next().value!);
      this.labelCache.set(key, entry);
    }
    if (entry.labels.length !== size) {
      notes.push(`class is left out: the data has ${entry.labels.length} pretrain samples but run ${run.id} counted ${size}.`);
      return null;
    }
    return entry;
  }

  /** mix-cd's partition is a pure function of the prior pass, the labels and the config: rebuild it. */
  private bins(run: RunSummary, prior: { priorLoss: Float32Array; priorCorrect: Uint8Array }, labels: PretrainLabels, notes: string[]) {
    if (run.config.rehearsal.strategy !== 'mix-cd') return null;
    const { rule, bins, candidates } = run.config.rehearsal.mixCd;
    try {
      const index = { size: labels.labels.length, numClasses: labels.numClasses, labels: labels.labels, priorLoss: prior.priorLoss, priorCorrect: prior.priorCorrect, groups: labels.groups };
      const partition = buildPartition(index, rule, bins, candidates);
      return (i: number) => partition.binOf(i);
    } catch (error) {
      notes.push(`bin is left out: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }
}
