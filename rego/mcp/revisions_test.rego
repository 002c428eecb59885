package mcp_test

import data.mcp
import data.mcp.fixtures_test as fx

# MCP 2026-07-28 beside the earlier revisions: the revision a message names, negotiation and the
# new lifecycle methods.

revision_developer := fx.subject(["developer"], [])

decide_revision(request) := decision if {
	decision := mcp.decision with input as request with data.mcp_data as fx.policy_data
}

with_version(request, version) := object.union(request, {"mcp": {"protocol_version": version}})

test_every_known_revision_is_judged_alike if {
	every version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"] {
		d := decide_revision(with_version(fx.call(revision_developer, "github", "create_issue", {}), version))
		d.allow
	}
}

test_unknown_revision_is_denied_with_its_reason if {
	d := decide_revision(with_version(fx.call(revision_developer, "github", "create_issue", {}), "2027-01-01"))
	not d.allow
	d.status == 403
	[r.code | some r in d.reasons] == ["protocol_version_unknown"]
}

test_unknown_revision_may_negotiate if {
	every method in ["initialize", "server/discover"] {
		decide_revision(with_version(fx.request(method, revision_developer, "github", {}), "2027-01-01")).allow
	}
}

test_no_revision_named_is_not_judged if {
	decide_revision(fx.call(revision_developer, "github", "create_issue", {})).allow
}

test_revision_list_from_data if {
	request := with_version(fx.call(revision_developer, "github", "create_issue", {}), "2026-07-28")
	data_2025 := object.union(fx.policy_data, {"protocol_versions": ["2025-11-25"]})
	d := mcp.decision with input as request with data.mcp_data as data_2025
	[r.code | some r in d.reasons] == ["protocol_version_unknown"]
}

test_server_messages_are_not_judged_by_revision if {
	request := with_version(
		object.union(fx.request("sampling/createMessage", revision_developer, "github", {}), {"mcp": {"direction": "server_to_client"}}),
		"2027-01-01",
	)
	decide_revision(request).allow
}

test_subscriptions_listen_for_list_changes_only if {
	listen := fx.request(
		"subscriptions/listen", revision_developer, "github",
		{"params": {"notifications": {"toolsListChanged": true}}},
	)
	decide_revision(listen).allow
	resources := fx.request(
		"subscriptions/listen", revision_developer, "github",
		{"params": {"notifications": {"resourceSubscriptions": ["file:///etc/passwd"]}}},
	)
	[r.code | some r in decide_revision(resources).reasons] == ["method_not_allowed"]
}

test_server_discover_needs_authentication if {
	decide_revision(fx.request("server/discover", fx.anonymous, "github", {})).status == 401
}
