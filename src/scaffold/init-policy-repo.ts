import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { McpPolicyError } from '../errors.js'
import { policyRepoTemplate } from './policy-repo-template.js'

/**
 * `mcp-policy init DIR`: writes a policy repository — policy, data, Rego tests, decision cases, a
 * CI job — that passes `mcp-policy test` as written. Refuses a directory that is not empty, so it
 * never overwrites anyone's policy.
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when the directory exists and is not empty.
 * @example
 * ```ts
 * const files = await initPolicyRepo('my-policy')
 * ```
 */
export async function initPolicyRepo(dir: string): Promise<string[]> {
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
  const written: string[] = []
  for (const [path, content] of Object.entries(policyRepoTemplate)) {
    await mkdir(dirname(join(target, path)), { recursive: true })
    await writeFile(join(target, path), content, { flag: 'wx' })
    written.push(path)
  }
  return written
}
