# METADATA
# title: Access to tools, resources and prompts
# description: |
#   One rule set decides whether the caller may use a tool, a resource or a prompt on this server.
#   Every rule below adds [target, reason] to `denial` for a requested target; a target is allowed
#   when no rule denies it. tools/call requests one target, tools/list requests every tool of the
#   server's catalog, so `visible_tools` and tools/call cannot disagree.
package mcp.access

import data.mcp.lib

# The server's entry in data: its catalog of tools (name -> attributes), data classification and
# time window for write tools.
server := data.mcp_data.servers[input.server.id]

catalog := server.tools

resource_methods := {"resources/read", "resources/subscribe", "resources/unsubscribe"}

# METADATA
# title: Requested targets
# description: "[kind, name] pairs this request asks for: kind is tools, resources or prompts."
requested contains ["tools", input.mcp.tool.name] if input.mcp.method == "tools/call"

requested contains ["tools", name] if {
	input.mcp.method == "tools/list"
	some name, _ in catalog
}

requested contains ["resources", input.mcp.resource.uri] if input.mcp.method in resource_methods

requested contains ["prompts", input.mcp.prompt.name] if input.mcp.method == "prompts/get"

# METADATA
# title: Visible tools
# description: The catalog tools no access rule denies (argument constraints aside), sorted.
visible_tools := [name | some name in sort(object.keys(catalog) - denied_tools)] if {
	input.mcp.method == "tools/list"
}

denied_tools contains name if some [["tools", name], _] in denial

default environment := ""

environment := input.context.environment

# The caller's own grants: one per role and one per group it holds.
subject_grants := array.concat(
	[grant | some role in input.subject.roles; grant := data.mcp_data.grants.roles[role]],
	[grant | some group in input.subject.groups; grant := data.mcp_data.grants.groups[group]],
)

user_allowed contains target if {
	some target in requested
	some grant in subject_grants
	in_environment(grant, environment)
	covers(grant, input.server.id, target)
}

# Targets a grant covers only in another environment (e.g. a prod-only group outside prod).
# "Requested but not allowed" is a set difference, not `not target in user_allowed`: in the
# WebAssembly build `x in set` costs time linear in the set (measured), which made tools/list
# quadratic in the catalog (200 tools: 7.9 ms per decision; with set differences 0.71 ms).
user_allowed_elsewhere contains target if {
	some target in (requested - user_allowed)
	some grant in subject_grants
	not in_environment(grant, environment)
	covers(grant, input.server.id, target)
}

in_environment(grant, _) if not grant.environments

in_environment(grant, env) if env in grant.environments

covers(grant, server_id, [kind, name]) if lib.any_name_matches(grant[kind][server_id], name)

# Delegation: when an agent acts for the user (subject.actor, RFC 8693 act), the agent's client
# must hold a grant too, so the call gets the intersection of both. A registered OAuth client
# (subject.client_id) is bound to its grants even without an act claim.
delegated if is_object(input.subject.actor)

agent_client := input.subject.actor.client_id if delegated

else := input.subject.client_id

default agent_client_name := "(none)"

agent_client_name := agent_client

client_grant := data.mcp_data.grants.clients[agent_client]

client_bound if delegated

client_bound if is_object(client_grant)

client_allowed contains target if {
	some target in requested
	in_environment(client_grant, environment)
	covers(client_grant, input.server.id, target)
}

explicitly_denied contains target if {
	some target in requested
	some deny in subject_denies
	covers(deny, input.server.id, target)
}

subject_denies := array.concat(
	array.concat(
		[deny | some role in input.subject.roles; deny := data.mcp_data.denies.roles[role]],
		[deny | some group in input.subject.groups; deny := data.mcp_data.denies.groups[group]],
	),
	array.concat(
		[deny | deny := data.mcp_data.denies.clients[agent_client]],
		[deny | deny := data.mcp_data.denies.everyone],
	),
)

kind_names := {"tools": "tool", "resources": "resource", "prompts": "prompt"}

describe([kind, name]) := concat("", [kind_names[kind], " ", input.server.id, "/", name])

# METADATA
# title: Unknown tool
# description: The tool is not in the server's catalog (data.mcp_data.servers[server].tools).
# custom:
#   code: tool_unknown
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in requested
	target[0] == "tools"
	not catalog[target[1]]
	detail := concat("", [describe(target), " is not in the server's tool catalog"])
}

