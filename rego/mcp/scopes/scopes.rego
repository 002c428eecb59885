# METADATA
# title: OAuth scopes a tool requires
# description: |
#   A tool in data may list the OAuth scopes its caller's token must carry
#   (data.mcp_data.servers[server].tools[tool].required_scopes, an array of scope strings). A
#   tools/call whose token (input.subject.scopes) lacks any of them is denied with code
#   insufficient_scope, and the reason names the missing scopes in `scope`, space-separated as in
#   RFC 6750 §3.1: `mcp-policy gateway` answers it with 403 and the step-up challenge
#   `WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…"`, so
#   an MCP client can ask the authorization server for them and retry. tools/list is not
#   filtered by scopes: the tool stays visible, since a client can only ask for a scope it knows
#   a tool needs.
package mcp.scopes

import data.mcp.lib

tool := data.mcp_data.servers[input.server.id].tools[input.mcp.tool.name] if {
	input.mcp.method == "tools/call"
}

# object.get, not tool.required_scopes: a bundle is type-checked against its data, and a ref to a
# member no tool of that data has yet is a type error.
declared := object.get(tool, "required_scopes", []) if is_object(tool)

required contains scope if {
	is_array(declared)
	some scope in declared
	valid_scope(scope)
}

valid_scope(scope) if {
	is_string(scope)
	scope != ""
}

held := {scope | some scope in object.get(input.subject, "scopes", [])}

# "Required but not held" as a set difference: linear in both sets in the WebAssembly engine.
missing := required - held

# METADATA
# title: Insufficient scope
# description: |
#   The tool lists required_scopes and the caller's token lacks at least one of them. The reason
#   carries `scope`: the missing scopes, sorted and space-separated, for the step-up challenge.
# custom:
#   code: insufficient_scope
violation contains reason if {
	well_formed(declared)
	count(missing) > 0
	scope := concat(" ", sort(missing))
	detail := concat("", [
		"tool ", input.server.id, "/", input.mcp.tool.name, " needs the scope(s) '", scope,
		"' the token does not carry",
	])
	reason := object.union(lib.reason(rego.metadata.rule(), detail), {"scope": scope})
}

# METADATA
# title: Insufficient scope
# description: |
#   The tool's required_scopes is not an array of non-empty strings, so no token can satisfy it:
#   the tool is closed until the data is fixed (a typo in data must not lift the scope check).
#   The reason has no `scope`, so a gateway answers an ordinary deny, not a challenge no new
#   token could meet.
# custom:
#   code: insufficient_scope
violation contains lib.reason(rego.metadata.rule(), detail) if {
	# Present with any value (null and false too): only a well-formed list opens the tool.
	is_object(tool)
	"required_scopes" in object.keys(tool)
	not well_formed(declared)
	detail := concat("", [
		"tool ", input.server.id, "/", input.mcp.tool.name,
		" lists required_scopes that are not an array of non-empty strings; no token can satisfy them",
	])
}

well_formed(scopes) if {
	is_array(scopes)
	every scope in scopes {
		valid_scope(scope)
	}
}
