import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { packageRoot } from '../../src/package-root.js'

const run = promisify(execFile)

/** The built CLI (`npm test` builds it first). */
export const cliPath = join(packageRoot(), 'dist', 'cli', 'main.js')

/** Runs the built CLI and returns its exit code and output. */
export async function mcpPolicy(
  args: string[],
  cwd = packageRoot(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliPath, ...args], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
