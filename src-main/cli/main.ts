// `mixcd`: the workbench's command line. Every command works on the same history the desktop
// app uses (MIXCD_DB / --db override it).
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  BACKENDS,
  ConfigError,
  OPTIMIZERS,
  PARTITION_RULES,
  SCENARIOS,
  STRATEGIES,
  type RunConfig,
} from '../../shared/config.js';
import type { RunSummary } from '../../shared/results.js';
import { RequestError } from '../../shared/contract.js';
import { DataError } from '../data/dataset.js';
import { defaultHistoryPath, openHistory, type History } from '../store/database.js';
import { CONFIG_FLAGS, configFromFlags, kebab, type ConfigFlag } from './configFromFlags.js';
import { combineObservers, createProgress } from './progress.js';
import { defineExportCommand } from './export.js';
import { runInChildren } from './parallelRuns.js';
import { fixed, formatTable } from './table.js';
import { expandGrid, formatStudyTable, parseGrid, studyJson } from './study.js';
import { studyTable } from '../../shared/studyTable.js';
import { errorMessage } from '../../shared/errors.js';

/** Exit codes: 0 done, 1 the work failed, 2 the command line or config was wrong. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

interface CommonOptions {
  db?: string;
  json?: boolean;
  quiet?: boolean;
}

function historyPath(options: CommonOptions): string {
  return options.db ? path.resolve(options.db) : defaultHistoryPath();
}

/** f0s live beside the history unless MIXCD_CACHE_DIR says otherwise. */
function cacheDir(dbFile: string): string {
  return process.env.MIXCD_CACHE_DIR ?? path.join(path.dirname(dbFile), 'f0-cache');
}

/** The engine (and tfjs) load only for commands that train, so listing the history is instant. */
async function loadEngine() {
  const [{ ExperimentContext }, { recordRun }] = await Promise.all([
    import('../engine/experiment.js'),
    import('../host/recordRun.js'),
  ]);
  return { ExperimentContext, recordRun };
}

function withHistory<T>(options: CommonOptions, use: (history: History, file: string) => T): T {
  const file = historyPath(options);
  const history = openHistory(file);
  try {
    return use(history, file);
  } finally {
    history.close();
  }
}

function addRunFlags(command: Command): Command {
  const help: Record<ConfigFlag, string> = {
    scenario: `pretrain/finetune scenario: ${SCENARIOS.join(', ')}`,
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
  };
  for (const flag of Object.keys(CONFIG_FLAGS) as ConfigFlag[]) {
    command.addOption(new Option(`--${kebab(flag)} <value>`, help[flag]));
  }
  return command
    .option('--config <file>', 'JSON run config (flags override it)')
    .option('--db <file>', 'history database (default: MIXCD_DB or the app-data folder)')
    .option('--json', 'print the run summary as JSON on stdout')
    .option('-q, --quiet', 'no progress output');
}

function flagValues(options: Record<string, unknown>): Partial<Record<ConfigFlag, string>> {
  const out: Partial<Record<ConfigFlag, string>> = {};
  for (const flag of Object.keys(CONFIG_FLAGS) as ConfigFlag[]) {
    if (typeof options[flag] === 'string') out[flag] = options[flag] as string;
  }
  return out;
}

