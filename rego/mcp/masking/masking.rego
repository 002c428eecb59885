# METADATA
# title: Log masking
# description: |
#   JSON pointers (obligations.redact) to the arguments the decision log must mask: names listed
#   in data.mcp_data.masking.sensitive_arguments (any tool or prompt, case-insensitive) and in the
#   tool's own sensitive_arguments. Both the parsed arguments and the verbatim params are masked.
package mcp.masking

import data.mcp.lib

redact contains pointer if {
	input.mcp.method == "tools/call"
	some name, _ in input.mcp.tool.arguments
	sensitive_tool_argument(name)
	some pointer in pointers("tool", name)
}

redact contains pointer if {
	input.mcp.method == "prompts/get"
	some name, _ in input.mcp.prompt.arguments
	lower(name) in data.mcp_data.masking.sensitive_arguments
	some pointer in pointers("prompt", name)
}

sensitive_tool_argument(name) if lower(name) in data.mcp_data.masking.sensitive_arguments

sensitive_tool_argument(name) if {
	name in data.mcp_data.servers[input.server.id].tools[input.mcp.tool.name].sensitive_arguments
}

pointers(kind, name) := [
	concat("", ["/mcp/", kind, "/arguments/", segment]),
	concat("", ["/mcp/params/arguments/", segment]),
] if segment := lib.pointer_segment(name)
