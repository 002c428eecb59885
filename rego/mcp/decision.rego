# METADATA
# title: MCP reference policy
# description: |
#   Judges one normalized MCP request (input document v1) at entrypoint mcp/decision and one tool
#   result at entrypoint mcp/response. Everything is denied unless a rule grants it, and every
#   deny carries at least one reason whose code comes from the METADATA of the rule that denies.
#   Data: bundles/default/data.json (data.mcp_data).
package mcp

import data.mcp.access
import data.mcp.arguments
import data.mcp.dlp
import data.mcp.lib
import data.mcp.masking
import data.mcp.scopes

# Methods every authenticated caller may use: session lifecycle, keep-alive and listings
# (tools/list is filtered by obligations.visible_tools).
lifecycle_methods := {
	"initialize",
	"server/discover",
	"ping",
	"tools/list",
	"resources/list",
	"resources/templates/list",
	"prompts/list",
}

# Requests an MCP server may send its client, through a gateway that decides both directions
# (input.mcp.direction == "server_to_client"): the client's model, user and roots answer them.
server_request_methods := {
	"sampling/createMessage",
	"elicitation/create",
	"roots/list",
	"ping",
}

# The MCP revisions this policy was written for; data.mcp_data.protocol_versions replaces the list.
# A revision is judged only when the message names one (its _meta claim, the MCP-Protocol-Version
# header, or initialize's protocolVersion).
default_protocol_versions := [
	"2024-10-07",
	"2024-11-05",
	"2025-03-26",
	"2025-06-18",
	"2025-11-25",
	"2026-07-28",
]

known_protocol_versions := object.get(data.mcp_data, "protocol_versions", default_protocol_versions)

# Version negotiation: a newer client offers its revision and the server answers with one both
# know (initialize in earlier revisions, server/discover from 2026-07-28).
negotiation_methods := {"initialize", "server/discover"}

# Methods that name a target the access rules judge.
target_methods := {
	"tools/call": "tool",
	"resources/read": "resource",
	"resources/subscribe": "resource",
	"resources/unsubscribe": "resource",
	"prompts/get": "prompt",
}

# METADATA
# title: Decision v1
# description: The decision returned at entrypoint mcp/decision.
decision := {
	"allow": allow,
	"status": status,
	"reasons": reasons,
	"obligations": obligations,
}

# METADATA
# title: Response judgement v1
# description: |
#   The judgement returned at entrypoint mcp/response (a tool result before the model sees it),
#   with log_redact naming what of the result the decision log must not keep (masking).
response := object.union(dlp.judgement, {"log_redact": masking.response_log_redact}) if {
	count(masking.response_log_redact) > 0
} else := dlp.judgement

default allow := false

allow if {
	authenticated
	method_permitted
	count(deny) == 0
}

authenticated if input.subject.authenticated == true

# Client methods are judged only as the client's: a server cannot send tools/call to its client.
from_client if not input.mcp.direction

from_server if input.mcp.direction == "server_to_client"

method_permitted if {
	from_client
	input.mcp.method in lifecycle_methods
}

method_permitted if startswith(input.mcp.method, "notifications/")

method_permitted if {
	from_server
	input.mcp.method in server_request_methods
}

# MCP 2026-07-28: a stream of list-changed notifications. One that also subscribes to resources
# names targets this policy does not judge one by one: not permitted.
method_permitted if {
	from_client
	input.mcp.method == "subscriptions/listen"
	count(object.get(input.mcp, ["params", "notifications", "resourceSubscriptions"], [])) == 0
}

# Responses the client sends to server-initiated requests (sampling, elicitation, roots).
method_permitted if {
	input.mcp.kind == "response"
	not input.mcp.method
}

method_permitted if {
	from_client
	target_methods[input.mcp.method]
	count(access.requested) == 1
}

status := 200 if allow

else := 401 if not authenticated

else := 401 if only_step_up

else := 403

# RFC 9470: a request that fails only for want of a fresh, stronger authentication is a 401.
only_step_up if {
	count(deny) > 0
	every reason in deny { reason.code == "step_up_required" }
}

reasons := [] if allow

else := sort(deny)

# METADATA
# title: Authentication required
# description: The request carries no verified identity.
# custom:
#   code: unauthenticated
deny contains lib.reason(rego.metadata.rule(), detail) if {
	not authenticated
	detail := object.get(input.subject, ["reason", "message"], "a verified identity is required")
}

# METADATA
# title: Method not allowed
# description: The method is not one this policy permits, or it lacks the target it must name.
# custom:
#   code: method_not_allowed
deny contains lib.reason(rego.metadata.rule(), detail) if {
	authenticated
	not method_permitted
	detail := concat("", ["method '", object.get(input.mcp, "method", "(none)"), "' is not allowed"])
}

# METADATA
# title: Protocol revision unknown
# description: |
#   The message is governed by an MCP revision this policy was not written for: a later revision
#   may carry what the policy cannot see. Negotiation is exempt, so the client and server can
#   still agree on a revision both know.
# custom:
#   code: protocol_version_unknown
deny contains lib.reason(rego.metadata.rule(), detail) if {
	authenticated
	from_client
	not negotiating
	version := input.mcp.protocol_version
	not version in known_protocol_versions
	detail := concat("", ["revision '", version, "' is not one of ", concat(", ", known_protocol_versions)])
}

negotiating if input.mcp.method in negotiation_methods

deny contains reason if {
	authenticated
	input.mcp.method != "tools/list"
	some [_, reason] in access.denial
}

deny contains reason if {
	authenticated
	some reason in arguments.violation
}

deny contains reason if {
	authenticated
	some reason in scopes.violation
}

obligations["visible_tools"] := access.visible_tools if allow

obligations["redact"] := sort(masking.redact) if count(masking.redact) > 0

obligations["require_approval"] := access.approval if allow
