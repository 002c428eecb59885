package mcp.arguments_test

import data.mcp.arguments
import data.mcp.fixtures_test as fx

developer := fx.subject(["developer"], [])

violations(server_id, tool, args) := codes if {
	codes := {reason.code | some reason in arguments.violation} with input as fx.call(developer, server_id, tool, args)
		with data.mcp_data as fx.policy_data
}

messages(server_id, tool, args) := msgs if {
	msgs := {reason.message | some reason in arguments.violation} with input as fx.call(developer, server_id, tool, args)
		with data.mcp_data as fx.policy_data
}

test_paths_inside_prefix_pass if {
	violations("filesystem", "read_file", {"path": "/srv/projects/app/main.ts"}) == set()
	violations("filesystem", "read_file", {"path": "/srv/projects/a/../b.txt"}) == set()
	violations("filesystem", "read_file", {}) == set()
}

test_path_traversal_and_prefix if {
	messages("filesystem", "read_file", {"path": "/srv/projects/../../etc/passwd"}) == {"Path not allowed: argument 'path' resolves to /etc/passwd, outside the allowed prefixes"}
	violations("filesystem", "read_file", {"path": "/srv/projects/app/../secrets/key"}) == {"argument_path_denied"}
	messages("filesystem", "read_file", {"path": "/srv/projects/secrets"}) == {"Path not allowed: argument 'path' resolves to /srv/projects/secrets, under a denied prefix"}
	messages("filesystem", "read_file", {"path": "/../etc"}) == {"Path not allowed: argument 'path' is not an absolute path inside the root"}
	violations("filesystem", "read_file", {"path": "srv/projects/x"}) == {"argument_path_denied"}
	messages("filesystem", "read_file", {"path": 42}) == {"Path not allowed: argument 'path' is not a string"}
	violations("github", "create_or_update_file", {"path": "/.github/workflows/../workflows/ci.yml"}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": "/src/app.ts"}) == set()

	# GitHub names files relative to the repository root: resolved against relative_root "/".
	violations("github", "create_or_update_file", {"path": "src/app.ts"}) == set()
	violations("github", "create_or_update_file", {"path": ".github/workflows/ci.yml"}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": "src/../.github/workflows/ci.yml"}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": `.github\workflows\ci.yml`}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": "../outside.txt"}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": ""}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": "."}) == {"argument_path_denied"}
	violations("github", "create_or_update_file", {"path": "a/.."}) == {"argument_path_denied"}
	messages("github", "create_or_update_file", {"path": "docs/../.github/workflows/x.yml"}) == {"Path not allowed: argument 'path' resolves to /.github/workflows/x.yml, under a denied prefix"}
}

test_array_arguments_checked_element_by_element if {
	violations("filesystem", "read_multiple_files", {"paths": ["/srv/projects/a", "/srv/projects/b"]}) == set()
	violations("filesystem", "read_multiple_files", {"paths": ["/srv/projects/a", "/etc/shadow"]}) == {"argument_path_denied"}
}

test_numeric_bounds if {
	violations("postgres", "query", {"limit": 1000}) == set()
	messages("postgres", "query", {"limit": 0}) == {"Number out of range: argument 'limit' is below the minimum 1"}
	messages("postgres", "query", {"limit": 1001}) == {"Number out of range: argument 'limit' is above the maximum 1000"}
	messages("postgres", "query", {"limit": "10"}) == {"Number out of range: argument 'limit' is not a number"}
}

test_patterns if {
	violations("fetch", "fetch", {"ref": "main"}) == set()
	violations("fetch", "fetch", {"ref": "Main; rm -rf"}) == {"argument_pattern_mismatch"}
	violations("fetch", "fetch", {"ref": false}) == {"argument_pattern_mismatch"}
}

test_only_tools_call_is_checked if {
	count(arguments.violation) == 0 with input as fx.request("prompts/get", developer, "postgres", {"prompt": {"name": "query", "arguments": {"limit": 0}}})
		with data.mcp_data as fx.policy_data
}

# A relative_root under a deeper directory: a relative path stays inside it, and a Windows drive
# path is never taken as relative.
test_relative_root_confines_relative_paths if {
	constraint := {"relative_root": "/srv/repo", "path_prefixes": ["/srv"]}
	arguments.resolved_path(constraint, "src/x") == "/srv/repo/src/x"
	arguments.resolved_path(constraint, "/srv/other/x") == "/srv/other/x"
	not arguments.resolved_path(constraint, "../other/x")
	not arguments.resolved_path(constraint, "src/../../other")
	not arguments.resolved_path(constraint, `D:\secret\x`)
	not arguments.resolved_path(constraint, "c:/secret")
	not arguments.resolved_path(constraint, ".")
	arguments.path_problem(constraint, "../other/x") == "is not an absolute path inside the root"
	arguments.path_problem(constraint, `D:\secret\x`) == "is not an absolute path inside the root"
}