# METADATA
# title: Tool not reviewed
# description: |
#   The tool carries a review mark (`"review": "pending"`, set by `mcp-policy catalog import` on
#   every tool it sees for the first time): it is denied, and left out of visible_tools, whatever
#   grant matches its name, until a person has written its argument rules and deleted the mark.
#   Any value of `review` (false and null too) counts as the mark: a typo keeps the tool closed.
# custom:
#   code: tool_unreviewed
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in requested
	target[0] == "tools"
	is_object(catalog[target[1]])
	"review" in object.keys(catalog[target[1]])
	detail := concat("", [describe(target), " was added to the catalog by an import and awaits review"])
}

# METADATA
# title: Not granted
# description: No grant of the caller's roles or groups covers the target on this server.
# custom:
#   code: not_granted
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in ((requested - user_allowed) - user_allowed_elsewhere)
	detail := concat("", [
		"no grant of roles [", concat(", ", object.get(input.subject, "roles", [])),
		"] or groups [", concat(", ", object.get(input.subject, "groups", [])),
		"] allows ", describe(target),
	])
}

# METADATA
# title: Outside the grant's environment
# description: A grant covers the target, but only in other environments (e.g. prod-only groups).
# custom:
#   code: outside_environment
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in user_allowed_elsewhere
	detail := concat("", [describe(target), " is not granted in environment '", environment, "'"])
}

# METADATA
# title: Agent client not granted
# description: |
#   Delegated access is the intersection of the user's and the agent client's grants; the agent
#   client (actor or OAuth client) has no grant covering the target, or is not registered.
# custom:
#   code: client_not_granted
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	client_bound
	some target in (requested - client_allowed)
	detail := concat("", ["agent client '", agent_client_name, "' may not use ", describe(target)])
}

# METADATA
# title: Explicitly denied
# description: An explicit deny (data.mcp_data.denies) covers the target; denies override grants.
# custom:
#   code: explicitly_denied
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in explicitly_denied
	detail := concat("", [describe(target), " is denied by policy data"])
}

# METADATA
# title: Step-up authentication required
# description: |
#   The tool is marked step_up: the token must come from a recent authentication (auth_time
#   within data.mcp_data.step_up.max_age_s) with an acr or amr value listed in data (MFA).
# custom:
#   code: step_up_required
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in requested
	target[0] == "tools"
	catalog[target[1]].step_up == true
	not step_up_satisfied
	detail := concat("", [describe(target), " needs a recent multi-factor authentication"])
}

now_s := input.context.time.ns / 1000000000

step_up_satisfied if {
	now_s - input.subject.token.auth_time <= data.mcp_data.step_up.max_age_s
	strong_authentication
}

strong_authentication if input.subject.token.acr in data.mcp_data.step_up.acr_values

strong_authentication if {
	some method in input.subject.token.amr
	method in data.mcp_data.step_up.amr_values
}

# METADATA
# title: Outside the time window
# description: |
#   Write tools of a server with a write_window may only be called inside that window
#   (data.mcp_data.time_windows: UTC weekdays and hours [from, to)).
# custom:
#   code: outside_time_window
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in requested
	target[0] == "tools"
	catalog[target[1]].write == true
	server.write_window
	not in_named_window(server.write_window, object.get(input, ["context", "time"], {}))
	detail := concat("", [describe(target), " writes and may only be called during '", server.write_window, "'"])
}

# A write_window naming no window in data is never open: a typo in data must not lift the limit.
in_named_window(name, time) if in_window(data.mcp_data.time_windows[name], time)

in_window(window, time) if {
	time.weekday in window.weekdays
	time.hour_utc >= window.hours_utc.from
	time.hour_utc < window.hours_utc.to
}

# METADATA
# title: Resource path traversal
# description: A resource URI with a ".." segment is refused before any URI pattern is matched.
# custom:
#   code: path_traversal
denial contains [target, lib.reason(rego.metadata.rule(), detail)] if {
	some target in requested
	target[0] == "resources"
	traversal(target[1])
	detail := concat("", [describe(target), " has a '..' segment"])
}

# Segments end at "/", at a backslash, at their percent-encodings (a server may decode them), and
# at "?" or "#": "file:///srv/projects/..?x" names /srv/ once the query is dropped.
traversal(uri) if {
	separators := {"\\": "/", "%2f": "/", "%5c": "/", "?": "/", "#": "/"}
	some segment in split(strings.replace_n(separators, lower(uri)), "/")
	segment in {"..", "%2e%2e", ".%2e", "%2e."}
}

traversal(_) if {
	some segment in split(input.mcp.resource.path, "/")
	segment == ".."
}

# METADATA
# title: Approval
# description: The tool is marked high_risk in data; a human must approve the call.
approval := {"reason": concat("", [rego.metadata.rule().description, " (", input.server.id, "/", input.mcp.tool.name, ")"])} if {
	input.mcp.method == "tools/call"
	catalog[input.mcp.tool.name].high_risk == true
}
