# METADATA
# title: MCP decision (minimal deny-by-default policy)
# description: |
#   Judges one normalized MCP request (input document v1). Everything is denied unless a rule
#   below grants it, and every deny carries at least one reason. The full reference policy
#   replaces this file; the decision shape stays.
package mcp

# Methods every authenticated caller may use: session lifecycle, keep-alive and listings.
lifecycle_methods := {
	"initialize",
	"ping",
	"tools/list",
	"resources/list",
	"resources/templates/list",
	"prompts/list",
}

# METADATA
# title: Decision v1
# description: The decision returned at entrypoint mcp/decision.
decision := {
	"allow": allow,
	"status": status,
	"reasons": reasons,
	"obligations": {},
}

default allow := false

allow if {
	input.subject.authenticated == true
	granted
	count(deny_reasons) == 0
}

status := 200 if allow

else := 401 if not authenticated

else := 403

reasons := [r | some r in deny_reasons] if not allow

else := []

authenticated if input.subject.authenticated == true

granted if input.mcp.method in lifecycle_methods

granted if startswith(input.mcp.method, "notifications/")

# A tools/call is granted when one of the caller's roles has, for this server, a tool pattern in
# data.mcp_data.tool_grants[role][server id] that matches the tool name.
granted if {
	input.mcp.method == "tools/call"
	some role in input.subject.roles
	some pattern in data.mcp_data.tool_grants[role][input.server.id]
	tool_matches(pattern, input.mcp.tool.name)
}

# A pattern is an exact tool name, or a prefix followed by "*". Matched with native string
# builtins: glob.match would compile a regular expression on every call.
tool_matches(pattern, name) if pattern == name

tool_matches(pattern, name) if {
	endswith(pattern, "*")
	startswith(name, trim_suffix(pattern, "*"))
}

deny_reasons contains {"code": "unauthenticated", "message": "a verified identity is required"} if {
	not authenticated
}

deny_reasons contains reason if {
	authenticated
	not granted
	reason := {
		"code": "not_granted",
		"message": sprintf("no grant allows %s", [subject_of_request]),
	}
}

subject_of_request := sprintf("tools/call of %s/%s", [input.server.id, input.mcp.tool.name]) if {
	input.mcp.method == "tools/call"
} else := input.mcp.method

# METADATA
# title: Response judgement v1
# description: The judgement returned at entrypoint mcp/response (a tool result before the model sees it).
response := {"allow": true, "redactions": [], "reasons": []}
