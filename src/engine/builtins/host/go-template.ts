import { compareStrings } from '../rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'
import { type GoArg, goSprintf } from './go-fmt.js'
import { formatFloat } from './go-strconv.js'

/**
 * The part of Go's `text/template` that OPA's `strings.render_template` reaches, over the values
 * OPA hands it (`ast.As` into `map[string]any`: objects as maps, arrays as slices, numbers as
 * `json.Number`, which is a string type to the template). Supported: text and actions with `{{-`
 * / `-}}` trimming, comments, fields and field chains (`.a.b`, `$x.a`), variables (`$`, `$x :=`,
 * `$x =`), literals, pipelines with `|`, parentheses, `if`/`else if`/`else`, `range` (with `else`,
 * `$i, $e :=`, `break`, `continue`), `with`, and the functions `and`, `or`, `not`, `len`, `index`,
 * `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `print`, `printf`, `println`. Anything else (`define`,
 * `template`, `block`, `html`, `js`, `urlquery`, `slice`, `call`) is an error, which OPA's builtin
 * reports and the engine answers as undefined.
 */

/** Go's `json.Number`: a number's text, a string kind to templates. */
class JsonNumber {
  constructor(readonly text: string) {}
}
/** A numeric literal in the template (an untyped constant: int or float). */
class Lit {
  constructor(
    readonly kind: 'int' | 'float',
    readonly v: number,
  ) {}
}
/** A missing map key: Go's invalid `reflect.Value`, printed `<no value>`. */
const MISSING = Symbol('missing')

type Val = string | boolean | null | JsonNumber | Lit | Val[] | Map<string, Val> | typeof MISSING

export class TemplateError extends Error {}

/** A rendering budget: output past it is an error (nested ranges multiply output). */
export const MAX_OUTPUT = 16 * 1024 * 1024

// ---- lexing and parsing ----

type Node =
  | { k: 'text'; s: string }
  | { k: 'action'; p: Pipe }
  | { k: 'if' | 'with'; p: Pipe; body: Node[]; els: Node[] }
  | { k: 'range'; p: Pipe; body: Node[]; els: Node[] }
  | { k: 'break' | 'continue' }

interface Pipe {
  decl: string[]
  assign: boolean
  cmds: Arg[][]
}

type Arg =
  | { k: 'field'; base: 'dot' | string; path: string[] }
  | { k: 'ident'; name: string }
  | { k: 'lit'; v: Val }
  | { k: 'paren'; p: Pipe; path: string[] }

interface Tok {
  t: 'field' | 'var' | 'ident' | 'str' | 'num' | '(' | ')' | '|' | ':=' | '=' | ',' | 'dot'
  s: string
}

function lexAction(src: string): Tok[] {
  const toks: Tok[] = []
  let i = 0
  const fieldChain = (): string => {
    const m = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(src.slice(i))
    return m ? m[0] : ''
  }
  while (i < src.length) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      toks.push({ t: c, s: c })
      i++
    } else if (src.startsWith(':=', i)) {
      toks.push({ t: ':=', s: ':=' })
      i += 2
    } else if (c === '=') {
      toks.push({ t: '=', s: '=' })
      i++
    } else if (c === '"') {
      const m = /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(i))
      if (!m) throw new TemplateError('unterminated quoted string')
      try {
        toks.push({ t: 'str', s: JSON.parse(m[0]) as string })
      } catch {
        throw new TemplateError('bad string')
      }
      i += m[0].length
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1)
      if (end < 0) throw new TemplateError('unterminated raw quoted string')
      toks.push({ t: 'str', s: src.slice(i + 1, end) })
      i = end + 1
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*/.exec(src.slice(i))!
      i += m[0].length
      const chain = fieldChain()
      i += chain.length
      toks.push({ t: 'var', s: m[0] + chain })
    } else if (c === '.') {
      const chain = fieldChain()
      if (chain === '') {
        if (/[0-9]/.test(src[i + 1] ?? '')) {
          const m = /^\.[0-9]+(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))!
          toks.push({ t: 'num', s: m[0] })
          i += m[0].length
        } else {
          toks.push({ t: 'dot', s: '.' })
          i++
        }
      } else {
        toks.push({ t: 'field', s: chain })
        i += chain.length
      }
    } else if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(?:0[xX][0-9a-fA-F_]+|[0-9_]*\.?[0-9_]+(?:[eE][+-]?[0-9]+)?)/.exec(src.slice(i))
      if (!m || m[0] === '-' || m[0] === '+') throw new TemplateError(`bad character ${JSON.stringify(c)}`)
      toks.push({ t: 'num', s: m[0] })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!
      toks.push({ t: 'ident', s: m[0] })
      i += m[0].length
    } else throw new TemplateError(`bad character ${JSON.stringify(c)}`)
    // A field chain may follow a closing parenthesis: (x).a
    if (toks[toks.length - 1]!.t === ')') {
      const chain = fieldChain()
      if (chain !== '') {
        toks.push({ t: 'field', s: `)${chain}` })
        i += chain.length
      }
    }
  }
  return toks
}

