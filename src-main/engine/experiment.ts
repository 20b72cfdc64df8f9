// One experiment from config to measured result: data -> scenario -> f0 (cached) -> prior pass
// (cached) -> finetune with rehearsal. Storage is the caller's business (the observer), so the
// same code serves the CLI, a trainer process and tests.
import path from 'node:path';
import { modelNeedsCheck, type RunConfig } from '../../shared/config.js';
import type { RunPhase } from '../../shared/contract.js';
import type {
  ComputeCounts,
  ContinualSummary,
  EvalPoint,
  RunStatus,
  StageFinal,
  TimeBreakdown,
} from '../../shared/results.js';
import { runStages, type MultiStageObserver } from './multiStage.js';
import { CHECKPOINT_FORMAT, type EngineState, type RunCheckpoint } from './checkpoint.js';
import { DataError, type ImageDataset } from '../data/dataset.js';
import { computeUnits, forwardFlopsPerSample, resolveRehearsal } from '../../shared/computeBudget.js';
import { loadFashionMnist, locateFashionMnist } from '../data/fashionMnist.js';
import { FINGERPRINT_MEMO, FingerprintMemo, sameStamps, stampFiles, type FileStamp } from '../data/fingerprintMemo.js';
import { buildScenario, type Scenario } from '../data/scenarios.js';
import { loadFileScenario, type FileScenarioData } from '../data/scenarioFile.js';
import { createStrategy } from '../sampler/index.js';
import type { PretrainIndex } from '../sampler/strategy.js';
import { initBackend, type BackendInfo } from './backend.js';
import { resolveBackendDefaults } from './backendDefaults.js';
import { pretrainOnBackend } from './f0Backend.js';
import { F0Cache, f0KeyFor, f0KeyHash, type CachedF0, type F0Key } from './f0Cache.js';
import { finetune, type FinetuneObserver, type FinetuneResult, type FinetuneState } from './finetune.js';
import { ResidentDataset } from './inference.js';
import { createClassifier, describeModel, type Classifier } from './model.js';
import { readModelFile, saveModel, toClassifier, type ImportedModel } from './modelFile.js';
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

/** The run's phases as the page shows them (RUN_PHASES in shared/contract.ts). */
export type Phase = RunPhase;

export interface ExperimentObserver extends Omit<FinetuneObserver, 'onCheckpoint'> {
  /**
   * The run's checkpoint after every evaluation but the last, and when shouldStop() stops the run
   * (before it returns cancelled): write it with writeCheckpoint, resume with runExperiment's
   * `resume` option. Called synchronously inside the loop; its time counts as the observer's.
   */
  onCheckpoint?(cp: RunCheckpoint): void;
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
  /** The finetuned model before it is released (e.g. to save it); not called for a cancelled run. */
  onFinalModel?(model: Classifier): void;
}

export interface RunOptions {
  /** Copied into every checkpoint as `identity`; opaque to the engine ('' when not given). */
  identity?: string;
  /**
   * Continue from this checkpoint instead of step 0: data, f0 and backend are prepared as usual,
   * then the loop goes on from the checkpoint's step. Its config (as resolved), backend, data and
   * f0 must be this run's. The result covers the whole run.
   */
  resume?: RunCheckpoint | null;
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
  /** Multi-stage runs only (a scenario file with several stages). */
  multiStage?: { stages: StageFinal[]; continual: ContinualSummary };
}

/**
 * What several runs in one process share: loaded data, built scenarios and f0s. A study holds
 * one context so that all its runs start from one f0 and one prior pass.
 */
export class ExperimentContext {
  private readonly data = new Map<string, DataSource>();
  private readonly scenarios = new Map<string, Scenario>();
  private readonly fileScenarios = new Map<string, FileScenarioData>();
  private readonly f0s = new Map<string, CachedF0>();
  private readonly disk: F0Cache | null;
  private readonly loadData: DataLoader;

  get cacheDir(): string | null {
    return this.disk?.dir ?? null;
  }

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

  /** Loads a scenario file's datasets (async: image folders and CSVs stream) before scenario() is asked. */
  async preload(config: RunConfig): Promise<void> {
    if (!config.scenarioFile) return;
    const key = JSON.stringify([config.scenarioFile.spec, config.scenarioFile.path, config.dataDir ?? '']);
    if (this.fileScenarios.has(key)) return;
    const loaded = await loadFileScenario(config.scenarioFile.spec, config.scenarioFile.path, config.dataDir);
    this.fileScenarios.set(key, loaded);
  }

