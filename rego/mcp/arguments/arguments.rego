# METADATA
# title: Argument constraints of tools/call
# description: |
#   Per-tool constraints from data (data.mcp_data.servers[server].tools[tool].arguments[name]):
#   path prefixes allowed and denied (after ".." normalisation), URL host allowlist, read-only
#   SQL, numeric bounds and string patterns. A constraint applies to an argument that is present,
#   as one value, so each check requires its own type ([10] is not a number); only a constraint
#   that declares type: "array" checks an array argument element by element (types.rego checks
#   the declared type, and the tool's input schema). SQL and URLs are judged on what the
#   normalizer's analyzers found (input.mcp.tool.analysis, declared by the constraint's analyze:
#   "sql:postgres" or "url"), never on the text: keyword and regex checks cannot read either.
package mcp.arguments

import data.mcp.lib

constraints := data.mcp_data.servers[input.server.id].tools[input.mcp.tool.name].arguments if {
	input.mcp.method == "tools/call"
}

# [argument name, constraint, value, analysis] for every present argument that has a constraint,
# with the analysis the normalizer attached to that value (null when there is none). An array
# longer than max_argument_elements is not checked element by element: it is refused whole below.
checked contains [name, constraint, value, analysis] if {
	some name, constraint in constraints
	argument := input.mcp.tool.arguments[name]
	not too_many_elements(argument)
	not type_mismatch(constraint, argument)
	some i, value in values(constraint, argument)
	analysis := analysis_of(constraint, name, argument, i)
}

# One analysis per element of an array argument checked element by element, one for any other
# value; an analysis of the wrong shape (a list for a single value, or for an array the constraint
# does not check element by element) counts as none.
analysis_of(constraint, name, argument, i) := found if {
	elementwise(constraint, argument)
	found := input.mcp.tool.analysis[name][i]
	is_object(found)
} else := found if {
	not is_array(argument)
	found := input.mcp.tool.analysis[name]
	is_object(found)
} else := null

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

values(constraint, argument) := argument if elementwise(constraint, argument)

values(constraint, argument) := [argument] if not elementwise(constraint, argument)

elementwise(constraint, argument) if {
	constraint.type == "array"
	is_array(argument)
}

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
	some [name, constraint, value, _] in checked
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
# title: Argument not understood
# description: |
#   An argument whose constraint declares an analyzer (analyze: "sql:postgres", "url") must have
#   been analysed by it, and have parsed: SQL that PostgreSQL's parser rejects, text that is no
#   absolute URL, a value that is not a string or one too large to analyse is refused, and so is
#   an argument that reached the policy without its analysis.
# custom:
#   code: argument_unparsable
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, _, analysis] in checked
	constraint.analyze
	not analyzed(constraint, analysis)
	detail := concat("", [label(name), " ", unparsed_detail(analysis)])
}

# Analysed by the analyzer the constraint names, and parsed.
analyzed(constraint, analysis) if {
	analysis.analyzer == constraint.analyze
	analysis.parsed == true
}

unparsed_detail(analysis) := concat("", ["could not be analysed by ", analysis.analyzer, ": ", analysis.error]) if {
	analysis.parsed == false
	is_string(analysis.analyzer)
	is_string(analysis.error)
} else := "was not analysed by its declared analyzer"

# METADATA
# title: URL host not allowed
# description: |
#   A URL argument must be absolute, use a scheme in url_schemes (default https) and name a host
#   in url_hosts (exact, or "*.example.com" for subdomains), as the URL analyzer read them: the
#   constraint must declare analyze: "url". An ambiguous URL is refused as such (below).
# custom:
#   code: argument_host_denied
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value, analysis] in checked
	constraint.url_hosts
	problem := url_problem(constraint, value, analysis)
	detail := concat("", [label(name), " ", problem])
}

url_problem(constraint, _, _) := "has no URL analysis (its constraint must declare analyze: url)" if {
	constraint.analyze != "url"
}

url_problem(constraint, _, _) := "has no URL analysis (its constraint must declare analyze: url)" if {
	not constraint.analyze
}

url_problem(constraint, value, analysis) := concat("", ["is not an allowed URL: ", json.marshal(value)]) if {
	analyzed(constraint, analysis)
	analysis.ambiguous == false
	not url_allowed(constraint, analysis)
}

url_allowed(constraint, analysis) if {
	analysis.scheme in object.get(constraint, "url_schemes", ["https"])
	host := trim_suffix(analysis.host, ".")
	some pattern in constraint.url_hosts
	lib.host_matches(pattern, host)
}