test_array_longer_than_the_limit_is_refused_whole if {
	paths := {"paths": ["/srv/projects/a", "/etc/shadow", "/etc/passwd"]}
	reasons := arguments.violation with input as fx.call(developer, "filesystem", "read_multiple_files", paths)
		with data.mcp_data as object.union(fx.policy_data, {"max_argument_elements": 2})
	reasons == {{"code": "argument_too_many_elements", "message": "Too many elements: argument 'paths' has 3 elements, more than 2"}}
	violations("filesystem", "read_multiple_files", paths) == {"argument_path_denied"}
}

test_default_argument_elements_limit_is_100 if {
	arguments.max_argument_elements == 100 with data.mcp_data as fx.policy_data
	paths := [concat("", ["/srv/projects/", format_int(i, 10)]) | some i in numbers.range(0, 100)]
	violations("filesystem", "read_multiple_files", {"paths": paths}) == {"argument_too_many_elements"}
	violations("filesystem", "read_multiple_files", {"paths": array.slice(paths, 0, 100)}) == set()
}

test_odd_element_limit_keeps_the_default if {
	every limit in [null, true, false, "100", [1]] {
		arguments.max_argument_elements == 100 with data.mcp_data as object.union(fx.policy_data, {"max_argument_elements": limit})
		codes := {r.code | some r in arguments.violation} with input as fx.call(developer, "filesystem", "read_multiple_files", {"paths": ["/etc/shadow"]})
			with data.mcp_data as object.union(fx.policy_data, {"max_argument_elements": limit})
		codes == {"argument_path_denied"}
	}
}

analysed_violations(server_id, tool, args, analysis) := codes if {
	codes := {reason.code | some reason in arguments.violation} with input as fx.analysed_call(developer, server_id, tool, args, analysis)
		with data.mcp_data as fx.policy_data
}

analysed_messages(server_id, tool, args, analysis) := msgs if {
	msgs := {reason.message | some reason in arguments.violation} with input as fx.analysed_call(developer, server_id, tool, args, analysis)
		with data.mcp_data as fx.policy_data
}

url_violations(url, analysis) := analysed_violations("fetch", "fetch", {"url": url}, {"url": analysis})

test_url_hosts_judged_on_the_analysis if {
	url_violations("https://docs.example.com/page", fx.url_analysis("https", "docs.example.com", [])) == set()
	url_violations("https://en.wikipedia.org/wiki/MCP", fx.url_analysis("https", "en.wikipedia.org", [])) == set()
	url_violations("https://docs.example.com./", fx.url_analysis("https", "docs.example.com.", [])) == set()
	url_violations("http://docs.example.com/page", fx.url_analysis("http", "docs.example.com", [])) == {"argument_host_denied"}
	url_violations("https://docs.example.com.evil.io/", fx.url_analysis("https", "docs.example.com.evil.io", [])) == {"argument_host_denied"}
	url_violations("https://wikipedia.org/", fx.url_analysis("https", "wikipedia.org", [])) == {"argument_host_denied"}
	analysed_messages("fetch", "fetch", {"url": "https://evil.io/"}, {"url": fx.url_analysis("https", "evil.io", [])}) == {`URL host not allowed: argument 'url' is not an allowed URL: "https://evil.io/"`}
}

# The text is never read for the host: only the analysis counts (a text naming an allowed host
# with an analysis that does not is refused, and the other way round).
test_url_text_is_not_read if {
	url_violations("https://docs.example.com/", fx.url_analysis("https", "evil.io", [])) == {"argument_host_denied"}
	url_violations("https://evil.io/", fx.url_analysis("https", "docs.example.com", [])) == set()
}

test_ambiguous_urls_are_refused_whatever_their_host if {
	every ambiguities in [["backslash", "host_mismatch", "userinfo"], ["userinfo"], ["control_character"], ["whitespace"], ["invalid_authority"], ["host_mismatch"]] {
		url_violations(`https://docs.example.com\@evil.com/`, fx.url_analysis("https", "docs.example.com", ambiguities)) == {"argument_url_ambiguous"}
	}
	analysed_messages("fetch", "fetch", {"url": "x"}, {"url": fx.url_analysis("https", "docs.example.com", ["backslash", "userinfo"])}) == {"URL is ambiguous: argument 'url' is read differently by different URL parsers (backslash, userinfo)"}

	# ambiguous must be exactly false for a URL to pass
	url_violations("x", object.union(fx.url_analysis("https", "docs.example.com", []), {"ambiguous": null})) == {"argument_url_ambiguous"}
}

