import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../package-root.js'
import { SAMPLE_LOG_DIR } from './record-sample-log.js'

/**
 * The file `mcp-policy init` writes the CI job to.
 *
 * @internal
 */
export const CI_WORKFLOW_PATH = '.github/workflows/policy.yml'

/**
 * `name@version` of the running mcp-policy, read from its own package.json: the exact version a
 * scaffolded CI job installs. Never a bare name or a range, which would install whatever is
 * published under that name when the job runs.
 *
 * @internal
 *
 * @throws Error when package.json has no exact `x.y.z` version (a broken installation).
 * @example
 * ```ts
 * pinnedPackageSpec() // 'mcp-policy@0.1.0'
 * ```
 */
export function pinnedPackageSpec(root: string = packageRoot()): string {
  const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name?: unknown
    version?: unknown
  }
  if (typeof name !== 'string' || typeof version !== 'string' || !EXACT_VERSION.test(version))
    throw new Error(
      `${join(root, 'package.json')} has no name and exact version to pin (got ${String(version)})`,
    )
  return `${name}@${version}`
}

// Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH, optional pre-release and build metadata; no range.
const EXACT_VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/

/**
 * The GitHub Actions job `mcp-policy init` writes: it installs this exact version of mcp-policy,
 * then runs `check`, `test` (JUnit XML), `build`, and the what-if gate — `replay` of the sample
 * log in `samples/decisions/` against the bundle just built, failing on any changed decision
 * (`--fail-on change`), with its Markdown summary shown on the job's summary page. The job's token
 * only reads the repository; the file says how to post the summary on the pull request instead.
 *
 * @internal
 *
 * @example
 * ```ts
 * await writeFile('.github/workflows/policy.yml', ciWorkflow())
 * ```
 */
export function ciWorkflow(spec: string = pinnedPackageSpec()): string {
  return `# Policy CI: style and types, the Rego tests in the WebAssembly engine and the decision cases,
# the bundle, then the what-if gate: every decision in ${SAMPLE_LOG_DIR}/ is decided again by the
# bundle this change builds, and the job fails if one comes out differently.
name: policy
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with: { node-version: 20 }
      # mcp-policy builds its pinned OPA with Go on first use.
      - uses: actions/setup-go@v5
        with: { go-version: stable }
      # An exact version, never a bare name or a range: the job runs the mcp-policy that was reviewed.
      # To upgrade, change it here (npx mcp-policy --version shows the one you run locally).
      - run: npm install --no-save --no-audit --no-fund ${spec}
      # --no: never download a package called mcp-policy if the install above did not happen.
      - run: npx --no mcp-policy check
      - run: npx --no mcp-policy test --format junit --out policy-tests.xml
      - run: npx --no mcp-policy build --out bundles/default.tar.gz
      # What-if gate. Exit 1 when a decision of the sample log changes (--fail-on change; use
      # deny-to-allow to fail only when a denied request would be allowed), 2 on an error.
      # When a change is intended, record the sample again and commit it with the change:
      #   npx mcp-policy init . --record-sample
      - run: >-
          npx --no mcp-policy replay ${SAMPLE_LOG_DIR} --against bundles/default.tar.gz
          --fail-on change --summary what-if.md
      # The summary (counts, the first differences) on the run's page, also when the gate failed.
      # To comment on the pull request instead, give the job "pull-requests: write" and run
      #   gh pr comment "\${{ github.event.pull_request.number }}" --body-file what-if.md
      # with GH_TOKEN: \${{ github.token }} (pull requests from forks get a read-only token).
      - if: \${{ !cancelled() }}
        run: if [ -f what-if.md ]; then cat what-if.md >> "$GITHUB_STEP_SUMMARY"; fi
`
}
