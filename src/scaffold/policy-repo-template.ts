/**
 * The policy files of `mcp-policy init --template minimal`: a small deny-by-default policy with its
 * own data model (`data.policy`), Rego tests and decision cases. Relative path → content.
 * `initPolicyRepo` adds the README, `.gitignore`, CI job and sample log every template gets. The
 * policy is deliberately small; the default template, `reference`, starts from this package's
 * reference policy and its data model (`data.mcp_data`) instead.
 *
 * @internal
 */
export const policyRepoTemplate: Readonly<Record<string, string>> = {
  'rego/mcp/decision.rego': `# METADATA
# title: MCP policy
# description: |
#   Judges one MCP request (input document v1) at mcp/decision and one tool result at mcp/response.
#   Denied unless a rule grants it; every deny carries a reason whose code comes from METADATA.
#   Grants live in bundles/default/data.json (data.policy).
package mcp

lifecycle_methods := {"initialize", "ping", "tools/list", "resources/list", "prompts/list"}

default allow := false

# Allowed only when a rule below permits the request and nothing denies it: an absent method, tool
# or role never allows.
allow if {
	input.subject.authenticated == true
	permitted
	count(deny) == 0
}

permitted if input.mcp.method in lifecycle_methods

permitted if startswith(input.mcp.method, "notifications/")

permitted if {
	input.mcp.method == "tools/call"
	granted(input.mcp.tool.name)
}

decision := {
	"allow": allow,
	"status": status,
	"reasons": reasons,
	"obligations": obligations,
}

# Tool results pass unchanged. log_redact keeps them out of the decision log (the request and this
# judgement stay) unless data.policy.log_tool_results is true; replay counts such events as withheld.
response := {"allow": true, "redactions": [], "reasons": []} if {
	data.policy.log_tool_results == true
} else := {"allow": true, "redactions": [], "reasons": [], "log_redact": ["/result"]}

status := 200 if allow

else := 401 if input.subject.authenticated != true

else := 403

reasons := [] if allow

else := sort(deny)

obligations := {"visible_tools": visible_tools} if {
	allow
	input.mcp.method == "tools/list"
}

else := {}

visible_tools := sort([tool | some tool in data.policy.tools[input.server.id]; granted(tool)])

granted(tool) if {
	some role in input.subject.roles
	some pattern in data.policy.grants[role][input.server.id]
	glob.match(pattern, [], tool)
}

# METADATA
# title: Authentication required
# custom:
#   code: unauthenticated
deny contains reason(rego.metadata.rule(), "a verified identity is required") if {
	input.subject.authenticated != true
}

# METADATA
# title: Method not allowed
# custom:
#   code: method_not_allowed
deny contains reason(rego.metadata.rule(), concat("", ["method '", method, "' is not allowed"])) if {
	input.subject.authenticated == true
	input.mcp.method != "tools/call"
	not permitted
	method := object.get(input.mcp, "method", "(none)")
}

# METADATA
# title: Method not allowed
# description: A message without a method (a JSON-RPC response to a server request) is not permitted.
# custom:
#   code: method_not_allowed
deny contains reason(rego.metadata.rule(), "a message without a method is not allowed") if {
	input.subject.authenticated == true
	not input.mcp.method
}

# METADATA
# title: Not granted
# custom:
#   code: not_granted
deny contains reason(rego.metadata.rule(), concat("", ["tool ", input.server.id, "/", tool, " is not granted"])) if {
	input.subject.authenticated == true
	input.mcp.method == "tools/call"
	not permitted
	tool := object.get(input.mcp, ["tool", "name"], "(none)")
}

reason(metadata, detail) := {"code": metadata.custom.code, "message": concat(": ", [metadata.title, detail])}
`,
  'rego/mcp/decision_test.rego': `package mcp_test

import data.mcp

call(roles, tool) := {
	"schema": "mcp-policy/input/v1",
	"mcp": {"kind": "request", "method": "tools/call", "id": 1, "tool": {"name": tool, "arguments": {}}},
	"subject": {"authenticated": true, "id": "alice", "roles": roles},
	"server": {"id": "github"},
}

test_developer_may_create_issues if {
	mcp.decision.allow with input as call(["developer"], "create_issue")
}

test_support_may_only_read if {
	mcp.decision.allow with input as call(["support"], "get_issue")
	d := mcp.decision with input as call(["support"], "create_issue")
	d.status == 403
	d.reasons[0].code == "not_granted"
}

test_anonymous_is_401 if {
	d := mcp.decision with input as object.union(call([], "get_issue"), {"subject": {"authenticated": false}})
	d.status == 401
	d.reasons[0].code == "unauthenticated"
}

test_tools_list_shows_granted_tools if {
	request := object.union(call(["support"], ""), {"mcp": {"method": "tools/list"}})
	mcp.decision.obligations.visible_tools == ["get_issue", "list_issues"] with input as request
}
`,
  'bundles/default/.manifest': `${JSON.stringify({ revision: '', roots: ['mcp', 'policy'], metadata: { name: 'default' } }, null, 2)}\n`,
  'bundles/default/data.json': `${JSON.stringify(
    {
      policy: {
        // true keeps tool results in the decision log (what-if replay over them); false masks them.
        log_tool_results: false,
        tools: { github: ['get_issue', 'list_issues', 'create_issue', 'delete_repository'] },
        grants: {
          developer: { github: ['get_*', 'list_*', 'create_*'] },
          support: { github: ['get_*', 'list_*'] },
        },
      },
    },
    null,
    2,
  )}\n`,
  'bundles/default/cases/tools.cases.yaml': `# Decision cases: each identity is signed into a real token and the message runs through
# normalize → decide on the bundle \`mcp-policy build\` makes. Run: npx mcp-policy test
defaults:
  server: github
  identity: { sub: alice, roles: [developer] }

cases:
  - name: a developer creates an issue
    message: { jsonrpc: "2.0", id: 1, method: tools/call, params: { name: create_issue, arguments: { title: x } } }
    expect: { allow: true, status: 200, reasons: [] }

  - name: nobody deletes a repository
    message: { jsonrpc: "2.0", id: 2, method: tools/call, params: { name: delete_repository, arguments: {} } }
    expect: { allow: false, status: 403, reasons: [not_granted] }

  - name: a call without a token is a 401
    identity: null
    message: { jsonrpc: "2.0", id: 3, method: tools/call, params: { name: get_issue, arguments: {} } }
    expect: { allow: false, status: 401, reasons: [unauthenticated] }

  - name: a JSON-RPC response from the client is not allowed by this policy
    message: { jsonrpc: "2.0", id: 5, result: {} }
    expect: { allow: false, status: 403, reasons: [method_not_allowed] }

  - name: support sees only what it may call
    identity: { sub: bob, roles: [support] }
    message: { jsonrpc: "2.0", id: 4, method: tools/list }
    expect: { allow: true, obligations: { visible_tools: [get_issue, list_issues] } }
`,
}
