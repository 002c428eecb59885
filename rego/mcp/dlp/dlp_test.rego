package mcp.dlp_test

import data.mcp.dlp
import data.mcp.fixtures_test as fx

aws_key := "AKIAIOSFODNN7EXAMPLE"

jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

private_key := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"

judge(server_id, destination, result) := judgement if {
	judgement := dlp.judgement with input as {"request": {"server": {"id": server_id}}, "result": result, "destination": {"model": destination}}
		with data.mcp_data as fx.policy_data
}

text(t) := {"content": [{"type": "text", "text": t}]}

test_clean_result if {
	judge("github", "public", text("nothing to see")) == {"allow": true, "redactions": [], "reasons": []}
}

test_detectors if {
	found := {f.kind | some f in dlp.findings} with input as {"result": text(concat(" ", [
		aws_key, jwt, private_key,
		"card 4111 1111 1111 1111 and 4111-1111-1111-1112",
		"mail bob@example.com", "call (415) 555-0132 or +4915112345678",
	]))}
	found == {"aws_access_key", "jwt", "private_key", "card_number", "email", "phone"}
}

test_card_numbers_need_luhn if {
	found := {f.match | some f in dlp.findings; f.kind == "card_number"} with input as {"result": text("4111111111111112 5555555555554444")}
	found == {"5555555555554444"}
}

test_secret_to_public_model_from_internal_server_is_blocked if {
	j := judge("github", "public", text(concat("", ["key ", aws_key])))
	j.allow == false
	j.reasons == [{"code": "sensitive_data_blocked", "message": "Sensitive data blocked: aws_access_key at /content/0/text (server classification 'internal', destination 'public')"}]
}

test_pii_to_public_model_is_redacted if {
	j := judge("github", "public", text("write to bob@example.com or alice@example.org"))
	j.allow == true
	j.redactions == [{"path": "/content/0/text", "replacement": "write to [REDACTED:email] or [REDACTED:email]"}]
	j.reasons == [{"code": "sensitive_data_redacted", "message": "Sensitive data redacted: email at /content/0/text (server classification 'internal', destination 'public')"}]
}

test_internal_model_allows_pii_and_redacts_secrets if {
	j := judge("github", "internal", {
		"content": [
			{"type": "text", "text": "bob@example.com"},
			{"type": "resource", "resource": {"uri": "x://y", "text": concat("", ["id=", aws_key])}},
		],
		"structuredContent": {"users": [{"email": "bob@example.com", "key": aws_key}]},
	})
	j.allow == true
	j.redactions == [
		{"path": "/content/1/resource/text", "replacement": "id=[REDACTED:aws_access_key]"},
		{"path": "/structuredContent/users/0/key", "replacement": "[REDACTED:aws_access_key]"},
	]
}

test_kind_override_beats_category if {
	j := judge("github", "internal", text(jwt))
	j.allow == false
	j.reasons[0].code == "sensitive_data_blocked"
}

test_unknown_destination_and_server_fail_closed if {
	j := dlp.judgement with input as {"request": {"server": {"id": "unlisted"}}, "result": text("bob@example.com")}
		with data.mcp_data as fx.policy_data
	j.allow == false
	j.reasons[0].message == "Sensitive data blocked: email at /content/0/text (server classification 'restricted', destination 'public')"
}

test_public_server_redacts_everything_for_public_model if {
	j := judge("fetch", "public", text(concat(" ", [private_key, "4111 1111 1111 1111"])))
	j.allow == true
	j.redactions == [{"path": "/content/0/text", "replacement": "[REDACTED:private_key] [REDACTED:card_number]"}]
}

test_overlapping_kinds_share_one_label if {
	j := judge("fetch", "public", text("+14155550132"))
	j.redactions == [{"path": "/content/0/text", "replacement": "[REDACTED:phone]"}]
}

test_card_numbers_next_to_other_digits if {
	found := {f.match | some f in dlp.findings; f.kind == "card_number"} with input as {"result": text("card 4111 1111 1111 1111 123 and qty 12 5555555555554444")}
	found == {"4111 1111 1111 1111 123", "12 5555555555554444"}
	not_cards := {f.match | some f in dlp.findings; f.kind == "card_number"} with input as {"result": text("order 4111111111111111123 and 1234 5678 9012 3456")}
	not_cards == set()
}

texts(n, t) := {"content": [{"type": "text", "text": t} | some _ in numbers.range(1, n)]}