function progressMode(options: CommonOptions): 'bar' | 'lines' | 'quiet' {
  if (options.quiet) return 'quiet';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

/** First Ctrl-C cancels the run cleanly (stored as cancelled); a second one exits at once. */
function cancelOnInterrupt(): { requested: () => boolean; dispose: () => void } {
  let cancelled = false;
  const handler = () => {
    if (cancelled) process.exit(130);
    cancelled = true;
    process.stderr.write('\nCancelling after the current step (Ctrl-C again to quit now)...\n');
  };
  process.on('SIGINT', handler);
  return { requested: () => cancelled, dispose: () => process.off('SIGINT', handler) };
}

export function runSummaryLines(run: RunSummary): string {
  const rows: [string, string][] = [
    ['run', `${run.id} (${run.status})`],
    [
      'scenario / strategy',
      `${run.config.scenario} / ${run.config.rehearsal.strategy} at r = ${run.config.rehearsal.budget}`,
    ],
    ['backend', `${run.backend} — ${run.device}`],
    ['data fingerprint', run.dataFingerprint],
    ['f0 pretrain-test / finetune-test', `${fixed(run.prior.pretrainTestAcc)} / ${fixed(run.prior.finetuneTestAcc)}`],
    [
      'final pretrain-test / finetune-test',
      `${fixed(run.final.pretrainTestAcc)} / ${fixed(run.final.finetuneTestAcc)}`,
    ],
    ['final CD rate', fixed(run.final.cdRate)],
    ['rehearsal precision', fixed(run.final.rehearsalPrecision)],
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
  if (run.error) rows.push(['error', run.error]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

function seriesTable(run: RunSummary): string {
  return formatTable(
    ['step', 'pretrain-test', 'finetune-test', 'CD rate', 'precision'],
    run.series.map((p) => [
      p.step,
      fixed(p.pretrainTestAcc),
      fixed(p.finetuneTestAcc),
      fixed(p.cdRate),
      fixed(p.rehearsalPrecision),
    ]),
  );
}

async function runCommand(
  options: Record<string, unknown> & CommonOptions & { config?: string; study?: string },
): Promise<number> {
  const config: RunConfig = configFromFlags(flagValues(options), options.config);
  const { ExperimentContext, recordRun } = await loadEngine();
  const file = historyPath(options);
  const history = openHistory(file);
  history.markInterruptedRuns();
  const studyId = options.study === undefined ? null : parseId(options.study, 'Study');
  if (studyId !== null && !history.getStudy(studyId)) {
    history.close();
    throw new UsageError(`There is no study ${studyId} in ${file}; \`mixcd study\` creates studies.`);
  }
  const progress = createProgress(progressMode(options));
  const interrupt = cancelOnInterrupt();
  try {
    const context = new ExperimentContext({ cacheDir: cacheDir(file) });
    const run = await recordRun(
      history,
      config,
      context,
      combineObservers(progress.observer, { shouldStop: interrupt.requested }),
      { studyId },
    );
    progress.stop();
    if (options.json) process.stdout.write(JSON.stringify(run, null, 2) + '\n');
    else process.stdout.write(`${runSummaryLines(run)}\n\n${seriesTable(run)}\n\nStored in ${file}\n`);
    return run.status === 'finished' ? 0 : EXIT_FAILED;
  } finally {
    progress.stop();
    interrupt.dispose();
    history.close();
  }
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
      strategies?: string;
      budgets?: string;
      seeds?: string;
      name?: string;
      jobs?: string;
    },
): Promise<number> {
  const base: RunConfig = configFromFlags(flagValues(options), options.config);
  const grid = parseGrid(options, base);
  const configs = expandGrid(base, grid);
  const { ExperimentContext, recordRun } = await loadEngine();
  const file = historyPath(options);
  const history = openHistory(file);
  history.markInterruptedRuns();
  const interrupt = cancelOnInterrupt();
  const mode = progressMode(options);
  const runs: RunSummary[] = [];
  try {
    const studyId = history.createStudy(
      options.name ??
        `${base.scenario}: ${grid.strategies.join(', ')} x r ${grid.budgets.join(', ')} ` +
          `x seeds ${grid.seeds.join(', ')}`,
      { base, grid },
    );
    // One context: every run of the study starts from the same f0 and prior pass.
    const context = new ExperimentContext({ cacheDir: cacheDir(file) });
    const jobs = parseJobs(options.jobs);
    if (jobs > 1) {
      const { ensureF0 } = await import('../engine/experiment.js');
      const warmup = createProgress(mode, 'f0');
      try {
        await ensureF0(base, context, combineObservers(warmup.observer, { shouldStop: interrupt.requested }));
      } finally {
        warmup.stop();
      }
      await runInChildren(configs, { jobs, studyId, file, interrupted: interrupt.requested, quiet: mode === 'quiet' });
      runs.push(
        ...history
          .listRuns({ studyId })
          .reverse()
          .map((r) => history.getRun(r.id)!),
      );
    } else {
      for (const [i, config] of configs.entries()) {
        if (interrupt.requested()) break;
        const label =
          `[${i + 1}/${configs.length}] ${config.rehearsal.strategy} r=${config.rehearsal.budget} ` +
          `seed=${config.seed}`;
        const progress = createProgress(mode, label);
        try {
          runs.push(
            await recordRun(
              history,
              config,
              context,
              combineObservers(progress.observer, { shouldStop: interrupt.requested }),
              { studyId },
            ),
          );
        } finally {
          progress.stop();
        }
      }
    }
    if (options.json) process.stdout.write(JSON.stringify(studyJson(studyId, runs), null, 2) + '\n');
    else
      process.stdout.write(
        `\nStudy ${studyId} (${runs.length} runs, stored in ${file})\n${formatStudyTable(studyTable(runs))}\n`,
      );
    return runs.length === configs.length && runs.every((r) => r.status === 'finished') ? 0 : EXIT_FAILED;
  } finally {
    interrupt.dispose();
    history.close();
  }
}

function parseId(text: string, what: 'Run' | 'Study' = 'Run'): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0)
    throw new UsageError(`${what} id "${text}" is not valid: give the number shown by \`mixcd runs\`.`);
  return id;
}

export function buildProgram(): Command {
  const program = new Command('mixcd')
    .description('mix-cd workbench: finetuning experiments with rehearsal of the pretrain samples being forgotten')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addRunFlags(
    program
      .command('run')
      .description('run one finetuning experiment and store it in the history')
      .addOption(new Option('--study <id>', 'store the run as part of this study').hideHelp()),
  ).action(async (options) => {
    process.exitCode = await runCommand(options);
  });

  addRunFlags(
    program
      .command('study')
      .description('run strategies x budgets x seeds from one f0, store them as one study, print the table')
      .option('--strategies <list>', `comma-separated: ${STRATEGIES.join(', ')}`, 'none,random,mix-cd')
      .option('--budgets <list>', 'comma-separated rehearsal ratios r')
      .option('--seeds <list>', 'comma-separated finetune seeds')
      .option('--name <text>', 'a name for the study')
      .option('--jobs <n>', 'runs in parallel, one process each (f0 is pretrained once first)', '1'),
  ).action(async (options) => {
    process.exitCode = await studyCommand(options);
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
      withHistory(options, (history, file) => {
        const runs = history.listRuns({ limit, studyId: options.study ? parseId(options.study) : undefined });
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
              'backend',
              'pretrain-test',
              'finetune-test',
              'wall s',
            ],
            runs.map((r) => [
              r.id,
              r.createdAt.slice(0, 19).replace('T', ' '),
              r.status,
              r.config.scenario,
              r.config.rehearsal.strategy,
              r.config.rehearsal.budget,
              r.config.seed,
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
      const history = openHistory(file);
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
    .action(async (options) => {
      // Loaded on demand: the other commands never load the server.
      const { serveCommand } = await import('./serve.js');
      process.exitCode = await serveCommand(options);
    });

  defineExportCommand(program.command('export'));

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
    if (error instanceof RequestError && error.code !== 'failed') return EXIT_USAGE;
    if (error instanceof DataError || (error instanceof Error && error.name === 'BackendError')) return EXIT_FAILED;
    if (process.env.MIXCD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT_FAILED;
  }
}