const FUNCS = new Set([
  'and',
  'or',
  'not',
  'len',
  'index',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'print',
  'printf',
  'println',
])

class Parser {
  private pos = 0
  private readonly items: ({ text: string } | { action: string })[] = []
  constructor(src: string) {
    let i = 0
    let trimNext = false
    while (i < src.length) {
      const open = src.indexOf('{{', i)
      let text = open < 0 ? src.slice(i) : src.slice(i, open)
      if (trimNext) text = text.replace(/^[ \t\r\n]+/, '')
      trimNext = false
      if (open < 0) {
        if (text) this.items.push({ text })
        break
      }
      let start = open + 2
      if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) {
        text = text.replace(/[ \t\r\n]+$/, '')
        start += 1
      }
      if (text) this.items.push({ text })
      // The action ends at the first "}}" outside a quoted string or comment.
      let j = start
      let end = -1
      while (j < src.length) {
        const c = src[j]
        if (src.startsWith('/*', j)) {
          const e = src.indexOf('*/', j + 2)
          if (e < 0) throw new TemplateError('unclosed comment')
          j = e + 2
        } else if (c === '"' || c === '`') {
          const q = c === '"' ? /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(j)) : /^`[^`]*`/.exec(src.slice(j))
          if (!q) throw new TemplateError('unterminated quoted string')
          j += q[0].length
        } else if (src.startsWith('}}', j)) {
          end = j
          break
        } else j++
      }
      if (end < 0) throw new TemplateError('unclosed action')
      let body = src.slice(start, end)
      if (/[ \t\r\n]-$/.test(body)) {
        body = body.slice(0, -1)
        trimNext = true
      }
      const trimmed = body.trim()
      if (trimmed.startsWith('/*')) {
        if (!trimmed.endsWith('*/')) throw new TemplateError('comment ends before closing delimiter')
      } else this.items.push({ action: body })
      i = end + 2
    }
  }

  parse(): Node[] {
    const [nodes, stop] = this.list()
    if (stop !== undefined) throw new TemplateError(`unexpected {{${stop}}}`)
    return nodes
  }

  /** Nodes up to `end` or `else` (returned as the stop word) or the end of input. */
  private list(loopDepth = 0): [Node[], string | undefined, Tok[]] {
    const nodes: Node[] = []
    while (this.pos < this.items.length) {
      const item = this.items[this.pos++]!
      if ('text' in item) {
        nodes.push({ k: 'text', s: item.text })
        continue
      }
      const toks = lexAction(item.action)
      const head = toks[0]
      if (head === undefined) throw new TemplateError('missing value for command')
      if (head.t === 'ident') {
        switch (head.s) {
          case 'end':
          case 'else':
            return [nodes, head.s, toks.slice(1)]
          case 'if':
          case 'with':
          case 'range':
            nodes.push(this.control(head.s, toks.slice(1), loopDepth))
            continue
          case 'break':
          case 'continue':
            if (loopDepth === 0) throw new TemplateError(`{{${head.s}}} outside {{range}}`)
            nodes.push({ k: head.s })
            continue
          case 'define':
          case 'template':
          case 'block':
            throw new TemplateError(`{{${head.s}}} is not supported`)
        }
      }
      nodes.push({ k: 'action', p: pipe(toks, false) })
    }
    return [nodes, undefined, []]
  }

  private control(kind: 'if' | 'with' | 'range', toks: Tok[], loopDepth: number): Node {
    const p = pipe(toks, kind === 'range')
    const [body, stop, rest] = this.list(kind === 'range' ? loopDepth + 1 : loopDepth)
    if (stop === undefined) throw new TemplateError(`unexpected EOF in ${kind}`)
    let els: Node[] = []
    if (stop === 'else') {
      if (rest.length > 0 && rest[0]!.t === 'ident' && (rest[0]!.s === 'if' || rest[0]!.s === 'with')) {
        // {{else if …}} / {{else with …}}: a nested control sharing this one's {{end}}.
        els = [this.control(rest[0]!.s as 'if' | 'with', rest.slice(1), loopDepth)]
      } else {
        if (rest.length > 0) throw new TemplateError('unexpected tokens after else')
        const [e, stop2] = this.list(loopDepth)
        if (stop2 !== 'end') throw new TemplateError(`expected end; found ${stop2 ?? 'EOF'}`)
        els = e
      }
    } else if (rest.length > 0) throw new TemplateError('unexpected tokens after end')
    return { k: kind, p, body, els }
  }
}

function pipe(toks: Tok[], allowTwo: boolean): Pipe {
  let i = 0
  const decl: string[] = []
  let assign = false
  // Declarations: $x := …, $x = …, and for range $i, $e := …
  const isVar = (t: Tok | undefined) => t?.t === 'var' && !t.s.includes('.')
  if (isVar(toks[0]) && (toks[1]?.t === ':=' || toks[1]?.t === '=')) {
    decl.push(toks[0]!.s)
    assign = toks[1]!.t === '='
    i = 2
  } else if (allowTwo && isVar(toks[0]) && toks[1]?.t === ',' && isVar(toks[2]) && toks[3]?.t === ':=') {
    decl.push(toks[0]!.s, toks[2]!.s)
    i = 4
  }
  const [cmds, next] = commands(toks, i)
  if (next !== toks.length) throw new TemplateError(`unexpected ${toks[next]!.s} in command`)
  if (cmds.length === 0) throw new TemplateError('missing value for command')
  return { decl, assign, cmds }
}

function commands(toks: Tok[], start: number): [Arg[][], number] {
  const cmds: Arg[][] = []
  let cmd: Arg[] = []
  let i = start
  for (; i < toks.length; i++) {
    const t = toks[i]!
    if (t.t === ')') break
    if (t.t === '|') {
      if (cmd.length === 0) throw new TemplateError('missing command')
      cmds.push(cmd)
      cmd = []
      continue
    }
    if (t.t === '(') {
      const [inner, close] = commands(toks, i + 1)
      if (toks[close]?.t !== ')') throw new TemplateError('unclosed left paren')
      i = close
      let path: string[] = []
      if (toks[i + 1]?.t === 'field' && toks[i + 1]!.s.startsWith(')')) {
        path = toks[i + 1]!.s.slice(2).split('.')
        i++
      }
      if (inner.length === 0) throw new TemplateError('missing value for parenthesized pipeline')
      cmd.push({ k: 'paren', p: { decl: [], assign: false, cmds: inner }, path })
      continue
    }
    cmd.push(operand(t))
  }
  if (cmd.length > 0) cmds.push(cmd)
  else if (cmds.length > 0) throw new TemplateError('missing command')
  return [cmds, i]
}

function operand(t: Tok): Arg {
  switch (t.t) {
    case 'dot':
      return { k: 'field', base: 'dot', path: [] }
    case 'field':
      return { k: 'field', base: 'dot', path: t.s.slice(1).split('.') }
    case 'var': {
      const [v, ...path] = t.s.split('.')
      return { k: 'field', base: v!, path }
    }
    case 'str':
      return { k: 'lit', v: t.s }
    case 'num': {
      const s = t.s.replace(/_/g, '')
      const v = Number(s)
      if (!Number.isFinite(v)) throw new TemplateError(`bad number syntax: ${t.s}`)
      return { k: 'lit', v: new Lit(/^[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(s) ? 'int' : 'float', v) }
    }
    case 'ident':
      if (t.s === 'true' || t.s === 'false') return { k: 'lit', v: t.s === 'true' }
      if (t.s === 'nil') return { k: 'lit', v: null }
      if (!FUNCS.has(t.s)) throw new TemplateError(`function ${JSON.stringify(t.s)} not defined`)
      return { k: 'ident', name: t.s }
    default:
      throw new TemplateError(`unexpected ${t.s}`)
  }
}

// ---- values ----

/** Rego values as `ast.As` hands them to the template. */
function fromRego(v: RegoValue): Val {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (v instanceof RegoNumber) return new JsonNumber(v.text)
  if (Array.isArray(v)) return v.map(fromRego)
  if (v instanceof RegoSet) return v.items.map(fromRego)
  const m = new Map<string, Val>()
  if (v instanceof Map) {
    // ast.As round-trips the value through JSON, which OPA 1.x cannot decode when a key is not a
    // string (its encoder writes the key's bare text, e.g. `{1:"x"}`): the builtin errors.
    for (const [k, x] of v) {
      if (typeof k !== 'string')
        throw new TemplateError('invalid character looking for beginning of object key string')
      m.set(k, fromRego(x))
    }
  } else for (const [k, x] of Object.entries(v)) m.set(k, fromRego(x as RegoValue))
  return m
}

const kindOf = (v: Val): string =>
  v === MISSING
    ? 'invalid'
    : v === null
      ? 'nil'
      : typeof v === 'string' || v instanceof JsonNumber
        ? 'string'
        : typeof v === 'boolean'
          ? 'bool'
          : v instanceof Lit
            ? v.kind
            : Array.isArray(v)
              ? 'slice'
              : 'map'

function truth(v: Val): boolean {
  if (v === MISSING || v === null) return false
  if (typeof v === 'boolean') return v
  if (typeof v === 'string') return v.length > 0
  if (v instanceof JsonNumber) return v.text.length > 0
  if (v instanceof Lit) return v.v !== 0
  if (Array.isArray(v)) return v.length > 0
  return v.size > 0
}

/** fmt's `%v` of a value inside a composite or as an argument. */
function fmtV(v: Val, top: boolean): string {
  if (v === MISSING) return top ? '<no value>' : '<invalid reflect.Value>'
  if (v === null) return top ? '<no value>' : '<nil>'
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return String(v)
  if (v instanceof JsonNumber) return v.text
  if (v instanceof Lit) return v.kind === 'int' ? String(v.v) : formatFloat(v.v, 'g', -1)
  if (Array.isArray(v)) return `[${v.map((x) => fmtV(x, false)).join(' ')}]`
  // fmt prints map keys sorted as Go compares strings: by UTF-8 bytes, not UTF-16 units.
  const keys = [...v.keys()].sort(compareStrings)
  return `map[${keys.map((k) => `${k}:${fmtV(v.get(k)!, false)}`).join(' ')}]`
}

const goArg = (v: Val): GoArg => {
  if (v instanceof Lit)
    return v.kind === 'int' ? { type: 'int64', v: BigInt(v.v) } : { type: 'float64', v: v.v }
  return { type: 'string', v: fmtV(v, false) }
}

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8')

function scalar(v: Val): string | number | boolean {
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (v instanceof JsonNumber) return v.text
  if (v instanceof Lit) return v.v
  throw new TemplateError(`invalid type for comparison: ${kindOf(v)}`)
}

/** Go's `eq`/`lt` on basic kinds: both of one kind (an int and a float are not). */
function compare(a: Val, b: Val, ordered: boolean): number {
  const ka = kindOf(a)
  const kb = kindOf(b)
  if (ka !== kb) throw new TemplateError('incompatible types for comparison')
  if (ordered && ka === 'bool') throw new TemplateError('invalid type for comparison')
  const x = scalar(a)
  const y = scalar(b)
  return x < y ? -1 : x > y ? 1 : 0
}

function call(name: string, args: Val[]): Val {
  const need = (n: number) => {
    if (args.length !== n) throw new TemplateError(`wrong number of args for ${name}`)
  }
  switch (name) {
    case 'not':
      need(1)
      return !truth(args[0]!)
    case 'len': {
      need(1)
      const v = args[0]!
      if (typeof v === 'string') return new Lit('int', byteLength(v))
      if (v instanceof JsonNumber) return new Lit('int', byteLength(v.text))
      if (Array.isArray(v)) return new Lit('int', v.length)
      if (v instanceof Map) return new Lit('int', v.size)
      throw new TemplateError(`len of type ${kindOf(v)}`)
    }
    case 'index': {
      if (args.length < 1) throw new TemplateError('wrong number of args for index')
      let v = args[0]!
      for (const k of args.slice(1)) {
        if (Array.isArray(v)) {
          if (!(k instanceof Lit) || k.kind !== 'int')
            throw new TemplateError('cannot index slice/array with non-integer')
          if (k.v < 0 || k.v >= v.length) throw new TemplateError(`index out of range: ${k.v}`)
          v = v[k.v]!
        } else if (v instanceof Map) {
          if (typeof k !== 'string') throw new TemplateError('value has wrong type for map key')
          v = v.has(k) ? v.get(k)! : MISSING
        } else if (v === null || v === MISSING) throw new TemplateError('index of untyped nil')
        else throw new TemplateError(`can't index item of type ${kindOf(v)}`)
      }
      return v
    }
    case 'eq': {
      if (args.length < 2) throw new TemplateError('missing argument for comparison')
      return args.slice(1).some((b) => compare(args[0]!, b, false) === 0)
    }
    case 'ne':
      need(2)
      return compare(args[0]!, args[1]!, false) !== 0
    case 'lt':
      need(2)
      return compare(args[0]!, args[1]!, true) < 0
    case 'le':
      need(2)
      return compare(args[0]!, args[1]!, true) <= 0
    case 'gt':
      need(2)
      return compare(args[0]!, args[1]!, true) > 0
    case 'ge':
      need(2)
      return compare(args[0]!, args[1]!, true) >= 0
    case 'print': {
      // fmt.Sprint: a space between operands when neither is a string.
      let out = ''
      args.forEach((a, i) => {
        const isStr = (x: Val) => typeof x === 'string' || x instanceof JsonNumber
        if (i > 0 && !isStr(a) && !isStr(args[i - 1]!)) out += ' '
        out += fmtV(a, false)
      })
      return out
    }
    case 'println':
      return `${args.map((a) => fmtV(a, false)).join(' ')}\n`
    case 'printf': {
      if (typeof args[0] !== 'string') throw new TemplateError('printf: format must be a string')
      return goSprintf(args[0], args.slice(1).map(goArg))
    }
    default:
      throw new TemplateError(`function ${name} not defined`)
  }
}

