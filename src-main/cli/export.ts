// `mixcd export`: a study's (or some runs') results as a table for a paper (CSV, Markdown, LaTeX,
// JSON) or their per-step series as CSV. Errors are one sentence on stderr; exit 2 for a wrong
// command line (flag values, unknown ids, runs that cannot share one table), 1 when writing fails.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { RunSummary } from '../../shared/results.js';
import { PIVOT_METRICS, PivotError, isPivotMetric, pivotTable } from '../../shared/export/pivot.js';
import {
  metricsToCsv,
  metricsToJson,
  metricsToLatex,
  metricsToMarkdown,
  seriesToCsv,
  toCsv,
  toJson,
  toLatex,
  toMarkdown,
} from '../../shared/export/formats.js';
import { metricsTable, parseMetrics } from '../../shared/export/metricsTable.js';
import { ConfigsExportError, configsExport } from '../../shared/export/configs.js';
import { defaultHistoryPath, openHistoryReadOnly } from '../store/database.js';
import { HistoryError } from '../store/errors.js';
import { errorMessage } from '../../shared/errors.js';
import {
  DEFAULT_KEEP,
  FRONTIER_FORMATS,
  FrontierUsageError,
  parseFrontierMetric,
  parseKeep,
  renderFrontier,
} from './frontier.js';

import { matrixToCsv, matrixToMarkdown, taskSeriesToCsv } from '../../shared/export/accuracyMatrix.js';

export const EXPORT_FORMATS = [
  'csv',
  'md',
  'latex',
  'json',
  'series-csv',
  'configs',
  'matrix-csv',
  'matrix-md',
  'task-series-csv',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  study?: string;
  runs?: string;
  metric?: string;
  /** Several metrics side by side (rows strategy x r, a column each), e.g. "pretrainTestAcc,finetuneTestAcc". */
  metrics?: string;
  format?: string;
  out?: string;
  db?: string;
  /** The equal-compute frontier instead of the pivot (formats csv, md, latex, json, svg, png). */
  frontier?: boolean;
  keep?: string;
}

class ExportUsageError extends Error {}

function parseId(text: string, flag: string): number {
  const id = Number(text.trim());
  if (!text.trim() || !Number.isInteger(id) || id <= 0) {
    throw new ExportUsageError(
      `${flag} "${text}" is not valid: ` +
        `give ${flag === '--study' ? 'a study id' : 'run ids separated by commas, e.g. 1,2,3'} ` +
        `(the numbers shown by \`mixcd runs\`).`,
    );
  }
  return id;
}

/** Writes via a temporary file in the same folder and a rename, so readers never see half a file. */
function writeAtomically(file: string, text: string | Buffer): void {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text);
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new Error(`Could not write --out "${file}": ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

function render(
  format: ExportFormat,
  runs: RunSummary[],
  metric: (typeof PIVOT_METRICS)[number],
  metrics: (typeof PIVOT_METRICS)[number][] | null,
): string {
  if (format === 'series-csv') return seriesToCsv(runs.filter((r) => r.status === 'finished'));
  // Re-runnable: one run's config (mixcd run --config) or a study file (mixcd study --config).
  if (format === 'configs') return JSON.stringify(configsExport(runs), null, 2) + '\n';
  if (format === 'matrix-csv') return matrixToCsv(runs);
  if (format === 'matrix-md') return matrixToMarkdown(runs);
  if (format === 'task-series-csv') return taskSeriesToCsv(runs);
  if (metrics) {
    const table = metricsTable(runs, metrics);
    switch (format) {
      case 'csv':
        return metricsToCsv(table);
      case 'md':
        return metricsToMarkdown(table);
      case 'latex':
        return metricsToLatex(table);
      case 'json':
        return metricsToJson(table);
    }
  }
  const pivot = pivotTable(runs, metric);
  switch (format) {
    case 'csv':
      return toCsv(pivot);
    case 'md':
      return toMarkdown(pivot);
    case 'latex':
      return toLatex(pivot);
    case 'json':
      return toJson(pivot);
  }
}

/** The runs named by --study or --runs (sorted by id); one sentence when an id is unknown. */
function loadRuns(options: ExportOptions, withSeries: boolean): RunSummary[] {
  if ((options.study === undefined) === (options.runs === undefined)) {
    throw new ExportUsageError('Give either --study ID or --runs 1,2,3 (exactly one of them) to say what to export.');
  }
  const studyId = options.study === undefined ? null : parseId(options.study, '--study');
  const runIds =
    options.runs === undefined ? [] : [...new Set(options.runs.split(',').map((part) => parseId(part, '--runs')))];

  const file = options.db ? path.resolve(options.db) : defaultHistoryPath();
  const history = openHistoryReadOnly(file);
  let runs: RunSummary[];
  try {
    if (studyId !== null) {
      if (!history.getStudy(studyId))
        throw new ExportUsageError(`There is no study ${studyId} in ${file}; \`mixcd study\` creates studies.`);
      const listed = history.listRuns({ studyId });
      runs = withSeries ? listed.map((r) => history.getRun(r.id)!) : listed;
    } else {
      const found = runIds.map((id) => history.getRun(id));
      const missing = runIds.filter((_, i) => !found[i]);
      if (missing.length) {
        throw new ExportUsageError(
          `There ${missing.length > 1 ? 'are no runs' : 'is no run'} ${missing.join(', ')} ` +
            `in ${file}; \`mixcd runs\` lists the runs there.`,
        );
      }
      runs = found as RunSummary[];
    }
  } finally {
    history.close();
  }
  runs.sort((a, b) => a.id - b.id);
  return runs;
}

