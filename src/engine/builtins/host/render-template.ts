import type { HostBuiltin } from '../host-builtin.js'
import type { RegoValue } from '../rego-value.js'
import { renderTemplate } from './go-template.js'

/** `strings.render_template` (OPA `topdown/template.go`): Go's `text/template` over the variables. */
export const renderTemplateBuiltins: readonly HostBuiltin[] = [
  {
    name: 'strings.render_template',
    values: 'rego',
    impl: (template, vars) => {
      if (typeof template !== 'string') return undefined
      // The variables must be an object (a Map when some key is not a string).
      if (
        vars === null ||
        typeof vars !== 'object' ||
        Array.isArray(vars) ||
        !(
          vars instanceof Map ||
          Object.getPrototypeOf(vars) === null ||
          Object.getPrototypeOf(vars) === Object.prototype
        )
      )
        return undefined
      try {
        return renderTemplate(template, vars as RegoValue)
      } catch {
        // A parse or execution error is a builtin error in OPA; a template nested deeper than the
        // stack allows (RangeError) is refused the same way.
        return undefined
      }
    },
  },
]
