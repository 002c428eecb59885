import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: '.',
    include: ['test/**/*.test.ts'],
    // Tests build real bundles with OPA and spawn the CLI: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
})
