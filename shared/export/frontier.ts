// The equal-compute tables (issue 16) as CSV, Markdown, LaTeX (booktabs) or JSON: per strategy and
// kept fraction of f0's accuracy, the compute needed (interpolated) and the measured points it
// comes from; then the measured points themselves (units and accuracies, mean ± sd over seeds).
import { stringify } from 'csv-stringify/browser/esm/sync';
import { MEGA, type FrontierPoint, type KeepRow } from '../charts/frontier.js';
import type { MeanSd } from '../studyTable.js';
import { latexEscape } from './formats.js';

export interface FrontierTables {
  /** f0's accuracy the fractions refer to. */
  f0: number;
  metric: string;
  keep: KeepRow[];
  points: FrontierPoint[];
}

const pct = (f: number) => `${+(f * 100).toFixed(2)}%`;
const mu = (units: number) => (units / MEGA).toFixed(2);
const pm = (v: MeanSd, digits: number, sign: string, scale = 1) =>
  v.n > 1 && Number.isFinite(v.sd)
    ? `${(v.mean / scale).toFixed(digits)} ${sign} ${(v.sd / scale).toFixed(digits)}`
    : (v.mean / scale).toFixed(digits);

function pointLabel(p: FrontierPoint): string {
  return p.strategy === 'none' ? 'none' : `R=${p.budget}`;
}

/** Where the value comes from, in words: the two points around the target, or why there is none. */
function fromText(row: KeepRow, metric: string): string {
  const at = (p: FrontierPoint) =>
    `${pointLabel(p)} (${mu(p.units.mean)}M, ${(p[metric as 'pretrainTestAcc'].mean ?? NaN).toFixed(3)})`;
  switch (row.note) {
    case 'interpolated':
      return `between ${at(row.from[0])} and ${at(row.from[1])}`;
    case 'measured':
      return `at ${at(row.from[0])}`;
    case 'below-cheapest':
      return `already at its cheapest point ${at(row.from[0])}`;
    case 'never-reached':
      return row.from.length ? `not reached; best ${at(row.from[0])}` : 'no finished runs';
  }
}

function keepValue(row: KeepRow): string {
  if (row.units !== null) return mu(row.units);
  return row.note === 'below-cheapest' ? `<= ${mu(row.from[0].units.mean)}` : 'not reached';
}

export function frontierToCsv(t: FrontierTables): string {
  const keep = t.keep.map((r) => [
    r.strategy,
    String(r.fraction),
    String(r.target),
    r.units === null ? '' : String(r.units),
    r.note,
    r.from.map((p) => p.runs.join(' ')).join(' | '),
    fromText(r, t.metric),
  ]);
  const points = t.points.map((p) => [
    p.strategy,
    String(p.budget),
    String(p.units.mean),
    String(p.units.sd),
    String(p.pretrainTestAcc.mean),
    String(p.pretrainTestAcc.sd),
    String(p.finetuneTestAcc.mean),
    String(p.finetuneTestAcc.sd),
    String(p.runs.length),
    p.runs.join(' '),
  ]);
  return (
    stringify([['strategy', 'keep fraction', 'target', 'units needed', 'how', 'from runs', 'from points'], ...keep]) +
    '\n' +
    stringify([
      [
        'strategy',
        'compute budget R',
        'units mean',
        'units sd',
        'pretrainTestAcc mean',
        'pretrainTestAcc sd',
        'finetuneTestAcc mean',
        'finetuneTestAcc sd',
        'n',
        'runs',
      ],
      ...points,
    ])
  );
}

export function frontierToMarkdown(t: FrontierTables): string {
  const fractions = [...new Set(t.keep.map((r) => r.fraction))];
  const strategies = [...new Set(t.keep.map((r) => r.strategy))];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const cell = (s: string, f: number) => {
    const row = t.keep.find((r) => r.strategy === s && r.fraction === f)!;
    return row ? `${keepValue(row)} (${fromText(row, t.metric)})` : '—';
  };
  const lines = [
    line(['strategy', ...fractions.map((f) => `keep ${pct(f)} of f0 (${(f * t.f0).toFixed(3)})`)]),
    line([':--', ...fractions.map(() => '--:')]),
    ...strategies.map((s) => line([s, ...fractions.map((f) => cell(s, f))])),
    '',
    `*Million compute units (forward 1, backward 2, extra inference 1 per sample) ` +
      `needed to keep the fraction of f0's ${t.metric} (${t.f0.toFixed(4)}), ` +
      `interpolated linearly between the measured points named (R = compute budget; ` +
      `units and accuracy in brackets).*`,
    '',
    line(['strategy', 'R', 'million units', 'pretrain-test acc', 'finetune-test acc', 'n']),
    line([':--', '--:', '--:', '--:', '--:', '--:']),
    ...t.points.map((p) =>
      line([
        p.strategy,
        p.strategy === 'none' ? '-' : String(p.budget),
        pm(p.units, 2, '±', MEGA),
        pm(p.pretrainTestAcc, 3, '±'),
        pm(p.finetuneTestAcc, 3, '±'),
        String(p.runs.length),
      ]),
    ),
  ];
  return lines.join('\n') + '\n';
}

export function frontierToLatex(t: FrontierTables): string {
  const fractions = [...new Set(t.keep.map((r) => r.fraction))];
  const strategies = [...new Set(t.keep.map((r) => r.strategy))];
  const row = (cells: string[]) => `${cells.join(' & ')} \\\\`;
  const lines = [
    `% Million compute units needed to keep the fraction of f0's ${t.metric} ` +
      `(${t.f0.toFixed(4)}), interpolated; needs booktabs`,
    `\\begin{tabular}{l${'r'.repeat(fractions.length)}}`,
    '\\toprule',
    row(['strategy', ...fractions.map((f) => `keep ${latexEscape(pct(f))}`)]),
    '\\midrule',
    ...strategies.map((s) =>
      row([
        latexEscape(s),
        ...fractions.map((f) => {
          const r = t.keep.find((k) => k.strategy === s && k.fraction === f);
          return r ? latexEscape(keepValue(r)).replace('<=', '$\\le$') : '--';
        }),
      ]),
    ),
    '\\bottomrule',
    '\\end{tabular}',
  ];
  return lines.join('\n') + '\n';
}

export function frontierToJson(t: FrontierTables): string {
  return JSON.stringify(t, null, 2) + '\n';
}
