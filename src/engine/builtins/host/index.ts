import type { HostBuiltin } from '../host-builtin.js'
import { cryptoBuiltins } from './crypto.js'
import { cryptoX509Builtins } from './crypto-x509.js'
import { encodingBuiltins } from './encoding.js'
import { globBuiltins } from './glob.js'
import { graphBuiltins } from './graph.js'
import { graphqlBuiltins } from './graphql.js'
import { jsonPatchBuiltins } from './json-patch.js'
import { jsonSchemaBuiltins } from './json-schema.js'
import { jwtBuiltins } from './jwt.js'
import { netBuiltins } from './net.js'
import { numbersBuiltins } from './numbers.js'
import { objectBuiltins } from './object.js'
import { randBuiltins } from './rand.js'
import { regexBuiltins } from './regex.js'
import { renderTemplateBuiltins } from './render-template.js'
import { semverBuiltins } from './semver.js'
import { sprintfBuiltins } from './sprintf.js'
import { stringBuiltins } from './strings.js'
import { timeBuiltins } from './time.js'
import { unitsBuiltins } from './units.js'
import { uriBuiltins } from './uri.js'
import { uuidBuiltins } from './uuid.js'
import { yamlBuiltins } from './yaml.js'

/** Every host builtin the engine provides. */
export const hostBuiltins: readonly HostBuiltin[] = [
  ...timeBuiltins,
  ...stringBuiltins,
  ...renderTemplateBuiltins,
  ...regexBuiltins,
  ...netBuiltins,
  ...unitsBuiltins,
  ...cryptoBuiltins,
  ...cryptoX509Builtins,
  ...uuidBuiltins,
  ...semverBuiltins,
  ...randBuiltins,
  ...jsonSchemaBuiltins,
  ...objectBuiltins,
  ...sprintfBuiltins,
  ...yamlBuiltins,
  ...encodingBuiltins,
  ...numbersBuiltins,
  ...globBuiltins,
  ...graphBuiltins,
  ...graphqlBuiltins,
  ...uriBuiltins,
  ...jwtBuiltins,
  ...jsonPatchBuiltins,
]
