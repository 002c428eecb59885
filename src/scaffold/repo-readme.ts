import { SAMPLE_LOG_DIR } from './record-sample-log.js'

/**
 * The templates `mcp-policy init` offers.
 *
 * @internal
 */
export type PolicyTemplateName = 'reference' | 'minimal'

/**
 * The README.md `mcp-policy init` writes for a template: what each file holds, the commands, and
 * how the CI job's what-if gate works and what to do when it fails.
 *
 * @internal
 *
 * @example
 * ```ts
 * await writeFile('README.md', repoReadme('reference'))
 * ```
 */
export function repoReadme(template: PolicyTemplateName): string {
  const files =
    template === 'reference'
      ? `- \`rego/mcp/decision.rego\` — entrypoints \`mcp/decision\` (a request) and \`mcp/response\` (a tool
  result); \`access/\`, \`arguments/\`, \`scopes/\`, \`masking/\`, \`dlp/\`, \`lib/\` hold the rules, each
  with its \`*_test.rego\`
- \`rego/schemas/\` — the contracts: input document v1, decision, response judgement
- \`bundles/default/data.json\` — \`data.mcp_data\`: \`servers\` (each server's tool catalog, its
  argument rules and classification), \`grants\` and \`denies\` (by role, group and client),
  \`step_up\`, \`time_windows\`, \`masking\` (arguments the decision log masks) and \`dlp\` (what a tool
  result may carry to which model)
- \`bundles/default/cases/*.cases.yaml\` — decision cases: real tokens, full normalize → decide`
      : `- \`rego/mcp/decision.rego\` — the policy (entrypoints \`mcp/decision\`, \`mcp/response\`)
- \`bundles/default/data.json\` — who may call which tools (\`data.policy\`)
- \`rego/mcp/*_test.rego\` — Rego tests, run compiled to WebAssembly in the engine that serves
- \`bundles/default/cases/*.cases.yaml\` — decision cases: real tokens, full normalize → decide`
  return `# MCP policy

Rego policy for MCP requests, evaluated by mcp-policy (the version is pinned in
\`.github/workflows/policy.yml\`).

${files}
- \`${SAMPLE_LOG_DIR}/\` — a decision log: what the policy decided for each decision case when it was
  recorded, the baseline of the CI job's what-if gate
${
  template === 'reference'
    ? `
This is the reference policy of the mcp-policy version that created it: edit its data and rules,
keep the tests and cases passing. \`npx mcp-policy catalog import\` fills a server's tool catalog
from the running server.
`
    : ''
}
\`\`\`sh
npx mcp-policy check    # opa fmt and opa check --strict against input document v1
npx mcp-policy test     # Rego tests + decision cases; exit 0 pass, 1 failure, 2 error
npx mcp-policy build    # bundles/default.tar.gz for the PDP
npx mcp-policy replay ${SAMPLE_LOG_DIR} --against bundles/default.tar.gz   # what-if: which decisions change
\`\`\`

## The what-if gate

CI decides every request in \`${SAMPLE_LOG_DIR}/\` again with the bundle the change builds and fails
when a decision comes out differently (\`--fail-on change\`): allowed ↔ denied, other reasons or
status, or other obligations (tools shown, arguments masked in the log, approval). The job's
summary lists the counts and the first differences. Exit codes: 0 unchanged, 1 changed, 2 error.

- A change you did not mean: fix the policy.
- A change you meant: record the sample again and commit it with the change, so the reviewer sees
  the decisions move in the diff:
  \`npx mcp-policy init . --record-sample\` (runs the decision cases through the policy as it is now).
- To fail only when a denied request would be allowed, use \`--fail-on deny-to-allow\`.

The sample can also be real traffic: copy \`decisions-*.jsonl\` files of a PDP's decision log into
\`${SAMPLE_LOG_DIR}/\`. Read them first: the log masks the arguments the policy names, but it keeps
subjects, the rest of each request and the tool results the policy let through.
`
}
