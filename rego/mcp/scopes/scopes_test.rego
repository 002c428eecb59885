package mcp.scopes_test

import data.mcp
import data.mcp.fixtures_test as fx
import data.mcp.scopes

# The shared fixtures, with OAuth scopes required by two github tools and a malformed list on a third.
scoped_data := object.union(fx.policy_data, {"servers": {"github": {"tools": {
	"create_issue": {"required_scopes": ["repo:write"]},
	"merge_pull_request": {"required_scopes": ["repo:write", "repo:admin"]},
	"list_issues": {"required_scopes": "repo:read"},
}}}})

developer(token_scopes) := object.union(fx.subject(["developer"], []), {"scopes": token_scopes})

violations(token_scopes, tool) := found if {
	found := {reason | some reason in scopes.violation} with input as fx.call(developer(token_scopes), "github", tool, {})
		with data.mcp_data as scoped_data
}

decide(request) := decision if {
	decision := mcp.decision with input as request with data.mcp_data as scoped_data
}

test_token_with_the_scope_passes if {
	violations(["repo:write"], "create_issue") == set()
	violations(["openid", "repo:admin", "repo:write"], "merge_pull_request") == set()
}

test_tool_without_required_scopes_is_not_judged if {
	violations([], "get_issue") == set()
	decide(fx.call(developer([]), "github", "get_issue", {})).allow
}

test_missing_scope_is_named if {
	violations([], "create_issue") == {{
		"code": "insufficient_scope",
		"message": "Insufficient scope: tool github/create_issue needs the scope(s) 'repo:write' the token does not carry",
		"scope": "repo:write",
	}}
}

test_only_the_missing_scopes_are_asked_for_sorted_and_space_separated if {
	[r.scope | some r in violations(["repo:write"], "merge_pull_request")] == ["repo:admin"]
	[r.scope | some r in violations(["repo:read"], "merge_pull_request")] == ["repo:admin repo:write"]
}

test_scopes_compare_exactly if {
	[r.scope | some r in violations(["REPO:WRITE", "repo:write "], "create_issue")] == ["repo:write"]
}

test_malformed_required_scopes_close_the_tool_without_a_scope_to_ask_for if {
	malformed := violations(["repo:read"], "list_issues")
	[r.code | some r in malformed] == ["insufficient_scope"]
	[r.message | some r in malformed] == ["Insufficient scope: tool github/list_issues lists required_scopes that are not an array of non-empty strings; no token can satisfy them"]
	every r in malformed { not "scope" in object.keys(r) }

	# One bad element is enough: the valid ones are not judged on their own.
	bad := object.union(scoped_data, {"servers": {"github": {"tools": {"get_issue": {"required_scopes": ["repo:read", 7]}}}}})
	found := [r | some r in scopes.violation] with input as fx.call(developer([]), "github", "get_issue", {})
		with data.mcp_data as bad
	[object.keys(r) | some r in found] == [{"code", "message"}]
	every value in [null, false, {}, [""], "repo:read"] {
		with_value := object.union(scoped_data, {"servers": {"github": {"tools": {"get_issue": {"required_scopes": value}}}}})
		[r.code | some r in scopes.violation] == ["insufficient_scope"] with input as fx.call(developer(["repo:read"]), "github", "get_issue", {})
			with data.mcp_data as with_value
	}
}

test_malformed_required_scopes_deny_with_403 if {
	d := decide(fx.call(developer(["repo:read"]), "github", "list_issues", {}))
	d.allow == false
	d.status == 403
	[r.code | some r in d.reasons] == ["insufficient_scope"]
}

test_empty_list_requires_nothing if {
	empty := object.union(scoped_data, {"servers": {"github": {"tools": {"get_issue": {"required_scopes": []}}}}})
	count(scopes.violation) == 0 with input as fx.call(developer([]), "github", "get_issue", {})
		with data.mcp_data as empty
}

test_only_tools_call_is_judged if {
	count(scopes.violation) == 0 with input as fx.request("tools/list", developer([]), "github", {})
		with data.mcp_data as scoped_data
}

test_decision_is_403_with_the_scope_on_the_reason if {
	d := decide(fx.call(developer([]), "github", "create_issue", {"title": "x"}))
	d.allow == false
	d.status == 403
	d.reasons == [{
		"code": "insufficient_scope",
		"message": "Insufficient scope: tool github/create_issue needs the scope(s) 'repo:write' the token does not carry",
		"scope": "repo:write",
	}]
	decide(fx.call(developer(["repo:write"]), "github", "create_issue", {"title": "x"})).allow
}

test_tools_list_still_shows_the_tool if {
	d := decide(fx.request("tools/list", developer([]), "github", {}))
	d.allow
	"create_issue" in d.obligations.visible_tools
}

test_with_a_grant_denial_the_scope_reason_stays_and_the_status_is_403 if {
	support := object.union(fx.subject(["support"], []), {"scopes": []})
	d := decide(fx.call(support, "github", "create_issue", {}))
	d.status == 403
	{r.code | some r in d.reasons} == {"insufficient_scope", "not_granted"}
}

test_with_a_step_up_denial_the_status_is_403 if {
	# merge_pull_request is marked step_up in the fixtures and the fixture token is pwd only: the
	# scope is asked for first (403), the stronger sign-in after (401) once the scope is held.
	d := decide(fx.call(developer([]), "github", "merge_pull_request", {}))
	d.status == 403
	{r.code | some r in d.reasons} == {"insufficient_scope", "step_up_required"}
	held := decide(fx.call(developer(["repo:admin", "repo:write"]), "github", "merge_pull_request", {}))
	held.status == 401
	[r.code | some r in held.reasons] == ["step_up_required"]
}

test_anonymous_gets_no_scope_reason if {
	d := decide(fx.call(fx.anonymous, "github", "create_issue", {}))
	d.status == 401
	[r.code | some r in d.reasons] == ["unauthenticated"]
}
