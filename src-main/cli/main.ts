// `mixcd`: the workbench's command line. Every command works on the same history the desktop
// app uses (MIXCD_DB / --db override it).
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import {
  BACKENDS,
  ConfigError,
  OPTIMIZERS,
  PARTITION_RULES,
  SCENARIOS,
  STRATEGIES,
  DEFAULT_RUN_CONFIG,
  MIXCD_PRESETS,
  normaliseRunConfig,
  modelNeedsCheck,
  scenarioNameOf,
  type RunConfig,
} from '../../shared/config.js';
import { resolveRehearsal } from '../../shared/computeBudget.js';
import type { RunSummary } from '../../shared/results.js';
import { RequestError } from '../../shared/contract.js';
import { DataError } from '../data/dataset.js';
import { HistoryError } from '../store/errors.js';
import { defaultHistoryPath, openHistory, openHistoryReadOnly, type History } from '../store/database.js';
import {
  BOOLEAN_FLAGS,
  CONFIG_FLAGS,
  configFromFlags,
  configFromObject,
  kebab,
  readConfigFile,
  type ConfigFlag,
} from './configFromFlags.js';
import { isStudyFile } from '../../shared/export/configs.js';
import { defineExportCommand } from './export.js';
import { defineDatasetsCommand, defineScenariosCommand } from './datasets.js';
import { fixed, formatTable } from './table.js';
import { expandGrid, formatStudyTable, parseGrid, studyJson, type StudyGrid } from './study.js';
import { studyTable } from '../../shared/studyTable.js';
import { errorMessage } from '../../shared/errors.js';
import { provenanceLine } from '../../shared/provenance.js';
// --- Slurm (issue 14 part 3): the hooks into src-main/cli/cluster.ts are the lines marked "Slurm hook".
import * as cluster from './cluster.js';

/** Exit codes: 0 done, 1 the work failed, 2 the command line or config was wrong. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

interface CommonOptions {
  db?: string;
  json?: boolean;
  quiet?: boolean;
  keepCheckpoints?: boolean;
}

function historyPath(options: CommonOptions): string {
  return options.db ? path.resolve(options.db) : defaultHistoryPath();
}

/** f0s live beside the history unless MIXCD_CACHE_DIR says otherwise. */
function cacheDir(dbFile: string): string {
  return process.env.MIXCD_CACHE_DIR ?? path.join(path.dirname(dbFile), 'f0-cache');
}

/** For commands that only read: opened read-only, so a mistyped --db creates nothing. */
function withHistory<T>(options: CommonOptions, use: (history: History, file: string) => T): T {
  const file = historyPath(options);
  const history = openHistoryReadOnly(file);
  try {
    return use(history, file);
  } finally {
    history.close();
  }
}

/** The default of a config flag as it would be typed (lists comma-separated); undefined when none. */
function defaultOf(flag: ConfigFlag): string | undefined {
  let value: unknown = DEFAULT_RUN_CONFIG;
  for (const key of CONFIG_FLAGS[flag]) value = (value as Record<string, unknown> | undefined)?.[key];
  if (value === undefined) return flag === 'filters' ? '16,32 (with --model cnn)' : undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The package's version (package.json beside dist/ or the sources). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mixcd-workbench') return pkg.version ?? '0.0.0';
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

