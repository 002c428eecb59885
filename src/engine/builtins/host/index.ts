import type { HostBuiltin } from '../host-builtin.js'

/** Every host builtin the engine provides. */
export const hostBuiltins: readonly HostBuiltin[] = []