  /** The scenario file's data loaded by preload(), with its sources' fingerprints. */
  fileScenario(config: RunConfig): FileScenarioData | null {
    if (!config.scenarioFile) return null;
    const key = JSON.stringify([config.scenarioFile.spec, config.scenarioFile.path, config.dataDir ?? '']);
    const loaded = this.fileScenarios.get(key);
    if (!loaded) throw new Error('ExperimentContext.preload(config) must run before the scenario file is used.');
    return loaded;
  }

  scenario(config: RunConfig): { scenario: Scenario; source: DataSource } {
    const file = this.fileScenario(config);
    if (file) {
      const { scenario, fingerprint, sources } = file;
      const origin = sources.map((s) => s.origin).join(', ');
      return { scenario, source: { train: scenario.pretrainTrain, test: scenario.pretrainTest, fingerprint, origin } };
    }
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
async function prepare(
  config: RunConfig,
  context: ExperimentContext,
  observer: ExperimentObserver,
  options: { cachedOnly?: boolean } = {},
): Promise<Prepared> {
  const backend = await initBackend(config.backend, { allowSoftwareAdapter: config.allowSoftwareAdapter });
  // An imported f0 (--model-file) is read and checked before anything else is built.
  const imported: ImportedModel | null = config.model.arch === 'file' ? await readModelFile(config.model.path) : null;
  observer.onPhase?.(
    'loading-data',
    config.scenarioFile
      ? `Loading the data of scenario file ${config.scenarioFile.path}`
      : `Loading ${config.dataset} for scenario ${config.scenario}`,
  );
  await context.preload(config);
  const { scenario, source } = context.scenario(config);
  const pretrainSet = scenario.pretrainTrain;
  const input = { height: pretrainSet.height, width: pretrainSet.width, channels: pretrainSet.channels };
  const modelName = describeModel(config.model, input, scenario.numClasses);
  // --f0-backend: f0 and its prior pass as another backend made them (see f0Backend.ts).
  const f0Backend = config.f0Backend ?? backend.backend;
  const key = f0KeyFor(config, source.fingerprint, f0Backend, imported?.fingerprint);
  if (!imported && f0Backend !== backend.backend && !context.f0(key)) {
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
  const model = imported
    ? toClassifier(imported, config.model, input, scenario.numClasses)
    : createClassifier(config.model, input, scenario.numClasses, config.pretrain.seed);
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
    if (!f0 && options.cachedOnly && !imported) {
      throw new Error(`f0 (${modelName}) is no longer in the f0 cache ${context.cacheDir ?? ''}.`);
    }
    if (!f0) {
      let pretrainSeconds = 0;
      if (!imported) {
        observer.onPhase?.('pretraining', `Pretraining f0 (${modelName}) for ${config.pretrain.epochs} epochs`);
        const t0 = performance.now();
        pretrain(model, pretrainSet, config.pretrain, observer.onPretrainProgress, observer.shouldStop);
        pretrainSeconds = seconds(t0);
      }
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
    model.resetDropoutDraws();
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
  options: RunOptions = {},
): Promise<ExperimentResult> {
  const started = performance.now();
  const { backend, scenario, source, f0, f0Cached, model, pretrainTest, finetuneTest, modelName, dispose } =
    await prepare(config, context, observer);
  const pretrainSet = scenario.pretrainTrain;
  const resume = options.resume ?? null;
  // A resumed run's wall time and setup include its earlier segments'.
  const earlierWall = resume?.wallSeconds ?? 0;
  const earlierSetup = resume?.setupSeconds ?? 0;
  try {
    config = resolveBackendDefaults(config, backend.backend);
    const multi = Boolean(scenario.stages && scenario.stages.length > 1);
    if (resume) {
      const mismatch = checkpointMismatch(resume, {
        config,
        backend: backend.backend,
        dataFingerprint: source.fingerprint,
        f0Key: f0.key,
        kind: multi ? 'multi-stage' : 'finetune',
      });
      if (mismatch) throw new Error(`This checkpoint cannot resume the run: ${mismatch}.`);
    }
    observer.onStart?.({ backend, dataFingerprint: source.fingerprint, f0Key: f0.key, model: modelName, config });
    const loopObserver = {
      onProgress: observer.onProgress?.bind(observer),
      onEval: observer.onEval?.bind(observer),
      shouldStop: observer.shouldStop?.bind(observer),
    };
    let setup = 0;
    const checkpointOf = (engine: EngineState, step: number, totalSteps: number, series: EvalPoint[]) =>
      ({
        format: CHECKPOINT_FORMAT,
        identity: options.identity ?? '',
        savedAt: new Date().toISOString(),
        config,
        backend: backend.backend,
        dataFingerprint: source.fingerprint,
        f0Key: f0.key,
        step,
        totalSteps,
        series,
        wallSeconds: earlierWall + seconds(started),
        setupSeconds: earlierSetup + setup,
        engine,
      }) satisfies RunCheckpoint;
    const onCheckpoint = observer.onCheckpoint?.bind(observer);
    if (multi) {
      const stages = scenario.stages!;
      setup = seconds(started);
      observer.onPhase?.(
        'finetuning',
        `Finetuning ${stages.length} stages with ${config.rehearsal.strategy} rehearsal`,
      );
      const steps = config.finetune.steps;
      const stageObserver: MultiStageObserver = {
        ...loopObserver,
        onCheckpoint:
          onCheckpoint &&
          ((state) =>
            onCheckpoint(
              checkpointOf(
                { kind: 'multi-stage', stages: state },
                state.stage * steps + state.loop.step,
                stages.length * steps,
                state.series,
              ),
            )),
      };
      const out = runStages({
        config,
        model,
        scenario,
        f0Prior: f0.prior,
        pretrainTest,
        firstStageTest: finetuneTest,
        observer: stageObserver,
        sources: context.fileScenario(config)?.sources ?? [],
        resume: resume?.engine.kind === 'multi-stage' ? resume.engine.stages : null,
      });
      const lastStage = out.stages[out.stages.length - 1];
      return {
        status: out.status,
        backend,
        dataFingerprint: source.fingerprint,
        f0Key: f0.key,
        prior: { pretrainTestAcc: f0.prior.pretrainTestAcc, finetuneTestAcc: f0.prior.finetuneTestAcc },
        final: {
          pretrainTestAcc: lastStage.pretrainTestAcc,
          finetuneTestAcc: lastStage.finetuneTestAcc,
          cdRate: lastStage.cdRate,
          rehearsalPrecision: out.verdicts.rehearsed ? out.verdicts.damaged / out.verdicts.rehearsed : null,
        },
        series: out.series,
        compute: { ...out.compute, wallSeconds: earlierWall + seconds(started) },
        timing: {
          setup: earlierSetup + setup,
          train: out.seconds.train,
          evaluation: out.seconds.evaluation,
          sampler: out.seconds.sampler,
          extraInference: out.seconds.extraInference,
          store: out.seconds.observer,
        },
        rehearsalCounts: out.rehearsalCounts,
        rehearsalLog: out.rehearsalLog,
        rehearsalCategories: out.rehearsalCategories,
        f0Cached,
        multiStage: { stages: out.stages, continual: out.continual },
      };
    }

    const index: PretrainIndex = {
      size: pretrainSet.count,
      numClasses: scenario.numClasses,
      labels: pretrainSet.labels,
      priorLoss: f0.prior.priorLoss,
      priorCorrect: f0.prior.priorCorrect,
      groups: pretrainSet.groups,
    };
    if (config.rehearsal.strategy === 'mix-cd' && config.rehearsal.mixCd.rule === 'group' && !index.groups)
      throw new DataError(
        `mix-cd's partition rule "group" needs a group column, but the pretrain ` +
          'set of ' +
          (config.scenarioFile ? `scenario file ${config.scenarioFile.path} ` : `scenario ${config.scenario} `) +
          `(${source.origin}) has none; use a dataset with a group column (CSV "groupColumn", ` +
          `npy group file) or another --rule.`,
      );
    // Equal-compute runs: m and the scored pools resolved from rehearsal.computeBudget.
    const resolved = resolveRehearsal(config);
    const strategy = createStrategy(resolved.rehearsal, index, config.seed);
    setup = seconds(started);
    observer.onPhase?.(
      'finetuning',
      resume
        ? `Finetuning from step ${resume.step} of ${config.finetune.steps} (resumed) with ` +
            `${config.rehearsal.strategy} rehearsal`
        : `Finetuning for ${config.finetune.steps} steps with ${config.rehearsal.strategy} rehearsal`,
    );
    const totalSteps = config.finetune.steps;
    const result: FinetuneResult = finetune({
      config,
      model,
      scenario,
      prior: f0.prior,
      strategy,
      pretrainTest,
      finetuneTest,
      resume: resume?.engine.kind === 'finetune' ? resume.engine.loop : null,
      observer: {
        ...loopObserver,
        onCheckpoint:
          onCheckpoint &&
          ((loop: FinetuneState) =>
            onCheckpoint(checkpointOf({ kind: 'finetune', loop }, loop.step, totalSteps, loop.series))),
      },
    });
    if (result.status === 'finished') observer.onFinalModel?.(model);
    const last = result.series[result.series.length - 1];
    const input = { height: pretrainSet.height, width: pretrainSet.width, channels: pretrainSet.channels };
    const flopsPerSample = forwardFlopsPerSample(config.model, input, scenario.numClasses);
    const wall = earlierWall + seconds(started);
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
      compute: {
        ...result.compute,
        wallSeconds: wall,
        units: computeUnits(result.compute),
        ...(flopsPerSample === undefined
          ? {}
          : { flops: computeUnits(result.compute) * flopsPerSample, forwardFlopsPerSample: flopsPerSample }),
        priorPassForwardPasses: pretrainSet.count,
        resolved: {
          computeBudget: resolved.computeBudget,
          m: resolved.m,
          // oracle-cd over all candidates: the number scored per refresh.
          pool:
            resolved.pool === 0 && config.rehearsal.strategy === 'oracle-cd'
              ? result.compute.extraForwardPasses /
                Math.max(1, Math.ceil(config.finetune.steps / config.rehearsal.oracleCd.refreshEvery))
              : resolved.pool,
          unitsPerStep: config.finetune.steps
            ? computeUnits(result.compute) / config.finetune.steps
            : resolved.unitsPerStep,
          referenceUnitsPerStep: resolved.referenceUnitsPerStep,
        },
      },
      timing: {
        setup: earlierSetup + setup,
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

/** The value at a dotted path where two JSON values first differ, or null when they are equal. */
function firstDifference(a: unknown, b: unknown, at: string): string | null {
  if (a === b) return null;
  const objects = typeof a === 'object' && a !== null && typeof b === 'object' && b !== null;
  if (!objects || Array.isArray(a) !== Array.isArray(b)) return at || '(the whole config)';
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort()) {
    const found = firstDifference(ra[key], rb[key], at ? `${at}.${key}` : key);
    if (found) return found;
  }
  return null;
}

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;

/**
 * Why a checkpoint cannot continue this run (a clause: what differs), or null when it can: the
 * config as resolved, the backend, the data and f0 must be the checkpoint's.
 */
export function checkpointMismatch(
  cp: RunCheckpoint,
  run: {
    config: RunConfig;
    backend: string;
    dataFingerprint: string;
    f0Key: string;
    kind: EngineState['kind'];
  },
): string | null {
  const differs = firstDifference(asJson(cp.config), asJson(run.config), '');
  if (differs) return `it was made with another config (${differs} differs)`;
  if (cp.backend !== run.backend) return `it was made on the ${cp.backend} backend, this run uses ${run.backend}`;
  if (cp.dataFingerprint !== run.dataFingerprint) return 'it was made on other data (the data fingerprint differs)';
  if (cp.f0Key !== run.f0Key) return `it was made from another f0 (${cp.f0Key}, this run's is ${run.f0Key})`;
  if (cp.engine.kind !== run.kind) return `it is of a ${cp.engine.kind} run, this run is ${run.kind}`;
  return null;
}

/**
 * Check that the configured model can be built for the data (an imported file is read in full
 * and checked), before a run is stored: a bad model file is one sentence and nothing stored.
 */
export async function checkModel(config: RunConfig, context: ExperimentContext): Promise<void> {
  if (!modelNeedsCheck(config.model)) return;
  await initBackend(config.backend);
  const imported = config.model.arch === 'file' ? await readModelFile(config.model.path) : null;
  const { scenario } = context.scenario(config);
  const set = scenario.pretrainTrain;
  const input = { height: set.height, width: set.width, channels: set.channels };
  const model = imported
    ? toClassifier(imported, config.model, input, scenario.numClasses)
    : createClassifier(config.model, input, scenario.numClasses, config.pretrain.seed);
  model.dispose();
}

/** Write f0 of this config (from the f0 cache, or the imported file) as a LayersModel in dir. */
export async function exportF0(config: RunConfig, context: ExperimentContext, dir: string): Promise<string> {
  const prepared = await prepare(config, context, {}, { cachedOnly: true });
  try {
    return saveModel(prepared.model, dir);
  } finally {
    prepared.dispose();
  }
}
