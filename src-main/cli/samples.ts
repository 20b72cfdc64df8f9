// `mixcd samples ID`: the inspector's most-rehearsed list on the terminal or as JSON, answered by
// the same SampleInspector the host uses, so the CLI and the UI never disagree.
import { CATEGORIES } from '../../shared/results.js';
import { budgetShares, CATEGORY_LABELS } from '../../shared/inspect.js';
import { percent } from '../../shared/charts/inspector.js';
import type { History } from '../store/database.js';
import { SampleInspector } from '../inspector/inspector.js';
import { fixed, formatTable } from './table.js';

export async function samplesCommand(
  history: History,
  cacheDir: string,
  id: number,
  top: number,
  json: boolean,
): Promise<void> {
  // No thumbnails here: the pixels are never read.
  const inspector = new SampleInspector(history, cacheDir, { prefetchPixels: false });
  const result = await inspector.topSamples(id, top);
  // What is missing and why goes to stderr, so stdout stays one parseable document.
  for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
  if (json) {
    // Every key always present (null = not known) so tools can rely on the shape.
    const rows = result.samples.map((s) => ({
      index: s.index,
      count: s.count,
      class: s.class ?? null,
      className: s.className ?? null,
      bin: s.bin ?? null,
      priorLoss: s.priorLoss ?? null,
      category: s.category,
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  // Where the budget went: the picture that says whether a strategy spends its budget on CD.
  const shares = budgetShares((await inspector.inspectRun(id)).budgetWindows);
  const budget = formatTable(
    ['category', 'of rehearsals', 'of the pretrain set (probe)'],
    CATEGORIES.map((c, k) => [CATEGORY_LABELS[c], percent(shares.rehearsed[k]), percent(shares.pretrain?.[k])]),
  );
  process.stdout.write(
    `Run ${id}: ${result.rehearsals} rehearsals of ${result.distinctRehearsed} ` +
      `distinct samples out of ${result.pretrainSize}.\n\n` +
      (`Where the budget went (category when rehearsed; pretrain shares from the ` +
        `probe, averaged over the evals after f0`) +
      (`${shares.unknown ? `; ${shares.unknown} rehearsals without a verdict left out` : ''}):\n${budget}\n\nMost ` +
        `rehearsed:\n`) +
      formatTable(
        ['index', 'count', 'class', 'bin', 'prior loss', 'category'],
        result.samples.map((s) => [
          s.index,
          s.count,
          s.className ?? s.class,
          s.bin,
          s.priorLoss === undefined ? null : fixed(s.priorLoss),
          s.category,
        ]),
      ) +
      '\n',
  );
}