// ---- execution ----

class Exec {
  out = ''
  vars: [string, Val][] = []
  constructor(root: Val) {
    this.vars.push(['$', root])
  }

  write(s: string): void {
    this.out += s
    if (this.out.length > MAX_OUTPUT) throw new TemplateError('template output exceeds the limit')
  }

  variable(name: string): Val {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]![0] === name) return this.vars[i]![1]
    throw new TemplateError(`undefined variable: ${name}`)
  }

  field(v: Val, path: string[]): Val {
    for (const f of path) {
      if (v === MISSING) return MISSING
      if (v instanceof Map) v = v.has(f) ? v.get(f)! : MISSING
      else if (v === null) throw new TemplateError(`nil pointer evaluating interface {}.${f}`)
      else throw new TemplateError(`can't evaluate field ${f} in type ${kindOf(v)}`)
    }
    return v
  }

  arg(a: Arg, dot: Val): Val {
    switch (a.k) {
      case 'field':
        return this.field(a.base === 'dot' ? dot : this.variable(a.base), a.path)
      case 'lit':
        return a.v
      case 'paren':
        return this.field(this.pipe(a.p, dot), a.path)
      case 'ident':
        return call(a.name, [])
    }
  }

  pipe(p: Pipe, dot: Val): Val {
    let last: Val | undefined
    for (const cmd of p.cmds) {
      const [head, ...rest] = cmd
      if (head!.k === 'ident') {
        const name = head!.name
        if (name === 'and' || name === 'or') {
          // Short-circuit, as Go 1.18+: the first falsy (and) / truthy (or) operand, else the last.
          const operands = rest.map((r) => () => this.arg(r, dot))
          if (last !== undefined) operands.push(() => last!)
          if (operands.length === 0) throw new TemplateError(`wrong number of args for ${name}`)
          let v: Val = MISSING
          for (const get of operands) {
            v = get()
            if (truth(v) === (name === 'or')) break
          }
          last = v
          continue
        }
        const args = rest.map((r) => this.arg(r, dot))
        if (last !== undefined) args.push(last)
        last = call(name, args)
      } else {
        if (rest.length > 0 || last !== undefined)
          throw new TemplateError("can't give argument to non-function")
        last = this.arg(head!, dot)
      }
    }
    const v = last!
    if (p.decl.length === 1) {
      if (p.assign) {
        const i = this.vars.findLastIndex(([n]) => n === p.decl[0])
        if (i < 0) throw new TemplateError(`undefined variable: ${p.decl[0]}`)
        this.vars[i]![1] = v
      } else this.vars.push([p.decl[0]!, v])
    }
    return v
  }

  /** Runs nodes; returns 'break' / 'continue' when one unwinds to the enclosing range. */
  run(nodes: Node[], dot: Val): 'break' | 'continue' | undefined {
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          this.write(n.s)
          break
        case 'action': {
          const v = this.pipe(n.p, dot)
          if (n.p.decl.length === 0) this.write(fmtV(v, true))
          break
        }
        case 'if':
        case 'with': {
          const mark = this.vars.length
          const v = this.pipe(n.p, dot)
          const r = truth(v) ? this.run(n.body, n.k === 'with' ? v : dot) : this.run(n.els, dot)
          this.vars.length = mark
          if (r) return r
          break
        }
        case 'range': {
          const mark = this.vars.length
          const v = this.range(n, dot)
          this.vars.length = mark
          if (v) return v
          break
        }
        case 'break':
        case 'continue':
          return n.k
      }
    }
    return undefined
  }

  range(n: Extract<Node, { k: 'range' }>, dot: Val): undefined {
    const p: Pipe = { ...n.p, decl: [] }
    const v = this.pipe(p, dot)
    let entries: [Val, Val][]
    if (Array.isArray(v)) entries = v.map((x, i) => [new Lit('int', i), x])
    else if (v instanceof Map)
      // text/template ranges over map keys in Go string order: UTF-8 bytes, not UTF-16 units.
      entries = [...v.keys()].sort(compareStrings).map((k) => [k, v.get(k)!])
    else if (v === MISSING || v === null) entries = []
    else throw new TemplateError(`range can't iterate over ${fmtV(v, true)}`)
    if (entries.length === 0) {
      this.run(n.els, dot)
      return undefined
    }
    const mark = this.vars.length
    for (const [k, x] of entries) {
      this.vars.length = mark
      if (n.p.decl.length === 1) this.vars.push([n.p.decl[0]!, x])
      if (n.p.decl.length === 2) this.vars.push([n.p.decl[0]!, k], [n.p.decl[1]!, x])
      if (this.run(n.body, x) === 'break') break
    }
    return undefined
  }
}

/**
 * Renders `template` with `vars` as Go's `text/template` does for OPA, `<no value>` replaced by
 * `<undefined>` as OPA does.
 *
 * @throws TemplateError where Go's parse or execution fails.
 */
export function renderTemplate(template: string, vars: RegoValue): string {
  const nodes = new Parser(template).parse()
  const exec = new Exec(fromRego(vars))
  exec.run(nodes, fromRego(vars))
  return exec.out.replaceAll('<no value>', '<undefined>')
}
