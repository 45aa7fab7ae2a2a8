import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The web client's logic runs here too (in Node: it needs no DOM); its views are tested in Chromium (tests/browser).
    include: ['tests/**/*.test.ts', 'web/src/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    pool: 'forks',
    // Vitest's default is one fork fewer than there are cores: one on a 2-core machine, where the
    // suite spends much of its time waiting on databases and child processes, not computing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // `npm run coverage`. Code that runs only in child processes (main.ts, cli.ts) is not seen by
    // V8 coverage of the test processes and counts as uncovered.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: { lines: 85, branches: 85 },
    },
  },
});
