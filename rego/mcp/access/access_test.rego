package mcp.access_test

import data.mcp.access
import data.mcp.fixtures_test as fx

developer := fx.subject(["developer"], [])

denied(request) := codes if {
	codes := {reason.code | some [_, reason] in access.denial} with input as request
		with data.mcp_data as fx.policy_data
}

messages(request) := msgs if {
	msgs := {reason.message | some [_, reason] in access.denial} with input as request
		with data.mcp_data as fx.policy_data
}

in_context(request, patch) := object.union(request, {"context": patch})

test_unknown_tool if {
	messages(fx.call(developer, "github", "nope", {})) == {"Unknown tool: tool github/nope is not in the server's tool catalog"}
	denied(fx.call(developer, "nowhere", "x", {})) == {"tool_unknown", "not_granted", "client_not_granted"}
}

# A tool that catalog import just added matches the developer's read_* grant and the desktop
# client's filesystem * grant: the review mark alone keeps it closed.
test_unreviewed_tool_is_denied_whatever_grant_matches if {
	messages(fx.call(developer, "filesystem", "read_archive", {"path": "/srv/projects/a.tar"})) == {"Tool not reviewed: tool filesystem/read_archive was added to the catalog by an import and awaits review"}
	denied(fx.call(fx.subject(["support"], []), "filesystem", "read_archive", {})) == {"tool_unreviewed", "not_granted"}
}

test_unreviewed_tool_is_hidden_from_tools_list if {
	access.visible_tools == ["read_file", "read_multiple_files"] with input as fx.request("tools/list", developer, "filesystem", {})
		with data.mcp_data as fx.policy_data
}

test_removing_the_review_mark_opens_the_tool if {
	unmarked := json.remove(fx.policy_data, ["servers/filesystem/tools/read_archive/review"])
	reviewed := object.union(unmarked, {"servers": {"filesystem": {"tools": {"read_archive": {"arguments": {"path": {"path_prefixes": ["/srv/projects/"]}}}}}}})
	codes := {reason.code | some [_, reason] in access.denial} with input as fx.call(developer, "filesystem", "read_archive", {})
		with data.mcp_data as reviewed
	codes == set()
	listed := access.visible_tools with input as fx.request("tools/list", developer, "filesystem", {})
		with data.mcp_data as reviewed
	listed == ["read_archive", "read_file", "read_multiple_files"]
}

# Any value of review is the mark (false, null, a typo): only deleting it opens the tool.
test_any_review_value_is_the_mark if {
	every value in [false, null, "done", "Pending", {}] {
		marked := object.union(fx.policy_data, {"servers": {"filesystem": {"tools": {"read_archive": {"review": value}}}}})
		codes := {reason.code | some [_, reason] in access.denial} with input as fx.call(developer, "filesystem", "read_archive", {})
			with data.mcp_data as marked
		codes == {"tool_unreviewed"}
	}
}

test_not_granted_message if {
	messages(fx.call(fx.subject(["support"], ["g"]), "github", "create_issue", {})) == {"Not granted: no grant of roles [support] or groups [g] allows tool github/create_issue"}
}

test_group_grant if {
	denied(fx.call(fx.subject([], ["writers"]), "filesystem", "write_file", {})) == set()
}

test_prod_only_group if {
	dba := fx.subject([], ["dba-prod"])
	denied(fx.call(dba, "postgres", "query", {})) == set()
	staging := in_context(fx.call(dba, "postgres", "query", {}), {"environment": "staging"})
	messages(staging) == {"Outside the grant's environment: tool postgres/query is not granted in environment 'staging'"}
	no_environment := object.union(fx.call(dba, "postgres", "query", {}), {"context": {"environment": ""}})
	denied(no_environment) == {"outside_environment"}
}

test_registered_client_is_bound_to_its_grants if {
	agent := object.union(developer, {"client_id": "triage-agent"})
	denied(fx.call(agent, "github", "get_issue", {})) == set()
	messages(fx.call(agent, "fetch", "fetch", {})) == {"Agent client not granted: agent client 'triage-agent' may not use tool fetch/fetch"}
}

test_unregistered_client_without_actor_uses_user_grants if {
	denied(fx.call(object.union(developer, {"client_id": "other"}), "fetch", "fetch", {})) == set()
	denied(fx.call(object.remove(developer, ["client_id"]), "fetch", "fetch", {})) == set()
}

test_delegation_is_the_intersection if {
	user := object.union(fx.subject(["support"], []), {"actor": {"id": "bot", "client_id": "triage-agent", "actor": null}})
	denied(fx.call(user, "github", "get_issue", {})) == set()

	# the agent may create issues, the user may not
	denied(fx.call(user, "github", "create_issue", {})) == {"not_granted", "explicitly_denied"}

	# the user may fetch, the agent may not
	denied(fx.call(developer, "fetch", "fetch", {})) == set()
	delegated_dev := object.union(developer, {"actor": {"client_id": "triage-agent", "actor": null}})
	denied(fx.call(delegated_dev, "fetch", "fetch", {})) == {"client_not_granted"}
}

test_delegation_by_unregistered_agent_is_denied if {
	user := object.union(developer, {"actor": {"id": "bot", "actor": null}})
	policy_data := object.union(fx.policy_data, {"grants": {"clients": {"desktop": null}}})
	msgs := {reason.message | some [_, reason] in access.denial} with input as fx.call(user, "github", "get_issue", {})
		with data.mcp_data as policy_data
	msgs == {"Agent client not granted: agent client 'desktop' may not use tool github/get_issue"}
}

