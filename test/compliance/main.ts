import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { leftOutBuiltins, leftOutReason } from './left-out.js'
import { formatTable, runCompliance, tally } from './run-compliance.js'

/**
 * `npm run compliance`: OPA's compliance suite through the engine. Prints the per-topic table and
 * every failing case; exits 1 on any wrong result or error that no exception list explains.
 *
 *   --topic <regex>   only topics matching
 *   --note <regex>    only cases whose note matches
 *   --jobs <n>        cases at once (default 2)
 *   --json <file>     write every case's report
 *   --markdown        print the table as Markdown (for the README)
 *   --verbose         list missing-builtin and excepted cases too
 *   -O <0|1>          opa build optimization level (default 1, as production builds)
 */
const { values } = parseArgs({
  options: {
    topic: { type: 'string' },
    note: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    json: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    verbose: { type: 'boolean', short: 'v', default: false },
    optimize: { type: 'string', short: 'O', default: '1' },
  },
})
const topic = values.topic ? new RegExp(values.topic) : undefined
const note = values.note ? new RegExp(values.note) : undefined

const run = await runCompliance({
  select: (c) => (!topic || topic.test(c.topic)) && (!note || note.test(c.note)),
  jobs: Number(values.jobs),
  optimization: values.optimize === '0' ? 0 : 1,
  progress: (r, done, total) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${done}/${total} ${r.topic.padEnd(40).slice(0, 40)}`)
  },
})
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')

const shown = run.reports.filter(
  (r) => r.verdict === 'wrong' || r.verdict === 'error' || (values.verbose && r.verdict !== 'pass'),
)
for (const r of shown) {
  // A case that needs only builtins left out on purpose is excluded, with the reason.
  const excluded = r.verdict === 'missing' ? leftOutReason(r.missing ?? []) : undefined
  const verdict = excluded === undefined ? r.verdict.toUpperCase() : 'EXCLUDED'
  console.log(`${verdict} ${r.note}${r.missing ? ` (${r.missing.join(', ')})` : ''}`)
  if (excluded !== undefined) console.log(`      left out on purpose: ${excluded}`)
  else if (r.detail && r.verdict !== 'missing') console.log(`      ${r.detail}`)
}
const missing = new Map<string, number>()
const leftOut = new Map<string, number>()
for (const r of run.reports) {
  for (const m of r.missing ?? []) {
    const counts = leftOutBuiltins.has(m) ? leftOut : missing
    counts.set(m, (counts.get(m) ?? 0) + 1)
  }
}
const excludedCases = run.reports.filter(
  (r) => r.verdict === 'missing' && leftOutReason(r.missing ?? []),
).length

console.log(`\n${formatTable(run.reports, values.markdown)}\n`)
const t = tally(run.reports)
console.log(
  `cases ${t.total}: pass ${t.pass}, missing builtin ${t.missing} (${excludedCases} of them excluded on purpose), wrong ${t.wrong}, error ${t.error}, ` +
    `excepted ${t.excepted}, Go control failing ${t.control} (${(run.ms / 1000).toFixed(1)} s)`,
)
for (const [name, count] of [...leftOut].sort((a, b) => b[1] - a[1])) {
  console.log(`excluded, ${name} (${count} cases), reason: ${leftOutBuiltins.get(name)}`)
}
if (missing.size > 0) {
  console.log(
    `missing builtins, unexplained (${missing.size}): ${[...missing]
      .sort((a, b) => b[1] - a[1])
      .map(([n, c]) => `${n} ${c}`)
      .join(', ')}`,
  )
}
if (run.unusedExceptions.some((u) => u.list === 'ours')) {
  console.log(
    `exceptions of ours no failing case needs: ${run.unusedExceptions
      .filter((u) => u.list === 'ours')
      .map((u) => u.pattern)
      .join(', ')}`,
  )
}
if (values.json) await writeFile(values.json, `${JSON.stringify(run, null, 2)}\n`)
process.exitCode = t.wrong + t.error > 0 ? 1 : 0
