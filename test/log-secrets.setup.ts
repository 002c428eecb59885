import { mkdtempSync } from 'node:fs'
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Issue #15 class 3, suite-wide: every decision log any test writes is read at the end of the run
// and must hold no token.
//
// The setup gives the run its own temp root: `TMPDIR` (read by `os.tmpdir()` in every worker and
// every process a test spawns) points into a fresh `mcp-policy-suite-*` directory, so every
// `mcp-policy-*` temp dir of this run, and every decision log in them, is under it, and nothing of
// another run on the same machine is. The teardown then reads every `decisions-*.jsonl` there for
//
// 1. every token a test registered with `registerMintedTokens` (test/log-secrets.test.ts mints
//    tokens for every metadata place a credential can travel in, for the PDP, ext_authz and the
//    gateway): the token, and its signature part on its own;
// 2. any compact JWS/JWE at all (a base64url JOSE header with `alg`, then two or more segments):
//    every token a test mints — dev tokens, oidc-provider's, forged ones — has that shape, so none
//    of them, whoever minted it, may be in a decision log. Checkpoint files (`*.checkpoints`) are
//    signed JWS by design and are not decision logs.
//
// A finding fails the run (exit code 1) and is printed with its file and line. It cannot be a test
// of its own: only the teardown runs after every test file has finished.

const ENV_DIR = 'MCP_POLICY_SUITE_DIR'
const MINTED_DIR = 'minted-tokens'

/** Registers tokens a test minted, for the suite-wide scan (a no-op outside the suite's setup). */
export async function registerMintedTokens(tokens: readonly string[]): Promise<void> {
  const dir = process.env[ENV_DIR]
  if (!dir || tokens.length === 0) return
  await mkdir(join(dir, MINTED_DIR), { recursive: true })
  await appendFile(join(dir, MINTED_DIR, `${process.pid}.txt`), `${tokens.join('\n')}\n`)
}

/** What the scan found in one decision-log line. */
export interface LogSecretFinding {
  file: string
  line: number
  what: string
}

const JOSE_CANDIDATE = /e[wy][A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*/g

/** The JOSE header of a compact serialization starting at this candidate, if it is one. */
function joseHeader(candidate: string): Record<string, unknown> | undefined {
  try {
    const header = JSON.parse(
      Buffer.from(candidate.slice(0, candidate.indexOf('.')), 'base64url').toString('utf8'),
    )
    return header && typeof header === 'object' && typeof header.alg === 'string' ? header : undefined
  } catch {
    return undefined
  }
}

/** Every decision-log file under `dir`, at any depth. */
async function decisionLogs(dir: string): Promise<string[]> {
  const found: string[] = []
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const entry of entries)
    if (entry.isFile() && /^decisions-.*\.jsonl$/.test(entry.name))
      found.push(join(entry.parentPath, entry.name))
  return found
}

/**
 * Reads every decision log under `dir` for the given tokens (and their signature parts) and for any
 * compact JWS/JWE. Returns the findings and what was read.
 */
export async function scanDecisionLogs(
  dir: string,
  tokens: readonly string[],
): Promise<{ files: number; lines: number; findings: LogSecretFinding[] }> {
  const needles = new Map<string, string>()
  for (const token of tokens) {
    needles.set(token, `a minted token (${token.slice(0, 12)}…)`)
    const signature = token.split('.')[2]
    if (signature && signature.length >= 16)
      needles.set(signature, `the signature part of a minted token (${signature.slice(0, 8)}…)`)
  }
  const files = await decisionLogs(dir)
  const findings: LogSecretFinding[] = []
  let lines = 0
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    const fileLines = text.split('\n')
    fileLines.forEach((line, index) => {
      if (line === '') return
      lines++
      for (const [needle, what] of needles)
        if (line.includes(needle)) findings.push({ file, line: index + 1, what })
      JOSE_CANDIDATE.lastIndex = 0
      for (let m = JOSE_CANDIDATE.exec(line); m !== null; m = JOSE_CANDIDATE.exec(line)) {
        const header = joseHeader(m[0])
        if (header) {
          findings.push({
            file,
            line: index + 1,
            what: `a compact JWS/JWE (header ${JSON.stringify(header)})`,
          })
          JOSE_CANDIDATE.lastIndex = m.index + m[0].length
        } else JOSE_CANDIDATE.lastIndex = m.index + 1
      }
    })
  }
  return { files: files.length, lines, findings }
}

async function mintedTokens(dir: string): Promise<string[]> {
  const tokens = new Set<string>()
  const files = await readdir(join(dir, MINTED_DIR)).catch(() => [] as string[])
  for (const file of files)
    for (const token of (await readFile(join(dir, MINTED_DIR, file), 'utf8')).split('\n'))
      if (token) tokens.add(token)
  return [...tokens]
}

export default function setup(): () => Promise<void> {
  const original = tmpdir()
  const dir = mkdtempSync(join(original, 'mcp-policy-suite-'))
  process.env.TMPDIR = dir
  process.env[ENV_DIR] = dir
  return async () => {
    process.env.TMPDIR = original
    const tokens = await mintedTokens(dir)
    const { files, lines, findings } = await scanDecisionLogs(dir, tokens)
    if (findings.length === 0) {
      console.log(
        `log-secrets: ${files} decision-log file(s), ${lines} line(s) under ${dir}: no minted token (of ${tokens.length}), no JWS`,
      )
      return
    }
    console.error(`log-secrets: ${findings.length} token(s) in decision logs under ${dir}:`)
    for (const f of findings.slice(0, 50)) console.error(`  ${f.file}:${f.line}: ${f.what}`)
    process.exitCode = 1
  }
}
