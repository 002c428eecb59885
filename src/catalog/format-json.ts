/** Where a formatted value starts: the indentation of its line and the columns already used on it. */
export interface JsonLayout {
  /** Indentation (spaces) of the line the value starts on; nested lines add two. */
  indent: number
  /** Columns already taken on the value's first line (indentation, key, `": "`). */
  column: number
  /** Columns a line may use (default 110, the repository's formatter setting). */
  width?: number
}

/**
 * Formats a JSON value the way a person (and Biome or Prettier) lays out a hand-maintained data
 * file: an object or array that fits on its line stays on it (`{ "write": true }`, `["a", "b"]`),
 * anything longer opens one member per line. Written that way, a data file that `catalog import`
 * updated is already formatted, so the formatter in CI does not turn an import into a second diff.
 * The output parses back to the same value (`JSON.parse(formatJson(v, l))` deep-equals `v`).
 *
 * @example
 * ```ts
 * formatJson({ write: true }, { indent: 6, column: 20 }) // '{ "write": true }'
 * ```
 */
export function formatJson(value: unknown, layout: JsonLayout): string {
  return format(value, layout.indent, layout.column, layout.width ?? 110, 1)
}

// `trailing` counts the comma that follows a value that is not the last member: a line that fits
// only without it does not fit.
function format(value: unknown, indent: number, column: number, width: number, trailing: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  const inline = inlineJson(value, width - column - trailing)
  if (inline !== undefined) return inline
  const inner = ' '.repeat(indent + 2)
  const close = ' '.repeat(indent)
  if (Array.isArray(value)) {
    const lines = value.map(
      (item, i) => `${inner}${format(item, indent + 2, indent + 2, width, i < value.length - 1 ? 1 : 0)}`,
    )
    return `[\n${lines.join(',\n')}\n${close}]`
  }
  const entries = Object.entries(value)
  const lines = entries.map(([key, member], i) => {
    const head = `${inner}${JSON.stringify(key)}: `
    return `${head}${format(member, indent + 2, head.length, width, i < entries.length - 1 ? 1 : 0)}`
  })
  return `{\n${lines.join(',\n')}\n${close}}`
}

/**
 * The value on one line, with the spacing of the formatters (`{ "a": 1 }`, `[1, 2]`, `{}`, `[]`),
 * or undefined when it is longer than `budget`. Stopping at the budget keeps the whole layout
 * linear in the size of the value: without it every level of a deep value would be printed whole
 * once more only to learn it does not fit.
 */
function inlineJson(value: unknown, budget: number): string | undefined {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) ?? 'null'
    return text.length <= budget ? text : undefined
  }
  const array = Array.isArray(value)
  const entries = array ? (value as unknown[]).map((item) => ['', item] as const) : Object.entries(value)
  if (entries.length === 0) return array ? '[]' : '{}'
  let text = array ? '[' : '{ '
  for (const [i, [key, member]] of entries.entries()) {
    if (i > 0) text += ', '
    if (!array) text += `${JSON.stringify(key)}: `
    const rest = budget - text.length - (array ? 1 : 2)
    if (rest < 0) return undefined
    const inner = inlineJson(member, rest)
    if (inner === undefined) return undefined
    text += inner
  }
  text += array ? ']' : ' }'
  return text.length <= budget ? text : undefined
}
