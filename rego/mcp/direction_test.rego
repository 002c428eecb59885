package mcp_test

import data.mcp
import data.mcp.fixtures_test as fx

server_to_client := {"direction": "server_to_client"}

decide_as(request) := decision if {
	decision := mcp.decision with input as request with data.mcp_data as fx.policy_data
}

test_server_requests_allowed_for_an_authenticated_client if {
	every method in ["sampling/createMessage", "elicitation/create", "roots/list", "ping"] {
		decide_as(fx.request(method, fx.subject(["support"], []), "github", server_to_client)).allow
	}
}

test_server_notifications_allowed if {
	d := decide_as(object.union(
		fx.request("notifications/progress", fx.subject(["support"], []), "github", server_to_client),
		{"mcp": {"kind": "notification", "method": "notifications/progress", "direction": "server_to_client"}},
	))
	d.allow
}

test_server_request_to_an_unauthenticated_client_is_401 if {
	d := decide_as(fx.request("sampling/createMessage", fx.anonymous, "github", server_to_client))
	d.allow == false
	d.status == 401
}

# A server does not get to call tools (or anything else) on its client.
test_client_methods_not_permitted_from_the_server if {
	every method in ["tools/list", "initialize", "resources/list"] {
		d := decide_as(fx.request(method, fx.subject(["developer"], []), "github", server_to_client))
		d.allow == false
		"method_not_allowed" in {r.code | some r in d.reasons}
	}
}

test_tools_call_from_the_server_denied if {
	call := fx.call(fx.subject(["developer"], []), "github", "get_issue", {})
	d := decide_as(object.union(call, {"mcp": server_to_client}))
	d.allow == false
}

# Server-initiated methods stay the server's: a client cannot send them.
test_server_methods_not_permitted_from_the_client if {
	every method in ["sampling/createMessage", "elicitation/create", "roots/list"] {
		d := decide_as(fx.request(method, fx.subject(["developer"], []), "github", {}))
		d.allow == false
	}
}
