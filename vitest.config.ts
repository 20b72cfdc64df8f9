import { defineConfig } from 'vitest/config';

// Three projects, so the inner loop can run only what it needs:
//   npm run test:unit         pure logic, no training beyond a few tensors, no processes (< 15 s)
//   npm run test:integration  the engine, host, CLI and server on generated and real data
//   npm run test:e2e          the UI in headless Chromium against `mixcd serve`
// `vitest run` (npm test) runs all three.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: tfjs work is CPU-bound, so more than two workers only adds contention.
    maxWorkers: 2,
    pool: 'forks',
    // CI also writes a JSON report, from which .ci/run prints the plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One real-data f0 for every test that trains on Fashion-MNIST (test/helpers/realDataF0.ts).
          globalSetup: ['test/helpers/realDataF0.globalSetup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/helpers/realDataF0.globalSetup.ts'],
        },
      },
    ],
  },
});