test_delegation_without_any_client_id if {
	user := object.remove(object.union(developer, {"actor": {"id": "bot", "actor": null}}), ["client_id"])
	denied(fx.call(user, "github", "get_issue", {})) == {"client_not_granted"}
}

test_explicit_denies if {
	denied(fx.call(developer, "github", "delete_repository", {})) == {"explicitly_denied"}
	messages(fx.call(fx.subject(["contractor"], []), "github", "create_or_update_file", {})) == {"Explicitly denied: tool github/create_or_update_file is denied by policy data"}
	agent := object.union(developer, {"client_id": "triage-agent"})
	denied(fx.call(agent, "github", "create_issue", {})) == {"explicitly_denied"}
}

test_step_up if {
	denied(fx.call(developer, "github", "merge_pull_request", {})) == {"step_up_required"}
	by_amr := object.union(developer, {"token": {"amr": ["pwd", "otp"]}})
	denied(fx.call(by_amr, "github", "merge_pull_request", {})) == set()
	by_acr := object.union(developer, {"token": {"acr": "mfa"}})
	denied(fx.call(by_acr, "github", "merge_pull_request", {})) == set()
	stale := object.union(developer, {"token": {"acr": "mfa", "auth_time": 1763970000}})
	denied(fx.call(stale, "github", "merge_pull_request", {})) == {"step_up_required"}
	no_token := object.remove(by_acr, ["token"])
	denied(fx.call(no_token, "github", "merge_pull_request", {})) == {"step_up_required"}
}

test_business_hours_for_write_tools if {
	writer := fx.subject([], ["writers"])
	call := fx.call(writer, "filesystem", "write_file", {})
	denied(call) == set()
	denied(in_context(call, {"time": {"weekday": "Sat"}})) == {"outside_time_window"}
	denied(in_context(call, {"time": {"hour_utc": 19}})) == {"outside_time_window"}
	denied(in_context(call, {"time": {"hour_utc": 6}})) == {"outside_time_window"}
	denied(object.remove(call, ["context"])) == {"outside_time_window"}

	# read tools and servers without a window are not restricted
	denied(in_context(fx.call(developer, "filesystem", "read_file", {}), {"time": {"weekday": "Sun"}})) == set()
	denied(in_context(fx.call(developer, "github", "create_issue", {}), {"time": {"weekday": "Sun"}})) == set()
}

test_resources_by_uri_pattern if {
	read := fx.request("resources/read", developer, "docs", {"resource": {"uri": "docs://handbook/onboarding", "path": "/onboarding"}})
	denied(read) == set()
	other := fx.request("resources/subscribe", developer, "docs", {"resource": {"uri": "docs://hr/salaries"}})
	messages(other) == {"Not granted: no grant of roles [developer] or groups [] allows resource docs/docs://hr/salaries"}
	denied(fx.request("resources/read", fx.subject(["support"], []), "docs", {"resource": {"uri": "docs://handbook/x"}})) == {"not_granted"}
}

test_resource_traversal if {
	up := fx.request("resources/read", developer, "docs", {"resource": {"uri": "docs://handbook/../hr/salaries"}})
	denied(up) == {"path_traversal"}
	encoded := fx.request("resources/read", developer, "docs", {"resource": {"uri": "docs://handbook/%2E%2E/hr", "path": "/handbook/../hr"}})
	messages(encoded) == {"Resource path traversal: resource docs/docs://handbook/%2E%2E/hr has a '..' segment"}
	decoded := fx.request("resources/read", developer, "docs", {"resource": {"uri": "docs://handbook/x", "path": "/handbook/../hr"}})
	denied(decoded) == {"path_traversal"}
	every uri in ["file:///srv/projects/..?x", "file:///srv/projects/..#x", "docs://handbook/..%2fhr", "docs://handbook/..%5Chr", "docs://handbook/%2e%2E?"] {
		"path_traversal" in denied(fx.request("resources/read", developer, "docs", {"resource": {"uri": uri}}))
	}
	denied(fx.request("resources/read", developer, "docs", {"resource": {"uri": "docs://handbook/a..b?q=..x"}})) == set()
}

test_prompts_by_name if {
	get := fx.request("prompts/get", fx.subject(["support"], []), "github", {"prompt": {"name": "summarize_issue", "arguments": {}}})
	denied(get) == set()
	other := fx.request("prompts/get", fx.subject(["support"], []), "github", {"prompt": {"name": "draft_release", "arguments": {}}})
	denied(other) == {"not_granted"}
}

test_visible_tools if {
	access.visible_tools == ["create_issue", "create_or_update_file", "get_issue", "list_issues"] with input as fx.request("tools/list", developer, "github", {})
		with data.mcp_data as fx.policy_data
	not access.visible_tools with input as fx.call(developer, "github", "get_issue", {})
		with data.mcp_data as fx.policy_data
}

test_approval if {
	approval := access.approval with input as fx.call(developer, "postgres", "execute", {})
		with data.mcp_data as fx.policy_data
	approval == {"reason": "The tool is marked high_risk in data; a human must approve the call. (postgres/execute)"}
	not access.approval with input as fx.call(developer, "postgres", "query", {})
		with data.mcp_data as fx.policy_data
}

test_write_window_missing_from_data_is_never_open if {
	call := fx.call(fx.subject([], ["writers"]), "filesystem", "write_file", {})
	broken := object.union(fx.policy_data, {"servers": {"filesystem": {"write_window": "no_such_window"}}})
	codes := {reason.code | some [_, reason] in access.denial} with input as call with data.mcp_data as broken
	codes == {"outside_time_window"}
}
