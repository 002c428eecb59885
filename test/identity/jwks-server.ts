import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JWK } from 'jose'

/** A JWKS served over HTTP on loopback, with a request counter and a switch to make it fail. */
export interface JwksServer {
  url: string
  /** GET requests served so far. */
  requests: () => number
  /** Replace the keys served from now on. */
  setKeys: (keys: JWK[]) => void
  /** `ok` serves the keys, `error` answers 500, `hang` never answers (a timeout). */
  setMode: (mode: 'ok' | 'error' | 'hang') => void
  close: () => Promise<void>
}

/**
 * Serves `{keys}` at `/jwks` on 127.0.0.1 with an ephemeral port, the way an IdP's `jwks_uri`
 * does.
 */
export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let served = keys
  let mode: 'ok' | 'error' | 'hang' = 'ok'
  let count = 0
  const server = createServer((req, res) => {
    count++
    if (mode === 'hang') return
    if (mode === 'error' || req.url !== '/jwks') {
      res.writeHead(mode === 'error' ? 500 : 404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: served }))
  })
  const port = await listen(server)
  return {
    url: `http://127.0.0.1:${port}/jwks`,
    requests: () => count,
    setKeys: (next) => {
      served = next
    },
    setMode: (next) => {
      mode = next
    },
    close: () => closeServer(server),
  }
}

/** A loopback URL where nothing listens: a port that was just bound and released. */
export async function closedLoopbackUrl(): Promise<string> {
  const server = createServer()
  const port = await listen(server)
  await closeServer(server)
  return `http://127.0.0.1:${port}/jwks`
}

/** Listens on 127.0.0.1 with an ephemeral port and returns the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** Closes a server, dropping open (hanging or keep-alive) connections so the close completes. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}
