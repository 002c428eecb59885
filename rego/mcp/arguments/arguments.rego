# METADATA
# title: Argument constraints of tools/call
# description: |
#   Per-tool constraints from data (data.mcp_data.servers[server].tools[tool].arguments[name]):
#   path prefixes allowed and denied (after ".." normalisation), URL host allowlist, read-only
#   SQL, numeric bounds and string patterns. A constraint applies to an argument that is present;
#   an array argument is checked element by element.
package mcp.arguments

import data.mcp.lib

constraints := data.mcp_data.servers[input.server.id].tools[input.mcp.tool.name].arguments if {
	input.mcp.method == "tools/call"
}

# [argument name, constraint, value] for every present argument that has a constraint. An array
# longer than max_argument_elements is not checked element by element: it is refused whole below.
checked contains [name, constraint, value] if {
	some name, constraint in constraints
	argument := input.mcp.tool.arguments[name]
	not too_many_elements(argument)
	some value in values(argument)
}

# Each element of a constrained array can add its own reason, and the decision sorts its reasons,
# which costs time quadratic in their number in the WebAssembly runtime: 4,000 paths outside the
# allowed prefixes took 1.1 s per decision. data.mcp_data.max_argument_elements may change it (a
# number; anything else keeps the default, since null or a boolean would compare below every count).
default max_argument_elements := 100

max_argument_elements := limit if {
	limit := data.mcp_data.max_argument_elements
	is_number(limit)
}

too_many_elements(argument) if {
	is_array(argument)
	count(argument) > max_argument_elements
}

# METADATA
# title: Too many elements
# description: A constrained array argument has more elements than data.mcp_data.max_argument_elements (default 100).
# custom:
#   code: argument_too_many_elements
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some name, _ in constraints
	argument := input.mcp.tool.arguments[name]
	too_many_elements(argument)
	detail := concat("", [
		label(name), " has ", format_int(count(argument), 10),
		" elements, more than ", format_int(max_argument_elements, 10),
	])
}

values(argument) := argument if is_array(argument)

values(argument) := [argument] if not is_array(argument)

label(name) := concat("", ["argument '", name, "'"])

# METADATA
# title: Path not allowed
# description: |
#   A path argument must normalize (absolute, no ".." above the root) to a location under one of
#   path_prefixes and under none of denied_path_prefixes. With relative_root (e.g. "/" for tools
#   that name a repository's files relative to its root, as GitHub's do), a relative path is first
#   resolved against that root and must stay strictly inside it; without it, a relative path is
#   refused.
# custom:
#   code: argument_path_denied
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value] in checked
	problem := path_problem(constraint, value)
	detail := concat("", [label(name), " ", problem])
}

path_problem(constraint, value) := "is not a string" if {
	path_constrained(constraint)
	not is_string(value)
}

path_problem(constraint, value) := "is not an absolute path inside the root" if {
	path_constrained(constraint)
	is_string(value)
	not resolved_path(constraint, value)
}

path_problem(constraint, value) := concat("", ["resolves to ", path, ", outside the allowed prefixes"]) if {
	prefixes := constraint.path_prefixes
	path := resolved_path(constraint, value)
	not path_allowed(prefixes, path)
}

path_problem(constraint, value) := concat("", ["resolves to ", path, ", under a denied prefix"]) if {
	path := resolved_path(constraint, value)
	some prefix in constraint.denied_path_prefixes
	lib.path_under(path, prefix)
}

resolved_path(constraint, value) := lib.normalize_path(value) if not relative_to_root(constraint, value)

# Joined with "/" whatever the root's own slashes: normalize_path drops the empty segments. A
# relative path names something inside its root: never the root itself ("", "."), never above it.
resolved_path(constraint, value) := path if {
	relative_to_root(constraint, value)
	root := lib.normalize_path(constraint.relative_root)
	path := lib.normalize_path(concat("/", [constraint.relative_root, value]))
	path != root
	lib.path_under(path, root)
}

