import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { CI_WORKFLOW_PATH, ciWorkflow } from './ci-workflow.js'
import { policyRepoTemplate } from './policy-repo-template.js'
import { recordSampleLog, SAMPLE_LOG_CHAIN } from './record-sample-log.js'
import { referenceTemplate } from './reference-template.js'
import { type PolicyTemplateName, repoReadme } from './repo-readme.js'

/**
 * Options for {@link initPolicyRepo}.
 *
 * @internal
 */
export interface InitPolicyRepoOptions {
  /**
   * `reference`: this package's reference policy, data model, tests and cases (what `mcp-policy
   * init` writes by default). `minimal`: a small policy with its own, simpler data model.
   * Default `minimal`, as before `reference` existed.
   */
  template?: PolicyTemplateName
  /**
   * Record the sample decision log the CI job's what-if gate replays (`samples/decisions/`), which
   * builds the bundle with OPA. Default true: without it the CI job's last step has no log to read.
   */
  sample?: boolean
}

const GITIGNORE = `# mcp-policy outputs
.bundle-store/
bundles/*.tar.gz
policy-tests.xml
what-if.md
node_modules/
`

/**
 * `mcp-policy init DIR`: writes a policy repository — policy, data, Rego tests, decision cases, a
 * README, a CI job with a pinned mcp-policy — that passes `mcp-policy check` and `test` as
 * written, then records the sample decision log its CI job's what-if gate replays. Refuses a
 * directory that is not empty, so it never overwrites anyone's policy. Returns the files written,
 * relative to `dir`.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when the directory exists and is not empty; the build's
 *   and the log's errors while recording the sample (the other files are written by then).
 * @example
 * ```ts
 * const files = await initPolicyRepo('my-policy', { template: 'reference' })
 * ```
 */
export async function initPolicyRepo(dir: string, options: InitPolicyRepoOptions = {}): Promise<string[]> {
  const target = resolve(dir)
  const info = await stat(target).catch(() => undefined)
  if (info && !info.isDirectory())
    throw new McpPolicyError('ERR_CLI_USAGE', `${dir} exists and is not a directory`)
  let existing: string[] = []
  try {
    if (info) existing = await readdir(target)
  } catch (err) {
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read ${dir}: ${(err as Error).message}`, { cause: err })
  }
  if (existing.length > 0)
    throw new McpPolicyError(
      'ERR_CLI_USAGE',
      `${dir} is not empty; init writes only into a new or empty directory`,
    )
  const template = options.template ?? 'minimal'
  const files: Record<string, string> = {
    ...(template === 'reference' ? await referenceTemplate() : policyRepoTemplate),
    'README.md': repoReadme(template),
    '.gitignore': GITIGNORE,
    [CI_WORKFLOW_PATH]: ciWorkflow(),
  }
  const written: string[] = []
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(target, path)), { recursive: true })
    await writeFile(join(target, path), content, { flag: 'wx' })
    written.push(path)
  }
  if (options.sample ?? true) {
    try {
      written.push(...(await recordSample(target)))
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED')
      throw new McpPolicyError(
        error.code,
        `${error.message} (the other files are written; to record the sample log later: mcp-policy init ${dir} --record-sample)`,
        { cause: err },
      )
    }
  }
  return written
}

/**
 * Records the sample decision log again in an existing policy repository (`mcp-policy init DIR
 * --record-sample`), from its policy and decision cases as they are now: for a change to the
 * decisions that was meant. Returns the files written, relative to `dir`.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when `dir` has no bundle definition; the build's and the
 *   log's errors.
 */
export async function recordPolicyRepoSample(dir: string): Promise<string[]> {
  const target = resolve(dir)
  const manifest = await stat(join(target, 'bundles/default/.manifest')).catch(() => undefined)
  if (!manifest?.isFile())
    throw new McpPolicyError(
      'ERR_CLI_USAGE',
      `${dir} has no bundles/default/.manifest: --record-sample needs a policy repository made by init`,
    )
  return recordSample(target)
}

async function recordSample(target: string): Promise<string[]> {
  const sample = await recordSampleLog(target)
  return (await readdir(sample.dir))
    .filter((name) => name.startsWith(`decisions-${SAMPLE_LOG_CHAIN}-`))
    .sort()
    .map((name) => relative(target, join(sample.dir, name)).split(sep).join('/'))
}
