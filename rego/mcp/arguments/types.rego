# Argument types of tools/call (package mcp.arguments; its METADATA is in arguments.rego): that
# each argument has the type the tool expects, so that no check is passed by a value of another
# type (limit: [10] against a numeric range). Two sources: the tool's declared input schema, as
# the normalizer validated the arguments against it before policy (input.mcp.tool.validation, from
# data.mcp_data.servers[server].tools[tool].input_schema), and the type an argument constraint
# declares (type: string, number, integer, boolean, array, object or null).
package mcp.arguments

import data.mcp.lib

# METADATA
# title: Arguments do not match the tool's input schema
# description: |
#   The normalizer validated the arguments against the tool's declared input schema and they did
#   not pass: a value of another type, a required argument missing, one the schema does not allow,
#   or a schema that could not be used or took too long to check (keyword schema or budget).
# custom:
#   code: arguments_invalid
violation contains lib.reason(rego.metadata.rule(), detail) if {
	input.mcp.method == "tools/call"
	validation := input.mcp.tool.validation
	not validation.valid == true
	detail := concat("", ["the arguments do not match the tool's input schema: ", validation_detail(validation)])
}

validation_detail(validation) := concat("; ", problems) if {
	problems := [problem |
		some error in validation.errors
		problem := concat(" ", [pointer_label(error.pointer), error.message])
	]
	count(problems) > 0
} else := "no reason given"

pointer_label("") := "(the arguments)"

pointer_label(pointer) := pointer if pointer != ""

# METADATA
# title: Argument of the wrong type
# description: |
#   An argument whose constraint declares a type must have it. With type "array", the
#   constraint's other checks apply to each element; with any other type, to the value itself. A
#   type this policy does not know matches no value.
# custom:
#   code: argument_type_mismatch
violation contains lib.reason(rego.metadata.rule(), detail) if {
	some name, constraint in constraints
	argument := input.mcp.tool.arguments[name]
	type_mismatch(constraint, argument)
	detail := concat("", [label(name), " is ", type_of(argument), ", not ", json.marshal(constraint.type)])
}

type_mismatch(constraint, argument) if {
	"type" in object.keys(constraint)
	not has_type(argument, constraint.type)
}

has_type(value, "string") if is_string(value)

has_type(value, "number") if is_number(value)

has_type(value, "integer") if {
	is_number(value)
	floor(value) == value
}

has_type(value, "boolean") if is_boolean(value)

has_type(value, "array") if is_array(value)

has_type(value, "object") if is_object(value)

has_type(value, "null") if is_null(value)

type_of(value) := "a string" if is_string(value)

else := "a number" if is_number(value)

else := "a boolean" if is_boolean(value)

else := "an array" if is_array(value)

else := "an object" if is_object(value)

else := "null"