function addRunFlags(command: Command): Command {
  const help: Record<ConfigFlag, string> = {
    scenario:
      `pretrain/finetune scenario: ${SCENARIOS.join(', ')}, a scenario file, ` +
      `or a shipped one's name (mixcd scenarios)`,
    model: 'model architecture: mlp or cnn',
    hidden: 'MLP hidden widths, e.g. 256,256',
    filters: 'CNN filters per conv block, e.g. 16,32',
    backend: `tfjs backend: ${BACKENDS.join(', ')}`,
    dataDir: "folder with the four Fashion-MNIST IDX files (default: Debian's dataset-fashion-mnist)",
    seed: 'finetune seed (batch order, rehearsal draws)',
    pretrainEpochs: 'epochs of pretraining for f0',
    pretrainSeed: 'seed of f0 (runs with the same pretrain seed share f0)',
    steps: 'finetune steps',
    batchSize: 'finetune samples per step (B)',
    lr: 'finetune learning rate',
    optimizer: `finetune optimizer: ${OPTIMIZERS.join(', ')}`,
    momentum: 'momentum of the momentum optimizer',
    evalEvery: 'evaluate every E steps (and at step 0)',
    strategy: `rehearsal strategy: ${STRATEGIES.join(', ')}`,
    budget: 'rehearsal ratio r = m / B',
    feedbackDelay: "hand the sampler each step's verdicts 0 or 1 steps late",
    probe: 'diagnostic probe subset size (true CD per bin; not budget)',
    rule: `mix-cd partition rule: ${PARTITION_RULES.join(', ')}`,
    bins: 'mix-cd loss-quantile bins K (per class for class-loss)',
    candidates: 'mix-cd candidates: prior-correct or all',
    prior: 'mix-cd prior: pooled or fixed',
    priorRate: 'mix-cd fixed prior CD rate',
    priorStrength: 'mix-cd prior strength a',
    gamma: 'mix-cd per-step decay of the counts',
    epsilon: 'mix-cd share of size-proportional draws',
    refreshEvery: 'oracle-cd: refresh the true CD set every R steps',
    pool: 'oracle-cd: candidate pool size (0 = all candidates)',
    poolFactor: 'loss-based: score a random pool of c * m samples',
    modelFile: 'use this TensorFlow.js LayersModel (PATH/model.json + weight shards) as f0 instead of pretraining one',
    modelSpec:
      'declared architecture to pretrain: a JSON list of layer specs, or a model.json topology (weights unused)',
    trainLast: 'finetune only the last K weighted layers (the rest stay frozen as in f0)',
    freezeLayers: 'comma-separated layer names to keep frozen while finetuning',
    headLr: 'learning rate of the head (the last weighted layer); --lr applies to the rest',
    weightDecay: 'weight decay: L2 for sgd/momentum/adam, decoupled for adamw',
    computeBudget: 'equal compute: resolve m per strategy so each step costs what random mixing costs at r = R',
    mirPoolFactor: 'mir: score a random pool of c * m samples before and after a virtual SGD step',
    f0Backend: 'start from the f0 this backend pretrained (pretrained there first if missing), e.g. wasm',
    allowSoftwareAdapter: 'webgpu may use a software adapter (llvmpipe; slow, for tests)',
  };
  for (const flag of Object.keys(CONFIG_FLAGS) as ConfigFlag[]) {
    // The default is shown, not set: a commander default would override the --config file.
    if (BOOLEAN_FLAGS.has(flag)) {
      command.addOption(new Option(`--${kebab(flag)}`, help[flag]));
      continue;
    }
    const fallback = defaultOf(flag);
    command.addOption(
      new Option(
        `--${kebab(flag)} <value>`,
        fallback === undefined ? help[flag] : `${help[flag]} (default: ${fallback})`,
      ),
    );
  }
  return command
    .option('--config <file>', 'JSON run config (flags override it)')
    .option(
      '--preset <name>',
      `mix-cd settings by name, under the flags: ${Object.keys(MIXCD_PRESETS).join(', ')} ` +
        `(prior strength 0, gamma 1, epsilon 0: the plain per-bin ratio)`,
    )
    .option('--db <file>', 'history database (default: MIXCD_DB or the app-data folder)')
    .option('--json', 'print the run summary as JSON on stdout')
    .option('--keep-checkpoints', "keep each run's last checkpoint after it finishes (default: removed)")
    .option('-q, --quiet', 'no progress output');
}

function flagValues(options: Record<string, unknown>): Partial<Record<ConfigFlag, string>> {
  const out: Partial<Record<ConfigFlag, string>> = {};
  for (const flag of Object.keys(CONFIG_FLAGS) as ConfigFlag[]) {
    if (typeof options[flag] === 'string') out[flag] = options[flag] as string;
    if (options[flag] === true && BOOLEAN_FLAGS.has(flag)) out[flag] = 'true';
  }
  return out;
}

