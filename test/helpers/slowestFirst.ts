// The order test files start in. Two workers take files from one queue, so the suite ends when the
// last long file does: starting the longest first (vitest's own order on a fresh clone is by
// project name, then file size) keeps both workers busy to the end. Durations come from vitest's
// local results cache where it has them, else from test/durations.json (written by
// scripts/test-durations.mjs from a CI run). Unit files run last, together: they share a worker's
// module cache and take seconds.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RECORDED: Record<string, number> = JSON.parse(readFileSync(path.join(ROOT, 'test', 'durations.json'), 'utf8'));
/** A file not yet recorded: placed among the middling ones. */
const UNKNOWN_SECONDS = 10;

export class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const relative = (f: TestSpecification) => path.relative(ROOT, f.moduleId).split(path.sep).join('/');
    const state = (f: TestSpecification) => cache.getFileTestResults(`${f.project.name}:${relative(f)}`);
    const seconds = (f: TestSpecification) => {
      const cached = state(f)?.duration;
      return cached ? cached / 1000 : (RECORDED[relative(f)] ?? UNKNOWN_SECONDS);
    };
    const unit = (f: TestSpecification) => (f.project.name.startsWith('unit') ? 1 : 0);
    const failed = (f: TestSpecification) => (state(f)?.failed ? 0 : 1);
    return [...files].sort((a, b) => unit(a) - unit(b) || failed(a) - failed(b) || seconds(b) - seconds(a));
  }
}
