# METADATA
# title: Data-leak prevention for tool results (entrypoint mcp/response)
# description: |
#   Scans every string of a tool result for secrets and personal data — each value at any depth
#   (content, structuredContent, _meta, a result that is a bare string) and each member name —
#   and redacts or blocks each finding by the action
#   data.mcp_data.dlp.actions[destination][classification] gives its kind or category. A member
#   name cannot be redacted without reshaping the result: one that holds data to redact blocks it.
#   Input: rego/schemas/response-input.json. A result with no destination counts as going to a
#   "public" model and an unknown server as "restricted"; a destination model the actions table
#   does not name has no actions, so every finding is blocked. Gaps in data fail closed.
# scope: package
# schemas:
#   - input: {"type": "object", "properties": {"request": {"type": "object", "properties": {"server": {"type": "object", "properties": {"id": {"type": "string"}}}}}, "result": {}, "destination": {"type": "object", "properties": {"model": {"type": "string"}}}}}
package mcp.dlp

import data.mcp.lib

# Detectors: kind -> category, a cheap literal hint that must occur before the regular expression
# runs, and the RE2 pattern. Card numbers must also pass the Luhn check.
detectors := {
	"private_key": {
		"category": "secret",
		"hint": "PRIVATE KEY-----",
		"pattern": `-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?)-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----`,
	},
	"aws_access_key": {
		"category": "secret",
		"hint": "",
		"pattern": `\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b`,
	},
	"jwt": {
		"category": "secret",
		"hint": "eyJ",
		"pattern": `\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`,
	},
	"card_number": {
		"category": "payment_card",
		"hint": "",
		"pattern": `\b\d(?:[ -]?\d){12,18}\b`,
	},
	"email": {
		"category": "pii",
		"hint": "@",
		"pattern": `\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b`,
	},
	"phone": {
		"category": "pii",
		"hint": "",
		"pattern": `(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]\d{3}[ .-]\d{4}\b|\+\d{8,14}\b`,
	},
}

default destination := "public"

destination := input.destination.model

default classification := "restricted"

classification := data.mcp_data.servers[input.request.server.id].classification

# [path, text, whether the text is a member name] for every string of the result: every value at
# any depth (a result that is a bare string has the path []) and every member name (its path names
# the member). Nothing is left out because it sits where a client may not look: a secret in _meta
# or in a key of structuredContent reaches the model all the same. A string shorter than the
# shortest finding (an e-mail address, "a@b.cc") is left out: most member names and many values
# are, and each string scanned costs every detector.
texts contains [path, value, false] if {
	walk(input.result, [path, value])
	is_string(value)
	count(value) >= 6
}

texts contains [array.concat(path, [key]), key, true] if {
	walk(input.result, [path, value])
	is_object(value)
	some key, _ in value
	count(key) >= 6
}

# JSON pointers are made for findings only, not for every string scanned.
findings contains {"path": path, "pointer": lib.json_pointer(path), "kind": kind, "match": match, "in_name": in_name} if {
	some [path, text, in_name] in texts
	some kind, detector in detectors
	contains(text, detector.hint)
	some found in regex.find_all_string_submatch_n(detector.pattern, text, -1)
	match := found[0]
	confirmed(kind, match)
}

confirmed(kind, _) if kind != "card_number"

# A card number may sit in a longer run of digit groups ("4111 1111 1111 1111 123" with a CVV,
# "qty 12 4111111111111111"): any run of whole groups with 13 to 19 digits that passes Luhn counts.
# Whole groups only, so a long unseparated number is not searched for a Luhn-valid slice (that
# would flag most long order numbers).
confirmed("card_number", match) if {
	groups := [group | some group in split(replace(match, "-", " "), " "); group != ""]
	some first in numbers.range(0, count(groups) - 1)
	some last in numbers.range(first, count(groups) - 1)
	digits := concat("", array.slice(groups, first, last + 1))
	count(digits) >= 13
	count(digits) <= 19
	lib.luhn_valid(digits)
}

# The action for a kind: the kind's own entry, else its category's, else deny.
action(kind) := chosen if {
	chosen := data.mcp_data.dlp.actions[destination][classification][kind]
} else := chosen if {
	chosen := data.mcp_data.dlp.actions[destination][classification][detectors[kind].category]
} else := "deny"

