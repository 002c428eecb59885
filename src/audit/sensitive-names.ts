/**
 * The log rule for sensitive argument names (issue #15 class 4): a member whose name is sensitive
 * — `password`, `api_key`, `connection_string`… — is erased from every decision-log line, at any
 * depth of the MCP message, for every method, whatever the policy decided or whether it could
 * decide at all (an engine error, a deadline, a policy without a `redact` obligation). The policy's
 * own `redact` obligation still names what it wants masked; this rule is the floor under it.
 *
 * Replay: a member the rule erased is absent from the logged input, and the event's `erased`
 * lists its pointer. The replay evaluates the input as logged, so a decision reproduces exactly
 * when it did not depend on the erased values — the reference policy only ever names sensitive
 * arguments for masking, and the validation of arguments against the tool's schema is recorded in
 * the input (`mcp.tool.validation`) rather than recomputed. A decision that did depend on one is
 * reported as differing, marked `masked`.
 */
import { member } from '../json-members.js'

/** The names the reference data lists when a bundle's data lists none (`mcp_data.masking.sensitive_arguments`). */
export const DEFAULT_SENSITIVE_NAMES: readonly string[] = [
  'password',
  'passphrase',
  'secret',
  'client_secret',
  'token',
  'access_token',
  'api_key',
  'apikey',
  'authorization',
  'private_key',
  'connection_string',
]

/**
 * Past this many sensitive members in one input, the log erases their containers (the arguments,
 * the params) instead of each member: a caller can send `token`, `Token`, `tOKEN`… by the thousand,
 * and the event lists every pointer it erased.
 */
export const MAX_SENSITIVE_POINTERS = 64

/** Which member names are sensitive, as a bundle's data declares them. */
export interface SensitiveNames {
  /** The test for the names of one request to `server`'s `tool` (either may be unknown). */
  forRequest(server: string | undefined, tool: string | undefined): (name: string) => boolean
}

/**
 * Reads the sensitive names from a bundle's data document, as the reference policy does: every
 * name in `mcp_data.masking.sensitive_arguments` (compared lower-cased; {@link DEFAULT_SENSITIVE_NAMES}
 * when the data has no such list, so a bundle without masking data still keeps passwords out of
 * its log) and, for one tool, each name in its own `sensitive_arguments`
 * (`mcp_data.servers[server].tools[tool]`, compared exactly).
 *
 * @example
 * ```ts
 * const names = sensitiveNames(bundle.data)
 * names.forRequest('fetch', 'fetch')('API_KEY') // true
 * ```
 */
export function sensitiveNames(data: unknown): SensitiveNames {
  const listed = member(member(member(data, 'mcp_data'), 'masking'), 'sensitive_arguments')
  const global = new Set(
    (Array.isArray(listed) ? listed : DEFAULT_SENSITIVE_NAMES)
      .filter((name): name is string => typeof name === 'string')
      .map((name) => name.toLowerCase()),
  )
  const servers = member(member(data, 'mcp_data'), 'servers')
  const byName = (name: string) => global.has(name.toLowerCase())
  return {
    forRequest(server, tool) {
      if (server === undefined || tool === undefined) return byName
      const own = member(member(member(member(servers, server), 'tools'), tool), 'sensitive_arguments')
      if (!Array.isArray(own) || own.length === 0) return byName
      const exact = new Set(own.filter((name) => typeof name === 'string'))
      return (name) => exact.has(name) || byName(name)
    },
  }
}

/**
 * JSON pointers (RFC 6901, each starting with `prefix`) to every member of `input` named
 * sensitively, for the decision log to erase. In an input document v1 the whole MCP part
 * (`/mcp`: arguments, params of any method, analysis, client info…) is searched, with the tool's
 * own names for a `tools/call`; in any other input (the OPA API), everything. A member inside one
 * already named is not listed again. Past {@link MAX_SENSITIVE_POINTERS}, the containers that hold
 * them are listed instead (in a v1 input: the tool's or prompt's arguments, its analysis, the
 * params, or the MCP member they are under). No pointer ends at an array index, so erasing one
 * never shifts another.
 *
 * @example
 * ```ts
 * sensitivePointers({ schema: 'mcp-policy/input/v1', mcp: { params: { arguments: { options: { password: 'x' } } } } }, names)
 * // ['/mcp/params/arguments/options/password']
 * ```
 */
export function sensitivePointers(input: unknown, names: SensitiveNames, prefix = ''): string[] {
  if (input === null || typeof input !== 'object') return []
  const v1 = (input as { schema?: unknown }).schema === 'mcp-policy/input/v1'
  const root = v1 ? member(input, 'mcp') : input
  const base = v1 ? '/mcp' : ''
  const server = v1 ? stringAt(member(input, 'server'), 'id') : undefined
  const tool = v1 ? stringAt(member(root, 'tool'), 'name') : undefined
  const isSensitive = names.forRequest(server, tool)
  const found: string[][] = []
  // Explicit stack (a caller-built input is as deep as its body limit allows); each entry links to
  // its parent, so a path is built only for what is found.
  const stack: Step[] = [{ node: root, key: '', parent: undefined }]
  while (stack.length > 0) {
    const step = stack.pop()!
    const node = step.node
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ node: node[i], key: String(i), parent: step })
      continue
    }
    const keys = Object.keys(node)
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      const child: Step = { node: (node as Record<string, unknown>)[key], key, parent: step }
      if (isSensitive(key)) found.push(pathOf(child))
      else stack.push(child)
    }
  }
  const pointers =
    found.length > MAX_SENSITIVE_POINTERS
      ? [...new Set(found.map((path) => toPointer(container(path, v1))))]
      : found.map(toPointer)
  return pointers.map((pointer) => `${prefix}${base}${pointer}`)
}

interface Step {
  node: unknown
  key: string
  parent: Step | undefined
}

function pathOf(step: Step): string[] {
  const path: string[] = []
  for (let at: Step | undefined = step; at?.parent; at = at.parent) path.push(at.key)
  return path.reverse()
}

/** The member that holds a sensitive one, erased whole when there are too many to list. */
function container(path: string[], v1: boolean): string[] {
  if (!v1) return path.slice(0, 1)
  const [head, next] = path
  if ((head === 'tool' || head === 'prompt') && (next === 'arguments' || next === 'analysis'))
    return path.slice(0, 2)
  return path.slice(0, 1)
}

function toPointer(path: string[]): string {
  return path.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

function stringAt(value: unknown, key: string): string | undefined {
  const found = member(value, key)
  return typeof found === 'string' ? found : undefined
}
