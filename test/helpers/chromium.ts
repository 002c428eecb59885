import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/** The path of a Chromium (Debian's `chromium`, or another build's name) on PATH, if any. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name)
      try {
        accessSync(candidate, constants.X_OK)
        return candidate
      } catch {}
    }
  }
  return undefined
}

/**
 * Runs headless Chromium on one page with a throwaway profile (so parallel runs never share a
 * profile lock) and resolves with its stdout; `args` add e.g. `--dump-dom` or `--screenshot=…`.
 */
export async function runChromium(chromium: string, url: string, args: readonly string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'mcp-policy-chromium-'))
  try {
    return await new Promise<string>((resolve, reject) =>
      execFile(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--hide-scrollbars',
          `--user-data-dir=${profile}`,
          ...args,
          url,
        ],
        { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    )
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
}
