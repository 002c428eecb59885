import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { parse as parseYaml } from 'yaml'
import { OPA_GO_MODULE, OPA_VERSION } from '../../src/toolchain/opa-version.js'

const execFileAsync = promisify(execFile)

/**
 * One case of OPA's compliance suite (`v1/test/cases/testdata/v1/<topic>/*.yaml`), as OPA's
 * `test/cases.TestCase` declares it. Data and input are kept as JSON text so that integers beyond
 * 2^53 reach both evaluators digit for digit.
 */
export interface ComplianceCase {
  /** Globally unique name, e.g. `sprintf/big_int`. */
  readonly note: string
  /** The directory under `testdata/v1` (147 of them at v1.22.4). */
  readonly topic: string
  /** The YAML file, relative to `testdata/v1`. */
  readonly file: string
  readonly query: string
  readonly modules: readonly string[]
  readonly dataJson?: string
  readonly inputJson?: string
  /** Rego term text of the input (overrides `input`), e.g. with sets. */
  readonly inputTerm?: string
  readonly wantResult?: readonly Record<string, unknown>[]
  readonly wantDefined?: boolean
  readonly wantErrorCode?: string
  readonly wantError?: string
  readonly sortBindings: boolean
  readonly strictError: boolean
}

/** OPA's Go module directory at the pinned version, downloaded into Go's module cache if need be. */
export async function opaModuleDir(): Promise<string> {
  const { stdout } = await execFileAsync(
    'go',
    ['mod', 'download', '-json', `${OPA_GO_MODULE}@v${OPA_VERSION}`],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  )
  const dir = (JSON.parse(stdout) as { Dir?: string; Error?: string }).Dir
  if (!dir) throw new Error(`go mod download ${OPA_GO_MODULE}@v${OPA_VERSION}: ${stdout}`)
  return dir
}

/** Every v1 compliance case of the OPA module at `moduleDir`, in file order. */
export async function loadOpaCases(moduleDir: string): Promise<ComplianceCase[]> {
  const root = join(moduleDir, 'v1', 'test', 'cases', 'testdata', 'v1')
  const files = (await readdir(root, { recursive: true })).filter((f) => /\.ya?ml$/.test(f)).sort()
  const cases: ComplianceCase[] = []
  for (const file of files) {
    const doc = parseYaml(await readFile(join(root, file), 'utf8'), { intAsBigInt: true }) as {
      cases?: Record<string, unknown>[]
    }
    for (const raw of doc.cases ?? [])
      cases.push(toCase(raw, relative(root, join(root, file)), file.split(sep)[0]!))
  }
  return cases
}

function toCase(raw: Record<string, unknown>, file: string, topic: string): ComplianceCase {
  return {
    note: String(raw.note),
    topic,
    file,
    query: String(raw.query),
    modules: (raw.modules as string[] | undefined) ?? [],
    ...(raw.data !== undefined && raw.data !== null ? { dataJson: exactJson(raw.data) } : {}),
    ...(raw.input !== undefined ? { inputJson: exactJson(raw.input) } : {}),
    ...(typeof raw.input_term === 'string' ? { inputTerm: raw.input_term } : {}),
    ...(Array.isArray(raw.want_result) ? { wantResult: raw.want_result as Record<string, unknown>[] } : {}),
    ...(typeof raw.want_defined === 'boolean' ? { wantDefined: raw.want_defined } : {}),
    ...(typeof raw.want_error_code === 'string' ? { wantErrorCode: raw.want_error_code } : {}),
    ...(typeof raw.want_error === 'string' ? { wantError: raw.want_error } : {}),
    sortBindings: raw.sort_bindings === true,
    strictError: raw.strict_error === true,
  }
}

/** JSON with YAML's big integers (bigint) written digit for digit. */
export function exactJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString()
  if (Array.isArray(v)) return `[${v.map(exactJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${exactJson(x)}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/**
 * A list of excepted cases, `note: reason`, in the format of OPA's
 * `internal/wasm/sdk/test/e2e/exceptions.yaml`. Keys may hold `*` globs (matched per `/` segment).
 */
export class ExceptionList {
  readonly #exact: Map<string, string>
  readonly #globs: { re: RegExp; pattern: string; reason: string }[]

  constructor(entries: Record<string, string>) {
    this.#exact = new Map()
    this.#globs = []
    for (const [pattern, reason] of Object.entries(entries)) {
      if (!pattern.includes('*')) {
        this.#exact.set(pattern, reason)
        continue
      }
      const source = pattern
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')
      this.#globs.push({ re: new RegExp(`^${source}$`), pattern, reason })
    }
  }

  /** Reads a YAML list; a missing file is an empty list only when `optional`. */
  static async fromFile(path: string): Promise<ExceptionList> {
    const entries = parseYaml(await readFile(path, 'utf8')) as Record<string, string> | null
    return new ExceptionList(entries ?? {})
  }

  /** The reason a case is excepted, if it is. */
  reason(note: string): string | undefined {
    return this.#exact.get(note) ?? this.#globs.find((g) => g.re.test(note))?.reason
  }

  /** Every pattern, for reporting entries that no longer match a failing case. */
  get patterns(): string[] {
    return [...this.#exact.keys(), ...this.#globs.map((g) => g.pattern)]
  }
}
