package mcp.lib_test

import data.mcp.lib

test_name_matches if {
	lib.name_matches("*", "anything")
	lib.name_matches("get_issue", "get_issue")
	lib.name_matches("get_*", "get_issue")
	not lib.name_matches("get_*", "list_issues")
	not lib.name_matches("get_issue", "get_issues")
	not lib.any_name_matches([], "x")
}

test_normalize_path if {
	lib.normalize_path("/srv/projects/a/../b/./c//d") == "/srv/projects/b/c/d"
	lib.normalize_path("/srv/projects/../../etc/passwd") == "/etc/passwd"
	lib.normalize_path(`\srv\projects\..\x`) == "/srv/x"
	lib.normalize_path("/") == ""
	lib.normalize_path("/a/b/../..") == ""
	lib.normalize_path("/a/../b/../c") == "/c"
	not lib.normalize_path("/../etc")
	not lib.normalize_path("/a/../../etc")
	not lib.normalize_path("relative/path")
}

test_normalize_path_stays_linear_in_long_paths if {
	# No "..": any length (10,000 segments here).
	long := concat("", ["/srv", concat("", [s | some _ in numbers.range(1, 10000); s := "/a"])])
	startswith(lib.normalize_path(long), "/srv/a/a/")

	# With "..": at most 32 segments, or undefined (the cancellation is quadratic).
	lib.normalize_path(concat("", [concat("", [s | some _ in numbers.range(1, 31); s := "/a"]), "/.."])) == concat("", [s | some _ in numbers.range(1, 30); s := "/a"])
	not lib.normalize_path(concat("", [concat("", [s | some _ in numbers.range(1, 32); s := "/a"]), "/.."]))
}

test_path_under if {
	lib.path_under("/srv/data", "/srv/data/")
	lib.path_under("/srv/data/x", "/srv/data")
	lib.path_under("/srv/data/x", "/")
	not lib.path_under("/srv/database", "/srv/data/")
}

test_host_matches if {
	lib.host_matches("a.example.com", "a.example.com")
	lib.host_matches("*.example.com", "a.b.example.com")
	not lib.host_matches("*.example.com", "example.com")
	not lib.host_matches("*.example.com", "evilexample.com")
}

test_luhn if {
	lib.luhn_valid("4111111111111111")
	lib.luhn_valid("378282246310005")
	lib.luhn_valid("5555555555554444")
	not lib.luhn_valid("4111111111111112")
}

test_json_pointer if {
	lib.json_pointer(["a/b", 0, "c~d"]) == "/a~1b/0/c~0d"
	lib.json_pointer([]) == ""
}

test_reason if {
	meta := {"title": "T", "custom": {"code": "c"}}
	lib.reason(meta, "detail") == {"code": "c", "message": "T: detail"}
}
