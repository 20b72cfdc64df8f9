// One experiment from config to measured result: data -> scenario -> f0 (cached) -> prior pass
// (cached) -> finetune with rehearsal. Storage is the caller's business (the observer), so the
// same code serves the CLI, a trainer process and tests.
import path from 'node:path';
import type { RunConfig } from '../../shared/config.js';
import type { ComputeCounts, EvalPoint, RunStatus, TimeBreakdown } from '../../shared/results.js';
import type { ImageDataset } from '../data/dataset.js';
import { loadFashionMnist, locateFashionMnist } from '../data/fashionMnist.js';
import { FINGERPRINT_MEMO, FingerprintMemo, sameStamps, stampFiles, type FileStamp } from '../data/fingerprintMemo.js';
import { buildScenario, type Scenario } from '../data/scenarios.js';
import { createStrategy } from '../sampler/index.js';
import type { PretrainIndex } from '../sampler/strategy.js';
import { initBackend, type BackendInfo } from './backend.js';
import { resolveBackendDefaults } from './backendDefaults.js';
import { pretrainOnBackend } from './f0Backend.js';
import { F0Cache, f0KeyFor, f0KeyHash, type CachedF0, type F0Key } from './f0Cache.js';
import { finetune, type FinetuneObserver, type FinetuneResult } from './finetune.js';
import { ResidentDataset } from './inference.js';
import { createClassifier, describeModel, type Classifier } from './model.js';
import { pretrain, type PretrainProgress } from './pretrain.js';
import { priorPass } from './priorPass.js';

export interface DataSource {
  train: ImageDataset;
  test: ImageDataset;
  /** SHA-256 of the data's content. */
  fingerprint: string;
  /** Where it came from, for messages. */
  origin: string;
  /** The files it was read from, stamped before reading (for the fingerprint memo), if any. */
  stamps?: FileStamp[] | null;
}

export type DataLoader = (config: RunConfig) => DataSource;