function progressMode(options: CommonOptions): 'bar' | 'lines' | 'quiet' {
  if (options.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

export function runSummaryLines(run: RunSummary): string {
  const rows: [string, string][] = [
    ['run', `${run.id} (${run.status})`],
    [
      'scenario / strategy',
      `${scenarioNameOf(run.config)} / ${run.config.rehearsal.strategy} at r = ${run.config.rehearsal.budget}`,
    ],
    ['seed / pretrain seed', `${run.config.seed} / ${run.config.pretrain.seed}`],
    [
      'steps / lr / optimizer',
      `${run.config.finetune.steps} / ${run.config.finetune.optimizer.lr} / ${run.config.finetune.optimizer.name}`,
    ],
    ['backend', `${run.backend} — ${run.device}`],
    ['data fingerprint', run.dataFingerprint],
    ['f0 pretrain-test / finetune-test', `${fixed(run.prior.pretrainTestAcc)} / ${fixed(run.prior.finetuneTestAcc)}`],
    [
      'final pretrain-test / finetune-test',
      `${fixed(run.final.pretrainTestAcc)} / ${fixed(run.final.finetuneTestAcc)}`,
    ],
    ['final CD rate', fixed(run.final.cdRate)],
    // final.rehearsalPrecision covers the whole run; each series point covers only the steps since
    // the previous evaluation (README, "The JSON summary"): two different numbers, named apart.
    ['rehearsal precision (whole run)', fixed(run.final.rehearsalPrecision)],
    [
      'forward / backward / extra passes',
      `${run.compute.forwardPasses} / ${run.compute.backwardPasses} / ${run.compute.extraForwardPasses}`,
    ],
    ['wall', `${run.compute.wallSeconds.toFixed(1)} s`],
  ];
  if (run.timing) {
    const t = run.timing;
    rows.push([
      'time: setup / train / eval / sampler / extra / store',
      [t.setup, t.train, t.evaluation, t.sampler, t.extraInference, t.store].map((s) => s.toFixed(2)).join(' / ') +
        ' s',
    ]);
  }
  if (run.identity) rows.push(['identity', run.identity]);
  if (run.provenance) rows.push(['ran with', provenanceLine(run.provenance)]);
  if (run.error) rows.push(['error', run.error]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

function seriesTable(run: RunSummary): string {
  if (run.continual) return `${accuracyMatrixTable(run)}\n\n${stagesSeriesTable(run)}`;
  return formatTable(
    ['step', 'pretrain-test', 'finetune-test', 'CD rate', 'precision since previous eval'],
    run.series.map((p) => [
      p.step,
      fixed(p.pretrainTestAcc),
      fixed(p.finetuneTestAcc),
      fixed(p.cdRate),
      fixed(p.rehearsalPrecision),
    ]),
  );
}

/** A multi-stage run's accuracy matrix (task x after stage j), with forgetting and the summaries. */
function accuracyMatrixTable(run: RunSummary): string {
  const c = run.continual!;
  const stages = c.accuracyMatrix[0]?.length ?? 0;
  const table = formatTable(
    ['task', 'f0', ...Array.from({ length: stages }, (_, j) => `after ${j + 1} (${c.taskNames[j + 1]})`), 'forgetting'],
    c.taskNames.map((task, i) => [
      task,
      fixed(c.initialAccuracy[i]),
      ...c.accuracyMatrix[i].map((a) => fixed(a)),
      fixed(c.forgetting[i]),
    ]),
  );
  return `${table}\naverage accuracy ${fixed(c.averageAccuracy)}, backward transfer ${fixed(c.backwardTransfer)}`;
}

/** Every task's accuracy at every eval of every stage (the retention curves). */
function stagesSeriesTable(run: RunSummary): string {
  const c = run.continual!;
  return formatTable(
    ['stage', 'step', ...c.taskNames],
    c.taskSeries.map((p) => [p.stage, p.step, ...p.accuracy.map((a) => fixed(a))]),
  );
}

async function runCommand(
  options: Record<string, unknown> &
    CommonOptions & { config?: string; preset?: string; study?: string; saveModel?: string; keepModel?: boolean },
): Promise<number> {
  if (cluster.wantsManifest(options)) return cluster.runManifestTask(options); // Slurm hook: an array task's run
  if (options.config && isStudyFile(readConfigFile(options.config)))
    throw new UsageError(
      `${options.config} is a study file ({ base, grid }): run it with \`mixcd study --config ${options.config}\`.`,
    );
  const config: RunConfig = normalised(configFromFlags(flagValues(options), options.config, options.preset));
  refuseUnavailable(config);
  const file = historyPath(options);
  const studyId = options.study === undefined ? null : parseId(options.study, 'Study');
  if (studyId !== null && !withHistoryIfExists(file, (h) => h.getStudy(studyId)))
    throw new UsageError(`There is no study ${studyId} in ${file}; \`mixcd study\` creates studies.`);
  // A backend, model file or declared spec that cannot work is refused before anything is stored.
  await checkBackend(config);
  await checkModelOf(config, file);
  const { runConfigs } = await import('./hostRun.js');
  const [run] = await runConfigs([config], {
    historyFile: file,
    cacheDir: cacheDir(file),
    progress: progressMode(options),
    keepCheckpoints: options.keepCheckpoints,
    studyId,
    // The final weights are kept only when asked (disk is the user's).
    modelDirs: (runId) => [
      ...(options.saveModel ? [path.resolve(options.saveModel)] : []),
      ...(options.keepModel ? [keptModelDir(file, runId)] : []),
    ],
  });
  return printRun(run, file, options);
}

/** `mixcd run` and `mixcd resume` print the same: the summary (JSON or table), then the exit code. */
async function printRun(run: RunSummary, file: string, options: CommonOptions): Promise<number> {
  const { stopSignal } = await import('./hostRun.js');
  if (options.json) process.stdout.write(JSON.stringify(run, null, 2) + '\n');
  else process.stdout.write(`${runSummaryLines(run)}\n\n${seriesTable(run)}\n\nStored in ${file}\n`);
  // A failed run is stored with its error, and said on stderr as every CLI error is.
  if (run.status === 'failed') process.stderr.write(`mixcd: run ${run.id} failed: ${run.error ?? 'unknown error'}\n`);
  if (run.status === 'cancelled' && !options.quiet)
    process.stderr.write(`mixcd: run ${run.id} was stopped; \`mixcd resume ${run.id}\` continues it.\n`);
  return exitCode(run.status === 'finished', stopSignal());
}

/** 0 when all finished; 128 + the signal's number when a signal stopped the runs; else 1. */
function exitCode(allFinished: boolean, signal: NodeJS.Signals | null): number {
  if (signal) return 128 + (os.constants.signals[signal] ?? 0);
  return allFinished ? 0 : EXIT_FAILED;
}

/** Reads an existing history (read-only); undefined when the file does not exist yet. */
function withHistoryIfExists<T>(file: string, use: (history: History) => T): T | undefined {
  if (!existsSync(file)) return undefined;
  const history = openHistoryReadOnly(file);
  try {
    return use(history);
  } finally {
    history.close();
  }
}

/**
 * A GPU backend asked for by name that cannot start on this machine is said in one sentence, with
 * exit code 2, before anything is stored (its trainer would only fail the run).
 */
async function checkBackend(config: RunConfig): Promise<void> {
  if (config.backend !== 'webgpu' && config.backend !== 'tensorflow') return;
  const { initBackend } = await import('../engine/backend.js');
  await initBackend(config.backend, { allowSoftwareAdapter: config.allowSoftwareAdapter });
}

/** An imported model or a declared layer list that cannot be built: refused before anything is stored. */
async function checkModelOf(config: RunConfig, file: string): Promise<void> {
  if (!modelNeedsCheck(config.model)) return; // mlp and cnn always fit; the engine is not loaded for them
  const { ExperimentContext, checkModel } = await import('../engine/experiment.js');
  await checkModel(config, new ExperimentContext({ cacheDir: cacheDir(file) }));
}

async function resumeCommand(idText: string, options: CommonOptions & { keepModel?: boolean }): Promise<number> {
  const id = parseId(idText);
  const file = historyPath(options);
  const run = withHistory(options, (history) => history.getRun(id));
  if (!run) throw new UsageError(`There is no run ${id} in ${file}; \`mixcd runs\` lists the runs there.`);
  if (run.status === 'finished') throw new UsageError(`Run ${id} is finished: there is nothing to resume.`);
  await checkBackend(run.config);
  const { resumeRuns } = await import('./hostRun.js');
  const [resumed] = await resumeRuns([id], {
    historyFile: file,
    cacheDir: cacheDir(file),
    progress: progressMode(options),
    keepCheckpoints: options.keepCheckpoints,
    modelDirs: (runId) => (options.keepModel ? [keptModelDir(file, runId)] : []),
  });
  return printRun(resumed, file, options);
}

/** A study file's base must be a run config object. */
function studyFileBase(base: unknown, file: string): Record<string, unknown> {
  if (typeof base !== 'object' || base === null || Array.isArray(base))
    throw new ConfigError(`Study file ${file}: "base" must be a JSON object of run settings.`, 'base');
  return base as Record<string, unknown>;
}

/** A study file's grid as the comma-separated lists the flags take (so one parser checks both). */
function studyFileGrid(grid: unknown, file: string): { strategies?: string; budgets?: string; seeds?: string } {
  if (typeof grid !== 'object' || grid === null || Array.isArray(grid))
    throw new ConfigError(`Study file ${file}: "grid" must be an object { strategies, budgets, seeds }.`, 'grid');
  const out: { strategies?: string; budgets?: string; seeds?: string } = {};
  for (const key of ['strategies', 'budgets', 'seeds'] as const) {
    const value = (grid as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.length)
      throw new ConfigError(`Study file ${file}: "grid.${key}" must be a non-empty list.`, `grid.${key}`);
    out[key] = value.map(String).join(',');
  }
  return out;
}

/**
 * Settings no data the CLI can load supports yet: said before anything is stored, instead of a run
 * that fails at its first step. The IDX loader reads images and labels only, so there is no group
 * column for mix-cd's `group` rule (generated data sets have one; README, "mix-cd's settings").
 */
function refuseUnavailable(config: RunConfig): void {
  // Scenario files may bring a group column (CSV, npy); the engine names their data when they do not.
  if (config.scenarioFile) return;
  if (config.rehearsal.strategy === 'mix-cd' && config.rehearsal.mixCd.rule === 'group')
    throw new UsageError(
      '--rule group needs a group column, and the Fashion-MNIST IDX files have ' +
        'none (the data loader reads images and labels only): use --rule class-loss, ' +
        'class or prior-loss.',
    );
}

/** Applies the shared normalisation and says each change on stderr (stdout stays the result). */
function normalised(config: RunConfig): RunConfig {
  const result = normaliseRunConfig(config);
  for (const note of result.notes) process.stderr.write(`mixcd: ${note}\n`);
  return result.config;
}

/** A study's grid flags replace the single-run ones; both at once would silently drop one. */
function refuseSingleRunFlags(options: Record<string, unknown>): void {
  const pairs: [string, string][] = [
    ['strategy', 'strategies'],
    ['budget', 'budgets'],
    ['seed', 'seeds'],
  ];
  if (options.strategy !== undefined)
    throw new UsageError(
      `--strategy "${String(options.strategy)}" is for \`mixcd run\`; a study ` +
        `takes --strategies (a comma-separated list).`,
    );
  for (const [single, list] of pairs.slice(1)) {
    if (options[single] !== undefined && options[list] !== undefined)
      throw new UsageError(`Give either --${single} or --${list} to a study, not both (--${list} is the grid).`);
  }
}

/** Where `run --keep-model` keeps a run's final model (beside the history). */
function keptModelDir(dbFile: string, runId: number): string {
  return path.join(path.dirname(dbFile), 'models', `run-${runId}`);
}

async function exportModelCommand(idText: string, dir: string, options: CommonOptions & { f0?: boolean }) {
  const id = parseId(idText);
  const file = historyPath(options);
  const run = withHistory(options, (history) => history.getRun(id));
  if (!run) throw new UsageError(`There is no run ${id} in ${file}; \`mixcd runs\` lists the runs there.`);
  const modelFile = await import('../engine/modelFile.js');
  let written: string;
  if (options.f0) {
    const { ExperimentContext, exportF0 } = await import('../engine/experiment.js');
    const context = new ExperimentContext({ cacheDir: cacheDir(file) });
    // f0 is keyed by the backend the run used.
    const backend = (BACKENDS as readonly string[]).includes(run.backend) ? run.backend : run.config.backend;
    written = await exportF0({ ...run.config, backend: backend as RunConfig['backend'] }, context, dir);
  } else {
    const kept = path.join(keptModelDir(file, id), 'model.json');
    written = modelFile.copyModel(kept, dir, () => {
      throw new UsageError(
        `Run ${id} kept no final model: re-run it with --keep-model (or --save-model DIR), or export its f0 with --f0.`,
      );
    });
  }
  if (!options.quiet) process.stdout.write(`Wrote ${written}\n`);
}

function parseJobs(text: unknown): number {
  const jobs = text === undefined ? 1 : Number(text);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
    throw new UsageError(`--jobs "${String(text)}" is not valid: give a whole number from 1 to 64.`);
  return jobs;
}

async function studyCommand(
  options: Record<string, unknown> &
    CommonOptions & {
      config?: string;
      preset?: string;
      strategies?: string;
      budgets?: string;
      computeBudgets?: string;
      seeds?: string;
      name?: string;
      jobs?: string;
      resume?: string;
      reuse?: boolean;
    },
): Promise<number> {
  if (options.resume !== undefined) {
    if (options.slurm)
      throw new UsageError(
        '--resume runs a study here; on a cluster, submit the study folder again (`sh DIR/submit.sh`): ' +
          'its tasks skip finished runs and resume stopped ones from their checkpoints.',
      );
    return resumeStudyCommand(options.resume, options);
  }
  refuseSingleRunFlags(options);
  // Every check of the command line before anything is written: a wrong value leaves no empty study.
  const jobs = parseJobs(options.jobs);
  // A study file ({ base, grid }: what `export --format configs` writes for several runs) gives the
  // base config and the grid; flags still override either.
  const raw = options.config ? readConfigFile(options.config) : undefined;
  const fileGrid = raw && isStudyFile(raw) ? studyFileGrid(raw.grid, options.config!) : undefined;
  const base: RunConfig =
    raw && isStudyFile(raw)
      ? configFromObject(flagValues(options), studyFileBase(raw.base, options.config!), options.preset)
      : configFromFlags(flagValues(options), options.config, options.preset);
  const grid = parseGrid(
    {
      strategies: options.strategies ?? fileGrid?.strategies,
      budgets: options.budgets ?? fileGrid?.budgets,
      computeBudgets: options.computeBudgets,
      seeds: options.seeds ?? fileGrid?.seeds,
    },
    base,
  );
  const configs = expandGrid(base, grid);
  configs.forEach(refuseUnavailable);
  for (const config of configs) resolveRehearsal(config); // a compute budget that fits no m: say so before running
  if (cluster.wantsSlurm(options)) return cluster.slurmStudy(options, { base, grid, configs }); // Slurm hook
  const file = historyPath(options);
  // A backend, model file or declared spec that cannot work: one sentence, and no empty study stored.
  await checkBackend(base);
  await checkModelOf(base, file);
  const { driveHost, call, stopSignal } = await import('./hostRun.js');
  let studyId = 0;
  // One host: the first run of the study pretrains f0, the others wait for it and load it.
  await driveHost(
    {
      historyFile: file,
      cacheDir: cacheDir(file),
      jobs,
      progress: progressMode(options),
      keepCheckpoints: options.keepCheckpoints,
    },
    async (host) => {
      const started = await call(host, 'studies.start', {
        base,
        strategies: grid.strategies,
        budgets: grid.budgets,
        seeds: grid.seeds,
        matched: grid.matched,
        reuse: options.reuse === true,
        name:
          options.name ??
          `${scenarioNameOf(base)}: ${grid.strategies.join(', ')} ` +
            `x ${grid.matched ? 'compute R' : 'r'} ${grid.budgets.join(', ')} x seeds ${grid.seeds.join(', ')}`,
      });
      studyId = started.studyId;
      if (started.reused?.length && !options.quiet)
        process.stderr.write(
          `Reused ${started.reused.length} finished identical runs (copied into study ${studyId} from runs ` +
            `${started.reused.map((r) => r.from).join(', ')}); running ${started.runIds.length}.\n`,
        );
      return started.runIds;
    },
  );
  return printStudy(studyId, file, options, configs.length, stopSignal());
}

/** The study's table (all its runs), then the exit code: 0 when every run of the grid finished. */
function printStudy(
  studyId: number,
  file: string,
  options: CommonOptions,
  expected: number,
  signal: NodeJS.Signals | null,
): number {
  const runs = withHistory({ db: file }, (history) =>
    history
      .listRuns({ studyId })
      .reverse()
      .map((r) => history.getRun(r.id)!),
  );
  if (options.json) process.stdout.write(JSON.stringify(studyJson(studyId, runs), null, 2) + '\n');
  else
    process.stdout.write(
      `\nStudy ${studyId} (${runs.length} runs, stored in ${file})\n${formatStudyTable(
        studyTable(runs),
        runs.some((r) => r.config.rehearsal.computeBudget !== undefined),
      )}\n`,
    );
  const finished = runs.filter((r) => r.status === 'finished').length;
  if (finished < expected && !options.quiet)
    process.stderr.write(
      `mixcd: ${finished} of the study's ${expected} runs finished; ` +
        `\`mixcd study --resume ${studyId}\` runs the rest (stopped runs continue from their checkpoints).\n`,
    );
  return exitCode(finished === expected, signal);
}

/** `mixcd study --resume ID`: only what the study is missing. */
async function resumeStudyCommand(idText: string, options: CommonOptions & { jobs?: string }): Promise<number> {
  const studyId = parseId(idText, 'Study');
  const jobs = parseJobs(options.jobs);
  const file = historyPath(options);
  const study = withHistory(options, (history) => history.getStudy<{ base: RunConfig; grid: StudyGrid }>(studyId));
  if (!study) throw new UsageError(`There is no study ${studyId} in ${file}; \`mixcd study\` creates studies.`);
  const { driveHost, call, stopSignal } = await import('./hostRun.js');
  let expected = 0;
  await driveHost(
    { historyFile: file, cacheDir: cacheDir(file), jobs, progress: progressMode(options) },
    async (host) => {
      const r = await call(host, 'studies.resume', { id: studyId });
      expected = r.resumed.length + r.started.length + r.finished.length + r.busy.length;
      if (!options.quiet)
        process.stderr.write(
          `Study ${studyId}: ${r.finished.length} runs finished already, resuming ${r.resumed.length}, ` +
            `starting ${r.started.length}` +
            (r.busy.length ? `, ${r.busy.length} still queued or running elsewhere (${r.busy.join(', ')})` : '') +
            '.\n',
        );
      return [...r.resumed, ...r.started];
    },
  );
  return printStudy(studyId, file, options, expected, stopSignal());
}

function parseId(text: string, what: 'Run' | 'Study' = 'Run'): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0)
    throw new UsageError(
      `${what} id "${text}" is not valid: give the number shown by \`mixcd ${what === 'Study' ? 'study' : 'runs'}\`.`,
    );
  return id;
}

export function buildProgram(): Command {
  const program = new Command('mixcd')
    .description('mix-cd workbench: finetuning experiments with rehearsal of the pretrain samples being forgotten')
    .showHelpAfterError('(run with --help for usage)')
    .version(packageVersion(), '-V, --version', 'print the version of mix-cd workbench')
    .exitOverride();

  addRunFlags(
    cluster
      .addManifestOptions(program.command('run')) // Slurm hook: --manifest, --index, --prepare-f0
      .description('run one finetuning experiment and store it in the history')
      .addOption(new Option('--study <id>', 'store the run as part of this study').hideHelp())
      .option('--save-model <dir>', 'write the finetuned model to DIR as a TensorFlow.js LayersModel')
      .option('--keep-model', 'keep the finetuned model beside the history for `mixcd export-model`'),
  ).action(async (options) => {
    process.exitCode = await runCommand(options);
  });

  addRunFlags(
    cluster
      .addSlurmOptions(program.command('study')) // Slurm hook: --slurm and its flags
      .description('run strategies x budgets x seeds from one f0, store them as one study, print the table')
      // No commander default: a study file's grid must be able to fill it (parseGrid defaults it).
      .option('--strategies <list>', `comma-separated: ${STRATEGIES.join(', ')} (default: none,random,mix-cd)`)
      .option('--budgets <list>', 'comma-separated rehearsal ratios r')
      .option(
        '--compute-budgets <list>',
        "comma-separated compute budgets R (equal compute: each strategy at random's cost at r = R)",
      )
      .option('--seeds <list>', 'comma-separated finetune seeds')
      .option('--name <text>', 'a name for the study')
      .option('--jobs <n>', 'runs in parallel, one process each (f0 is pretrained once first; default: 1)')
      .option(
        '--reuse',
        'copy finished runs of the history with the same identity (config, data, engine; named backend) ' +
          'into the study instead of running them again',
      )
      .option(
        '--resume <id>',
        'run only what study ID is missing: its stopped runs continue from their checkpoints, the rest start',
      ),
  ).action(async (options) => {
    process.exitCode = await studyCommand(options);
  });

  program
    .command('resume')
    .description(
      'continue a cancelled, failed or interrupted run from its last checkpoint; it ends with exactly the numbers ' +
        'of an uninterrupted run',
    )
    .argument('<id>', 'run id (see `mixcd runs`)')
    .option('--db <file>', 'history database')
    .option('--json', 'print the run summary as JSON on stdout (as `mixcd run --json`)')
    .option('--keep-model', 'keep the finetuned model beside the history for `mixcd export-model`')
    .option('--keep-checkpoints', "keep the run's last checkpoint after it finishes (default: removed)")
    .option('-q, --quiet', 'no progress output')
    .action(async (idText: string, options) => {
      process.exitCode = await resumeCommand(idText, options);
    });

  program
    .command('runs')
    .description('list the runs in the history, newest first')
    .option('--db <file>', 'history database')
    .option('--json', 'print as JSON')
    .option('--limit <n>', 'at most this many runs', '50')
    .option('--study <id>', 'only runs of this study')
    .action((options) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit <= 0)
        throw new UsageError(`--limit "${options.limit}" is not valid: give a positive whole number.`);
      const studyId = options.study !== undefined ? parseId(options.study, 'Study') : undefined;
      withHistory(options, (history, file) => {
        const runs = history.listRuns({ limit, studyId });
        if (options.json) return void process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
        if (!runs.length) return void process.stdout.write(`No runs yet in ${file}. Start one with \`mixcd run\`.\n`);
        process.stdout.write(
          formatTable(
            [
              'id',
              'created',
              'status',
              'scenario',
              'strategy',
              'budget',
              'seed',
              'steps',
              'lr',
              'backend',
              'pretrain-test',
              'finetune-test',
              'wall s',
            ],
            runs.map((r) => [
              r.id,
              r.createdAt.slice(0, 19).replace('T', ' '),
              r.status,
              scenarioNameOf(r.config),
              r.config.rehearsal.strategy,
              r.config.rehearsal.budget,
              r.config.seed,
              r.config.finetune.steps,
              r.config.finetune.optimizer.lr,
              r.backend || '-',
              fixed(r.final?.pretrainTestAcc),
              fixed(r.final?.finetuneTestAcc),
              r.compute ? r.compute.wallSeconds.toFixed(1) : '-',
            ]),
          ) + '\n',
        );
      });
    });

  program
    .command('show')
    .description('show one run with its series')
    .argument('<id>', 'run id (see `mixcd runs`)')
    .option('--db <file>', 'history database')
    .option('--json', 'print as JSON')
    .action((idText: string, options) => {
      const id = parseId(idText);
      withHistory(options, (history, file) => {
        const run = history.getRun(id);
        if (!run) throw new UsageError(`There is no run ${id} in ${file}; \`mixcd runs\` lists the runs there.`);
        if (options.json) process.stdout.write(JSON.stringify(run, null, 2) + '\n');
        else process.stdout.write(`${runSummaryLines(run)}\n\n${seriesTable(run)}\n`);
      });
    });

  program
    .command('mark-interrupted')
    .description(
      'store a run left queued or running by a process that is gone as failed (interrupted), so it can be deleted',
    )
    .argument('<id>', 'run id (see `mixcd runs`)')
    .option('--db <file>', 'history database')
    .action((idText: string, options: CommonOptions) => {
      const id = parseId(idText);
      const file = historyPath(options);
      // Read-only first: a mistyped --db creates nothing; then the one write, on the real file.
      openHistoryReadOnly(file).close();
      const history = openHistory(file);
      try {
        const status = history.getRunStatus(id);
        if (!status) throw new UsageError(`There is no run ${id} in ${file}; \`mixcd runs\` lists the runs there.`);
        try {
          history.markRunInterrupted(id);
        } catch (error) {
          if (error instanceof HistoryError && error.code === 'run-state') throw new UsageError(error.message);
          throw error;
        }
        process.stdout.write(`Run ${id} was ${status}; it is now stored as failed (interrupted).\n`);
      } finally {
        history.close();
      }
    });

  program
    .command('samples')
    .description(
      'the most rehearsed pretrain samples of a run, with class, mix-cd bin, prior loss and latest known category',
    )
    .argument('<id>', 'run id (see `mixcd runs`)')
    .option('--db <file>', 'history database')
    .option('--top <n>', 'how many samples, most rehearsed first', '20')
    .option('--json', 'print a JSON array of { index, count, class, bin, priorLoss, category }')
    .action(async (idText: string, options) => {
      const id = parseId(idText);
      const top = Number(options.top);
      if (!Number.isInteger(top) || top <= 0 || top > 100_000)
        throw new UsageError(`--top "${options.top}" is not valid: give a whole number from 1 to 100000.`);
      // Loaded on demand, like the engine: the inspector reads data files and the f0 cache.
      const { samplesCommand } = await import('./samples.js');
      const file = historyPath(options);
      const history = openHistoryReadOnly(file);
      try {
        if (!history.getRunStatus(id))
          throw new UsageError(`There is no run ${id} in ${file}; \`mixcd runs\` lists the runs there.`);
        await samplesCommand(history, cacheDir(file), id, top, Boolean(options.json));
      } finally {
        history.close();
      }
    });

  program
    .command('serve')
    .description('serve the workbench to a browser on this machine (prints its address with the access token)')
    .option('--port <n>', 'port to listen on (default: any free port)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1; anything else lets other machines connect)')
    .option('--db <file>', 'history database (default: MIXCD_DB or the app-data folder)')
    .option(
      '--rotate-token',
      'make a new access token (kept owner-only beside the history; old addresses stop working)',
    )
    .action(async (options) => {
      // Loaded on demand: the other commands never load the server.
      const { serveCommand } = await import('./serve.js');
      process.exitCode = await serveCommand(options);
    });

  defineExportCommand(program.command('export'));

  cluster.defineMergeCommand(program.command('merge')); // Slurm hook
  cluster.defineStudyStatusCommand(program.command('study-status')); // Slurm hook

  defineDatasetsCommand(program.command('datasets'));

  defineScenariosCommand(program.command('scenarios'));
  program
    .command('export-model')
    .description("write a run's final model (kept with --keep-model), or its f0, as a TensorFlow.js LayersModel")
    .argument('<id>', 'run id (see `mixcd runs`)')
    .argument('<dir>', 'folder to write model.json and its weight file into')
    .option('--f0', "write the run's f0 (from the f0 cache) instead of its finetuned model")
    .option('--db <file>', 'history database')
    .option('-q, --quiet', 'print nothing')
    .action(async (idText: string, dir: string, options) => {
      await exportModelCommand(idText, dir, options);
    });

  return program;
}

/** Run the CLI; resolves to the exit code. Errors become one sentence on stderr. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here as "errors" with exit code 0.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const message = errorMessage(error);
    process.stderr.write(`mixcd: ${message}\n`);
    if (error instanceof ConfigError || error instanceof UsageError) return EXIT_USAGE;
    if (error instanceof HistoryError && error.code === 'missing') return EXIT_USAGE;
    // A model file that is not a trainable LayersModel, or a declared model that does not fit the data.
    if (error instanceof Error && (error.name === 'ModelFileError' || error.name === 'ModelSpecError'))
      return EXIT_USAGE;
    if (error instanceof RequestError && error.code !== 'failed') return EXIT_USAGE;
    // A backend asked for by name that cannot run here (e.g. --backend webgpu without a GPU): usage.
    if (error instanceof Error && error.name === 'BackendError' && (error as { unavailable?: boolean }).unavailable) {
      return EXIT_USAGE;
    }
    if (error instanceof DataError || (error instanceof Error && error.name === 'BackendError')) return EXIT_FAILED;
    if (process.env.MIXCD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT_FAILED;
  }
}
