import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'

/** The parts of the libpg-query Emscripten module this wrapper calls. */
interface PgQueryModule {
  _malloc(size: number): number
  _free(pointer: number): void
  _wasm_parse_query_raw(query: number): number
  _wasm_free_parse_result(result: number): void
  getValue(pointer: number, type: 'i32'): number
  lengthBytesUTF8(text: string): number
  stringToUTF8(text: string, pointer: number, size: number): void
  UTF8ToString(pointer: number): string
}

type PgQueryFactory = (options: Record<string, unknown>) => Promise<PgQueryModule>

/** What one parse gave: PostgreSQL's raw parse tree (libpg_query's JSON form), or its error. */
export type PostgresParse = { tree: unknown } | { error: string }

const require = createRequire(import.meta.url)

/**
 * PostgreSQL's own parser (libpg_query compiled to WebAssembly, npm `libpg-query`), one instance
 * per process. Parsing is synchronous; loading (compiling 1.7 MB of WebAssembly) is not, so
 * enforcement points load it at startup with {@link loadPostgresParser}.
 *
 * The instance is ours rather than the package's shared one because a trap inside it (a query
 * nested deep enough to exhaust the stack) leaves Emscripten's stack pointer where the trap
 * left it: every later parse of that instance fails or, worse, writes over its data. After a
 * trap this parser drops the instance and makes a new one from the compiled module.
 */
export class PostgresParser {
  readonly #factory: PgQueryFactory
  readonly #compiled: WebAssembly.Module
  #module: PgQueryModule | undefined
  #replacing: Promise<void> | undefined

  private constructor(factory: PgQueryFactory, compiled: WebAssembly.Module) {
    this.#factory = factory
    this.#compiled = compiled
  }

  /** Compiles the WebAssembly and makes the first instance. */
  static async create(): Promise<PostgresParser> {
    const factory = require('libpg-query/wasm/libpg-query.js') as PgQueryFactory
    const bytes = await readFile(require.resolve('libpg-query/wasm/libpg-query.wasm'))
    const parser = new PostgresParser(factory, await WebAssembly.compile(bytes))
    await parser.#instantiate()
    return parser
  }

  /** False while a trapped instance is being replaced: wait for {@link ready} then. */
  get available(): boolean {
    return this.#module !== undefined
  }

  /**
   * Settles when an instance is there to parse with (a failed replacement is tried again here).
   *
   * @throws Error when no instance can be made.
   */
  ready(): Promise<void> {
    if (!this.#module && !this.#replacing) this.#replacing = this.#instantiate()
    return this.#replacing ?? Promise.resolve()
  }

  /**
   * Parses one or more statements. A syntax error is an `error`; so is a trap, after which the
   * instance is replaced (see the class comment).
   *
   * @throws Error when no instance is available (call {@link ready} first).
   */
  parse(sql: string): PostgresParse {
    const module = this.#module
    if (!module) throw new Error('the PostgreSQL parser is being replaced after a trap')
    let query = 0
    let result = 0
    try {
      const size = module.lengthBytesUTF8(sql) + 1
      query = module._malloc(size)
      if (!query) return { error: 'out of parser memory' }
      module.stringToUTF8(sql, query, size)
      result = module._wasm_parse_query_raw(query)
      if (!result) return { error: 'out of parser memory' }
      // PgQueryParseResult: { char *parse_tree; char *stderr_buffer; PgQueryError *error }.
      const error = module.getValue(result + 8, 'i32')
      if (error) {
        const message = module.getValue(error, 'i32')
        return { error: message ? module.UTF8ToString(message) : 'syntax error' }
      }
      const tree = module.getValue(result, 'i32')
      if (!tree) return { error: 'no parse tree' }
      return { tree: JSON.parse(module.UTF8ToString(tree)) }
    } catch (err) {
      // A trap (stack exhausted, memory out of bounds) or a tree too large for JSON.parse: the
      // instance's state cannot be trusted any more.
      this.#module = undefined
      result = 0
      query = 0
      this.#replacing = this.#instantiate()
      return { error: `the parser failed: ${(err as Error).message}` }
    } finally {
      if (result) module._wasm_free_parse_result(result)
      if (query) module._free(query)
    }
  }

  async #instantiate(): Promise<void> {
    const compiled = this.#compiled
    try {
      this.#module = await this.#factory({
        print() {},
        printErr() {},
        // The compiled module is reused: a new instance takes milliseconds, not a compile.
        instantiateWasm(
          imports: WebAssembly.Imports,
          receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
        ) {
          const instance = new WebAssembly.Instance(compiled, imports)
          receive(instance, compiled)
          return instance.exports
        },
      })
    } finally {
      this.#replacing = undefined
    }
  }
}

let shared: Promise<PostgresParser> | undefined
let loaded: PostgresParser | undefined

/**
 * The process's PostgreSQL parser, loaded on the first call (later calls share it). Enforcement
 * points await it at startup, so no request waits for the compile.
 *
 * @example
 * ```ts
 * const parser = await loadPostgresParser()
 * parser.parse('select 1') // { tree: { version: 180004, stmts: [...] } }
 * ```
 */
export function loadPostgresParser(): Promise<PostgresParser> {
  shared ??= PostgresParser.create().then(
    (parser) => {
      loaded = parser
      return parser
    },
    (err) => {
      shared = undefined
      throw err
    },
  )
  return shared
}

/** The parser when {@link loadPostgresParser} has finished, else `undefined` (no waiting). */
export function loadedPostgresParser(): PostgresParser | undefined {
  return loaded
}
