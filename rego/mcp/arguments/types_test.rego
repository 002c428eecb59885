package mcp.arguments_test

import data.mcp.arguments
import data.mcp.fixtures_test as fx

# Issue #15 class 6: type confusion. A check meant for one type is never passed by a value of
# another, and arguments that failed validation against the tool's input schema are refused.

typed_reasons(server_id, tool, args) := reasons if {
	reasons := {[reason.code, reason.message] | some reason in arguments.violation} with input as fx.call(fx.subject(["developer"], []), server_id, tool, args)
		with data.mcp_data as fx.policy_data
}

typed_codes(server_id, tool, args) := {code | some [code, _] in typed_reasons(server_id, tool, args)}

test_a_value_wrapped_in_an_array_is_not_checked_element_by_element if {
	typed_reasons("postgres", "query", {"limit": [10]}) == {["argument_out_of_range", "Number out of range: argument 'limit' is not a number"]}
	typed_codes("fetch", "fetch", {"ref": ["main"]}) == {"argument_pattern_mismatch"}
	typed_codes("filesystem", "read_file", {"path": ["/srv/projects/a"]}) == {"argument_path_denied"}

	# A URL in a list is not the URL the analyzer read: its analysis is refused.
	analysis := {"url": [fx.url_analysis("https", "docs.example.com", [])]}
	request := fx.analysed_call(fx.subject(["developer"], []), "fetch", "fetch", {"url": ["https://docs.example.com/"]}, analysis)
	{r.code | some r in arguments.violation} == {"argument_unparsable"} with input as request with data.mcp_data as fx.policy_data
}

test_type_array_checks_each_element if {
	typed_codes("filesystem", "read_multiple_files", {"paths": ["/srv/projects/a", "/srv/projects/b"]}) == set()
	typed_codes("filesystem", "read_multiple_files", {"paths": ["/srv/projects/a", ["/srv/projects/b"]]}) == {"argument_path_denied"}
	typed_reasons("filesystem", "read_multiple_files", {"paths": "/srv/projects/a"}) == {["argument_type_mismatch", "Argument of the wrong type: argument 'paths' is a string, not \"array\""]}
}

typed_data := object.union(fx.policy_data, {"servers": {"postgres": {"tools": {"query": {"arguments": {
	"limit": {"type": "integer", "minimum": 1, "maximum": 1000},
	"flag": {"type": "boolean"},
	"mode": {"type": "no-such-type"},
}}}}}})

test_declared_types if {
	not_mismatched("limit", 10)
	not_mismatched("limit", 10.0)
	every value in [10.5, "10", [10], {"n": 10}, true, null] {
		not not_mismatched("limit", value)
	}
	not_mismatched("flag", false)
	not not_mismatched("flag", "false")
	not not_mismatched("mode", "anything")
}

not_mismatched(name, value) if {
	codes := {r.code | some r in arguments.violation} with input as fx.call(fx.subject(["developer"], []), "postgres", "query", {name: value})
		with data.mcp_data as typed_data
	not "argument_type_mismatch" in codes
}

# A mismatched type is the one reason: the constraint's other checks do not run on it.
test_a_type_mismatch_is_reported_alone if {
	reasons := {r.message | some r in arguments.violation} with input as fx.call(fx.subject(["developer"], []), "postgres", "query", {"limit": [5000]})
		with data.mcp_data as typed_data
	reasons == {"Argument of the wrong type: argument 'limit' is an array, not \"integer\""}
}

validated(validation) := object.union(fx.call(fx.subject(["developer"], []), "postgres", "query", {"limit": [10]}), {"mcp": {"tool": {"validation": validation}}})

test_arguments_that_failed_schema_validation_are_refused if {
	v := {"valid": false, "errors": [{"pointer": "/limit", "keyword": "type", "message": "must be integer"}]}
	reasons := {[r.code, r.message] | some r in arguments.violation} with input as validated(v) with data.mcp_data as fx.policy_data
	["arguments_invalid", "Arguments do not match the tool's input schema: the arguments do not match the tool's input schema: /limit must be integer"] in reasons
}

test_a_schema_that_could_not_be_used_is_refused if {
	v := {"valid": false, "errors": [{"pointer": "", "keyword": "schema", "message": "the tool's input_schema cannot be used: it is not a JSON Schema (an object or a boolean)"}]}
	"arguments_invalid" in {r.code | some r in arguments.violation} with input as validated(v) with data.mcp_data as fx.policy_data
}

# Anything but valid: true fails closed.
test_a_validation_without_valid_true_is_refused if {
	every v in [{"valid": false}, {}, {"valid": "true"}, {"valid": 1}] {
		"arguments_invalid" in {r.code | some r in arguments.violation} with input as validated(v) with data.mcp_data as fx.policy_data
	}
	not "arguments_invalid" in {r.code | some r in arguments.violation} with input as validated({"valid": true}) with data.mcp_data as fx.policy_data
}
