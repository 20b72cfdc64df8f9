// A pivot (see pivot.ts) as CSV, Markdown, LaTeX (booktabs) or JSON, and runs' per-step series as
// CSV. Pure: csv-stringify's browser build (self-contained, no Node built-ins; its plain `sync`
// entry uses the Node global Buffer at load time) runs in Node and in the browser alike.
import { stringify } from 'csv-stringify/browser/esm/sync';
import type { RunSummary } from '../results.js';
import { notApplicable, type Pivot, type PivotCell, type PivotRow } from './pivot.js';
import type { MetricsTable } from './metricsTable.js';

/**
 * The one rule for numbers in CSV, from the CLI and the UI alike: full precision less the binary
 * float noise (12 significant digits: 0.30774999999999997 is written 0.30775); the text formats
 * (Markdown, LaTeX, the screen) round to the metric's decimals.
 */
export function csvNumber(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '' : String(Number(value.toPrecision(12)));
}

/**
 * Wide CSV for spreadsheets and pgfplotstable: one row per strategy, then per budget column its
 * mean, sd and n (full precision; empty where there is no value).
 */
export function toCsv(pivot: Pivot): string {
  const header = [
    pivot.rowHeader,
    ...pivot.columns.flatMap((c) => [`${c.label} mean`, `${c.label} sd`, `${c.label} n`]),
  ];
  const body = pivot.rows.map((row) => [
    row.label,
    ...row.cells.flatMap((cell) => (cell ? [csvNumber(cell.mean), csvNumber(cell.sd), String(cell.n)] : ['', '', ''])),
  ]);
  return stringify([header, ...body]);
}

/** "0.812 ± 0.004", "0.812" with one seed, "(n=2)" added when the cells differ in seeds. */
function meanText(cell: PivotCell, decimals: number, showN: boolean, pm: string): string {
  const mean = cell.mean.toFixed(decimals);
  const text = cell.sd === null ? mean : `${mean} ${pm} ${cell.sd.toFixed(decimals)}`;
  return showN ? `${text} (n=${cell.n})` : text;
}

function cellText(pivot: Pivot, cell: PivotCell | null, pm: string, missing: string): string {
  return cell ? meanText(cell, pivot.decimals, pivot.showN, pm) : missing;
}

/** An empty cell: blank where no run can be (`none` at a budget), else the missing mark. */
function missingText(pivot: Pivot, row: PivotRow, column: number, missing: string): string {
  return notApplicable(row.strategy, pivot.columns[column].budget) ? '' : missing;
}

function caption(pivot: Pivot, pm: string): string {
  return (
    `${pivot.metricLabel}: mean ${pm} sd over seeds; ` +
    `best per column in bold (${pivot.higherIsBetter ? 'higher' : 'lower'} is better).`
  );
}

