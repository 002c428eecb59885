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

response_input := {
	"request": {"server": {"id": "github"}},
	"result": {"content": [{"type": "text", "text": "all good"}]},
	"destination": {"model": "internal"},
}

test_tool_results_masked_in_the_log_by_default if {
	masking.response_log_redact == ["/result"] with data.mcp_data as fx.policy_data
	j := data.mcp.response with input as response_input with data.mcp_data as fx.policy_data
	j == {"allow": true, "redactions": [], "reasons": [], "log_redact": ["/result"]}
}

test_log_tool_results_keeps_results_in_the_log if {
	keep := object.union(fx.policy_data, {"masking": {"log_tool_results": true}})
	masking.response_log_redact == [] with data.mcp_data as keep
	j := data.mcp.response with input as response_input with data.mcp_data as keep
	j == {"allow": true, "redactions": [], "reasons": []}
}

test_only_true_keeps_tool_results if {
	every flag in [false, null, "true", 1, {}] {
		masking.response_log_redact == ["/result"] with data.mcp_data as object.union(fx.policy_data, {"masking": {"log_tool_results": flag}})
	}
}

test_blocked_and_redacted_results_are_masked_too if {
	secret := {"content": [{"type": "text", "text": "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE"}]}
	blocked := data.mcp.response with input as object.union(response_input, {"result": secret, "destination": {"model": "public"}})
		with data.mcp_data as fx.policy_data
	blocked.allow == false
	blocked.log_redact == ["/result"]
}

# An analyzer's findings in a sensitive argument (a connection URL's host) are masked with it.
test_analysis_of_a_sensitive_argument_is_masked if {
	analysis := {"token": fx.failed_analysis("url", "not an absolute URL"), "url": fx.url_analysis("https", "docs.example.com", [])}
	request := fx.analysed_call(developer, "fetch", "fetch", {"token": "t", "url": "https://docs.example.com/"}, analysis)
	masking.redact == {"/mcp/tool/arguments/token", "/mcp/params/arguments/token", "/mcp/tool/analysis/token"} with input as request
		with data.mcp_data as fx.policy_data
	masking.redact == {"/mcp/tool/arguments", "/mcp/params/arguments", "/mcp/tool/analysis"} with input as request
		with data.mcp_data as object.union(fx.policy_data, {"masking": {"max_masked_arguments": 0}})
}
