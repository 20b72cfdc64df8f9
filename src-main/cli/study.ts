// `mixcd study`: the grid strategies x budgets x seeds, all from one f0 and one prior pass,
// stored under one study id, summarised as the study table.
import type { RunConfig, StrategyName } from '../../shared/config.js';
import { ConfigError, STRATEGIES } from '../../shared/config.js';
import type { StudyGrid } from '../../shared/studyGrid.js';
export { expandGrid, type StudyGrid } from '../../shared/studyGrid.js';
import type { RunSummary } from '../../shared/results.js';
import { studyTable, type MeanSd, type StudyCell } from '../../shared/studyTable.js';
import { formatTable } from './table.js';

function list(text: string, flag: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new ConfigError(`--${flag} is empty: give a comma-separated list.`, flag);
  return items;
}

export function parseGrid(
  options: { strategies?: string; budgets?: string; computeBudgets?: string; seeds?: string },
  base: RunConfig,
): StudyGrid {
  const strategies = list(options.strategies ?? 'none,random,mix-cd', 'strategies').map((s) => {
    if (!(STRATEGIES as readonly string[]).includes(s)) {
      throw new ConfigError(
        `--strategies has "${s}", which is not a strategy: use ${STRATEGIES.join(', ')}.`,
        'strategies',
      );
    }
    return s as StrategyName;
  });
  const numbers = (text: string, flag: string, integer: boolean) =>
    list(text, flag).map((s) => {
      const v = Number(s);
      if (!Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
        throw new ConfigError(
          `--${flag} has "${s}", which is not ${integer ? 'a whole number >= 0' : 'a number >= 0'}.`,
          flag,
        );
      }
      return v;
    });
  if (options.computeBudgets !== undefined) {
    if (options.budgets !== undefined)
      throw new ConfigError('--budgets and --compute-budgets exclude each other: give one of them.', 'budgets');
    return {
      strategies,
      budgets: numbers(options.computeBudgets, 'compute-budgets', false),
      seeds: numbers(options.seeds ?? String(base.seed), 'seeds', true),
      matched: true,
    };
  }
  return {
    strategies,
    budgets: numbers(options.budgets ?? String(base.rehearsal.budget), 'budgets', false),
    seeds: numbers(options.seeds ?? String(base.seed), 'seeds', true),
  };
}

function pm(v: MeanSd | null, digits = 4): string {
  if (!v || !v.n) return '-';
  return v.n > 1 ? `${v.mean.toFixed(digits)} ± ${v.sd.toFixed(digits)}` : v.mean.toFixed(digits);
}

/** `matched`: the budgets are compute budgets R (equal compute), not rehearsal ratios r. */
export function formatStudyTable(cells: StudyCell[], matched = false): string {
  return formatTable(
    [
      'strategy',
      matched ? 'compute R' : 'budget r',
      'seeds',
      'pretrain-test acc',
      'finetune-test acc',
      'precision (whole run)',
      'extra fwd passes',
    ],
    cells.map((c) => [
      c.strategy,
      c.strategy === 'none' ? '-' : c.budget,
      c.runs.length,
      pm(c.pretrainTestAcc),
      pm(c.finetuneTestAcc),
      pm(c.rehearsalPrecision, 3),
      c.extraForwardPasses.mean.toFixed(0),
    ]),
  );
}

/** sd is not defined for one run: null, as in the exports' JSON (the shared MeanSd keeps 0 for the charts' bands). */
function definedSd(v: MeanSd): Omit<MeanSd, 'sd'> & { sd: number | null } {
  return { ...v, sd: v.n > 1 ? v.sd : null };
}

export function studyJson(studyId: number, runs: RunSummary[]) {
  return {
    studyId,
    table: studyTable(runs).map((cell) => ({
      ...cell,
      pretrainTestAcc: definedSd(cell.pretrainTestAcc),
      finetuneTestAcc: definedSd(cell.finetuneTestAcc),
      cdRate: definedSd(cell.cdRate),
      rehearsalPrecision: cell.rehearsalPrecision && definedSd(cell.rehearsalPrecision),
      extraForwardPasses: definedSd(cell.extraForwardPasses),
      forwardPasses: definedSd(cell.forwardPasses),
      wallSeconds: definedSd(cell.wallSeconds),
    })),
    runs: runs.map((r) => ({ id: r.id, status: r.status, config: r.config, final: r.final, compute: r.compute })),
  };
}