test_urls_that_were_not_analysed_are_refused if {
	url_violations("not a url", fx.failed_analysis("url", "not an absolute URL")) == {"argument_unparsable"}
	analysed_messages("fetch", "fetch", {"url": 7}, {"url": fx.failed_analysis("url", "not a string")}) == {"Argument not understood: argument 'url' could not be analysed by url: not a string"}
	violations("fetch", "fetch", {"url": "https://docs.example.com/"}) == {"argument_unparsable"}
	messages("fetch", "fetch", {"url": "https://docs.example.com/"}) == {"Argument not understood: argument 'url' was not analysed by its declared analyzer"}
	url_violations("https://docs.example.com/", object.union(fx.url_analysis("https", "docs.example.com", []), {"analyzer": "sql:postgres"})) == {"argument_unparsable"}
	url_violations("https://docs.example.com/", [fx.url_analysis("https", "docs.example.com", [])]) == {"argument_unparsable"}
}

test_url_hosts_without_analyze_refuse_every_url if {
	reasons := arguments.violation with input as fx.analysed_call(developer, "fetch", "fetch_unanalysed", {"url": "https://docs.example.com/"}, {"url": fx.url_analysis("https", "docs.example.com", [])})
		with data.mcp_data as fx.policy_data
	reasons == {{"code": "argument_host_denied", "message": "URL host not allowed: argument 'url' has no URL analysis (its constraint must declare analyze: url)"}}
}

# A constraint with type "array" judges each element on its own analysis; without it, an array is
# no URL or query at all (types_test.rego).
elementwise_data := object.union(fx.policy_data, {"servers": {
	"fetch": {"tools": {"fetch": {"arguments": {"url": {"type": "array"}}}}},
	"postgres": {"tools": {"query": {"arguments": {"sql": {"type": "array"}}}}},
}})

elementwise_violations(server_id, tool, args, analysis) := codes if {
	codes := {reason.code | some reason in arguments.violation} with input as fx.analysed_call(developer, server_id, tool, args, analysis)
		with data.mcp_data as elementwise_data
}

test_url_arrays_judged_element_by_element if {
	urls := ["https://docs.example.com/", "https://evil.io/"]
	analysis := [fx.url_analysis("https", "docs.example.com", []), fx.url_analysis("https", "evil.io", [])]
	elementwise_violations("fetch", "fetch", {"url": urls}, {"url": analysis}) == {"argument_host_denied"}
	elementwise_violations("fetch", "fetch", {"url": urls}, {"url": [analysis[0], analysis[0]]}) == set()
	elementwise_violations("fetch", "fetch", {"url": urls}, {"url": [analysis[0]]}) == {"argument_unparsable"}
	elementwise_violations("fetch", "fetch", {"url": urls}, {"url": analysis[0]}) == {"argument_unparsable"}
	analysed_violations("fetch", "fetch", {"url": urls}, {"url": [analysis[0], analysis[0]]}) == {"argument_unparsable"}
}

sql_violations(analysis) := analysed_violations("postgres", "query", {"sql": "(the text is not read)"}, {"sql": analysis})

sql_messages(analysis) := analysed_messages("postgres", "query", {"sql": "(the text is not read)"}, {"sql": analysis})

test_sql_read_only_judged_on_the_parse if {
	sql_violations(fx.select_calling([])) == set()
	sql_violations(fx.select_calling([{"name": "count"}, {"name": "now"}, {"name": "lower", "schema": "pg_catalog"}])) == set()
	sql_violations(fx.sql_analysis(["explain"], ["explain", "select"], [], [])) == set()
	sql_violations(fx.sql_analysis(["show"], ["show"], [], [])) == set()
	sql_violations(fx.sql_analysis(["delete"], ["delete"], [], [])) == {"argument_sql_not_read_only"}
	sql_messages(fx.sql_analysis(["select", "drop"], ["drop", "select"], [], [])) == {
		"SQL is not read-only: argument 'sql' holds 2 statements, not one",
		"SQL is not read-only: argument 'sql' contains a statement of kind drop",
	}
	sql_messages(fx.sql_analysis([], [], [], [])) == {"SQL is not read-only: argument 'sql' holds 0 statements, not one"}
	sql_violations(fx.sql_analysis(["select"], ["delete", "select"], [], [])) == {"argument_sql_not_read_only"}
	sql_violations(fx.sql_analysis(["explain"], ["delete", "explain"], [], [])) == {"argument_sql_not_read_only"}
	sql_violations(fx.sql_analysis(["select_into"], ["select_into"], [], [])) == {"argument_sql_not_read_only"}
	sql_violations(fx.sql_analysis(["set"], ["set"], [], [])) == {"argument_sql_not_read_only"}
}

