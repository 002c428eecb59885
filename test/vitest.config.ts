import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: '.',
    include: ['test/**/*.test.ts'],
    // Tests build real bundles with OPA and spawn the CLI: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Gives the run its own TMPDIR and, when every test file is done, reads every decision log the
    // run wrote for tokens (issue #15 class 3): a finding fails the run.
    globalSetup: ['test/log-secrets.setup.ts'],
    // The JSON report lets .ci/run print a plain 'N passed, N failed' closing line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
})
