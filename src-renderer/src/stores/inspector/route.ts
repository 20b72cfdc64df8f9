// Pure rules of the inspector: which runs the address names, whose bins a pair is shown in, which
// eval a run shows for a chosen step. No state here, so they are unit-tested as plain functions.
import type { StrategyName } from '../../../../shared/config.js';
import type { SampleSort } from '../../../../shared/inspect.js';
import type { Category } from '../../../../shared/results.js';

export const PAGE_SIZE = 60;

export interface GalleryFilters {
  /** '' for all, else the class / bin number as text (select values are strings). */
  class: string;
  bin: string;
  category: '' | Category;
  rehearsedOnly: boolean;
  sort: SampleSort;
  order: 'desc' | 'asc';
}

export const DEFAULT_FILTERS: Readonly<GalleryFilters> = {
  class: '',
  bin: '',
  category: '',
  rehearsedOnly: true,
  sort: 'count',
  order: 'desc',
};

/** "run=12&vs=13" -> the two ids; a value that is not a run id is a sentence, not a guess. */
export function parseInspectQuery(query: string): {
  runId: number | null;
  vsId: number | null;
  problem: string | null;
} {
  const params = new URLSearchParams(query);
  const read = (key: string): number | null | string => {
    const raw = params.get(key);
    if (raw === null || raw.trim() === '') return null;
    const id = Number(raw);
    return Number.isInteger(id) && id > 0
      ? id
      : `"${raw}" is not a run id: the address should end in #/inspect?run=ID or #/inspect?run=ID&vs=ID2.`;
  };
  const run = read('run');
  const vs = read('vs');
  const problem = typeof run === 'string' ? run : typeof vs === 'string' ? vs : null;
  if (problem) return { runId: null, vsId: null, problem };
  const runId = run as number | null;
  const vsId = vs === runId ? null : (vs as number | null);
  return { runId, vsId, problem: null };
}

/** The run whose bins the per-bin figures use: the pair's mix-cd run (the main one first). */
export function partitionSource(
  main: { id: number; strategy: StrategyName },
  vs: { id: number; strategy: StrategyName } | null,
): number | undefined {
  if (main.strategy === 'mix-cd') return main.id;
  if (vs?.strategy === 'mix-cd') return vs.id;
  return undefined;
}

/** A run's eval to show for a chosen step: the last one at or before it, else its last. */
export function evalFor(evalSteps: readonly number[], step: number | null): number | undefined {
  if (!evalSteps.length) return undefined;
  if (step === null) return evalSteps[evalSteps.length - 1];
  let found: number | undefined;
  for (const s of evalSteps) if (s <= step) found = s;
  return found ?? evalSteps[evalSteps.length - 1];
}
