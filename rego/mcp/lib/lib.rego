# METADATA
# title: Shared helpers of the reference MCP policy
# description: |
#   Pure functions: they take arguments and never read input or data, so every policy package
#   can use them and they can be tested on their own.
package mcp.lib

# METADATA
# title: Reason from annotations
# description: |
#   A reason {code, message} built from a rule's METADATA (rego.metadata.rule()): the code is
#   custom.code, the message the title followed by the specifics of this request.
reason(meta, detail) := {
	"code": meta.custom.code,
	"message": concat(": ", [meta.title, detail]),
}

# METADATA
# title: Name pattern
# description: |
#   A pattern is "*" (anything), an exact name, or a prefix followed by "*". Matched with native
#   string builtins: glob.match would compile a regular expression on every call in WebAssembly.
name_matches("*", _)

name_matches(pattern, name) if pattern == name

name_matches(pattern, name) if {
	endswith(pattern, "*")
	startswith(name, trim_suffix(pattern, "*"))
}

# METADATA
# title: Any pattern matches
any_name_matches(patterns, name) if {
	some pattern in patterns
	name_matches(pattern, name)
}

# METADATA
# title: Normalized absolute path
# description: |
#   Resolves "." and ".." segments and repeated or back slashes of an absolute path. Undefined
#   for a relative path, for one whose ".." climb above the root, and for one with ".." and more
#   than 32 segments, so a caller can never mistake an escaping path for an allowed one.
normalize_path(path) := normalized if {
	unified := replace(path, "\\", "/")
	startswith(unified, "/")
	segments := [s | some s in split(unified, "/"); s != ""; s != "."]
	normalized := resolve_segments(segments)
}

# Without "..", the segments are the path: linear in its length, the common case.
resolve_segments(segments) := concat("/", array.concat([""], segments)) if not ".." in segments

# With "..", each one cancels the segment before it. Rego has no fold, so the depths below cost
# time quadratic in the number of segments (a 2 KB path of 1,000 segments took 2.6 s and then
# exhausted the module's memory): a path with ".." and more than 32 segments is undefined, refused
# like any path that cannot be resolved.
resolve_segments(segments) := concat("/", array.concat([""], kept)) if {
	".." in segments
	count(segments) <= 32
	steps := [step | some s in segments; step := path_step(s)]
	depths := [depth | some i, _ in steps; depth := sum(array.slice(steps, 0, i + 1))]
	every depth in depths { depth >= 0 }
	kept := [s |
		some i, s in segments
		s != ".."
		not cancelled_later(depths, i)
	]
}

path_step("..") := -1

path_step(s) := 1 if s != ".."

# A segment at position i is removed when a later ".." takes the depth below its own.
cancelled_later(depths, i) if {
	some j, depth in depths
	j > i
	depth < depths[i]
}

# METADATA
# title: Path under a prefix
# description: |
#   True when a normalized path is the prefix directory itself or lies below it ("/srv/data"
#   and "/srv/data/" both cover "/srv/data/x" but not "/srv/database").
path_under(path, prefix) if path == trim_suffix(prefix, "/")

path_under(path, prefix) if startswith(path, concat("", [trim_suffix(prefix, "/"), "/"]))

# METADATA
# title: Host pattern
# description: An exact host, or "*.example.com" for any subdomain of example.com (not itself).
host_matches(pattern, host) if pattern == host

host_matches(pattern, host) if {
	startswith(pattern, "*.")
	endswith(host, trim_prefix(pattern, "*"))
}

# METADATA
# title: Luhn check
# description: True when a string of digits passes the Luhn checksum (payment card numbers).
luhn_valid(digits) if {
	reversed := strings.reverse(digits)
	values := [v | some i, c in split(reversed, ""); v := luhn_value(i, to_number(c))]
	sum(values) % 10 == 0
}

luhn_value(i, d) := d if i % 2 == 0

luhn_value(i, d) := 2 * d if {
	i % 2 == 1
	d < 5
}

luhn_value(i, d) := (2 * d) - 9 if {
	i % 2 == 1
	d >= 5
}

# METADATA
# title: JSON pointer of a path
# description: RFC 6901 pointer for a walk() path (array indices and object keys).
json_pointer(path) := concat("", [s | some segment in path; s := concat("", ["/", pointer_segment(segment)])])

pointer_segment(segment) := format_int(segment, 10) if is_number(segment)

pointer_segment(segment) := replace(replace(segment, "~", "~0"), "/", "~1") if is_string(segment)
