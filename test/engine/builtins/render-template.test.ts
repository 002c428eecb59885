import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { hostBuiltinsByName } from '../../../src/engine/builtins/builtin-table.js'
import { RegoNumber } from '../../../src/engine/builtins/rego-value.js'
import { opaBinary } from '../../helpers/opa-binary.js'
import { type Call, opaAnswers, ourAnswer } from './opa-answers.js'

/** `strings.render_template` (Go's text/template as OPA runs it) against a real `opa eval`. */
let opa: string
beforeAll(async () => {
  opa = await opaBinary()
})

const vars = {
  a: 1.5,
  b: 1e30,
  c: [1, 'a', { z: 1 }],
  d: { k: 'v', j: [1] },
  e: true,
  f: null,
  h: 3,
  i: 's',
  z: 0,
  empty: [],
  m: { b: 2, a: 1 },
}

const templates = [
  '{{.test}}',
  '{{.a}}|{{.b}}|{{.c}}|{{.d}}|{{.e}}|{{.f}}|{{.h}}|{{.i}}|{{index .c 1}}|{{len .c}}|{{printf "%v-%v" .a .h}}|{{.d.k}}|{{.d.j}}',
  '{{printf "%s|%q|%5s|%-4s|" .h .h .i .i}}',
  '{{eq .h "3"}}|{{if .z}}a{{end}}|{{if .f}}b{{end}}|{{len .h}}',
  '{{eq .h 3}}',
  '{{.h.x}}',
  '{{.d.zz}}|{{.d.zz.y}}',
  '{{range .empty}}[{{.}}]{{else}}none{{end}}{{with .d}}{{.k}}{{end}}{{if and .e (not .f)}}Y{{end}}{{ .i | printf "%q" }}{{- "  x" -}}  {{/* c */}}{{$x := 5}}{{$x}}',
  '{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}',
  '{{range $i, $e := .c}}{{if $i}},{{end}}{{$e}}{{end}}',
  '{{range .c}}{{if eq . "a"}}{{break}}{{end}}{{.}}{{end}}',
  '{{range .c}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}',
  '{{if .f}}x{{else if .e}}y{{else}}z{{end}}',
  '{{$x := 1}}{{if .e}}{{$x = 2}}{{end}}{{$x}}',
  '{{print 1 2 "a" 3}}|{{println .i .h}}|{{or .f .z}}|{{and .e .i}}',
  '{{.nope}}',
  '{{nofunc 1}}',
  '{{template "x"}}',
  '{{(index .c 2).z}}',
  '{{len .m}}|{{lt 1 2}}|{{ne "a" "b"}}|{{le "a" "b"}}',
  '{{ge 2.5 1}}',
  '{{lt true false}}',
  '{{.f.x}}',
  '{{ .i }} {{- " a" }}',
  '{{range .i}}{{.}}{{end}}',
  '{{index .m "a"}}|{{index .c 5}}',
  '{{1.5}}|{{1e3}}|{{-2}}|{{0x10}}',
  '{{.c | len}}|{{"x" | printf "%s-%s" "y"}}',
  '{{$}}|{{.}}',
  '{{if}}{{end}}',
  '{{range .c}}',
  '{{end}}',
  '{{.i 1}}',
  '{{"unterminated}}',
  'plain text with no actions',
]

describe('strings.render_template agrees with opa eval', () => {
  it('on the Go text/template features OPA reaches', () => {
    const calls: Call[] = [
      ...templates.map((t) => ({ name: 'strings.render_template', args: [t, vars] })),
      { name: 'strings.render_template', args: ['{{.test}}', { test: 2023 }] },
      { name: 'strings.render_template', args: ['{{.test}}', [1]] },
      { name: 'strings.render_template', args: [1, {}] },
      // Map keys print and range in Go string order (UTF-8 bytes); UTF-16 order puts the emoji first.
      {
        name: 'strings.render_template',
        args: ['{{.}}|{{range $k, $v := .}}{{$k}}={{$v}};{{end}}', { '\uff61': 1, '\u{1F600}': 2, a: 3 }],
      },
    ]
    const expected = opaAnswers(opa, calls)
    const actual = calls.map(ourAnswer)
    expect(actual.map((a, i) => [calls[i]!.args[0], a])).toEqual(
      expected.map((e, i) => [calls[i]!.args[0], e]),
    )
  })

  it('is undefined, as OPA is, when the variables hold a key that is not a string', () => {
    // Input JSON cannot carry such a key: the module builds one, so OPA's type checker lets it by.
    const dir = mkdtempSync(join(tmpdir(), 'render-template-'))
    try {
      writeFileSync(
        join(dir, 't.rego'),
        'package t\n\ntop := strings.render_template("{{.}}", {k: "x" | some k in input.l})\n' +
          'deep := strings.render_template("{{.b}}", {"a": {"c": {k: "x" | some k in input.l}}, "b": 1})\n',
      )
      writeFileSync(join(dir, 'input.json'), '{"l": [1, "b"]}')
      const out = execFileSync(
        opa,
        ['eval', '--format', 'json', '-d', join(dir, 't.rego'), '-i', join(dir, 'input.json'), 'data.t'],
        { encoding: 'utf8' },
      )
      expect(JSON.parse(out).result[0].expressions[0].value).toEqual({})
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    const render = hostBuiltinsByName.get('strings.render_template')!.impl
    const keyed = new Map<unknown, unknown>([
      [new RegoNumber('1'), 'x'],
      ['b', 'x'],
    ])
    expect(render('{{.}}', keyed)).toBeUndefined()
    expect(render('{{.b}}', { a: { c: keyed }, b: new RegoNumber('1') })).toBeUndefined()
    // The same value with string keys only renders.
    expect(render('{{.b}}', { a: { c: { b: 'x' } }, b: new RegoNumber('1') })).toBe('1')
  })

  it('refuses output beyond its budget instead of exhausting memory (nested ranges multiply)', () => {
    const list = Array.from({ length: 1_000 }, (_, i) => i)
    const start = performance.now()
    const answer = ourAnswer({
      name: 'strings.render_template',
      args: ['{{range .l}}{{range $.l}}{{range $.l}}xxxxxxxx{{end}}{{end}}{{end}}', { l: list }],
    })
    expect(answer).toEqual([])
    expect(performance.now() - start).toBeLessThan(10_000)
  }, 30_000)
})