# METADATA
# title: URL is ambiguous
# description: |
#   A URL argument that parsers read differently is refused whatever its host: one with a
#   backslash, userinfo (user@host), a control character or whitespace, an authority outside
#   RFC 3986, or a host that WHATWG URL and an RFC 3986 (urllib-style) reading disagree on. A
#   policy that allows the host one client sees lets another client reach a different one.
# custom:
#   code: argument_url_ambiguous
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, _, analysis] in checked
	constraint.analyze == "url"
	analyzed(constraint, analysis)
	analysis.ambiguous != false
	detail := concat("", [label(name), " is read differently by different URL parsers (", concat(", ", analysis.ambiguities), ")"])
}

# METADATA
# title: SQL is not read-only
# description: |
#   With sql_read_only, a query must be one SELECT (not SELECT INTO), EXPLAIN or SHOW statement,
#   with no other statement anywhere in it (a data-modifying CTE, EXPLAIN ANALYZE of a DELETE), no
#   row-locking clause (FOR UPDATE, FOR SHARE…), and no call to a function that changes state,
#   waits, or reaches outside the database (read_only_sql_denied_functions). Judged on PostgreSQL's
#   own parse (the constraint must declare analyze: "sql:postgres"), so quoting, comments, Unicode
#   escapes, case and schema qualification cannot hide a call. Pair it with a read-only role.
# custom:
#   code: argument_sql_not_read_only
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, _, analysis] in checked
	constraint.sql_read_only == true
	some problem in sql_problems(constraint, analysis)
	detail := concat("", [label(name), " ", problem])
}

read_only_statement_kinds := {"select", "explain", "show"}

# Matched against the function's own name, lower-cased, whatever schema qualifies it: a function
# of that name elsewhere (dblink lives in the schema its extension was installed in) is refused too.
read_only_sql_denied_functions := [
	"set_config", "nextval", "setval", "txid_current", "pg_current_xact_id",
	"pg_sleep*", "pg_advisory*", "pg_try_advisory*",
	"pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
	"pg_log_backend_memory_contexts", "pg_notify", "pg_logical_emit_message",
	"lo_*", "loread", "lowrite", "pg_read_*", "pg_write_*", "pg_file_*", "pg_ls_*", "pg_stat_file",
	"pg_stat_reset*", "pg_stat_statements_reset",
	"dblink*", "query_to_xml*", "cursor_to_xml*", "ts_stat",
	"pg_create_*", "pg_drop_*", "pg_replication_origin_*", "pg_switch_wal", "pg_promote",
	"pg_wal_replay_*", "pg_backup_*", "pg_import_system_collations",
]

sql_problems(constraint, _) := {"has no SQL analysis (its constraint must declare analyze: sql:postgres)"} if {
	not startswith(object.get(constraint, "analyze", ""), "sql:")
}

# Only a parsed query is judged here: one that did not parse is argument_unparsable.
sql_problems(constraint, analysis) := ((statement_problems | kind_problems) | lock_problems) | call_problems if {
	analyzed(constraint, analysis)
	sql_analysis_complete(analysis)
	statement_problems := {concat("", ["holds ", format_int(n, 10), " statements, not one"]) |
		n := count(analysis.statements)
		n != 1
	}
	kind_problems := {concat("", ["contains a statement of kind ", kind]) |
		some kind in analysis.statement_kinds
		not kind in read_only_statement_kinds
	}
	lock_problems := {concat("", ["locks rows (", lock, ")"]) | some lock in analysis.locking}
	call_problems := {concat("", ["calls ", qualified(function)]) |
		some function in analysis.functions
		lib.any_name_matches(read_only_sql_denied_functions, lower(function.name))
	}
}

# An analysis lacking one of its lists (built by hand, not by the normalizer) proves nothing.
sql_problems(constraint, analysis) := {"has an incomplete SQL analysis"} if {
	analyzed(constraint, analysis)
	not sql_analysis_complete(analysis)
}

sql_analysis_complete(analysis) if {
	is_array(analysis.statements)
	is_array(analysis.statement_kinds)
	is_array(analysis.functions)
	is_array(analysis.locking)
}

qualified(name) := concat(".", [name.schema, name.name]) if is_string(name.schema)

else := name.name

# METADATA
# title: Number out of range
# description: A numeric argument must be a number within [minimum, maximum] where those are given.
# custom:
#   code: argument_out_of_range
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some [name, constraint, value, _] in checked
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
	some [name, constraint, value, _] in checked
	constraint.pattern
	not pattern_matches(constraint.pattern, value)
	detail := concat("", [label(name), " does not match ", constraint.pattern])
}

pattern_matches(pattern, value) if {
	is_string(value)
	regex.match(pattern, value)
}
