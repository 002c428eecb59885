/**
 * Text from an MCP server (tool names, URIs, error messages, its stderr) made safe to print on a
 * terminal. Control characters (terminal escape sequences among them), the Unicode line and
 * paragraph separators and the bidirectional controls (which make text read differently from what
 * it is) become `\uXXXX`; newlines and tabs are kept unless `multiline` is false. A server's
 * catalog is input from the party the policy is about: a tool named `"\u001b]0;…"` must not
 * rewrite the terminal of the person reviewing its diff, nor a name with a newline forge a line.
 *
 * @example
 * ```ts
 * printable('red\u001b[31m') // 'red\\u001b[31m'
 * ```
 */
export function printable(text: string, multiline = true): string {
  const unsafe = multiline ? UNSAFE : UNSAFE_ON_ONE_LINE
  return text.replace(unsafe, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE_ON_ONE_LINE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g