/** Runs the export; returns the exit code (0 done, 1 writing failed, 2 wrong command line). */
export function exportCommand(options: ExportOptions): number {
  try {
    const format = options.format ?? 'csv';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new ExportUsageError(`--format "${format}" is not valid: give one of ${EXPORT_FORMATS.join(', ')}.`);
    }
    const metric = options.metric ?? 'pretrainTestAcc';
    if (!isPivotMetric(metric))
      throw new ExportUsageError(`--metric "${metric}" is not valid: give one of ${PIVOT_METRICS.join(', ')}.`);
    let metrics: (typeof PIVOT_METRICS)[number][] | null = null;
    if (options.metrics !== undefined) {
      try {
        metrics = parseMetrics(options.metrics);
      } catch (error) {
        throw new ExportUsageError(`--metrics "${options.metrics}" is not valid: ${errorMessage(error)}`);
      }
    }
    const runs = loadRuns(
      options,
      format === 'series-csv' || format.startsWith('matrix') || format === 'task-series-csv',
    );
    const text = render(format as ExportFormat, runs, metric, metrics);
    if (options.out) writeAtomically(options.out, text);
    else process.stdout.write(text);
    return 0;
  } catch (error) {
    const message = errorMessage(error);
    process.stderr.write(`mixcd: ${message}\n`);
    const missing = error instanceof HistoryError && error.code === 'missing';
    const usage =
      error instanceof ExportUsageError || error instanceof PivotError || error instanceof ConfigsExportError;
    return usage || missing ? 2 : 1;
  }
}

/** `mixcd export --frontier`: returns the exit code (0 done, 1 writing or rendering failed, 2 wrong command line). */
export async function frontierExportCommand(options: ExportOptions): Promise<number> {
  try {
    const format = options.format ?? 'md';
    if (!(FRONTIER_FORMATS as readonly string[]).includes(format)) {
      throw new ExportUsageError(
        `--format "${format}" is not valid with --frontier: give one of ${FRONTIER_FORMATS.join(', ')}.`,
      );
    }
    if (format === 'png' && !options.out) throw new ExportUsageError('--format png needs --out FILE.png.');
    const metric = parseFrontierMetric(options.metric);
    const keep = parseKeep(options.keep);
    const runs = loadRuns(options, false);
    const result = await renderFrontier(format as (typeof FRONTIER_FORMATS)[number], runs, metric, keep);
    if (options.out) writeAtomically(options.out, result);
    else process.stdout.write(result);
    return 0;
  } catch (error) {
    const message = errorMessage(error);
    process.stderr.write(`mixcd: ${message}\n`);
    return error instanceof ExportUsageError || error instanceof FrontierUsageError ? 2 : 1;
  }
}

/** Declares `mixcd export` on `command` (created by the caller with program.command('export')). */
export function defineExportCommand(command: Command): Command {
  return command
    .description(
      'export a study or runs as a table for a paper (csv, md, latex, json) or their per-step series ' +
        "(series-csv; task-series-csv: multi-stage runs' task accuracies per eval)",
    )
    .option('--study <id>', 'export the runs of this study')
    .option('--runs <ids>', 'export these runs, e.g. 1,2,3')
    .option('--metric <name>', `metric of the table: ${PIVOT_METRICS.join(', ')}`, 'pretrainTestAcc')
    .option(
      '--metrics <list>',
      'several metrics side by side instead (rows strategy and r, a column each), e.g. pretrainTestAcc,finetuneTestAcc',
    )
    .option('--format <name>', `output format: ${EXPORT_FORMATS.join(', ')}`, 'csv')
    .option('--out <file>', 'write to this file (replaced atomically) instead of stdout')
    .option('--db <file>', 'history database (default: MIXCD_DB or the app-data folder)')
    .option(
      '--frontier',
      'the equal-compute frontier: compute needed to keep X% of f0 (csv, md, latex, json) or its figure (svg, png)',
    )
    .option('--keep <list>', `with --frontier: fractions of f0's accuracy to keep (default ${DEFAULT_KEEP.join(',')})`)
    .action(async (options: ExportOptions & { metric?: string; format?: string }, command: Command) => {
      // --metric and --format default for the pivot; with --frontier only explicit values count.
      const explicit = (name: string) => command.getOptionValueSource(name) === 'cli';
      if (options.metrics !== undefined && (explicit('metric') || options.frontier)) {
        process.stderr.write(
          `mixcd: --metrics goes without ${options.frontier ? '--frontier' : '--metric'}: ` +
            `give --metric NAME for one metric as strategy x budget, or --metrics A,B for several side by side.\n`,
        );
        process.exitCode = 2;
        return;
      }
      process.exitCode = options.frontier
        ? await frontierExportCommand({
            ...options,
            metric: explicit('metric') ? options.metric : undefined,
            format: explicit('format') ? options.format : 'md',
          })
        : exportCommand(options);
    });
}