export const loadConfiguredData: DataLoader = (config) => {
  const location = locateFashionMnist(config.dataDir);
  const { files } = location;
  const paths = [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
  const before = stampFiles(paths);
  const loaded = loadFashionMnist(config.dataDir, location);
  // The files read were stamped alike before and after the read: the fingerprint is theirs.
  const after = stampFiles(paths);
  const stamps = before && after && sameStamps(before, after) ? after : null;
  return { train: loaded.train, test: loaded.test, fingerprint: loaded.fingerprint, origin: loaded.dir, stamps };
};

export type Phase = 'loading-data' | 'pretraining' | 'prior-pass' | 'finetuning';

export interface ExperimentObserver extends FinetuneObserver {
  onStart?(info: {
    backend: BackendInfo;
    dataFingerprint: string;
    f0Key: string;
    model: string;
    /** The config as run: backend-dependent defaults resolved (what the history should store). */
    config: RunConfig;
  }): void;
  onPhase?(phase: Phase, message: string): void;
  onPretrainProgress?(p: PretrainProgress): void;
}

export interface ExperimentResult {
  status: Extract<RunStatus, 'finished' | 'cancelled'>;
  backend: BackendInfo;
  dataFingerprint: string;
  f0Key: string;
  prior: { pretrainTestAcc: number; finetuneTestAcc: number };
  final: { pretrainTestAcc: number; finetuneTestAcc: number; cdRate: number; rehearsalPrecision: number | null };
  series: EvalPoint[];
  compute: ComputeCounts;
  timing: TimeBreakdown;
  rehearsalCounts: Uint32Array;
  rehearsalLog: Int32Array;
  /** Per log entry, the sample's category when rehearsed (see FinetuneResult). */
  rehearsalCategories: Uint8Array;
  /** f0 came from the cache (no pretraining in this run). */
  f0Cached: boolean;
}

/**
 * What several runs in one process share: loaded data, built scenarios and f0s. A study holds
 * one context so that all its runs start from one f0 and one prior pass.
 */
export class ExperimentContext {
  private readonly data = new Map<string, DataSource>();
  private readonly scenarios = new Map<string, Scenario>();
  private readonly f0s = new Map<string, CachedF0>();
  private readonly disk: F0Cache | null;
  private readonly loadData: DataLoader;

  constructor(options: { cacheDir?: string | null; loadData?: DataLoader } = {}) {
    this.disk = options.cacheDir ? new F0Cache(options.cacheDir) : null;
    this.loadData = options.loadData ?? loadConfiguredData;
  }

  source(config: RunConfig): DataSource {
    const key = `${config.dataset}:${config.dataDir ?? ''}`;
    let source = this.data.get(key);
    if (!source) {
      source = this.loadData(config);
      this.data.set(key, source);
      // Tell the sample inspector which files this fingerprint belongs to, so it can trust them
      // later without decompressing and hashing them again (see data/fingerprintMemo.ts).
      if (this.disk && source.stamps) {
        const { train } = source;
        new FingerprintMemo(path.join(this.disk.dir, FINGERPRINT_MEMO)).remember({
          stamps: source.stamps,
          fingerprint: source.fingerprint,
          trainImageDims: [train.count, train.height, train.width],
        });
      }
    }
    return source;
  }

  scenario(config: RunConfig): { scenario: Scenario; source: DataSource } {
    const source = this.source(config);
    const key = `${source.fingerprint}:${config.scenario}`;
    let scenario = this.scenarios.get(key);
    if (!scenario) {
      scenario = buildScenario(config.scenario, source.train, source.test);
      this.scenarios.set(key, scenario);
    }
    return { scenario, source };
  }

  f0(key: F0Key): CachedF0 | null {
    const hash = f0KeyHash(key);
    const hit = this.f0s.get(hash) ?? this.disk?.load(key) ?? null;
    if (hit) this.f0s.set(hash, hit);
    return hit;
  }

  rememberF0(key: F0Key, entry: Omit<CachedF0, 'key'>): CachedF0 {
    const hash = this.disk ? this.disk.save(key, entry.weights, entry.prior, entry.pretrainSeconds) : f0KeyHash(key);
    const cached = { ...entry, key: hash };
    this.f0s.set(hash, cached);
    return cached;
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

interface Prepared {
  backend: BackendInfo;
  scenario: Scenario;
  source: DataSource;
  f0: CachedF0;
  f0Cached: boolean;
  /** Holds f0's weights. */
  model: Classifier;
  pretrainTest: ResidentDataset;
  finetuneTest: ResidentDataset;
  modelName: string;
  dispose(): void;
}

/**
 * Backend, data, scenario and f0 with its prior pass: pretrained here unless the context or
 * its disk cache has it. The caller disposes the returned tensors.
 */
async function prepare(config: RunConfig, context: ExperimentContext, observer: ExperimentObserver): Promise<Prepared> {
  const backend = await initBackend(config.backend, { allowSoftwareAdapter: config.allowSoftwareAdapter });
  observer.onPhase?.('loading-data', `Loading ${config.dataset} for scenario ${config.scenario}`);
  const { scenario, source } = context.scenario(config);
  const pretrainSet = scenario.pretrainTrain;
  const input = { height: pretrainSet.height, width: pretrainSet.width, channels: pretrainSet.channels };
  const modelName = describeModel(config.model, input, scenario.numClasses);
  // --f0-backend: f0 and its prior pass as another backend made them (see f0Backend.ts).
  const f0Backend = config.f0Backend ?? backend.backend;
  const key = f0KeyFor(config, source.fingerprint, f0Backend);
  if (f0Backend !== backend.backend && !context.f0(key)) {
    observer.onPhase?.('pretraining', `Pretraining f0 on the ${f0Backend} backend (--f0-backend)`);
    const made = await pretrainOnBackend(f0Backend, () => {
      const t0 = performance.now();
      const f0Model = createClassifier(config.model, input, scenario.numClasses, config.pretrain.seed);
      const sets = [scenario.pretrainTrain, scenario.pretrainTest, scenario.finetuneTest].map(
        (s) => new ResidentDataset(s),
      );
      try {
        pretrain(f0Model, pretrainSet, config.pretrain, observer.onPretrainProgress, observer.shouldStop);
        const pretrainSeconds = seconds(t0);
        observer.onPhase?.('prior-pass', `Prior pass: f0 over the pretrain set on ${f0Backend}`);
        const prior = priorPass(f0Model, sets[0], sets[1], sets[2]);
        return { weights: f0Model.getWeights(), prior, pretrainSeconds };
      } finally {
        f0Model.dispose();
        sets.forEach((s) => s.dispose());
      }
    });
    context.rememberF0(key, made);
  }
  const model = createClassifier(config.model, input, scenario.numClasses, config.pretrain.seed);
  const pretrainTest = new ResidentDataset(scenario.pretrainTest);
  const finetuneTest = new ResidentDataset(scenario.finetuneTest);
  const dispose = () => {
    model.dispose();
    pretrainTest.dispose();
    finetuneTest.dispose();
  };
  try {
    let f0 = context.f0(key);
    const f0Cached = f0 !== null;
    if (!f0) {
      observer.onPhase?.('pretraining', `Pretraining f0 (${modelName}) for ${config.pretrain.epochs} epochs`);
      const t0 = performance.now();
      pretrain(model, pretrainSet, config.pretrain, observer.onPretrainProgress, observer.shouldStop);
      const pretrainSeconds = seconds(t0);
      observer.onPhase?.('prior-pass', 'Prior pass: f0 over the pretrain set');
      const pretrainTrain = new ResidentDataset(pretrainSet);
      try {
        const prior = priorPass(model, pretrainTrain, pretrainTest, finetuneTest);
        f0 = context.rememberF0(key, { weights: model.getWeights(), prior, pretrainSeconds });
      } finally {
        pretrainTrain.dispose();
      }
    } else {
      model.setWeights(f0.weights);
    }
    return { backend, scenario, source, f0, f0Cached, model, pretrainTest, finetuneTest, modelName, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** Make sure f0 and its prior pass exist (pretraining if needed), e.g. before parallel runs. */
export async function ensureF0(
  config: RunConfig,
  context: ExperimentContext,
  observer: ExperimentObserver = {},
): Promise<{ backend: BackendInfo; f0Key: string; f0Cached: boolean; prior: ExperimentResult['prior'] }> {
  const prepared = await prepare(config, context, observer);
  prepared.dispose();
  const { pretrainTestAcc, finetuneTestAcc } = prepared.f0.prior;
  return {
    backend: prepared.backend,
    f0Key: prepared.f0.key,
    f0Cached: prepared.f0Cached,
    prior: { pretrainTestAcc, finetuneTestAcc },
  };
}

export async function runExperiment(
  config: RunConfig,
  context: ExperimentContext,
  observer: ExperimentObserver = {},
): Promise<ExperimentResult> {
  const started = performance.now();
  const { backend, scenario, source, f0, f0Cached, model, pretrainTest, finetuneTest, modelName, dispose } =
    await prepare(config, context, observer);
  const pretrainSet = scenario.pretrainTrain;
  try {
    config = resolveBackendDefaults(config, backend.backend);
    observer.onStart?.({ backend, dataFingerprint: source.fingerprint, f0Key: f0.key, model: modelName, config });

    const index: PretrainIndex = {
      size: pretrainSet.count,
      numClasses: scenario.numClasses,
      labels: pretrainSet.labels,
      priorLoss: f0.prior.priorLoss,
      priorCorrect: f0.prior.priorCorrect,
      groups: pretrainSet.groups,
    };
    const strategy = createStrategy(config.rehearsal, index, config.seed);
    const setup = seconds(started);
    observer.onPhase?.(
      'finetuning',
      `Finetuning for ${config.finetune.steps} steps with ${config.rehearsal.strategy} rehearsal`,
    );
    const result: FinetuneResult = finetune({
      config,
      model,
      scenario,
      prior: f0.prior,
      strategy,
      pretrainTest,
      finetuneTest,
      observer,
    });
    const last = result.series[result.series.length - 1];
    const wall = seconds(started);
    return {
      status: result.status,
      backend,
      dataFingerprint: source.fingerprint,
      f0Key: f0.key,
      prior: { pretrainTestAcc: f0.prior.pretrainTestAcc, finetuneTestAcc: f0.prior.finetuneTestAcc },
      final: {
        pretrainTestAcc: last.pretrainTestAcc,
        finetuneTestAcc: last.finetuneTestAcc,
        cdRate: last.cdRate,
        rehearsalPrecision: result.verdicts.rehearsed ? result.verdicts.damaged / result.verdicts.rehearsed : null,
      },
      series: result.series,
      compute: { ...result.compute, wallSeconds: wall },
      timing: {
        setup,
        train: result.seconds.train,
        evaluation: result.seconds.evaluation,
        sampler: result.seconds.sampler,
        extraInference: result.seconds.extraInference,
        store: result.seconds.observer,
      },
      rehearsalCounts: result.rehearsalCounts,
      rehearsalLog: result.rehearsalLog,
      rehearsalCategories: result.rehearsalCategories,
      f0Cached,
    };
  } finally {
    dispose();
  }
}
