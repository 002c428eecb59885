/**
 * The one OPA version this project builds and tests policy with. OPA is needed to compile and test
 * policy, never to serve it. Change it here only, together with `src/engine/builtins/native.ts`.
 */
export const OPA_VERSION = '1.22.4'

/** The Go module `go install` builds OPA from. */
export const OPA_GO_MODULE = 'github.com/open-policy-agent/opa'