test_redactions_up_to_the_limit_are_made if {
	j := dlp.judgement with input as {"request": {"server": {"id": "github"}}, "result": texts(3, "bob@example.com"), "destination": {"model": "public"}}
		with data.mcp_data as object.union(fx.policy_data, {"dlp": {"max_redactions": 3}})
	j.allow == true
	count(j.redactions) == 3
}

test_more_redactions_than_the_limit_block_the_result if {
	j := dlp.judgement with input as {"request": {"server": {"id": "github"}}, "result": texts(4, "bob@example.com"), "destination": {"model": "public"}}
		with data.mcp_data as object.union(fx.policy_data, {"dlp": {"max_redactions": 3}})
	j == {"allow": false, "redactions": [], "reasons": [{
		"code": "too_many_redactions",
		"message": "Too many redactions: 4 matches need redaction, more than 3 (server classification 'internal', destination 'public')",
	}]}
}

test_default_limit_is_256 if {
	dlp.max_redactions == 256 with data.mcp_data as fx.policy_data
	j := judge("github", "public", texts(257, "bob@example.com"))
	j.reasons[0].code == "too_many_redactions"
}

test_many_matches_in_one_text_block_the_result if {
	j := dlp.judgement with input as {"request": {"server": {"id": "github"}}, "result": text("a@x.io b@x.io c@x.io d@x.io"), "destination": {"model": "public"}}
		with data.mcp_data as object.union(fx.policy_data, {"dlp": {"max_redactions": 3}})
	j.allow == false
	j.reasons[0].code == "too_many_redactions"
}

# A reason that cannot be worded (the destination is not a string, so `where` is undefined) must
# not unblock the result: the block is decided on the findings.
test_odd_destination_still_blocks if {
	every model in [null, 1, true, [], {}] {
		not allowed_for(model)
	}
}

allowed_for(model) if {
	j := dlp.judgement with input as {"request": {"server": {"id": "github"}}, "result": text(aws_key), "destination": {"model": model}}
		with data.mcp_data as fx.policy_data
	j.allow == true
}

test_odd_limit_keeps_the_default if {
	every limit in [null, true, false, "3", [3]] {
		dlp.max_redactions == 256 with data.mcp_data as object.union(fx.policy_data, {"dlp": {"max_redactions": limit}})
	}
}

# Issue #15 class 4: every string of a result is scanned, wherever it sits, member names included.
test_secrets_anywhere_in_the_result_are_found if {
	places := [
		{"_meta": {"note": aws_key}},
		{"content": [{"type": "text", "text": "ok", "annotations": {"audience": [aws_key]}}]},
		{"content": [{"type": "resource_link", "uri": "x://y", "name": aws_key}]},
		{"structuredContent": {"rows": [[1, aws_key]]}},
		{"isError": false, "unknownMember": {"deep": {"er": aws_key}}},
		aws_key,
		[aws_key],
	]
	every result in places {
		{f.kind | some f in dlp.findings} == {"aws_access_key"} with input as {"result": result}
	}
}

test_a_bare_string_result_is_redacted_whole if {
	j := judge("fetch", "public", concat(" ", ["mail", "bob@example.com"]))
	j.allow == true
	j.redactions == [{"path": "", "replacement": "mail [REDACTED:email]"}]
}

test_secret_in_result_meta_is_blocked if {
	j := judge("github", "public", {"content": [], "_meta": {"trace": jwt}})
	j.allow == false
	j.reasons == [{"code": "sensitive_data_blocked", "message": "Sensitive data blocked: jwt at /_meta/trace (server classification 'internal', destination 'public')"}]
}

# A member name is found like any string; one that holds data to redact blocks the result (a key
# cannot be redacted in place), and the reason names no pointer (it would repeat the key).
test_a_member_name_holding_a_secret_blocks_without_naming_it if {
	result := {"structuredContent": {"users": {"bob@example.com": {"role": "admin"}}}}
	{f.pointer | some f in dlp.findings; f.in_name} == {"/structuredContent/users/bob@example.com"} with input as {"result": result}
	j := judge("fetch", "public", result)
	j.allow == false
	j.redactions == []
	j.reasons == [{"code": "sensitive_data_blocked", "message": "Sensitive data blocked: email at a member name (pointers withheld) (server classification 'public', destination 'public')"}]
	not contains(json.marshal(j), "bob@")
}

test_a_member_name_whose_kind_is_allowed_passes if {
	# pii is allowed from an internal server to an internal model
	j := judge("github", "internal", {"structuredContent": {"bob@example.com": "admin"}})
	j == {"allow": true, "redactions": [], "reasons": []}
}
