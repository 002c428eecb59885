# METADATA
# title: Test fixtures shared by the reference policy's tests
# description: Policy data and input documents; tests apply them with `with data.mcp_data as` and `with input as`.
package mcp.fixtures_test

policy_data := {
	"servers": {
		"github": {
			"classification": "internal",
			"tools": {
				"get_issue": {},
				"list_issues": {},
				"create_issue": {"write": true, "sensitive_arguments": ["body_secret"]},
				"merge_pull_request": {"write": true, "step_up": true},
				"delete_repository": {"write": true, "high_risk": true},
				"create_or_update_file": {"write": true, "arguments": {"path": {"relative_root": "/", "denied_path_prefixes": ["/.github/workflows/"]}}},
			},
		},
		"filesystem": {
			"classification": "confidential",
			"write_window": "business_hours",
			"tools": {
				"read_file": {"arguments": {"path": {"path_prefixes": ["/srv/projects/"], "denied_path_prefixes": ["/srv/projects/secrets"]}}},
				"read_multiple_files": {"arguments": {"paths": {"type": "array", "path_prefixes": ["/srv/projects/"]}}},
				"write_file": {"write": true, "arguments": {"path": {"path_prefixes": ["/srv/projects/"]}}},
				"read_archive": {"review": "pending", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000"},
			},
		},
		"postgres": {
			"classification": "restricted",
			"tools": {
				"query": {"arguments": {"sql": {"analyze": "sql:postgres", "sql_read_only": true}, "limit": {"minimum": 1, "maximum": 1000}}},
				"query_unanalysed": {"arguments": {"sql": {"sql_read_only": true}}},
				"execute": {"write": true, "high_risk": true},
			},
		},
		"fetch": {
			"classification": "public",
			"tools": {
				"fetch": {"arguments": {
					"url": {"analyze": "url", "url_hosts": ["docs.example.com", "*.wikipedia.org"]},
					"ref": {"pattern": `^[a-z]{1,8}$`},
				}},
				"fetch_unanalysed": {"arguments": {"url": {"url_hosts": ["docs.example.com"]}}},
			},
		},
	},
	"grants": {
		"roles": {
			"developer": {
				"tools": {"github": ["*"], "filesystem": ["read_*"], "fetch": ["fetch"]},
				"resources": {"docs": ["docs://handbook/*"]},
				"prompts": {"github": ["*"]},
			},
			"support": {
				"tools": {"github": ["get_*", "list_*"]},
				"prompts": {"github": ["summarize_issue"]},
			},
			"analyst": {"tools": {"postgres": ["query"]}},
			"contractor": {"tools": {"github": ["*"]}},
		},
		"groups": {
			"writers": {"tools": {"filesystem": ["write_file"]}},
			"dba-prod": {"tools": {"postgres": ["*"]}, "environments": ["prod"]},
		},
		"clients": {
			"desktop": {"tools": {"github": ["*"], "filesystem": ["*"], "postgres": ["*"], "fetch": ["*"]}, "resources": {"docs": ["*"]}, "prompts": {"github": ["*"]}},
			"triage-agent": {"tools": {"github": ["get_*", "list_*", "create_issue"]}},
		},
	},
	"denies": {
		"everyone": {"tools": {"github": ["delete_repository"]}},
		"roles": {"contractor": {"tools": {"github": ["create_or_update_file"]}}},
		"clients": {"triage-agent": {"tools": {"github": ["create_issue"]}}},
	},
	"step_up": {"max_age_s": 900, "acr_values": ["mfa"], "amr_values": ["otp", "hwk"]},
	"time_windows": {"business_hours": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "hours_utc": {"from": 7, "to": 19}}},
	"masking": {"sensitive_arguments": ["password", "token"]},
	"dlp": {"actions": {
		"public": {
			"public": {"secret": "redact", "payment_card": "redact", "pii": "redact"},
			"internal": {"secret": "deny", "payment_card": "deny", "pii": "redact"},
		},
		"internal": {"internal": {"secret": "redact", "payment_card": "redact", "pii": "allow", "jwt": "deny"}},
	}},
}

# 2025-11-24T10:00:00Z, a Monday, in business hours.
now_ns := 1763978400000000000

subject(roles, groups) := {
	"authenticated": true,
	"id": "alice",
	"roles": roles,
	"groups": groups,
	"scopes": [],
	"client_id": "desktop",
	"actor": null,
	"token": {"audience": [], "amr": ["pwd"], "auth_time": 1763978000},
	"claims": {},
}

anonymous := {
	"authenticated": false, "groups": [], "roles": [], "scopes": [], "actor": null, "claims": {},
	"reason": {"code": "ERR_IDENTITY_TOKEN_MISSING", "message": "no bearer token"},
}

context := {
	"time": {"ns": now_ns, "rfc3339": "2025-11-24T10:00:00Z", "weekday": "Mon", "hour_utc": 10},
	"request": {},
	"environment": "prod",
	"attributes": {},
}

request(method, subj, server_id, extra) := object.union(
	{
		"schema": "mcp-policy/input/v1",
		"mcp": object.union({"kind": "request", "method": method, "id": 1}, extra),
		"subject": subj,
		"server": {"id": server_id, "resource": concat("", ["https://mcp.example.com/", server_id])},
		"context": context,
	},
	{},
)

call(subj, server_id, tool, args) := request(
	"tools/call", subj, server_id,
	{"tool": {"name": tool, "arguments": args}, "params": {"name": tool, "arguments": args}},
)

# A tools/call as the normalizer builds it when the bundle declares analyzers: the arguments with
# what the analyzers found in them (input.mcp.tool.analysis).
analysed_call(subj, server_id, tool, args, analysis) := request(
	"tools/call", subj, server_id,
	{"tool": {"name": tool, "arguments": args, "analysis": analysis}, "params": {"name": tool, "arguments": args}},
)

# The sql:postgres analysis of a query that parsed (the shape src/normalize/argument-analysis builds).
sql_analysis(statements, kinds, functions, locking) := {
	"analyzer": "sql:postgres", "parsed": true,
	"statements": statements, "statement_kinds": kinds,
	"functions": functions, "tables": [], "locking": locking,
}

# One read-only SELECT calling the given functions.
select_calling(functions) := sql_analysis(["select"], ["select"], functions, [])

# The url analysis of a URL that parsed; ambiguities empty means unambiguous.
url_analysis(scheme, host, ambiguities) := {
	"analyzer": "url", "parsed": true,
	"ambiguous": count(ambiguities) > 0, "ambiguities": ambiguities,
	"scheme": scheme, "host": host, "host_type": "domain", "path": "/",
	"hosts": {"whatwg": host, "rfc3986": host},
}

failed_analysis(analyzer, error) := {"analyzer": analyzer, "parsed": false, "error": error}
