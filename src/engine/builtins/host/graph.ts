import type { HostBuiltin } from '../host-builtin.js'
import { regoText } from '../rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'

type Graph = Map<string, RegoValue>

/** The graph's nodes by identity (their Rego text), or undefined when it is not an object. */
function graphOf(g: RegoValue): Graph | undefined {
  if (
    g === null ||
    typeof g !== 'object' ||
    Array.isArray(g) ||
    g instanceof RegoSet ||
    g instanceof RegoNumber
  ) {
    return undefined
  }
  const entries: [RegoValue, RegoValue][] = g instanceof Map ? [...g] : Object.entries(g)
  return new Map(entries.map(([k, v]) => [regoText(k), v]))
}

/** The members of an edge collection (array or set); none for anything else, as OPA. */
const vertices = (c: RegoValue): readonly RegoValue[] =>
  Array.isArray(c) ? c : c instanceof RegoSet ? c.items : []

/**
 * `graph.reachable_paths` (OPA `topdown/reachable.go`): every path from an initial node, ending
 * where a node has no edges, is not in the graph (left out of the path), or closes a cycle.
 */
function reachablePaths(graph: Graph, initial: readonly RegoValue[]): RegoSet {
  const paths = new Map<string, RegoValue[]>()
  const add = (p: RegoValue[]) => paths.set(regoText(p), p)
  const build = (root: RegoValue, path: RegoValue[], reached: ReadonlySet<string>): void => {
    const edges = graph.get(regoText(root))
    if (edges === undefined) {
      add(path)
      return
    }
    const next = [...path, root]
    if (vertices(edges).length === 0) {
      add(next)
      return
    }
    const seen = new Set(reached).add(regoText(root))
    for (const n of vertices(edges)) {
      if (seen.has(regoText(n))) add(next)
      else build(n, next, seen)
    }
  }
  for (const node of initial) {
    const edges = graph.get(regoText(node))
    if (edges === undefined) continue
    if (vertices(edges).length >= 1) {
      for (const n of vertices(edges)) build(n, [node], new Set([regoText(node)]))
    } else {
      add([node])
    }
  }
  return new RegoSet([...paths.values()])
}

/** `graph.*` builtins not in OPA's WebAssembly module. */
export const graphBuiltins: readonly HostBuiltin[] = [
  {
    name: 'graph.reachable_paths',
    values: 'rego',
    impl: (g, initial) => {
      const graph = graphOf(g as RegoValue)
      const init = initial as RegoValue
      if (graph === undefined || !(Array.isArray(init) || init instanceof RegoSet)) return undefined
      return reachablePaths(graph, vertices(init))
    },
  },
]
