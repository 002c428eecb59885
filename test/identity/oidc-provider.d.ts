// oidc-provider ships no type declarations; these cover what the identity tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    readonly issuer: string
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    static readonly errors: { InvalidTarget: new (description?: string) => Error }
  }
  export default Provider
}
