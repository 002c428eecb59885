package mcp.masking_test

import data.mcp.fixtures_test as fx
import data.mcp.masking

developer := fx.subject(["developer"], [])

test_global_sensitive_names_case_insensitive if {
	masking.redact == {"/mcp/tool/arguments/TOKEN", "/mcp/params/arguments/TOKEN"} with input as fx.call(developer, "github", "get_issue", {"TOKEN": "t", "id": 1})
		with data.mcp_data as fx.policy_data
}

test_per_tool_sensitive_arguments if {
	masking.redact == {"/mcp/tool/arguments/body_secret", "/mcp/params/arguments/body_secret"} with input as fx.call(developer, "github", "create_issue", {"body_secret": "s"})
		with data.mcp_data as fx.policy_data
}

test_pointer_escaping if {
	masking.redact == {"/mcp/tool/arguments/pass~1word", "/mcp/params/arguments/pass~1word"} with input as fx.call(developer, "x", "y", {"pass/word": "s"})
		with data.mcp_data as object.union(fx.policy_data, {"masking": {"sensitive_arguments": ["pass/word"]}})
}

test_prompt_arguments if {
	request := fx.request("prompts/get", developer, "github", {"prompt": {"name": "p", "arguments": {"password": "x", "topic": "y"}}})
	masking.redact == {"/mcp/prompt/arguments/password", "/mcp/params/arguments/password"} with input as request
		with data.mcp_data as fx.policy_data
}

test_nothing_to_mask if {
	count(masking.redact) == 0 with input as fx.call(developer, "github", "get_issue", {"id": 1})
		with data.mcp_data as fx.policy_data
}

test_many_sensitive_arguments_erase_all_arguments if {
	args := {"token": "a", "Token": "b", "tOKEN": "c", "id": 1}
	masking.redact == {"/mcp/tool/arguments", "/mcp/params/arguments"} with input as fx.call(developer, "github", "get_issue", args)
		with data.mcp_data as object.union(fx.policy_data, {"masking": {"max_masked_arguments": 2}})
	count(masking.redact) == 6 with input as fx.call(developer, "github", "get_issue", args)
		with data.mcp_data as object.union(fx.policy_data, {"masking": {"max_masked_arguments": 3}})
}

test_default_masked_arguments_limit_is_32 if {
	masking.max_masked_arguments == 32 with data.mcp_data as fx.policy_data
}

test_odd_masked_arguments_limit_keeps_the_default if {
	every limit in [null, true, "2", [2]] {
		masking.max_masked_arguments == 32 with data.mcp_data as object.union(fx.policy_data, {"masking": {"max_masked_arguments": limit}})
	}
}