test_sql_locking_clauses_are_not_read_only if {
	every lock in ["for_update", "for_no_key_update", "for_share", "for_key_share"] {
		sql_messages(fx.sql_analysis(["select"], ["select"], [], [lock])) == {concat("", ["SQL is not read-only: argument 'sql' locks rows (", lock, ")"])}
	}
}

test_sql_denied_functions_whatever_their_schema_or_case if {
	every function in [
		{"name": "pg_sleep"}, {"name": "pg_sleep", "schema": "pg_catalog"}, {"name": "PG_SLEEP"},
		{"name": "pg_sleep_for"}, {"name": "dblink_exec"}, {"name": "dblink", "schema": "public"},
		{"name": "set_config"}, {"name": "nextval"}, {"name": "pg_read_file"}, {"name": "pg_read_binary_file"},
		{"name": "lo_import"}, {"name": "pg_advisory_lock"}, {"name": "pg_terminate_backend"},
		{"name": "query_to_xml"}, {"name": "ts_stat"}, {"name": "txid_current"},
	] {
		sql_violations(fx.select_calling([{"name": "count"}, function])) == {"argument_sql_not_read_only"}
	}
	sql_messages(fx.select_calling([{"name": "pg_sleep", "schema": "pg_catalog"}])) == {"SQL is not read-only: argument 'sql' calls pg_catalog.pg_sleep"}
	sql_messages(fx.select_calling([{"name": "dblink_exec"}])) == {"SQL is not read-only: argument 'sql' calls dblink_exec"}
	sql_violations(fx.select_calling([{"name": "config_value"}, {"name": "next_value"}, {"name": "sleep"}])) == set()
}

test_sql_that_did_not_parse_is_unparsable if {
	sql_violations(fx.failed_analysis("sql:postgres", `syntax error at or near "selec"`)) == {"argument_unparsable"}
	sql_messages(fx.failed_analysis("sql:postgres", "contains a NUL character")) == {"Argument not understood: argument 'sql' could not be analysed by sql:postgres: contains a NUL character"}
	violations("postgres", "query", {"sql": "select 1"}) == {"argument_unparsable"}
	sql_violations(object.union(fx.select_calling([]), {"analyzer": "url"})) == {"argument_unparsable"}
	sql_violations(object.union(fx.select_calling([]), {"parsed": "true"})) == {"argument_unparsable"}
}

test_sql_analysis_missing_a_list_proves_nothing if {
	every field in ["statements", "statement_kinds", "functions", "locking"] {
		sql_messages(object.remove(fx.select_calling([]), [field])) == {"SQL is not read-only: argument 'sql' has an incomplete SQL analysis"}
	}
}

test_sql_read_only_without_analyze_refuses_every_query if {
	reasons := arguments.violation with input as fx.analysed_call(developer, "postgres", "query_unanalysed", {"sql": "select 1"}, {"sql": fx.select_calling([])})
		with data.mcp_data as fx.policy_data
	reasons == {{"code": "argument_sql_not_read_only", "message": "SQL is not read-only: argument 'sql' has no SQL analysis (its constraint must declare analyze: sql:postgres)"}}
}

test_sql_arrays_judged_element_by_element if {
	args := {"sql": ["select 1", "select pg_sleep(1)"]}
	elementwise_violations("postgres", "query", args, {"sql": [fx.select_calling([]), fx.select_calling([{"name": "pg_sleep"}])]}) == {"argument_sql_not_read_only"}
	elementwise_violations("postgres", "query", args, {"sql": [fx.select_calling([]), fx.select_calling([])]}) == set()
	analysed_violations("postgres", "query", args, {"sql": [fx.select_calling([]), fx.select_calling([])]}) == {"argument_unparsable"}
	analysed_violations("postgres", "query", {"sql": {"q": "select 1"}}, {"sql": fx.failed_analysis("sql:postgres", "not a string")}) == {"argument_unparsable"}
}
