import { resolveOpa } from '../../src/index.js'

/** The pinned OPA binary, found or built by the project's toolchain resolver. */
export function opaBinary(): Promise<string> {
  return resolveOpa()
}
