import type { HostBuiltin } from '../host-builtin.js'
import { cryptoBuiltins } from './crypto.js'
import { jsonSchemaBuiltins } from './json-schema.js'
import { netBuiltins } from './net.js'
import { objectBuiltins } from './object.js'
import { randBuiltins } from './rand.js'
import { regexBuiltins } from './regex.js'
import { semverBuiltins } from './semver.js'
import { stringBuiltins } from './strings.js'
import { timeBuiltins } from './time.js'
import { unitsBuiltins } from './units.js'
import { uuidBuiltins } from './uuid.js'

/** Every host builtin the engine provides. */
export const hostBuiltins: readonly HostBuiltin[] = [
  ...timeBuiltins,
  ...stringBuiltins,
  ...regexBuiltins,
  ...netBuiltins,
  ...unitsBuiltins,
  ...cryptoBuiltins,
  ...uuidBuiltins,
  ...semverBuiltins,
  ...randBuiltins,
  ...jsonSchemaBuiltins,
  ...objectBuiltins,
]
