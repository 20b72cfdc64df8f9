import { defineConfig } from 'vitest/config';
import { SlowestFirst } from './test/helpers/slowestFirst.js';

// Three kinds of test, so the inner loop can run only what it needs:
//   npm run test:unit         (projects unit, unit-isolated) pure logic, a few tensors at most, no processes (< 15 s)
//   npm run test:integration  the engine, host, CLI and server on generated and real data
//   npm run test:e2e          the UI in headless Chromium against `mixcd serve`
// `vitest run` (npm test) runs all of them.

// Unit files that need a fresh module cache: vi.mock('better-sqlite3') only takes effect there.
const UNIT_ISOLATED = ['test/unit/nativeBinding.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: tfjs work is CPU-bound, so more than two workers only adds contention.
    maxWorkers: 2,
    pool: 'forks',
    // The longest files first, so both workers stay busy to the end (test/helpers/slowestFirst.ts).
    sequence: { sequencer: SlowestFirst },
    // CI also writes a JSON report, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: UNIT_ISOLATED,
          // Files share a worker's module cache: tfjs, the wasm kernels and zod load once per worker
          // rather than once per file (21 s -> 10 s here). A file whose modules must be fresh (it
          // mocks a module another file imports) goes in UNIT_ISOLATED.
          isolate: false,
        },
      },
      { extends: true, test: { name: 'unit-isolated', include: UNIT_ISOLATED } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
        },
      },
    ],
  },
});
