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

test_url_hosts if {
	violations("fetch", "fetch", {"url": "https://docs.example.com/page"}) == set()
	violations("fetch", "fetch", {"url": "https://en.wikipedia.org/wiki/MCP"}) == set()
	violations("fetch", "fetch", {"url": "http://docs.example.com/page"}) == {"argument_host_denied"}
	violations("fetch", "fetch", {"url": "https://docs.example.com.evil.io/"}) == {"argument_host_denied"}
	violations("fetch", "fetch", {"url": `https://evil.io\@docs.example.com/`}) == {"argument_host_denied"}
	violations("fetch", "fetch", {"url": "https://docs.example.com@evil.io/"}) == {"argument_host_denied"}
	violations("fetch", "fetch", {"url": ["https://docs.example.com/"]}) == set()
	violations("fetch", "fetch", {"url": 7}) == {"argument_host_denied"}
}

test_sql_read_only if {
	sql := {"sql": "SELECT id FROM users WHERE name = 'x';", "limit": 10}
	violations("postgres", "query", sql) == set()
	violations("postgres", "query", {"sql": "with t as (select 1) select * from t"}) == set()
	violations("postgres", "query", {"sql": "DELETE FROM users"}) == {"argument_sql_not_read_only"}
	violations("postgres", "query", {"sql": "select 1; drop table users"}) == {"argument_sql_not_read_only"}
	violations("postgres", "query", {"sql": "select * into backup from users"}) == {"argument_sql_not_read_only"}
	violations("postgres", "query", {"sql": "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"}) == {"argument_sql_not_read_only"}
	violations("postgres", "query", {"sql": ["select 1"]}) == set()
	violations("postgres", "query", {"sql": {"q": "select 1"}}) == {"argument_sql_not_read_only"}
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

test_sql_read_only_refuses_state_changing_functions if {
	every sql in [
		"SELECT set_config('default_transaction_read_only', 'off', false)",
		"select nextval('orders_id_seq')",
		"SELECT pg_terminate_backend(42)",
		"select pg_read_file('/etc/passwd')",
		"SELECT lo_import('/etc/passwd')",
		"select * from dblink('host=evil', 'select 1') as t(x int)",
		"SELECT pg_sleep (60)",
	] {
		violations("postgres", "query", {"sql": sql}) == {"argument_sql_not_read_only"}
	}
	violations("postgres", "query", {"sql": "SELECT config_value, next_value FROM settings"}) == set()
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
