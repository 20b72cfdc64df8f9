// Writes test/durations.json (seconds per test file) from a vitest JSON report, for the sequencer
// that starts the slowest files first (test/helpers/slowestFirst.ts). Run it after a full CI-style
// run when files were added or got much slower:
//   CI=true npx vitest run && node scripts/test-durations.mjs [test-results/vitest.json]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const report = JSON.parse(readFileSync(process.argv[2] ?? path.join(root, 'test-results', 'vitest.json'), 'utf8'));
const seconds = {};
for (const file of report.testResults) {
  const name = path.relative(root, file.name).split(path.sep).join('/');
  const relative = name.startsWith('..') ? `test/${file.name.split('/test/').at(-1)}` : name;
  seconds[relative] = Math.round((file.endTime - file.startTime) / 100) / 10;
}
const sorted = Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(path.join(root, 'test', 'durations.json'), JSON.stringify(sorted, null, 2) + '\n');
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
