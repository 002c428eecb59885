# METADATA
# title: Log masking
# description: |
#   JSON pointers (obligations.redact) to the arguments the decision log must mask: names listed
#   in data.mcp_data.masking.sensitive_arguments (any tool or prompt, case-insensitive) and in the
#   tool's own sensitive_arguments. The parsed arguments, the verbatim params and an argument's
#   analysis (input.mcp.tool.analysis) are masked. The obligation names the top-level arguments;
#   the decision log itself erases the same names at any depth of the message, for every method
#   and outcome (an engine error included), by rule (src/audit/sensitive-names.ts).
#   For tool results (entrypoint mcp/response), log_redact: the result is kept out of the log
#   unless data.mcp_data.masking.log_tool_results is true.
package mcp.masking

import data.mcp.lib

# METADATA
# title: Pointers to mask
# description: |
#   Each sensitive argument at its two places in the input. When more arguments than
#   max_masked_arguments are sensitive, the log erases all the arguments instead.
redact contains pointer if {
	count(sensitive) <= max_masked_arguments
	some name in sensitive
	some pointer in pointers(kind, name)
}

redact contains pointer if {
	count(sensitive) > max_masked_arguments
	some pointer in [concat("", ["/mcp/", kind, "/arguments"]), "/mcp/params/arguments"]
}

# What an analyzer found in a sensitive argument (a URL's host and path) goes with it.
redact contains concat("", ["/mcp/tool/analysis/", lib.pointer_segment(name)]) if {
	count(sensitive) <= max_masked_arguments
	some name in sensitive
	input.mcp.tool.analysis[name]
}

redact contains "/mcp/tool/analysis" if {
	count(sensitive) > max_masked_arguments
	input.mcp.tool.analysis
}

# Past this many sensitive arguments in one request (names match case-insensitively, so a caller
# can send "token", "Token", "tOKEN"… by the thousand), the log erases all the arguments. That keeps
# the obligation short: the decision sorts it, which costs time quadratic in its length in the
# WebAssembly runtime (4,000 such names: 0.33 s per decision). data.mcp_data.masking may set it
# (a number; anything else keeps the default).
default max_masked_arguments := 32

max_masked_arguments := limit if {
	limit := data.mcp_data.masking.max_masked_arguments
	is_number(limit)
}

kind := "tool" if input.mcp.method == "tools/call"

kind := "prompt" if input.mcp.method == "prompts/get"

sensitive contains name if {
	kind == "tool"
	some name, _ in input.mcp.tool.arguments
	sensitive_tool_argument(name)
}

sensitive contains name if {
	kind == "prompt"
	some name, _ in input.mcp.prompt.arguments
	lower(name) in data.mcp_data.masking.sensitive_arguments
}

sensitive_tool_argument(name) if lower(name) in data.mcp_data.masking.sensitive_arguments

sensitive_tool_argument(name) if {
	name in data.mcp_data.servers[input.server.id].tools[input.mcp.tool.name].sensitive_arguments
}

pointers(kind, name) := [
	concat("", ["/mcp/", kind, "/arguments/", segment]),
	concat("", ["/mcp/params/arguments/", segment]),
] if segment := lib.pointer_segment(name)

# METADATA
# title: Tool results kept in the log
# description: |
#   True only when data.mcp_data.masking.log_tool_results is exactly true: a team that wants
#   what-if replay over DLP keeps tool results in the decision log. Absent, false or anything else
#   masks them.
default log_tool_results := false

log_tool_results if data.mcp_data.masking.log_tool_results == true

# METADATA
# title: Tool result pointers to mask
# description: |
#   JSON pointers under the mcp/response input that the decision log erases (the judgement's
#   log_redact): the whole result, unless log_tool_results. The request and the judgement stay in
#   the log; replay counts such an event as withheld instead of re-evaluating it.
default response_log_redact := ["/result"]

response_log_redact := [] if log_tool_results
