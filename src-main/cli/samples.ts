// `mixcd samples ID`: the inspector's most-rehearsed list on the terminal or as JSON, answered by
// the same SampleInspector the host uses, so the CLI and the UI never disagree.
import type { History } from '../store/database.js';
import { SampleInspector } from '../inspector/inspector.js';
import { fixed, formatTable } from './table.js';

export function samplesCommand(history: History, cacheDir: string, id: number, top: number, json: boolean): void {
  const result = new SampleInspector(history, cacheDir).topSamples(id, top);
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
  process.stdout.write(
    `Run ${id}: ${result.rehearsals} rehearsals of ${result.distinctRehearsed} distinct samples out of ${result.pretrainSize}.\n\n` +
      formatTable(
        ['index', 'count', 'class', 'bin', 'prior loss', 'category'],
        result.samples.map((s) => [s.index, s.count, s.className ?? s.class, s.bin, s.priorLoss === undefined ? null : fixed(s.priorLoss), s.category]),
      ) +
      '\n',
  );
}
