package mcp_test

import data.mcp
import data.mcp.fixtures_test as fx

developer := fx.subject(["developer"], [])

support := fx.subject(["support"], [])

decide(request) := decision if {
	decision := mcp.decision with input as request with data.mcp_data as fx.policy_data
}

codes(decision) := {reason.code | some reason in decision.reasons}

test_developer_may_call_create_issue if {
	d := decide(fx.call(developer, "github", "create_issue", {"title": "x"}))
	d.allow == true
	d.status == 200
	d.reasons == []
	d.obligations == {}
}

test_support_may_not_call_create_issue if {
	d := decide(fx.call(support, "github", "create_issue", {}))
	d.allow == false
	d.status == 403
	[r.code | some r in d.reasons] == ["not_granted"]
}

test_support_may_call_get_issue if decide(fx.call(support, "github", "get_issue", {})).allow

test_unauthenticated_is_401_with_one_reason if {
	d := decide(fx.call(fx.anonymous, "github", "get_issue", {}))
	d.allow == false
	d.status == 401
	d.reasons == [{"code": "unauthenticated", "message": "Authentication required: no bearer token"}]
}

test_unauthenticated_without_subject_reason if {
	d := decide(fx.call(object.remove(fx.anonymous, ["reason"]), "github", "get_issue", {}))
	d.reasons[0].message == "Authentication required: a verified identity is required"
}

test_lifecycle_methods_allowed_for_authenticated if {
	every method in ["initialize", "ping", "resources/list", "prompts/list", "notifications/initialized"] {
		decide(fx.request(method, support, "github", {})).allow
	}
}

test_lifecycle_methods_denied_for_anonymous if {
	every method in ["initialize", "ping", "notifications/initialized", "tools/list"] {
		decide(fx.request(method, fx.anonymous, "github", {})).status == 401
	}
}

test_client_responses_allowed if {
	request := fx.request("x", support, "github", {})
	response := object.union(object.remove(request, ["mcp"]), {"mcp": {"kind": "response", "id": 3}})
	decide(response).allow
}

test_unknown_method_denied if {
	d := decide(fx.request("sampling/createMessage", support, "github", {}))
	d.status == 403
	codes(d) == {"method_not_allowed"}
}

test_tools_call_without_a_tool_denied if {
	d := decide(fx.request("tools/call", developer, "github", {}))
	codes(d) == {"method_not_allowed"}
}

test_tools_list_visible_tools if {
	d := decide(fx.request("tools/list", support, "github", {}))
	d.allow
	d.obligations.visible_tools == ["get_issue", "list_issues"]
}

test_tools_list_unknown_server_is_empty if {
	decide(fx.request("tools/list", support, "nowhere", {})).obligations.visible_tools == []
}

test_explicit_deny_hides_and_blocks if {
	d := decide(fx.request("tools/list", developer, "github", {}))
	not "delete_repository" in d.obligations.visible_tools
	codes(decide(fx.call(developer, "github", "delete_repository", {}))) == {"explicitly_denied"}
}

# A tool an import just added (review: pending) is denied with 403 although developer's read_*
# grant covers it, and tools/list leaves it out for the same caller.
test_unreviewed_tool_denied_and_hidden if {
	d := decide(fx.call(developer, "filesystem", "read_archive", {"path": "/srv/projects/a.tar"}))
	d.status == 403
	codes(d) == {"tool_unreviewed"}
	listed := decide(fx.request("tools/list", developer, "filesystem", {}))
	listed.allow
	listed.obligations.visible_tools == ["read_file", "read_multiple_files"]
}

test_step_up_is_401 if {
	d := decide(fx.call(developer, "github", "merge_pull_request", {}))
	d.status == 401
	codes(d) == {"step_up_required"}
}

test_step_up_and_grant_failure_is_403 if {
	d := decide(fx.call(support, "github", "merge_pull_request", {}))
	d.status == 403
	codes(d) == {"not_granted", "step_up_required"}
}

test_argument_violation_denies_call if {
	d := decide(fx.call(developer, "filesystem", "read_file", {"path": "/srv/projects/../../etc/passwd"}))
	d.status == 403
	codes(d) == {"argument_path_denied"}
}

test_require_approval_for_high_risk if {
	d := decide(fx.call(fx.subject(["analyst"], ["dba-prod"]), "postgres", "execute", {}))
	d.allow
	d.obligations.require_approval.reason == "The tool is marked high_risk in data; a human must approve the call. (postgres/execute)"
}

test_no_approval_on_deny if {
	d := decide(fx.call(support, "postgres", "execute", {}))
	not d.allow
	not d.obligations.require_approval
}

test_log_masking_on_allow_and_deny if {
	args := {"title": "t", "Password": "hunter2", "body_secret": "s"}
	allowed := decide(fx.call(developer, "github", "create_issue", args))
	allowed.obligations.redact == [
		"/mcp/params/arguments/Password",
		"/mcp/params/arguments/body_secret",
		"/mcp/tool/arguments/Password",
		"/mcp/tool/arguments/body_secret",
	]
	denied := decide(fx.call(support, "github", "create_issue", args))
	count(denied.obligations.redact) == 4
}

test_every_deny_has_reasons_and_matching_status if {
	requests := [
		fx.call(support, "github", "create_issue", {}),
		fx.call(fx.anonymous, "github", "create_issue", {}),
		fx.call(developer, "nowhere", "x", {}),
		fx.request("bogus", developer, "github", {}),
		fx.call(developer, "fetch", "fetch", {"url": "https://evil.example/"}),
	]
	every request in requests {
		d := decide(request)
		d.allow == false
		count(d.reasons) > 0
		d.status >= 400
	}
}

# The property the issue asks for: tools/list shows exactly the tools a tools/call (with arguments
# that violate no constraint) would allow, for many subjects, servers and contexts.
test_visible_tools_equal_callable_tools if {
	fresh_mfa := object.union(developer, {"token": {"audience": [], "amr": ["otp"], "auth_time": 1763978000}})
	delegated := object.union(fx.subject(["developer"], ["writers"]), {"actor": {"client_id": "triage-agent", "actor": null}})
	subjects := [
		developer, support, fresh_mfa, delegated,
		fx.subject(["contractor"], []),
		fx.subject(["analyst"], ["dba-prod"]),
		fx.subject([], ["writers"]),
		fx.subject(["developer"], ["writers"]),
		fx.subject([], []),
		object.union(developer, {"client_id": "unknown-client"}),
		object.union(developer, {"actor": {"id": "agent", "actor": null}}),
		fx.anonymous,
	]
	contexts := [
		fx.context,
		object.union(fx.context, {"environment": "staging"}),
		object.union(fx.context, {"time": {"weekday": "Sat", "hour_utc": 3}}),
	]
	every subj in subjects {
		every ctx in contexts {
			every server_id, server in fx.policy_data.servers {
				listed := {name | some name in decide(object.union(fx.request("tools/list", subj, server_id, {}), {"context": ctx})).obligations.visible_tools}
				callable := {name |
					some name, _ in server.tools
					decide(object.union(fx.call(subj, server_id, name, {}), {"context": ctx})).allow
				}
				listed == callable
			}
		}
	}
}

test_response_entrypoint_allows_clean_result if {
	mcp.response == {"allow": true, "redactions": [], "reasons": [], "log_redact": ["/result"]} with input as {
		"request": {"server": {"id": "github"}},
		"result": {"content": [{"type": "text", "text": "all good"}]},
		"destination": {"model": "internal"},
	}
		with data.mcp_data as fx.policy_data
}