blocked contains finding if {
	some finding in findings
	action(finding.kind) == "deny"
}

# A redaction replaces a value; a member name that holds data to redact cannot be replaced without
# changing the result's shape, so it blocks the result instead.
blocked contains finding if {
	some finding in findings
	finding.in_name == true
	action(finding.kind) == "redact"
}

redacted contains finding if {
	some finding in findings
	finding.in_name == false
	action(finding.kind) == "redact"
}

# When a member name holds a blocked finding, the reasons name no pointers: a pointer spells out
# every member name on its way, that one included, and reasons reach the caller and the log.
names_hold_findings if {
	some finding in blocked
	finding.in_name == true
}

located(pointers) := "a member name (pointers withheld)" if names_hold_findings

else := concat(", ", pointers)

where := concat("", [
	"server classification '", classification,
	"', destination '", destination, "'",
])

# METADATA
# title: Sensitive data blocked
# description: The tool result carries data that this destination may not receive from this server.
# custom:
#   code: sensitive_data_blocked
block_reasons contains lib.reason(rego.metadata.rule(), detail) if {
	some kind in {finding.kind | some finding in blocked}
	pointers := {finding.pointer | some finding in blocked; finding.kind == kind}
	detail := concat("", [kind, " at ", located(pointers), " (", where, ")"])
}

# METADATA
# title: Sensitive data redacted
# description: The tool result carried data that was masked before it reaches the model.
# custom:
#   code: sensitive_data_redacted
redact_reasons contains lib.reason(rego.metadata.rule(), detail) if {
	some kind in {finding.kind | some finding in redacted}
	pointers := {finding.pointer | some finding in redacted; finding.kind == kind}
	detail := concat("", [kind, " at ", concat(", ", pointers), " (", where, ")"])
}

# The kinds of each redacted match, by the path of the text it was found in, built in one pass
# over the findings. Filtering every finding again for each text was quadratic: a result of 2,000
# short texts with one e-mail address each took 4.3 s to judge.
redacted_kinds[path][match] contains finding.kind if {
	some finding in redacted
	path := finding.path
	match := finding.match
}

redactions contains {"path": lib.json_pointer(path), "replacement": strings.replace_n(replacements, text)} if {
	# The whole object, then a lookup: OPA's own evaluator would run the rule again for each
	# path given as a key (quadratic again); the WebAssembly build computes it once either way.
	kinds_by_path := redacted_kinds
	some [path, text, in_name] in texts
	in_name == false
	replacements := {match: label |
		some match, kinds in kinds_by_path[path]
		label := concat("", ["[REDACTED:", concat(",", kinds), "]"])
	}
	count(replacements) > 0
}

# At most this many matches in one result are redacted; a result with more is blocked. Both the
# sort of the redactions (the judgement lists them in a stable order; the WebAssembly runtime's
# sort is an insertion sort) and the replacement within one text (one pass per distinct match)
# cost time quadratic in their number, and a tool result that is mostly sensitive data should not
# reach the model anyway. data.mcp_data.dlp.max_redactions may change it (a number; anything else
# keeps the default).
default max_redactions := 256

max_redactions := limit if {
	limit := data.mcp_data.dlp.max_redactions
	is_number(limit)
}

too_many_redactions if count(redacted) > max_redactions

# METADATA
# title: Too many redactions
# description: The tool result has more matches to redact than data.mcp_data.dlp.max_redactions allows.
# custom:
#   code: too_many_redactions
block_reasons contains lib.reason(rego.metadata.rule(), detail) if {
	too_many_redactions
	detail := concat("", [
		format_int(count(redacted), 10), " matches need redaction, more than ",
		format_int(max_redactions, 10), " (", where, ")",
	])
}

# METADATA
# title: Response judgement
# description: |
#   Blocks a result with any finding whose action is deny, or with more matches to redact than
#   max_redactions; otherwise allows it with redactions. The block is decided on the findings, not
#   on the reasons: a reason that cannot be worded (an odd destination) must not unblock a result.
judgement := {"allow": false, "redactions": [], "reasons": sort(block_reasons)} if {
	count(blocked) > 0
} else := {"allow": false, "redactions": [], "reasons": sort(block_reasons)} if {
	too_many_redactions
} else := {"allow": true, "redactions": sort(redactions), "reasons": sort(redact_reasons)}