# Not starting with a slash or backslash, and not a Windows drive path ("D:\x", "c:/x"): a server
# on Windows would open those as absolute, so they are never resolved under the root.
relative_to_root(constraint, value) if {
	is_string(constraint.relative_root)
	startswith(constraint.relative_root, "/")
	is_string(value)
	not startswith(replace(value, `\`, "/"), "/")
	indexof(value, ":") != 1
}

path_constrained(constraint) if constraint.path_prefixes

path_constrained(constraint) if constraint.denied_path_prefixes

path_allowed(prefixes, path) if {
	some prefix in prefixes
	lib.path_under(path, prefix)
}

# METADATA
# title: URL host not allowed
# description: |
#   A URL argument must be absolute, use a scheme in url_schemes (default https) and name a host
#   in url_hosts (exact, or "*.example.com" for subdomains).
# custom:
#   code: argument_host_denied
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value] in checked
	constraint.url_hosts
	not url_allowed(constraint, value)
	detail := concat("", [label(name), " is not an allowed URL: ", json.marshal(value)])
}

url_allowed(constraint, url) if {
	is_string(url)
	lib.url_scheme(url) in object.get(constraint, "url_schemes", ["https"])
	host := lib.url_host(url)
	some pattern in constraint.url_hosts
	lib.host_matches(pattern, host)
}

# METADATA
# title: SQL is not read-only
# description: |
#   With sql_read_only, a query must be one SELECT, WITH, EXPLAIN or SHOW statement (one trailing
#   semicolon at most) without data-changing keywords, and without calls to functions that change
#   state or reach outside the database (set_config, nextval, pg_terminate_backend, file and
#   large-object access, dblink, advisory locks, pg_sleep). A keyword check, not a parser: pair it
#   with a read-only database role.
# custom:
#   code: argument_sql_not_read_only
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value] in checked
	constraint.sql_read_only == true
	not read_only_sql(value)
	detail := concat("", [label(name), " is not a single read-only statement"])
}

read_only_sql(query) if {
	is_string(query)
	statement := trim_suffix(trim_space(query), ";")
	regex.match(`(?is)^\s*(select|with|explain|show)\b`, statement)
	not contains(statement, ";")
	not regex.match(`(?i)\b(insert|update|delete|merge|upsert|drop|alter|create|truncate|grant|revoke|copy|call|exec|execute|into|attach|detach|pragma|vacuum|lock|set|load|handler|rename)\b`, statement)
	not regex.match(`(?i)\b(set_config|nextval|setval|pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_notify|pg_sleep\w*|pg_advisory\w*|lo_\w+|pg_read_\w*file|pg_write_\w*file|pg_ls_\w+|pg_stat_file|dblink\w*|txid_current|pg_create_\w+|pg_drop_\w+|pg_switch_wal|pg_promote)\s*\(`, statement)
}

# METADATA
# title: Number out of range
# description: A numeric argument must be a number within [minimum, maximum] where those are given.
# custom:
#   code: argument_out_of_range
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value] in checked
	problem := range_problem(constraint, value)
	detail := concat("", [label(name), " ", problem])
}

range_problem(constraint, value) := "is not a number" if {
	numeric(constraint)
	not is_number(value)
}

range_problem(constraint, value) := concat("", ["is below the minimum ", json.marshal(constraint.minimum)]) if {
	is_number(value)
	value < constraint.minimum
}

range_problem(constraint, value) := concat("", ["is above the maximum ", json.marshal(constraint.maximum)]) if {
	is_number(value)
	value > constraint.maximum
}

numeric(constraint) if is_number(constraint.minimum)

numeric(constraint) if is_number(constraint.maximum)

# METADATA
# title: String does not match its pattern
# description: A string argument must match the constraint's pattern (RE2; anchor it with ^ and $).
# custom:
#   code: argument_pattern_mismatch
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value] in checked
	constraint.pattern
	not pattern_matches(constraint.pattern, value)
	detail := concat("", [label(name), " does not match ", constraint.pattern])
}

pattern_matches(pattern, value) if {
	is_string(value)
	regex.match(pattern, value)
}
