import { McpPolicyError } from '../src/index.js'

/**
 * Runs a subcommand body and turns its outcome into the process exit code: the body's own code,
 * or the error table's exit code for an {@link McpPolicyError}, or 2 for anything unexpected.
 */
export async function runCommand(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body()
  } catch (err) {
    if (err instanceof McpPolicyError) {
      process.stderr.write(`mcp-policy: ${err.code}: ${err.message}\n`)
      process.exitCode = err.exitCode
    } else {
      process.stderr.write(`mcp-policy: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`)
      process.exitCode = 2
    }
  }
}