function markdownEscape(text: string): string {
  return text.replace(/([\\|*_`])/g, '\\$1');
}

/** GitHub-flavoured Markdown table, the best cell of each column in **bold**, then a one-line caption. */
export function toMarkdown(pivot: Pivot): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    line([markdownEscape(pivot.rowHeader), ...pivot.columns.map((c) => markdownEscape(c.label))]),
    line([':--', ...pivot.columns.map(() => '--:')]),
    ...pivot.rows.map((row) =>
      line([
        markdownEscape(row.label),
        ...row.cells.map((cell, c) => {
          const text = cellText(pivot, cell, '±', missingText(pivot, row, c, '—'));
          return cell?.best ? `**${text}**` : text;
        }),
      ]),
    ),
    '',
    `*${markdownEscape(caption(pivot, '±'))}*`,
  ];
  return lines.join('\n') + '\n';
}

const LATEX_SPECIALS: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

/** Text with LaTeX's special characters escaped (for labels: strategy names, budgets). */
export function latexEscape(text: string): string {
  return text.replace(/[\\&%$#_{}~^]/g, (ch) => LATEX_SPECIALS[ch]);
}

/** A booktabs tabular (\toprule, \midrule, \bottomrule); best per column in \textbf{}; needs \usepackage{booktabs}. */
export function toLatex(pivot: Pivot): string {
  const row = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  const header = pivot.columns.map((c) => (c.budget === null ? '--' : `$r = ${c.budget}$`));
  const lines = [
    `% ${caption(pivot, '$\\pm$')}`,
    `\\begin{tabular}{l${'r'.repeat(pivot.columns.length)}}`,
    '\\toprule',
    row([latexEscape(pivot.rowHeader), ...header]),
    '\\midrule',
    ...pivot.rows.map((r) =>
      row([
        latexEscape(r.label),
        ...r.cells.map((cell, c) => {
          const text = cellText(pivot, cell, '$\\pm$', missingText(pivot, r, c, '--'));
          return cell?.best ? `\\textbf{${text}}` : text;
        }),
      ]),
    ),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  return lines.join('\n') + '\n';
}

/** The numbers behind the table: per cell mean, sd (null with one seed), n, best flag and run ids. */
export function toJson(pivot: Pivot): string {
  const data = {
    metric: pivot.metric,
    metricLabel: pivot.metricLabel,
    higherIsBetter: pivot.higherIsBetter,
    columns: pivot.columns,
    rows: pivot.rows.map((row) => ({
      strategy: row.strategy,
      label: row.label,
      cells: row.cells.map((cell, c) => (cell ? { budget: pivot.columns[c].budget, ...cell } : null)),
    })),
  };
  return JSON.stringify(data, null, 2) + '\n';
}

// --- several metrics side by side (metricsTable.ts): rows strategy x r, a column per metric ---

function metricsCaption(table: MetricsTable, pm: string): string {
  const which = (higher: boolean) => table.metrics.filter((m) => m.higherIsBetter === higher).map((m) => m.label);
  const higher = which(true);
  const lower = which(false);
  const ways = [
    ...(higher.length ? [`higher is better for ${higher.join(', ')}`] : []),
    ...(lower.length ? [`lower is better for ${lower.join(', ')}`] : []),
  ];
  return `Mean ${pm} sd over seeds; the best at each r in bold (${ways.join('; ')}).`;
}

/** Long CSV: strategy, r (empty for none), then per metric its mean, sd and n (12 significant digits). */
export function metricsToCsv(table: MetricsTable): string {
  const header = [
    table.rowHeader,
    'r',
    ...table.metrics.flatMap((m) => [`${m.label} mean`, `${m.label} sd`, `${m.label} n`]),
  ];
  const body = table.rows.map((row) => [
    row.label,
    csvNumber(row.budget),
    ...row.cells.flatMap((cell) => (cell ? [csvNumber(cell.mean), csvNumber(cell.sd), String(cell.n)] : ['', '', ''])),
  ]);
  return stringify([header, ...body]);
}

/** Markdown, as the README's tables: | strategy | r | metric | metric |, best at each r in bold, a caption. */
export function metricsToMarkdown(table: MetricsTable): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    line([markdownEscape(table.rowHeader), 'r', ...table.metrics.map((m) => markdownEscape(m.label))]),
    line([':--', '--:', ...table.metrics.map(() => '--:')]),
    ...table.rows.map((row) =>
      line([
        markdownEscape(row.label),
        row.budget === null ? '—' : String(row.budget),
        ...row.cells.map((cell, m) => {
          if (!cell) return '—';
          const text = meanText(cell, table.metrics[m].decimals, table.showN, '±');
          return cell.best ? `**${text}**` : text;
        }),
      ]),
    ),
    '',
    `*${markdownEscape(metricsCaption(table, '±'))}*`,
  ];
  return lines.join('\n') + '\n';
}

/** A booktabs tabular of the same table; needs \usepackage{booktabs}. */
export function metricsToLatex(table: MetricsTable): string {
  const row = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  const lines = [
    `% ${metricsCaption(table, '$\\pm$')}`,
    `\\begin{tabular}{lr${'r'.repeat(table.metrics.length)}}`,
    '\\toprule',
    row([latexEscape(table.rowHeader), '$r$', ...table.metrics.map((m) => latexEscape(m.label))]),
    '\\midrule',
    ...table.rows.map((r) =>
      row([
        latexEscape(r.label),
        r.budget === null ? '--' : String(r.budget),
        ...r.cells.map((cell, m) => {
          if (!cell) return '--';
          const text = meanText(cell, table.metrics[m].decimals, table.showN, '$\\pm$');
          return cell.best ? `\\textbf{${text}}` : text;
        }),
      ]),
    ),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  return lines.join('\n') + '\n';
}

/** The numbers: per row and metric the mean, sd (null with one seed), n, best flag and run ids. */
export function metricsToJson(table: MetricsTable): string {
  const data = {
    metrics: table.metrics,
    rows: table.rows.map((row) => ({
      strategy: row.strategy,
      label: row.label,
      budget: row.budget,
      cells: row.cells.map((cell, m) => (cell ? { metric: table.metrics[m].metric, ...cell } : null)),
    })),
  };
  return JSON.stringify(data, null, 2) + '\n';
}

export const SERIES_COLUMNS = [
  'runId',
  'strategy',
  'budget',
  'seed',
  'step',
  'pretrainTestAcc',
  'finetuneTestAcc',
  'cdRate',
  'rehearsalPrecision',
] as const;

/**
 * Long CSV of the per-step series of the given runs (as given: pass them with their series, e.g.
 * from History.getRun), one line per run and eval step. `none` has an empty budget; a null
 * rehearsal precision (nothing rehearsed) is an empty field.
 */
export function seriesToCsv(runs: RunSummary[]): string {
  const rows = runs.flatMap((run) =>
    run.series.map((p) => [
      String(run.id),
      run.config.rehearsal.strategy,
      run.config.rehearsal.strategy === 'none' ? '' : csvNumber(run.config.rehearsal.budget),
      String(run.config.seed),
      String(p.step),
      csvNumber(p.pretrainTestAcc),
      csvNumber(p.finetuneTestAcc),
      csvNumber(p.cdRate),
      csvNumber(p.rehearsalPrecision),
    ]),
  );
  return stringify([[...SERIES_COLUMNS], ...rows]);
}
